"""The pure evaluation on hand-built inputs: shares, projection, completeness, repeat tiers,
both bases, year end and early January."""

from __future__ import annotations

import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from quota.engine import EvaluationInputs, evaluate
from quota.rules import EvaluationRules
from quota.settings import load_settings

RULES = EvaluationRules.from_rules(load_settings().rules)


def frame(columns, rows):
    return pd.DataFrame(rows, columns=columns)


def building(bid, area=10000.0, btype="office_commercial", share=1.0, commissioned=2000):
    return (bid, btype, area, share, commissioned)


def run(year, as_of, buildings, current, previous=(), quotas=(), meters=None, now=None):
    b = frame(
        ["building_id", "building_type", "floor_area_m2", "public_use_share", "commissioned_year"],
        buildings,
    )
    meters = meters if meters is not None else [(row[0], "electricity", 1) for row in buildings]
    inputs = EvaluationInputs(
        year=year,
        as_of=as_of,
        buildings=b,
        meters=frame(["building_id", "energy_type", "meter_count"], meters),
        current=frame(
            ["building_id", "energy_type", "energy_kwh", "covered_hours", "first_day"], current
        ),
        previous=frame(
            ["building_id", "energy_type", "to_date_kwh", "full_kwh", "day_count"], previous
        ),
        quotas=frame(["building_id", "year", "basis", "limit_value", "source"], quotas),
        now=now,
    )
    out = evaluate(inputs, RULES)
    return {(r["building_id"], r["basis"]): r for r in out.to_dict("records")}


def test_elapsed_share_projection_in_a_leap_year():
    # 60 days (Jan + Feb 2024 = 31 + 29) of 100 kWh, full coverage, no profile.
    rows = run(
        2024,
        date(2024, 2, 29),
        [building("A")],
        [("A", "electricity", 6000.0, 60 * 24.0, date(2024, 1, 1))],
        quotas=[("A", 2024, "electricity_kwh", 40000.0, "imported")],
    )
    a = rows[("A", "electricity_kwh")]
    assert a["expected_share"] == pytest.approx(60 / 366)
    assert a["projected"] == pytest.approx(6000 / (60 / 366))  # 36,600 kWh
    assert a["profile_source"] == "elapsed"
    assert a["completeness"] == pytest.approx(1.0)
    assert a["status"] == "within"
    assert a["utilization"] == pytest.approx(0.15)
    assert a["eui_kwh_per_m2"] == pytest.approx(36600 / 10000)


def test_own_profile_projection_and_at_risk():
    # Last year: 1,000 kWh by 31 March of 4,000 kWh; this year 1,500 kWh by 31 March.
    rows = run(
        2025,
        date(2025, 3, 31),
        [building("A")],
        [("A", "electricity", 1500.0, 90 * 24.0, date(2025, 1, 1))],
        previous=[("A", "electricity", 1000.0, 4000.0, 365)],
        quotas=[("A", 2025, "electricity_kwh", 5000.0, "imported")],
    )
    a = rows[("A", "electricity_kwh")]
    assert a["expected_share"] == 0.25
    assert a["projected"] == 6000.0
    assert a["status"] == "at_risk"


def test_year_end_projection_is_the_actual_and_never_at_risk():
    rows = run(
        2025,
        date(2025, 12, 31),
        [building("A")],
        [("A", "electricity", 5000.0, 8760.0, date(2025, 1, 1))],
        previous=[("A", "electricity", 10.0, 4000.0, 365)],
        quotas=[("A", 2025, "electricity_kwh", 5000.0, "imported")],
    )
    a = rows[("A", "electricity_kwh")]
    assert a["expected_share"] == 1.0
    assert a["projected"] == 5000.0
    assert a["profile_source"] == "year_end"
    assert a["status"] == "within"  # exactly 100 %


def test_early_january_has_no_projection():
    # 1 January: elapsed share 1/365 < min_expected_share (0.01).
    rows = run(
        2025,
        date(2025, 1, 1),
        [building("A")],
        [("A", "electricity", 900.0, 24.0, date(2025, 1, 1))],
        quotas=[("A", 2025, "electricity_kwh", 100000.0, "imported")],
    )
    a = rows[("A", "electricity_kwh")]
    assert math.isnan(a["projected"])
    assert math.isnan(a["eui_kwh_per_m2"])
    assert a["status"] == "within"


