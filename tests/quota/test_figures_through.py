"""Billed-only buildings between bills: the engine compares use to date with the expected
share through the last billed day (quota/figures_through.py). Hand-computed figures."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from quota.engine import EvaluationInputs, evaluate
from quota.figures_through import days_to_load, row_days, through_days
from quota.rules import EvaluationRules
from quota.settings import load_settings

RULES = EvaluationRules.from_rules(load_settings().rules)
CURRENT = ["building_id", "energy_type", "energy_kwh", "covered_hours", "first_day"]
PREVIOUS = ["building_id", "energy_type", "to_date_kwh", "full_kwh", "day_count"]
JAN_1 = date(2025, 1, 1)
MAR_31 = date(2025, 3, 31)
APR_20 = date(2025, 4, 20)


def _frame(columns, rows):
    return pd.DataFrame(list(rows), columns=columns)


def _run(as_of, buildings, meters, current, quotas, billed=(), through=None, previous=()):
    inputs = EvaluationInputs(
        year=2025,
        as_of=as_of,
        buildings=_frame(
            [
                "building_id",
                "building_type",
                "floor_area_m2",
                "public_use_share",
                "commissioned_year",
            ],
            [(b, "office_commercial", 10000.0, 1.0, 2000) for b in buildings],
        ),
        meters=_frame(["building_id", "energy_type", "meter_count"], meters),
        current=_frame(CURRENT, current),
        previous=_frame(PREVIOUS, previous),
        quotas=_frame(["building_id", "year", "basis", "limit_value", "source"], quotas),
        billed_through=_frame(["building_id", "energy_type", "last_day"], billed),
        through_aggregates={
            day: (_frame(CURRENT, cur), _frame(PREVIOUS, prev))
            for day, (cur, prev) in (through or {}).items()
        },
    )
    out = evaluate(inputs, RULES)
    return {(r["building_id"], r["basis"]): r for r in out.to_dict("records")}


def test_a_billed_building_ten_percent_over_is_at_risk_between_bills():
    # B: billed only, 1,100 kWh a day, bills 1 Jan - 31 Mar (90 days): 99,000 kWh.
    # Quota 365,000 kWh (1,000 a day). As of 20 April (110 days of 2025):
    #   through the last bill: expected share 90/365, projected 99,000 × 365/90 = 401,500
    #   (110 % of the quota: at_risk); compared with 110/365 it would read 328,500 (90 %).
    # A: metered, same use per day through 20 April, keeps the as-of share 110/365.
    b_current = ("B", "electricity", 99_000.0, 90 * 24.0, JAN_1)
    rows = _run(
        APR_20,
        ["A", "B"],
        [("A", "electricity", 1), ("B", "electricity", 1)],
        [("A", "electricity", 121_000.0, 110 * 24.0, JAN_1), b_current],
        [
            ("A", 2025, "electricity_kwh", 365_000.0, "imported"),
            ("B", 2025, "electricity_kwh", 365_000.0, "imported"),
        ],
        billed=[("B", "electricity", MAR_31)],
        through={MAR_31: ([("A", "electricity", 99_000.0, 90 * 24.0, JAN_1), b_current], [])},
    )
    b = rows[("B", "electricity_kwh")]
    assert b["figures_through"] == MAR_31
    assert b["expected_share"] == pytest.approx(90 / 365)
    assert b["projected"] == pytest.approx(401_500.0)
    assert b["utilization"] == pytest.approx(99_000 / 365_000)
    assert b["energy_kwh"] == pytest.approx(99_000.0)
    assert b["completeness"] == pytest.approx(90 / 110)  # covered ÷ elapsed through 20 April
    assert b["status"] == "at_risk"
    assert b["eui_kwh_per_m2"] == pytest.approx(40.15)  # 401,500 kWh ÷ 10,000 m²

    a = rows[("A", "electricity_kwh")]
    assert a["figures_through"] is None
    assert a["expected_share"] == pytest.approx(110 / 365)
    assert a["projected"] == pytest.approx(401_500.0)
    assert a["status"] == "at_risk"


def test_own_profile_through_the_last_bill():
    # Last year B used 400,000 kWh, 80,000 through 31 March (share 0.20) and 100,000
    # through 20 April (0.25). This year 99,000 kWh through 31 March; quota 450,000.
    #   like with like: 99,000 ÷ 0.20 = 495,000 (110 %: at_risk);
    #   against 20 April's share it would be 99,000 ÷ 0.25 = 396,000 (88 %: within).
    current = [("B", "electricity", 99_000.0, 90 * 24.0, JAN_1)]
    quotas = [("B", 2025, "electricity_kwh", 450_000.0, "imported")]
    meters = [("B", "electricity", 1)]
    rows = _run(
        APR_20,
        ["B"],
        meters,
        current,
        quotas,
        billed=[("B", "electricity", MAR_31)],
        through={MAR_31: (current, [("B", "electricity", 80_000.0, 400_000.0, 365)])},
        previous=[("B", "electricity", 100_000.0, 400_000.0, 365)],
    )
    b = rows[("B", "electricity_kwh")]
    assert (b["profile_source"], b["figures_through"]) == ("own", MAR_31)
    assert b["expected_share"] == pytest.approx(0.20)
    assert b["projected"] == pytest.approx(495_000.0)
    assert b["status"] == "at_risk"

    # The same inputs without the billed-only day: the as-of share, and "within".
    plain = _run(
        APR_20, ["B"], meters, current, quotas, previous=[("B", "electricity", 1e5, 4e5, 365)]
    )[("B", "electricity_kwh")]
    assert plain["expected_share"] == pytest.approx(0.25)
    assert plain["projected"] == pytest.approx(396_000.0)
    assert (plain["status"], plain["figures_through"]) == ("within", None)


def test_completeness_still_runs_to_the_as_of_date():
    # As of 30 April (120 days) with bills through 31 March: 90/120 = 0.75 < 0.8.
    current = [("B", "electricity", 90_000.0, 90 * 24.0, JAN_1)]
    rows = _run(
        date(2025, 4, 30),
        ["B"],
        [("B", "electricity", 1)],
        current,
        [("B", 2025, "electricity_kwh", 365_000.0, "imported")],
        billed=[("B", "electricity", MAR_31)],
        through={MAR_31: (current, [])},
    )
    b = rows[("B", "electricity_kwh")]
    assert b["completeness"] == pytest.approx(0.75)
    assert b["expected_share"] == pytest.approx(90 / 365)
    assert (b["status"], b["figures_through"]) == ("insufficient_data", MAR_31)


def test_all_carriers_run_to_the_last_bill_on_the_kgce_basis():
    # C: electricity billed only through 31 March, heat metered through 20 April.
    # On energy_kgce every carrier counts through 31 March: 90,000 kWh of electricity and
    # the heat meter's 45,000 kWh by then (not its 55,000 by 20 April).
    through_current = [
        ("C", "electricity", 90_000.0, 90 * 24.0, JAN_1),
        ("C", "heat", 45_000.0, 90 * 24.0, JAN_1),
    ]
    rows = _run(
        APR_20,
        ["C"],
        [("C", "electricity", 1), ("C", "heat", 1)],
        [
            ("C", "electricity", 90_000.0, 90 * 24.0, JAN_1),
            ("C", "heat", 55_000.0, 110 * 24.0, JAN_1),
        ],
        [
            ("C", 2025, "electricity_kwh", 365_000.0, "imported"),
            ("C", 2025, "energy_kgce", 60_000.0, "imported"),
        ],
        billed=[("C", "electricity", MAR_31)],
        through={MAR_31: (through_current, [])},
    )
    kgce = rows[("C", "energy_kgce")]
    assert kgce["figures_through"] == MAR_31
    assert kgce["energy_all_kwh"] == pytest.approx(135_000.0)
    assert kgce["expected_share"] == pytest.approx(90 / 365)
    assert kgce["projected"] == pytest.approx(kgce["energy_kgce"] * 365 / 90)
    # completeness of all carriers as of 20 April: (90 + 110) × 24 ÷ (2 × 110 × 24)
    assert kgce["completeness"] == pytest.approx(200 / 220)
    assert rows[("C", "electricity_kwh")]["figures_through"] == MAR_31


def test_through_days_rule():
    billed = pd.DataFrame(
        [
            ("B", "electricity", date(2025, 3, 31)),
            ("B", "natural_gas", date(2025, 2, 28)),
            ("D", "electricity", date(2025, 4, 20)),  # billed through the as-of date
            ("E", "electricity", None),  # no bill this year
            ("F", "natural_gas", date(2025, 1, 31)),
        ],
        columns=["building_id", "energy_type", "last_day"],
    )
    days = through_days(billed, APR_20)
    by_building = {r["building_id"]: r for r in days.to_dict("records")}
    assert set(by_building) == {"B", "F"}
    assert by_building["B"]["electricity_kwh"] == MAR_31
    assert by_building["B"]["energy_kgce"] == date(2025, 2, 28)  # the earliest carrier
    assert by_building["F"]["electricity_kwh"] is None  # its electricity is not billed-only
    assert by_building["F"]["energy_kgce"] == date(2025, 1, 31)
    assert days_to_load(days) == [date(2025, 1, 31), date(2025, 2, 28), MAR_31]
    rows = row_days(
        days,
        np.array(["B", "B", "D", "F"], dtype=object),
        np.array(["electricity_kwh", "energy_kgce", "electricity_kwh", "electricity_kwh"]),
    )
    assert rows.tolist() == [MAR_31, date(2025, 2, 28), None, None]
    assert through_days(None, APR_20).empty
