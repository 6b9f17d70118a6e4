"""Trajectory curve and scheduler entry points against the real database."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from quota import evaluation_job, queries
from quota.evaluation import run_evaluation
from quota.rules import EvaluationRules
from quota.trajectory import expected_cumulative_share
from tests.quota.conftest import add_building, add_daily, add_meter, add_quota, day_range

PREV = day_range(date(2024, 1, 1), date(2024, 12, 31))
TZ = ZoneInfo("Asia/Shanghai")


def test_trajectory_draws_the_profile_the_evaluation_chose(db):
    rules = EvaluationRules.from_rules(db.settings.rules)
    with db.connect() as conn:
        add_building(conn, "OWN")
        add_daily(conn, "OWN", [d for d in PREV if d.month <= 6], 2.0)
        add_daily(conn, "OWN", [d for d in PREV if d.month > 6], 1.0)
        for i in range(5):
            add_building(conn, f"H{i}", building_type="hotel")
            add_daily(conn, f"H{i}", PREV, 1.0)
        add_building(conn, "HNEW", building_type="hotel")
        add_building(conn, "MALL", building_type="mall")
        conn.commit()
        outcome = run_evaluation(conn, db.settings, 2025, date(2025, 3, 1))
        conn.commit()
        chosen = {
            row["building_id"]: row["details"]["curve_source"]
            for row in conn.execute(
                "SELECT building_id, details FROM evaluation_result WHERE evaluation_id = %s",
                (outcome.evaluation_id,),
            ).fetchall()
        }
        assert (chosen["OWN"], chosen["HNEW"], chosen["MALL"]) == ("own", "type", "elapsed")
        curve = expected_cumulative_share(conn, rules, "OWN", 2025, "electricity_kwh", "own")
        assert len(curve) == 365 and curve.index[0] == date(2025, 1, 1)
        total = 182 * 2.0 + 184 * 1.0
        assert curve[date(2025, 6, 30)] == pytest.approx(182 * 2.0 / total)
        assert curve.iloc[-1] == 1.0
        hotel = expected_cumulative_share(conn, rules, "HNEW", 2025, "electricity_kwh", "type")
        assert hotel[date(2025, 3, 1)] == pytest.approx(61 / 366)  # leap 2024 flat profile
        mall = expected_cumulative_share(conn, rules, "MALL", 2025, "electricity_kwh", "elapsed")
        assert mall[date(2025, 1, 1)] == pytest.approx(1 / 365)
        # At year end the status uses the actual use, and the chart keeps the chosen profile.
        closed = run_evaluation(conn, db.settings, 2025, date(2025, 12, 31))
        details = conn.execute(
            "SELECT details FROM evaluation_result WHERE evaluation_id = %s"
            " AND building_id = 'OWN'",
            (closed.evaluation_id,),
        ).fetchone()["details"]
        assert (details["profile_source"], details["curve_source"]) == ("year_end", "own")


def test_nightly_and_reevaluate_store_runs(db):
    with db.connect() as conn:
        add_building(conn, "A")
        add_meter(conn, "MA", "A")
        add_daily(conn, "A", day_range(date(2025, 1, 1), date(2025, 1, 9)), 10.0)
        add_quota(conn, "A", 2025, 50.0)
        conn.commit()
    now = datetime(2025, 1, 10, 3, 0, tzinfo=TZ)
    nightly = evaluation_job.run_nightly(db.settings, now=now)
    # In January the previous year is re-evaluated as of 31 December as well.
    assert [r["year"] for r in nightly["runs"]] == [2024, 2025]
    assert nightly["runs"][1]["status_counts"] == {"over_20": 1}  # 90 kWh of 50
    again = evaluation_job.reevaluate(db.settings, ["A"], 2025, now=now)
    assert again["affected"] == 1 and again["affected_status_counts"] == {"over_20": 1}
    with db.connect() as conn:
        assert queries.latest_evaluation_id(conn, 2025) == again["evaluation_id"]
    assert evaluation_job.reevaluate(db.settings, [], 2025)["skipped"] is True
    params = db.scalar(
        "SELECT parameters FROM evaluation_run WHERE evaluation_id = %s", (again["evaluation_id"],)
    )
    assert params["trigger"] == "ingest" and params["affected_building_count"] == 1
