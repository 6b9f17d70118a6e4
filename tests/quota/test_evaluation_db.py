"""Evaluation against the real database: rollups in, stored runs out, CLI JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from quota import queries
from quota.evaluation import run_evaluation
from tests.quota.conftest import add_building, add_daily, add_meter, add_quota, day_range

YEAR = 2025
NOW = datetime(2025, 7, 1, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def city(db):
    """Three buildings: A within (own profile), B over, C out of scope; D without quota."""
    with db.connect() as conn:
        for bid, area in (("A", 10000.0), ("B", 10000.0), ("C", 1000.0), ("D", 5000.0)):
            add_building(conn, bid, floor_area_m2=area)
            add_meter(conn, f"M-{bid}", bid)
        # A: previous year complete, 1 kWh/day in H1, 3 kWh/day in H2 (own profile).
        add_daily(conn, "A", day_range(date(2024, 1, 1), date(2024, 6, 30)), 1.0)
        add_daily(conn, "A", day_range(date(2024, 7, 1), date(2024, 12, 31)), 3.0)
        add_daily(conn, "A", day_range(date(2025, 1, 1), date(2025, 6, 30)), 1.0)
        add_daily(conn, "B", day_range(date(2025, 1, 1), date(2025, 6, 30)), 10.0)
        add_daily(conn, "C", day_range(date(2025, 1, 1), date(2025, 6, 30)), 10.0)
        add_daily(conn, "D", day_range(date(2025, 1, 1), date(2025, 6, 30)), 2.0)
        add_quota(conn, "A", YEAR, 800.0)
        add_quota(conn, "B", YEAR, 1000.0)
        add_quota(conn, "B", YEAR, 100.0, basis="energy_kgce")
        add_quota(conn, "C", YEAR, 1000.0)
        conn.commit()
    return db


def test_evaluation_reads_rollups_and_stores_a_run(city):
    with city.connect() as conn:
        outcome = run_evaluation(conn, city.settings, YEAR, date(2025, 6, 30), now=NOW)
        conn.commit()
    rows = {(r["building_id"], r["basis"]): r for r in outcome.results.to_dict("records")}
    a = rows[("A", "electricity_kwh")]
    # 181 days x 1 kWh; last year's share through 30 June = 182 / (182 + 184 x 3).
    assert a["energy_kwh"] == pytest.approx(181.0)
    assert a["expected_share"] == pytest.approx(182 / (182 + 184 * 3))
    assert a["projected"] == pytest.approx(181.0 / (182 / (182 + 184 * 3)))
    assert a["profile_source"] == "own"
    assert a["completeness"] == pytest.approx(1.0)
    assert a["status"] == "within"
    assert rows[("B", "electricity_kwh")]["status"] == "over_20"  # 1810 / 1000
    assert rows[("B", "energy_kgce")]["status"] == "over_20"  # 1810 x 0.1229 = 222 kgce
    assert rows[("B", "energy_kgce")]["energy_kgce"] == pytest.approx(1810 * 0.1229)
    assert rows[("C", "electricity_kwh")]["status"] == "out_of_scope"
    assert rows[("D", "electricity_kwh")]["status"] == "no_quota"

    stored = city.query(
        "SELECT building_id, basis, status, details FROM evaluation_result"
        " WHERE evaluation_id = %s ORDER BY 1, 2",
        (outcome.evaluation_id,),
    )
    assert [(r["building_id"], r["basis"], r["status"]) for r in stored] == [
        ("A", "electricity_kwh", "within"),
        ("B", "electricity_kwh", "over_20"),
        ("B", "energy_kgce", "over_20"),
        ("C", "electricity_kwh", "out_of_scope"),
        ("D", "electricity_kwh", "no_quota"),
    ]
    assert stored[0]["details"]["profile_source"] == "own"
    assert stored[0]["details"]["unverified"]  # conversion factors etc. are labelled


def test_history_is_kept_and_latest_run_is_found(city):
    with city.connect() as conn:
        first = run_evaluation(conn, city.settings, YEAR, date(2025, 3, 31), now=NOW)
        second = run_evaluation(conn, city.settings, YEAR, date(2025, 6, 30), now=NOW)
        conn.commit()
        assert queries.latest_evaluation_id(conn, YEAR) == second.evaluation_id
        assert queries.latest_evaluation_id(conn, 1999) is None
    assert first.evaluation_id != second.evaluation_id
    assert city.scalar("SELECT count(*) FROM evaluation_run WHERE year = %s", (YEAR,)) == 2


def test_evaluation_never_reads_raw_readings(city):
    """The reading table is made unreadable: the evaluation must still work."""
    with city.connect() as conn:
        conn.execute("REVOKE ALL ON reading FROM PUBLIC")
        conn.execute("CREATE ROLE qw_eval_only")
        conn.execute("GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO qw_eval_only")
        conn.execute("REVOKE SELECT ON reading FROM qw_eval_only")
        conn.execute("SET ROLE qw_eval_only")
        try:
            outcome = run_evaluation(
                conn, city.settings, YEAR, date(2025, 6, 30), now=NOW, save=False
            )
        finally:
            conn.rollback()
    assert len(outcome.results) == 5


def test_cli_evaluate_json(city):
    proc = city.cli("evaluate", "--year", "2025", "--as-of", "2025-06-30", "--json", check=True)
    data = json.loads(proc.stdout)
    assert data["year"] == 2025 and data["as_of"] == "2025-06-30"
    fields = {
        "building_id",
        "basis",
        "energy_kwh",
        "energy_kgce",
        "limit_value",
        "expected_share",
        "utilization",
        "projected",
        "completeness",
        "status",
        "excess",
        "eui_kwh_per_m2",
        "co2_kg",
    }
    assert all(fields <= set(row) for row in data["buildings"])
    by_id = {(r["building_id"], r["basis"]): r for r in data["buildings"]}
    assert by_id[("B", "electricity_kwh")]["excess"] == pytest.approx(810.0)
    assert by_id[("D", "electricity_kwh")]["limit_value"] is None
    human = city.cli("evaluate", "--year", "2025", "--as-of", "2025-06-30", check=True)
    assert "over_20" in human.stdout and "stored as evaluation" in human.stdout


def test_cli_evaluate_rejects_as_of_outside_year(city):
    proc = city.cli("evaluate", "--year", "2025", "--as-of", "2024-06-30")
    assert proc.returncode == 2
    assert "not in 2025" in proc.stderr
