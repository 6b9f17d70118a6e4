"""Accounts and bills in the real database: every outcome of a bill, building-days from bills
and meters, re-runs, encodings, the inbox, evaluation. Expected figures are hand-computed."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest import bills_rollups
from ingest.bills_rollups import after_accounts_change
from ingest.loader import ingest_paths
from quota.registry.store import import_file

BILLS_HEADER = "account_id,period_start,period_end,value,unit,estimated\n"
ACCOUNTS_HEADER = "account_id,building_id,energy_type,unit,share,utility,account_name\n"


def _buildings(conn: Any, *ids: str) -> None:
    for building_id in ids:
        conn.execute(
            "INSERT INTO building (building_id, name, district, building_type, floor_area_m2) "
            "VALUES (%s, %s, '东城', 'office_government', 12000)",
            (building_id, f"Building {building_id}"),
        )


def _import_accounts(db: Any, path: Path) -> Any:
    with db.connect() as conn:
        result = import_file(conn, "accounts", path)
        after_accounts_change(conn, db.settings.tz, result.changed_groups)
        conn.commit()
    return result


@pytest.fixture
def billed(db: Any, tmp_path: Path) -> Any:
    """B1 (account A1, electricity), B2 and B3 sharing A2 60/40; B3 also has meter M3 and
    account A3 for its electricity."""
    with db.connect() as conn:
        _buildings(conn, "B1", "B2", "B3")
        conn.execute(
            "INSERT INTO meter (meter_id, building_id, energy_type, unit) "
            "VALUES ('M3', 'B3', 'electricity', 'kWh')"
        )
        conn.commit()
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        ACCOUNTS_HEADER
        + "A1,B1,electricity,kWh,1,State Grid,one\n"
        + "A2,B1,electricity,kWh,60%,State Grid,shared\n"
        + "A2,B2,electricity,kWh,0.4,State Grid,shared\n"
        + "A3,B3,electricity,kWh,,,\n",
        encoding="utf-8",
    )
    result = _import_accounts(db, accounts)
    assert result.applied, result.errors
    return db


def _file(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _days(db: Any, building: str, lo: str, hi: str) -> dict[date, tuple[float, str]]:
    rows = db.query(
        "SELECT day, energy_kwh, source FROM building_days(%s, %s) WHERE building_id = %s "
        "AND energy_type = 'electricity' ORDER BY day",
        (lo, hi, building),
    )
    return {r["day"]: (r["energy_kwh"], r["source"]) for r in rows}


def _month(db: Any, building: str, month: str) -> float:
    return db.scalar(
        "SELECT energy_kwh FROM building_monthly WHERE building_id = %s "
        "AND energy_type = 'electricity' AND month = %s",
        (building, month),
    )


def _check_accounting(data: dict[str, Any]) -> None:
    assert (
        data["rows_read"] == data["rows_loaded"] + data["rows_duplicate"] + data["rows_quarantined"]
    )
    assert sum(data["quarantine_by_reason"].values()) == data["rows_quarantined"]


def test_month_end_new_year_and_leap_february(billed, tmp_path, monkeypatch):
    monkeypatch.setattr(bills_rollups, "WRITE_SLICE_ROWS", 7)  # the days go in several slices
    path = _file(
        tmp_path,
        "bills.csv",
        BILLS_HEADER
        + "A1,2023-12-20,2024-01-14,520,,\n"  # 26 days, 20 kWh/day: 12 in 2023, 14 in 2024
        + "A1,2024-01-15,2024-02-14,3100,,A\n"  # 31 days, 100/day: Jan 1700, Feb 1400
        + "A1,2024-02-15,2024-02-29,1.5,MWh,0\n",  # 15 days incl. 29 Feb, 100/day
    )
    summary = ingest_paths(billed.settings, [path], trigger="test")
    data = summary.to_dict()
    _check_accounting(data)
    assert (data["rows_read"], data["rows_loaded"]) == (3, 3)
    assert _month(billed, "B1", "2023-12-01") == pytest.approx(240.0)
    assert _month(billed, "B1", "2024-01-01") == pytest.approx(14 * 20 + 1700.0)
    assert _month(billed, "B1", "2024-02-01") == pytest.approx(1400.0 + 1500.0)
    days = _days(billed, "B1", "2024-02-28", "2024-03-01")
    assert days == {
        date(2024, 2, 28): (pytest.approx(100.0), "bills"),
        date(2024, 2, 29): (pytest.approx(100.0), "bills"),
    }
    assert summary.affected == {2023: {"B1"}, 2024: {"B1"}}
    row = billed.query(
        "SELECT covered_hours, meter_count, reading_count FROM building_days(%s, %s) "
        "WHERE building_id = 'B1'",
        ("2024-01-20", "2024-01-20"),
    )[0]
    assert (row["covered_hours"], row["meter_count"], row["reading_count"]) == (24.0, 0, 1)
    assert billed.scalar("SELECT content FROM ingest_file") == "bills"


def test_shared_account_60_40(billed, tmp_path, monkeypatch):
    monkeypatch.setattr(bills_rollups, "GROUPS_PER_PASS", 1)  # B1 and B2 in two passes
    path = _file(tmp_path, "shared.csv", BILLS_HEADER + "A2,2024-03-01,2024-03-31,3100,,\n")
    ingest_paths(billed.settings, [path], trigger="test")
    assert _month(billed, "B1", "2024-03-01") == pytest.approx(1860.0)
    assert _month(billed, "B2", "2024-03-01") == pytest.approx(1240.0)
    assert _days(billed, "B2", "2024-03-05", "2024-03-05")[date(2024, 3, 5)][0] == pytest.approx(
        40.0
    )

    # New shares: 50/50 from the next import on; the stored bill is spread again.
    accounts = _file(
        tmp_path,
        "accounts2.csv",
        ACCOUNTS_HEADER + "A2,B1,electricity,kWh,0.5,,\nA2,B2,electricity,kWh,0.5,,\n",
    )
    _import_accounts(billed, accounts)
    assert _month(billed, "B1", "2024-03-01") == pytest.approx(1550.0)
    assert _month(billed, "B2", "2024-03-01") == pytest.approx(1550.0)

    # An account named in a file is replaced whole: A2 now serves B1 alone.
    alone = _file(tmp_path, "accounts3.csv", ACCOUNTS_HEADER + "A2,B1,electricity,kWh,,,\n")
    _import_accounts(billed, alone)
    assert billed.scalar("SELECT count(*) FROM utility_account WHERE account_id = 'A2'") == 1
    assert _month(billed, "B1", "2024-03-01") == pytest.approx(3100.0)
    assert _month(billed, "B2", "2024-03-01") is None


def test_estimate_replaced_by_actual_keeps_the_estimate_as_superseded(billed, tmp_path):
    estimate = _file(tmp_path, "est.csv", BILLS_HEADER + "A1,2024-04-01,2024-04-30,3000,,E\n")
    actual = _file(tmp_path, "act.csv", BILLS_HEADER + "A1,2024-04-01,2024-04-30,3300,,A\n")
    ingest_paths(billed.settings, [estimate], trigger="test")
    assert _month(billed, "B1", "2024-04-01") == pytest.approx(3000.0)
    data = ingest_paths(billed.settings, [actual], trigger="test").to_dict()
    assert (data["rows_loaded"], data["rows_quarantined"]) == (1, 0)
    bills = billed.query(
        "SELECT b.value, b.estimated, b.status, f.file_name AS file, r.file_name AS replaced_by "
        "FROM bill b JOIN ingest_file f ON f.file_id = b.file_id "
        "LEFT JOIN ingest_file r ON r.file_id = b.replaced_by_file_id ORDER BY b.bill_id"
    )
    assert bills == [
        {
            "value": 3000.0,
            "estimated": True,
            "status": "superseded",
            "file": "est.csv",
            "replaced_by": "act.csv",
        },
        {
            "value": 3300.0,
            "estimated": False,
            "status": "active",
            "file": "act.csv",
            "replaced_by": None,
        },
    ]
    assert _month(billed, "B1", "2024-04-01") == pytest.approx(3300.0)
    assert billed.scalar("SELECT count(*) FROM bill_correction") == 0


def test_every_quarantine_reason_overlap_and_corrections(billed, tmp_path):
    first = _file(tmp_path, "first.csv", BILLS_HEADER + "A1,2024-03-01,2024-03-31,310,,\n")
    ingest_paths(billed.settings, [first], trigger="test")
    path = _file(
        tmp_path,
        "reasons.csv",
        BILLS_HEADER
        + "NOPE,2024-03-01,2024-03-31,1,,\n"  # 2 unknown_account
        + "A1,2024-04-10,2024-04-01,1,,\n"  # 3 bad_period
        + "A1,2024-01-01,2024-12-31,1,,\n"  # 4 bad_period (366 days)
        + "A1,2024-04-01,2024-04-30,lots,,\n"  # 5 bad_value
        + "A1,2024-04-01,2024-04-30,-1,,\n"  # 6 negative_value
        + "A1,2024-04-01,2024-04-30,1,m3,\n"  # 7 bad_unit
        + "A1,2024-03-16,2024-04-15,600,,A\n"  # 8 overlapping_bill (actual over actual)
        + "A1,2024-04-16,2024-04-30\n"  # 9 malformed_row
        + "A1,2024-03-01,2024-03-31,310,,\n",  # 10 duplicate
    )
    data = ingest_paths(billed.settings, [path], trigger="test").to_dict()
    _check_accounting(data)
    assert data["quarantine_by_reason"] == {
        "bad_period": 2,
        "bad_unit": 1,
        "bad_value": 1,
        "malformed_row": 1,
        "negative_value": 1,
        "overlapping_bill": 1,
        "unknown_account": 1,
    }
    assert (data["rows_read"], data["rows_loaded"], data["rows_duplicate"]) == (9, 0, 1)
    file_data = data["files"][0]
    assert file_data["status"] == "loaded" and file_data["rows_quarantined"] == 8
    rows = billed.query(
        "SELECT line_number, reason_code, raw_row, details FROM quarantine ORDER BY line_number"
    )
    assert rows[0]["raw_row"] == "NOPE,2024-03-01,2024-03-31,1,,"
    assert rows[0]["details"]["code"] == "bill.unknown_account"
    assert rows[6]["details"]["overlapped_period_start"] == "2024-03-01"
    assert _month(billed, "B1", "2024-03-01") == pytest.approx(310.0)  # the first stays

    # A corrections file replaces the stored actual bill, with an audit record.
    fix = _file(tmp_path, "fix.csv", BILLS_HEADER + "A1,2024-03-16,2024-04-15,620,,A\n")
    data = ingest_paths(billed.settings, [fix], trigger="test", corrections=True).to_dict()
    assert (data["rows_loaded"], data["rows_corrected"]) == (1, 1)
    audit = billed.query(
        "SELECT previous_value, previous_period_start, f.file_name FROM bill_correction c "
        "JOIN ingest_file f ON f.file_id = c.file_id"
    )
    assert audit == [
        {"previous_value": 310.0, "previous_period_start": date(2024, 3, 1), "file_name": "fix.csv"}
    ]
    assert billed.scalar("SELECT status FROM bill WHERE value = 310") == "corrected"
    # 1-15 March no longer billed: no row (B1 has no meters); 16 March - 15 April 20/day.
    assert _days(billed, "B1", "2024-03-01", "2024-03-15") == {}
    assert _month(billed, "B1", "2024-03-01") == pytest.approx(16 * 20.0)
    assert _month(billed, "B1", "2024-04-01") == pytest.approx(15 * 20.0)


def test_duplicates_and_a_rerun_that_loads_nothing(billed, tmp_path):
    text = BILLS_HEADER + "A1,2024-05-01,2024-05-31,310,,\nA1,2024-05-01,2024-05-31,310,,\n"
    path = _file(tmp_path, "may.csv", text)
    data = ingest_paths(billed.settings, [path], trigger="test").to_dict()
    assert (data["rows_loaded"], data["rows_duplicate"]) == (1, 1)
    again = ingest_paths(billed.settings, [path], trigger="test").to_dict()
    assert again["files"][0]["status"] == "skipped" and again["rows_loaded"] == 0
    copy = _file(tmp_path, "may-resent.csv", text.replace("\n", "\r\n"))
    resent = ingest_paths(billed.settings, [copy], trigger="test").to_dict()
    assert (resent["rows_loaded"], resent["rows_duplicate"]) == (0, 2)
    assert billed.scalar("SELECT count(*) FROM bill") == 1
    assert _month(billed, "B1", "2024-05-01") == pytest.approx(310.0)


def _readings(tmp_path: Path, first: str, last: str, kwh_per_hour: float = 1.0) -> Path:
    start = datetime.fromisoformat(first)
    end = datetime.fromisoformat(last) + timedelta(days=1)
    lines = ["meter_id,timestamp,value"]
    at = start
    while at < end:
        lines.append(f"M3,{at:%Y-%m-%d %H:%M},{kwh_per_hour}")
        at += timedelta(hours=1)
    path = tmp_path / f"readings-{first}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("bills_first", [True, False])
def test_bills_and_a_meter_with_days_after_the_last_bill(billed, tmp_path, bills_first):
    bills = _file(tmp_path, "b3.csv", BILLS_HEADER + "A3,2024-05-01,2024-05-10,500,,\n")
    readings = _readings(tmp_path, "2024-05-08", "2024-05-12")  # 24 kWh a day
    order = [bills, readings] if bills_first else [readings, bills]
    for path in order:
        ingest_paths(billed.settings, [path], trigger="test")
    days = _days(billed, "B3", "2024-05-01", "2024-05-31")
    assert len(days) == 12
    assert days[date(2024, 5, 1)] == (pytest.approx(50.0), "bills")
    assert days[date(2024, 5, 10)] == (pytest.approx(50.0), "bills")  # meter's 24 not added
    assert days[date(2024, 5, 11)] == (pytest.approx(24.0), "provisional")
    assert days[date(2024, 5, 12)] == (pytest.approx(24.0), "provisional")
    assert _month(billed, "B3", "2024-05-01") == pytest.approx(500.0 + 48.0)
    # meter_daily keeps the meter's own figures for the side-by-side check
    assert billed.scalar(
        "SELECT sum(energy_kwh) FROM meter_daily WHERE day BETWEEN '2024-05-08' AND '2024-05-10'"
    ) == pytest.approx(72.0)

    # A later bill covers the provisional days: they take the billed figure.
    later = _file(tmp_path, "b3-next.csv", BILLS_HEADER + "A3,2024-05-11,2024-05-31,630,,\n")
    ingest_paths(billed.settings, [later], trigger="test")
    days = _days(billed, "B3", "2024-05-11", "2024-05-12")
    assert days == {
        date(2024, 5, 11): (pytest.approx(30.0), "bills"),
        date(2024, 5, 12): (pytest.approx(30.0), "bills"),
    }

    # Rebuilding the rollups from readings keeps the bills' days.
    proc = billed.cli("rollups", "rebuild", "--json")
    assert proc.returncode == 0, proc.stderr
    assert _month(billed, "B3", "2024-05-01") == pytest.approx(1130.0)


def test_gbk_files_with_chinese_account_names(db, tmp_path):
    with db.connect() as conn:
        _buildings(conn, "京B1")
        conn.commit()
    accounts = _file(
        tmp_path,
        "户号.csv",
        ACCOUNTS_HEADER + "电户001,京B1,电力,千瓦时,100%,国网北京市电力公司,东城区政务中心\n",
        "gbk",
    )
    result = _import_accounts(db, accounts)
    assert result.applied and result.encoding == "gb18030"
    assert db.scalar("SELECT account_name FROM utility_account") == "东城区政务中心"
    bills = _file(
        tmp_path, "账单.csv", BILLS_HEADER + "电户001,2024-06-01,2024-06-30,300,度,A\n", "gbk"
    )
    data = ingest_paths(db.settings, [bills], trigger="test").to_dict()
    assert data["rows_loaded"] == 1
    assert _month(db, "京B1", "2024-06-01") == pytest.approx(300.0)


def test_accounts_import_command_refuses_shares_that_do_not_add_up(billed, tmp_path):
    path = _file(
        tmp_path,
        "bad.csv",
        ACCOUNTS_HEADER
        + "A9,B1,electricity,kWh,0.7,,\nA9,B2,electricity,kWh,0.2,,\nA8,B1,electricity,kWh,,,\n",
    )
    proc = billed.cli("import", "accounts", str(path), "--json")
    assert proc.returncode == 1
    item = json.loads(proc.stdout)["files"][0]
    assert item["applied"] is False
    assert [(e["line"], e["reason"]) for e in item["errors"]] == [
        (2, "shares_do_not_add_up"),
        (3, "shares_do_not_add_up"),
    ]
    assert (
        billed.scalar("SELECT count(*) FROM utility_account WHERE account_id IN ('A8', 'A9')") == 0
    )
    good = _file(tmp_path, "good.csv", ACCOUNTS_HEADER + "A8,B1,electricity,kWh,,,\n")
    proc = billed.cli("import", "accounts", str(good), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"][0]["rows_inserted"] == 1


def test_ingest_command_json_and_the_inbox_path(billed, tmp_path):
    path = _file(
        tmp_path,
        "cli.csv",
        BILLS_HEADER + "A1,2024-07-01,2024-07-31,310,,\nX,2024-07-01,2024-07-31,1,,\n",
    )
    proc = billed.cli("ingest", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("rows_read", "rows_loaded", "rows_duplicate", "rows_quarantined"):
        assert key in data
    assert data["quarantine_by_reason"] == {"unknown_account": 1}
    assert data["files"][0]["status"] == "loaded"

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dropped = inbox / "bills-2024-08.csv"
    dropped.write_text(BILLS_HEADER + "A1,2024-08-01,2024-08-31,620,,\n", encoding="utf-8")
    old = time.time() - 120
    os.utime(dropped, (old, old))
    proc = billed.cli("scheduler", "--once", "--json", QUOTAWATCH_INBOX=str(inbox))
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)
    assert counts["files_loaded"] == 1 and counts["rows_loaded"] == 1
    assert (inbox / "archive" / "bills-2024-08.csv").exists()
    assert _month(billed, "B1", "2024-08-01") == pytest.approx(620.0)


def test_a_billed_building_without_meters_is_evaluated(billed, tmp_path):
    """Completeness for account-based use: covered days ÷ elapsed days."""
    year = 2024
    lines = []
    for month in range(1, 13):
        start = date(year, month, 1)
        end = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
        if month == 6:
            continue  # June not billed: 30 of 366 days uncovered
        lines.append(f"A1,{start},{end},{(end - start).days + 1}0,,\n")  # 10 kWh a day
    ingest_paths(
        billed.settings,
        [_file(tmp_path, "year.csv", BILLS_HEADER + "".join(lines))],
        trigger="test",
    )
    with billed.connect() as conn:
        conn.execute(
            "INSERT INTO quota (building_id, year, basis, limit_value, source) "
            "VALUES ('B1', 2024, 'electricity_kwh', 4000, 'imported')"
        )
        conn.commit()
    proc = billed.cli("evaluate", "--year", "2024", "--as-of", "2024-12-31", "--json")
    assert proc.returncode == 0, proc.stderr
    row = billed.query(
        "SELECT status, energy_kwh, completeness FROM evaluation_result "
        "WHERE building_id = 'B1' AND basis = 'electricity_kwh'"
    )[0]
    assert row["energy_kwh"] == pytest.approx(3360.0)
    assert row["completeness"] == pytest.approx(336 / 366)
    assert row["status"] == "within"


def test_a_billed_building_between_bills_is_compared_through_its_last_bill(billed, tmp_path):
    """B1 (billed only) uses 1,100 kWh a day; bills 1 Jan - 31 Mar 2025 (90 days, 99,000
    kWh); quota 365,000 kWh. As of 20 April (110 days): expected share through the last
    bill 90/365, projected 99,000 × 365/90 = 401,500 kWh (110 %: at_risk), completeness
    90/110. Against 20 April's share (110/365) it would read 328,500 kWh (90 %: within)."""
    path = _file(tmp_path, "q1.csv", BILLS_HEADER + "A1,2025-01-01,2025-03-31,99000,kWh,A\n")
    ingest_paths(billed.settings, [path], trigger="test")
    with billed.connect() as conn:
        conn.execute(
            "INSERT INTO quota (building_id, year, basis, limit_value, source) "
            "VALUES ('B1', 2025, 'electricity_kwh', 365000, 'imported')"
        )
        conn.commit()
    proc = billed.cli("evaluate", "--year", "2025", "--as-of", "2025-04-20", "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    b1 = next(r for r in document["buildings"] if r["building_id"] == "B1")
    assert b1["figures_through"] == "2025-03-31"
    assert b1["status"] == "at_risk"
    assert b1["expected_share"] == pytest.approx(90 / 365)
    assert b1["projected"] == pytest.approx(401_500.0)
    assert b1["energy_kwh"] == pytest.approx(99_000.0)
    assert b1["completeness"] == pytest.approx(90 / 110)
    b3 = next(r for r in document["buildings"] if r["building_id"] == "B3")
    assert b3["figures_through"] is None  # B3 has a meter: its figures run to 20 April
    row = billed.query(
        "SELECT status, projected, details->>'figures_through' AS through "
        "FROM evaluation_result WHERE building_id = 'B1' AND basis = 'electricity_kwh'"
    )[0]
    assert (row["status"], row["through"]) == ("at_risk", "2025-03-31")
    assert row["projected"] == pytest.approx(401_500.0)
    out = tmp_path / "compliance.csv"
    billed.cli("export", "compliance", "--year", "2025", "--lang", "en", "-o", str(out), check=True)
    exported = {
        r["Building ID"]: r
        for r in csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig")))
    }
    assert exported["B1"]["Figures through (billed)"] == "2025-03-31"
    assert exported["B3"]["Figures through (billed)"] == ""

    # The next bill arrives: the figures run to the as-of date again.
    path = _file(tmp_path, "apr.csv", BILLS_HEADER + "A1,2025-04-01,2025-04-20,22000,kWh,A\n")
    ingest_paths(billed.settings, [path], trigger="test")
    proc = billed.cli("evaluate", "--year", "2025", "--as-of", "2025-04-20", "--json")
    b1 = next(r for r in json.loads(proc.stdout)["buildings"] if r["building_id"] == "B1")
    assert b1["figures_through"] is None
    assert b1["expected_share"] == pytest.approx(110 / 365)
    assert b1["projected"] == pytest.approx(121_000 * 365 / 110)
    assert (b1["completeness"], b1["status"]) == (pytest.approx(1.0), "at_risk")


def test_deferred_upkeep_keeps_the_monthly_rollup_and_the_references(billed, tmp_path):
    """A bills load writes building_daily without its per-statement upkeep and recomputes
    the touched months once (sql/0140): building_monthly is then what a rebuild gives, later
    statements of the transaction keep the triggers, and references are still checked."""
    path = _file(
        tmp_path,
        "bills.csv",
        BILLS_HEADER + "A1,2024-01-15,2024-02-14,3100,,\nA2,2024-02-10,2024-03-10,3000,,\n",
    )
    ingest_paths(billed.settings, [path], trigger="test")
    query = (
        "SELECT building_id, energy_type, month, energy_kwh, reading_count, covered_hours, "
        "day_count, first_day FROM building_monthly ORDER BY 1, 2, 3"
    )
    loaded = billed.query(query)
    # B1: A1 100 a day 15 Jan - 14 Feb, 60 % of A2 (3,000 over 30 days) 10 Feb - 10 Mar.
    by_key = {(r["building_id"], r["month"]): r for r in loaded}
    assert by_key[("B1", date(2024, 2, 1))]["energy_kwh"] == pytest.approx(1400 + 20 * 60.0)
    assert by_key[("B1", date(2024, 2, 1))]["day_count"] == 29
    assert by_key[("B2", date(2024, 3, 1))]["energy_kwh"] == pytest.approx(10 * 40.0)
    with billed.connect() as conn:
        conn.execute("SELECT building_monthly_rebuild()")
        rebuilt = conn.execute(query).fetchall()
        assert [dict(r) for r in rebuilt] == [dict(r) for r in loaded]
        # The setting ended with the load: a later write keeps building_monthly by trigger.
        bills_rollups.recompute(
            conn, billed.settings.tz, {("B2", "electricity")}, date(2024, 3, 1), date(2024, 3, 1)
        )
        conn.execute(
            "INSERT INTO building_daily (building_id, energy_type, day, energy_kwh, "
            "reading_count, covered_hours, meter_count) "
            "VALUES ('B2', 'electricity', '2024-04-02', 7, 1, 24, 1)"
        )
        april = conn.execute(
            "SELECT energy_kwh FROM building_monthly WHERE building_id = 'B2' "
            "AND month = '2024-04-01'"
        ).fetchone()
        assert april["energy_kwh"] == pytest.approx(7.0)
        conn.rollback()
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "SELECT building_daily_deferred_upkeep(ARRAY['NOPE'], ARRAY['electricity'], "
                "'2024-01-01', '2024-01-31', '2024-01-01', '2024-01-31')"
            )


