"""Dashboard queries against the real database: scoped to the viewer, right numbers."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from qw_dashboard_support import PASSWORD

from dashboard import frames, queries
from dashboard.users import UserInputError, Viewer, add_user, list_users, remove_user

REGULATOR = Viewer("reg", "regulator")
MANAGER = Viewer("mgr", "manager", frozenset({"B1"}))


def test_latest_run_and_as_of(city: Any) -> None:
    with city.connect() as conn:
        assert queries.evaluation_years(conn) == [2025, 2024]
        assert queries.as_of_dates(conn, 2025) == [date(2025, 6, 30)]
        assert queries.resolve_evaluation_id(conn, 2025) == city.runs["2025"]
        assert queries.resolve_evaluation_id(conn, 2025, "2025-06-30") == city.runs["2025"]
        assert queries.resolve_evaluation_id(conn, 2023) is None


def test_city_results_filters_and_scope(city: Any) -> None:
    run = city.runs["2025"]
    with city.connect() as conn:
        everything = queries.city_results(conn, REGULATOR, city.settings, run)
        east = queries.city_results(conn, REGULATOR, city.settings, run, districts=["东城区"])
        large = queries.city_results(conn, REGULATOR, city.settings, run, sizes=["large"])
        offices = queries.city_results(
            conn, REGULATOR, city.settings, run, types=["office_government"]
        )
        mine = queries.city_results(conn, MANAGER, city.settings, run)
        options = queries.filter_options(conn, MANAGER)
    assert len(everything) == 6
    assert sorted(east["building_id"]) == ["B1", "B2", "B6"]
    assert sorted(large["building_id"]) == ["B2", "B6"]
    assert len(offices) == 5
    assert mine["building_id"].tolist() == ["B1"]
    assert options == {
        "districts": ["东城区"],
        "types": [("office_government", "政府办公", "Government office")],
    }
    summary = frames.headline(everything)
    assert summary["counts"]["over_20"] == 1 and summary["excess_by_tier"]["over_20"] == 30000


def test_building_queries_refuse_other_buildings(city: Any) -> None:
    run = city.runs["2025"]
    with city.connect() as conn:
        for call in (
            lambda: queries.building_info(conn, MANAGER, "B3"),
            lambda: queries.building_daily(conn, MANAGER, "B3", date(2025, 1, 1), date(2026, 1, 1)),
            lambda: queries.building_result(conn, MANAGER, "B3", run, "electricity_kwh"),
            lambda: queries.building_hourly(conn, MANAGER, city.settings, "B3", date(2025, 6, 1)),
            lambda: queries.peer_stats(conn, MANAGER, "B3", run),
            lambda: queries.building_info(conn, REGULATOR, "NO-SUCH"),
        ):
            with pytest.raises(queries.AccessDeniedError):
                call()
        with pytest.raises(queries.AccessDeniedError):
            queries.ingest_runs(conn, MANAGER)
        with pytest.raises(queries.AccessDeniedError):
            queries.retrofit_inputs(conn, MANAGER, run)


def test_building_data_for_its_manager(city: Any) -> None:
    run = city.runs["2025"]
    with city.connect() as conn:
        info = queries.building_info(conn, MANAGER, "B1")
        daily = queries.building_daily(conn, MANAGER, "B1", date(2025, 1, 1), date(2025, 2, 1))
        result = queries.building_result(conn, MANAGER, "B1", run, "electricity_kwh")
        history = queries.building_history(conn, MANAGER, "B1", "electricity_kwh")
        hourly = queries.building_hourly(conn, MANAGER, city.settings, "B1", date(2025, 6, 1))
        meters = queries.building_meters(conn, MANAGER, "B1", date(2025, 1, 1), date(2025, 7, 1))
        peers = queries.peer_stats(conn, MANAGER, "B1", run)
        last_day = queries.last_data_day(conn, MANAGER, "B1", 2025)
    assert info["name"] == "一号办公楼"
    assert len(daily) == 31
    assert result is not None and result["status"] == "over_20"
    assert history["status"].tolist() == ["within", "over_20"]
    # 30 days × 24 hours of readings starting at local midnight of 1 June.
    assert len(hourly) == 720 and set(hourly["hour"]) == set(range(24))
    assert hourly["energy_kwh"].sum() == pytest.approx(sum(100.0 + h % 24 for h in range(720)))
    assert meters["meter_id"].tolist() == ["M1"]
    assert meters["covered_hours"].iloc[0] == pytest.approx(181 * 24)
    assert meters["last_day"].iloc[0] == date(2025, 6, 30)
    # Office peers with an EUI: 40, 60, 70, 95 → B1 is the highest.
    assert peers["peer_count"] == 4 and peers["percent_rank"] == 1.0
    assert peers["p50"] == pytest.approx(65.0)
    assert last_day == date(2025, 6, 30)


def test_data_quality_scoped_to_manager_meters(city: Any) -> None:
    with city.connect() as conn:
        all_reasons = queries.quarantine_by_reason(conn, REGULATOR)
        own_reasons = queries.quarantine_by_reason(conn, MANAGER)
        own_rows = queries.quarantine_rows(conn, MANAGER, None)
        stale_all = queries.stale_meters(conn, REGULATOR, date(2025, 7, 10), 2)
        stale_own = queries.stale_meters(conn, MANAGER, date(2025, 7, 1), 2)
        runs = queries.ingest_runs(conn, REGULATOR)
    assert dict(zip(all_reasons["reason_code"], all_reasons["row_count"], strict=True)) == {
        "reading.negative_value": 2,
        "meter.unknown": 1,
    }
    assert own_reasons["reason_code"].tolist() == ["reading.negative_value"]
    assert own_rows["meter_id"].tolist() == ["M1"]
    assert sorted(stale_all["meter_id"]) == ["M1", "M3"]  # M1 stale by 10 July, M3 never
    assert stale_own.empty
    assert runs["rows_loaded"].tolist() == [720]


def test_retrofit_list_from_engine(city: Any) -> None:
    from quota.exports import retrofit_table
    from quota.retrofit_screening import ranked_candidates

    with city.connect() as conn:
        registry, results = queries.retrofit_inputs(conn, REGULATOR, city.runs["2025"])
        screened = ranked_candidates(conn, city.settings, registry, results, date(2025, 6, 30))
        exported = retrofit_table(conn, city.settings, 2025)
    ranked = frames.retrofit_list(screened, registry, results)
    assert "B1" in ranked["building_id"].tolist()
    row = ranked.set_index("building_id").loc["B1"]
    assert bool(row["over_20"]) and row["name"] == "一号办公楼"
    assert "high_base_load" in ranked.columns and "base_load_ratio" in ranked.columns
    # Over its quota without enough peers for a target EUI: at least its excess.
    assert row["savings_kwh_per_year"] >= 30000.0 and row["savings_source"] == "excess"
    # The same screening as `quotawatch export retrofit`: same buildings, order, savings.
    cli = [(r["building_id"], r["rank"], r["savings_kwh_per_year"]) for r in exported.rows]
    mine = list(
        zip(ranked["building_id"], ranked["rank"], ranked["savings_kwh_per_year"], strict=True)
    )
    assert cli == mine
    only_malls = frames.retrofit_list(
        screened, registry, results, types=["mall"], triggers_wanted=["over_20"]
    )
    assert only_malls.empty


def test_users_cli_add_list_remove(city: Any) -> None:
    added = city.cli(
        "users",
        "add",
        "mgr2",
        "--role",
        "manager",
        "--building",
        "B2",
        "--password-stdin",
        input_text=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    listing = city.cli("users", "list", "--json", check=True)
    assert '"mgr2"' in listing.stdout and '"B2"' in listing.stdout
    assert "password_hash" not in listing.stdout
    again = city.cli(
        "users",
        "add",
        "mgr2",
        "--role",
        "manager",
        "--building",
        "B2",
        "--password-stdin",
        input_text=PASSWORD + "\n",
    )
    assert again.returncode == 2 and "exists" in again.stderr
    assert city.cli("users", "remove", "mgr2").returncode == 0
    with city.connect() as conn:
        with pytest.raises(UserInputError, match="unknown building"):
            add_user(conn, "x", "manager", PASSWORD, ["NOPE"])
        with pytest.raises(UserInputError, match="at least"):
            add_user(conn, "y", "analyst", "short")
        with pytest.raises(UserInputError, match="managers only"):
            add_user(conn, "z", "analyst", PASSWORD, ["B1"])
        assert not remove_user(conn, "mgr2")
        names = [u["username"] for u in list_users(conn)]
        stored = conn.execute(
            "SELECT password_hash FROM app_user WHERE username = 'reg'"
        ).fetchone()["password_hash"]
    assert names == ["ana", "mgr", "reg"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