def test_completeness_uses_registered_meters_and_now():
    now = datetime(2025, 1, 10, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    # Two meters, 9.5 days elapsed at noon on 10 January = 228 h each = 456 meter-hours
    # expected; covered_hours is the mean over the meters: 114 h = 228 meter-hours = half.
    rows = run(
        2025,
        date(2025, 1, 10),
        [building("A")],
        [("A", "electricity", 100.0, 114.0, date(2025, 1, 1))],
        meters=[("A", "electricity", 2)],
        quotas=[("A", 2025, "electricity_kwh", 100000.0, "imported")],
        now=now,
    )
    a = rows[("A", "electricity_kwh")]
    assert a["completeness"] == pytest.approx(0.5)
    assert a["status"] == "insufficient_data"


def test_building_commissioned_this_year_is_expected_from_its_first_day():
    rows = run(
        2025,
        date(2025, 6, 30),
        [building("N", commissioned=2025)],
        [("N", "electricity", 100.0, 30 * 24.0, date(2025, 6, 1))],
        quotas=[("N", 2025, "electricity_kwh", 100000.0, "imported")],
    )
    assert rows[("N", "electricity_kwh")]["completeness"] == pytest.approx(1.0)
    rows = run(
        2025,
        date(2025, 6, 30),
        [building("O")],
        [("O", "electricity", 100.0, 30 * 24.0, date(2025, 6, 1))],
        quotas=[("O", 2025, "electricity_kwh", 100000.0, "imported")],
    )
    assert rows[("O", "electricity_kwh")]["completeness"] == pytest.approx(30 / 181)


def test_repeat_uses_last_years_final_use_against_last_years_quota():
    current = [
        ("A", "electricity", 1300.0, 8760.0, date(2025, 1, 1)),
        ("B", "electricity", 1300.0, 8760.0, date(2025, 1, 1)),
    ]
    previous = [
        ("A", "electricity", 1250.0, 1250.0, 365),
        ("B", "electricity", 1200.0, 1200.0, 365),
    ]
    quotas = [
        ("A", 2025, "electricity_kwh", 1000.0, "imported"),
        ("B", 2025, "electricity_kwh", 1000.0, "imported"),
        ("A", 2024, "electricity_kwh", 1000.0, "imported"),
        ("B", 2024, "electricity_kwh", 1000.0, "imported"),
    ]
    rows = run(2025, date(2025, 12, 31), [building("A"), building("B")], current, previous, quotas)
    assert rows[("A", "electricity_kwh")]["status"] == "over_20_repeat"
    assert rows[("A", "electricity_kwh")]["previous_utilization"] == pytest.approx(1.25)
    assert rows[("B", "electricity_kwh")]["status"] == "over_20"  # last year exactly 120 %


def test_both_bases_one_row_each_and_kgce_over_all_carriers():
    current = [
        ("A", "electricity", 1000.0, 8760.0, date(2025, 1, 1)),
        ("A", "natural_gas", 997.0, 8760.0, date(2025, 1, 1)),
    ]
    meters = [("A", "electricity", 1), ("A", "natural_gas", 1)]
    quotas = [
        ("A", 2025, "electricity_kwh", 2000.0, "imported"),
        ("A", 2025, "energy_kgce", 200.0, "proposed"),
    ]
    rows = run(2025, date(2025, 12, 31), [building("A")], current, meters=meters, quotas=quotas)
    assert set(rows) == {("A", "electricity_kwh"), ("A", "energy_kgce")}
    kgce = 1000 * 0.1229 + 100 * 1.2143
    assert rows[("A", "energy_kgce")]["energy_kgce"] == pytest.approx(kgce)
    assert rows[("A", "energy_kgce")]["excess"] == pytest.approx(kgce - 200.0)
    assert rows[("A", "energy_kgce")]["status"] == "over_20"  # 244.3 / 200 = 122 %
    assert rows[("A", "electricity_kwh")]["status"] == "within"
    assert rows[("A", "electricity_kwh")]["energy_kwh"] == 1000.0
    assert rows[("A", "energy_kgce")]["eui_kwh_per_m2"] == pytest.approx(1997 / 10000)
    assert rows[("A", "electricity_kwh")]["co2_kg"] == pytest.approx(677.6 + 199.7)


def test_scope_and_no_quota_rows():
    rows = run(
        2025,
        date(2025, 6, 30),
        [building("S", area=2000.0), building("P", share=0.4), building("N")],
        [("S", "electricity", 1.0, 24.0, date(2025, 1, 1))],
        quotas=[("S", 2025, "electricity_kwh", 0.5, "imported")],
    )
    assert rows[("S", "electricity_kwh")]["status"] == "out_of_scope"  # over, but not evaluated
    assert rows[("P", "electricity_kwh")]["status"] == "out_of_scope"
    assert rows[("N", "electricity_kwh")]["status"] == "no_quota"
    assert math.isnan(rows[("N", "electricity_kwh")]["limit_value"])


def test_type_profile_needs_enough_complete_peers():
    peers = [building(f"P{i}") for i in range(5)]
    previous = [(f"P{i}", "electricity", 100.0, 400.0, 365) for i in range(5)]
    current = [(f"P{i}", "electricity", 100.0, 90 * 24.0, date(2025, 1, 1)) for i in range(5)]
    rows = run(
        2025,
        date(2025, 3, 31),
        [*peers, building("X")],
        [*current, ("X", "electricity", 50.0, 90 * 24.0, date(2025, 1, 1))],
        previous,
    )
    assert rows[("X", "electricity_kwh")]["expected_share"] == 0.25
    assert rows[("X", "electricity_kwh")]["profile_source"] == "type"
    rows = run(
        2025,
        date(2025, 3, 31),
        [*peers[:4], building("X")],
        [*current[:4], ("X", "electricity", 50.0, 90 * 24.0, date(2025, 1, 1))],
        previous[:4],
    )
    assert rows[("X", "electricity_kwh")]["profile_source"] == "elapsed"
    assert rows[("X", "electricity_kwh")]["expected_share"] == pytest.approx(90 / 365)