def _all_days(db: Any) -> list[tuple[Any, ...]]:
    return [
        tuple(r.values())
        for r in db.query(
            "SELECT building_id, energy_type, day, energy_kwh, reading_count, covered_hours, "
            "meter_count, source FROM building_days('-infinity', 'infinity') ORDER BY 1, 2, 3"
        )
    ]


def _monthly(db: Any) -> list[dict[str, Any]]:
    return db.query(
        "SELECT building_id, energy_type, month, energy_kwh, reading_count, covered_hours, "
        "day_count, first_day FROM building_monthly ORDER BY 1, 2, 3"
    )


def test_billed_days_are_stored_as_runs_and_read_back_as_days(billed, tmp_path):
    """One run per bill and building (sql/0150); building_days() gives every day back."""
    path = _file(
        tmp_path,
        "bills.csv",
        BILLS_HEADER + "A1,2024-01-15,2024-02-14,3100,,\nA2,2024-02-10,2024-03-10,3000,,\n",
    )
    ingest_paths(billed.settings, [path], trigger="test")
    assert billed.scalar("SELECT count(*) FROM building_daily WHERE source = 'bills'") == 0
    runs = billed.query(
        "SELECT building_id, first_day, last_day, energy_kwh FROM building_daily_run "
        "ORDER BY building_id, first_day"
    )
    # B1: A1 alone 15 Jan - 9 Feb (100 a day), with 60 % of A2 10 - 14 Feb (160), A2 alone
    # 15 Feb - 10 Mar (60); B2: 40 % of A2 (40 a day).
    assert [(r["building_id"], r["first_day"], r["last_day"]) for r in runs] == [
        ("B1", date(2024, 1, 15), date(2024, 2, 9)),
        ("B1", date(2024, 2, 10), date(2024, 2, 14)),
        ("B1", date(2024, 2, 15), date(2024, 3, 10)),
        ("B2", date(2024, 2, 10), date(2024, 3, 10)),
    ]
    assert [r["energy_kwh"] for r in runs] == pytest.approx([100.0, 160.0, 60.0, 40.0])
    days = _days(billed, "B1", "2024-01-01", "2024-03-31")
    assert len(days) == 17 + 29 + 10
    assert days[date(2024, 2, 12)] == (pytest.approx(160.0), "bills")
    assert sum(v for v, _s in days.values()) == pytest.approx(3100 + 0.6 * 3000)
    # A range inside a run gives the run's days within it only.
    assert list(_days(billed, "B1", "2024-02-11", "2024-02-12")) == [
        date(2024, 2, 11),
        date(2024, 2, 12),
    ]


