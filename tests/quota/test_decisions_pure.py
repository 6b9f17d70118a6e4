"""Pure parts of the decisions: the streak of years over 120 %, where last year's
utilisation comes from, who may decide, and the text of an audited change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quota.engine import previous_utilization
from quota.record import audit, roles
from quota.record.determinations import history_summary, over_20_streak


@pytest.mark.parametrize(
    ("years_over", "streak"),
    [
        ({}, 0),
        ({2024: False}, 0),
        ({2023: True, 2024: True}, 2),
        ({2022: True, 2023: False, 2024: True}, 1),
        ({2021: True, 2022: True, 2024: True}, 1),  # 2023 not determined: the run breaks
        ({2023: True, 2024: False}, 0),
    ],
)
def test_over_20_streak(years_over: dict[int, bool], streak: int) -> None:
    assert over_20_streak(years_over) == streak


def test_history_summary_per_building_and_basis() -> None:
    history = pd.DataFrame(
        {
            "year": [2023, 2024, 2024],
            "building_id": ["A", "A", "B"],
            "basis": ["electricity_kwh"] * 3,
            "status": ["over_20", "over_20_repeat", "within"],
        }
    )
    summary = history_summary(history).set_index("building_id")
    assert summary.loc["A", "over_20_streak"] == 2 and summary.loc["B", "over_20_streak"] == 0
    assert summary.loc["A", "statuses"] == {2023: "over_20", 2024: "over_20_repeat"}


def test_previous_utilization_prefers_the_determination_in_force() -> None:
    computed = pd.Series([1.3, 0.9, np.nan])
    determined = pd.DataFrame(
        {
            "building_id": ["A", "C"],
            "basis": ["electricity_kwh", "energy_kgce"],
            "utilization": [0.8, 1.5],
        }
    )
    util, source = previous_utilization(
        computed,
        np.array(["A", "B", "C"], dtype=object),
        np.array(["electricity_kwh", "electricity_kwh", "electricity_kwh"], dtype=object),
        determined,
    )
    # A: determined 0.8 wins; B: computed; C: determined for another basis only -> unknown.
    assert util.tolist()[:2] == [0.8, 0.9] and np.isnan(util[2])
    assert source.tolist() == ["determined", "computed", None]
    same, _ = previous_utilization(computed, np.array(["A", "B", "C"]), np.array(["x"] * 3), None)
    assert same.tolist()[:2] == [1.3, 0.9]


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("regulator", roles.ADJUST, True),
        ("regulator", roles.DETERMINE, True),
        ("analyst", roles.ADJUST, False),
        ("analyst", roles.DETERMINE, False),
        ("analyst", roles.PROPOSE, True),
        ("manager", roles.ADJUST, False),
        ("manager", roles.PROPOSE, False),
        (None, roles.ADJUST, False),
        (roles.OPERATOR_ROLE, roles.DETERMINE, True),
    ],
)
def test_roles(role: str | None, action: str, allowed: bool) -> None:
    assert roles.may(role, action) is allowed
    if not allowed:
        with pytest.raises(roles.NotAllowedError, match=f"may not {action}"):
            roles.require(role, action, "someone")


def test_describe_change() -> None:
    assert (
        audit.describe_change(
            {"limit_value": 1, "source": "imported"}, {"limit_value": 2, "source": "imported"}
        )
        == "limit_value: 1 → 2"
    )
    assert audit.describe_change(None, {"limit_value": 2}) == "added limit_value=2"
    assert audit.describe_change({"limit_value": 2}, None) == "removed"
    assert audit.describe_change(None, None) == ""


def test_quota_entries_written_before_the_rename_read_limit_value() -> None:
    """Quota-version audit entries before migration 0120 stored the limit as ``limit``."""
    older = {"version_id": 3, "limit": 30000.0, "source": "imported"}
    assert audit.with_limit_value(older) == {
        "version_id": 3,
        "limit_value": 30000.0,
        "source": "imported",
    }
    assert list(audit.with_limit_value(older)) == ["version_id", "limit_value", "source"]
    current = {"limit_value": 1.0}
    assert audit.with_limit_value(current) is current
    assert audit.with_limit_value(None) is None
