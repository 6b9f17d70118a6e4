"""`quotawatch db backup` / `db restore`: a restore into a fresh database gives the same
data and the same evaluation results; a non-empty database is refused without --force."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest
from psycopg import sql

from tests.conftest import TestDatabase as Database
from tests.conftest import settings_for_database
from tests.ingest.conftest import register_meters
from tests.quota.conftest import add_building, add_daily, add_meter, add_quota, day_range

pytestmark = pytest.mark.slow

YEAR = 2025
VOLATILE = {"evaluation_id", "computed_at", "run", "seconds"}


def _seed(db: Database, tmp_path) -> None:
    with db.connect() as conn:
        for bid, area in (("A", 10000.0), ("B", 10000.0), ("C", 1000.0)):
            add_building(conn, bid, floor_area_m2=area)
            add_meter(conn, f"M-{bid}", bid)
        add_daily(conn, "A", day_range(date(2024, 1, 1), date(2024, 12, 31)), 2.0)
        add_daily(conn, "A", day_range(date(2025, 1, 1), date(2025, 6, 30)), 1.0)
        add_daily(conn, "B", day_range(date(2025, 1, 1), date(2025, 6, 30)), 10.0)
        add_daily(conn, "C", day_range(date(2025, 1, 1), date(2025, 6, 30)), 3.0)
        add_quota(conn, "A", YEAR, 800.0)
        add_quota(conn, "B", YEAR, 1000.0)
        register_meters(conn)
        conn.commit()
    readings = tmp_path / "r.csv"
    readings.write_text(
        "meter_id,timestamp,value\nE1,2025-03-01 00:00,1\nE1,2025-03-01 01:00,2\n"
        "NOPE,2025-03-01 00:00,1\n",
        encoding="utf-8",
    )
    db.cli("ingest", str(readings), "--json", check=True)


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _evaluate(db: Database) -> dict:
    proc = db.cli("evaluate", "--year", str(YEAR), "--as-of", "2025-06-30", "--json", check=True)
    return _strip(json.loads(proc.stdout))


RESULT_ROWS = """
SELECT building_id, basis, status, energy_kwh, limit_value, utilization, projected, completeness
  FROM evaluation_result ORDER BY building_id, basis
"""


@pytest.fixture
def fresh(server_settings, template_db):
    """A database name that does not exist yet on the test server (dropped afterwards)."""
    name = f"qwtest_{os.getpid()}_restored"
    target = Database(name=name, settings=settings_for_database(server_settings, name))
    yield target
    from quota import db as qdb

    with qdb.connect(server_settings, "postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def test_backup_and_restore_give_identical_evaluations(db, fresh, tmp_path):
    _seed(db, tmp_path)
    before = _evaluate(db)
    statuses = {(b["building_id"], b["basis"]): b["status"] for b in before["buildings"]}
    assert statuses[("B", "electricity_kwh")].startswith("over")
    assert statuses[("C", "electricity_kwh")] == "out_of_scope"  # 1,000 m2
    archive = tmp_path / "quotawatch.dump"
    backup = json.loads(db.cli("db", "backup", "-o", str(archive), "--json", check=True).stdout)
    assert archive.stat().st_size == backup["size_bytes"] > 0
    assert backup["migration_level"] >= 60

    restored = json.loads(fresh.cli("db", "restore", str(archive), "--json", check=True).stdout)
    assert restored["database"] == fresh.name
    assert restored["migration_level"] == backup["migration_level"]
    assert restored["timescaledb_version"] == backup["timescaledb_version"]

    # the same stored data ...
    assert db.query(RESULT_ROWS) == fresh.query(RESULT_ROWS)
    for table in ("reading", "building_daily", "quarantine", "ingest_file", "quota"):
        count = f"SELECT count(*) FROM {table}"
        assert db.scalar(count) == fresh.scalar(count), table
    assert fresh.scalar("SELECT count(*) FROM timescaledb_information.hypertables") >= 1
    # ... and the same evaluation computed afresh
    assert _evaluate(fresh) == before

    refused = fresh.cli("db", "restore", str(archive), "--json")
    assert refused.returncode != 0
    assert "not empty" in refused.stderr
    assert "Traceback" not in refused.stderr
    forced = fresh.cli("db", "restore", str(archive), "--force", "--json", check=True)
    assert json.loads(forced.stdout)["replaced_existing"] is True
    assert db.query(RESULT_ROWS) == fresh.query(RESULT_ROWS)


def test_restore_refuses_a_file_that_is_not_a_backup(fresh, tmp_path):
    bogus = tmp_path / "not-a-dump"
    bogus.write_text("hello", encoding="utf-8")
    proc = fresh.cli("db", "restore", str(bogus))
    assert proc.returncode != 0
    assert "not a QuotaWatch backup archive" in proc.stderr
    assert "Traceback" not in proc.stderr