def test_a_recompute_inside_a_run_keeps_the_run_s_days_outside_it(billed, tmp_path):
    path = _file(tmp_path, "bills.csv", BILLS_HEADER + "A1,2024-01-15,2024-03-14,6000,,\n")
    ingest_paths(billed.settings, [path], trigger="test")
    before, monthly = _all_days(billed), _monthly(billed)
    with billed.connect() as conn:
        bills_rollups.recompute(
            conn, billed.settings.tz, {("B1", "electricity")}, date(2024, 2, 3), date(2024, 2, 20)
        )
        conn.commit()
    assert _all_days(billed) == before
    assert [
        (r["first_day"], r["last_day"])
        for r in billed.query("SELECT first_day, last_day FROM building_daily_run ORDER BY 1")
    ] == [
        (date(2024, 1, 15), date(2024, 2, 2)),
        (date(2024, 2, 3), date(2024, 2, 20)),
        (date(2024, 2, 21), date(2024, 3, 14)),
    ]
    assert _monthly(billed) == monthly
    with billed.connect() as conn:
        conn.execute("SELECT building_monthly_rebuild()")
        conn.commit()
    assert _monthly(billed) == monthly


def test_runs_are_kept_like_building_days(billed, tmp_path):
    """Runs are written with the deferred upkeep only; renaming a building that has runs is
    refused, deleting it or emptying building_daily removes them."""
    path = _file(tmp_path, "bills.csv", BILLS_HEADER + "A1,2024-01-01,2024-01-31,310,,\n")
    ingest_paths(billed.settings, [path], trigger="test")
    with billed.connect() as conn:
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute(
                "INSERT INTO building_daily_run (building_id, energy_type, first_day, last_day, "
                "energy_kwh, reading_count, covered_hours, meter_count, source) "
                "VALUES ('B1', 'electricity', '2025-01-01', '2025-01-02', 1, 1, 24, 0, 'bills')"
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("UPDATE building SET building_id = 'B1-new' WHERE building_id = 'B1'")
        conn.rollback()
        conn.execute("DELETE FROM utility_account WHERE building_id = 'B1'")
        conn.execute("DELETE FROM building WHERE building_id = 'B1'")
        assert conn.execute("SELECT count(*) AS n FROM building_daily_run").fetchone()["n"] == 0
        conn.rollback()
        conn.execute("TRUNCATE building_daily")
        assert conn.execute("SELECT count(*) AS n FROM building_daily_run").fetchone()["n"] == 0
        conn.rollback()


def test_the_migration_moves_billed_days_into_runs(empty_db, tmp_path):
    """A database whose billed days are rows of building_daily (before sql/0150) keeps every
    day, figure and monthly sum when the days move into runs."""
    from quota.db import migrations
    from quota.settings import SQL_DIR

    older = tmp_path / "sql"
    older.mkdir()
    for path in SQL_DIR.glob("*.sql"):
        if int(path.name[:4]) < 150:
            (older / path.name).write_text(path.read_text("utf-8"), "utf-8")
    with empty_db.connect(autocommit=True) as conn:
        migrations.migrate(conn, older)
        _buildings(conn, "B1", "B2")
        conn.execute(
            "INSERT INTO building_daily (building_id, energy_type, day, energy_kwh, "
            "reading_count, covered_hours, meter_count, source) "
            "SELECT 'B1', 'electricity', d::date, CASE WHEN d < '2024-02-01' THEN 100 ELSE 60 END, "
            "1, 24, 0, 'bills' FROM generate_series('2024-01-15'::date, '2024-03-10', '1 day') d "
            "UNION ALL SELECT 'B1', 'electricity', d::date, 7.5, 3, 24, 1, 'provisional' "
            "FROM generate_series('2024-03-11'::date, '2024-03-13', '1 day') d "
            "UNION ALL SELECT 'B2', 'electricity', '2024-01-02', 5, 24, 24, 1, 'meters'"
        )
        before = conn.execute(
            "SELECT building_id, energy_type, day, energy_kwh, reading_count, covered_hours, "
            "meter_count, source FROM building_daily ORDER BY 1, 2, 3"
        ).fetchall()
        monthly = conn.execute("SELECT * FROM building_monthly ORDER BY 1, 2, 3").fetchall()
        assert [m.version for m in migrations.migrate(conn)] == [
            m.version for m in migrations.discover() if m.version >= 150
        ]
        after = conn.execute(
            "SELECT * FROM building_days('-infinity', 'infinity') ORDER BY 1, 2, 3"
        ).fetchall()
        assert [tuple(r.values()) for r in after] == [tuple(r.values()) for r in before]
        runs = conn.execute(
            "SELECT first_day, last_day, energy_kwh FROM building_daily_run ORDER BY 1"
        ).fetchall()
        assert [tuple(r.values()) for r in runs] == [
            (date(2024, 1, 15), date(2024, 1, 31), 100.0),
            (date(2024, 2, 1), date(2024, 3, 10), 60.0),
        ]
        assert conn.execute("SELECT count(*) AS n FROM building_daily").fetchone()["n"] == 4
        assert conn.execute("SELECT * FROM building_monthly ORDER BY 1, 2, 3").fetchall() == monthly
