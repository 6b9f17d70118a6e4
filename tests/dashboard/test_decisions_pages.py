"""The regulator's decisions on the dashboard: the audit page's log, the adjust and
determine forms, with roles enforced on the server (crafted callbacks of other roles are
refused), and the determined history the city and building pages show."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from qw_dashboard_support import callback_payload, signed_in

from dashboard import decision_queries, decisions, ids
from dashboard.users import Viewer


def _adjust_payload(reason: str | None, limit: float = 123456.0) -> dict[str, Any]:
    return callback_payload(
        [(ids.ADJUST_MESSAGE, "children")],
        [(ids.ADJUST_SUBMIT, "n_clicks", 1)],
        [
            (ids.ADJUST_BUILDING, "value", "B1"),
            (ids.ADJUST_YEAR, "value", 2025),
            (ids.ADJUST_BASIS, "value", "electricity_kwh"),
            (ids.ADJUST_LIMIT, "value", limit),
            (ids.ADJUST_REASON, "value", reason),
            (ids.LANG_STORE, "data", "en"),
        ],
    )


def _determine_payload(year: int) -> dict[str, Any]:
    return callback_payload(
        [(ids.DETERMINE_MESSAGE, "children")],
        [(ids.DETERMINE_SUBMIT, "n_clicks", 1)],
        [
            (ids.DETERMINE_YEAR, "value", year),
            (ids.DETERMINE_SUPERSEDE, "value", []),
            (ids.DETERMINE_REASON, "value", None),
            (ids.LANG_STORE, "data", "en"),
        ],
    )


def _log_payload(building: str | None = None) -> dict[str, Any]:
    return callback_payload(
        [(ids.AUDIT_GRID, "columnDefs"), (ids.AUDIT_GRID, "rowData")],
        [
            (ids.AUDIT_BUILDING, "value", building),
            (ids.AUDIT_SINCE, "date", None),
            (ids.AUDIT_ACTION, "value", None),
            (ids.ADJUST_MESSAGE, "children", None),
            (ids.DETERMINE_MESSAGE, "children", None),
        ],
        [(ids.LANG_STORE, "data", "en")],
    )


def _adjusted(city: Any) -> list[dict[str, Any]]:
    return city.query(
        "SELECT limit_value, actor, reason FROM quota_version WHERE source = 'adjusted'"
    )


@pytest.mark.parametrize("user", ["ana", "mgr"])
def test_other_roles_cannot_adjust_determine_or_read_the_log(app: Any, city: Any, user: str):
    client = signed_in(app, user)
    adjust = client.post("/_dash-update-component", json=_adjust_payload("extension"))
    assert adjust.status_code == 200 and "may not adjust" in adjust.get_data(as_text=True)
    assert _adjusted(city) == []
    determine = client.post("/_dash-update-component", json=_determine_payload(2024))
    assert "may not determine" in determine.get_data(as_text=True)
    assert city.scalar("SELECT count(*) FROM determination") == 0
    assert client.post("/_dash-update-component", json=_log_payload()).status_code == 403


def test_regulator_adjusts_with_a_reason_and_sees_it_in_the_log(app: Any, city: Any):
    client = signed_in(app, "reg")
    refused = client.post("/_dash-update-component", json=_adjust_payload("  "))
    assert "needs a reason" in refused.get_data(as_text=True)
    assert _adjusted(city) == []
    done = client.post("/_dash-update-component", json=_adjust_payload("new wing opened"))
    assert "Adjusted: B1 2025" in done.get_data(as_text=True)
    assert _adjusted(city) == [
        {"limit_value": 123456.0, "actor": "reg", "reason": "new wing opened"}
    ]
    log = client.post("/_dash-update-component", json=_log_payload("B1"))
    assert log.status_code == 200
    rows = log.get_json()["response"][ids.AUDIT_GRID]["rowData"]
    assert rows[0]["action"] == "Quota · quota.adjusted" and rows[0]["actor"] == "reg"
    assert rows[0]["reason"] == "new wing opened"
    assert all(r["building_id"] == "B1" for r in rows)

    determined = client.post("/_dash-update-component", json=_determine_payload(2024))
    assert "Determined 2024" in determined.get_data(as_text=True)
    again = client.post("/_dash-update-component", json=_determine_payload(2024))
    assert "already determined" in again.get_data(as_text=True)
    assert city.scalar("SELECT count(*) FROM determination") == 1


def test_determined_history_is_scoped_and_counts_the_streak(city: Any):
    with city.connect() as conn:
        for year, status in ((2023, "over_20"), (2024, "over_20_repeat")):
            row = conn.execute(
                "INSERT INTO determination (year, as_of, actor, timezone, rules, factors)"
                " VALUES (%s, %s, 'reg', 'Asia/Shanghai', '{}', '{}')"
                " RETURNING determination_id",
                (year, f"{year}-12-31"),
            ).fetchone()
            for building_id in ("B1", "B3"):
                conn.execute(
                    "INSERT INTO determination_result (determination_id, building_id, basis,"
                    " status, utilization) VALUES (%s, %s, 'electricity_kwh', %s, 1.3)",
                    (row["determination_id"], building_id, status),
                )
        conn.commit()
        manager = Viewer("mgr", "manager", frozenset({"B1"}))
        history = decision_queries.determined_history(conn, manager)
        assert set(history["building_id"]) == {"B1"}
        regulator = Viewer("reg", "regulator")
        everyone = decision_queries.determined_history(conn, regulator)
    assert set(everyone["building_id"]) == {"B1", "B3"}
    years, rows = decisions.history_rows(history, "en")
    assert years == [2023, 2024]
    assert rows[0]["over_20_streak"] == 2
    assert rows[0]["2024"] == "> 20 % over, two years running"


def test_history_rows_of_no_determination_are_empty() -> None:
    assert decisions.history_rows(pd.DataFrame(), "zh") == ([], [])
