"""register_max is the largest value a register shows (register_digits an alternative); the
stored meters are migrated so that their wrap point, and so every total, stays the same."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.cumulative import register_use_kwh
from ingest.loader import ingest_paths
from quota.db import migrations
from quota.registry.parse import parse_registry, register_modulus
from quota.settings import SQL_DIR

BUILDINGS = "building_id,name,district,building_type,floor_area_m2\nB1,A,Dongcheng,hotel,9000\n"
METERS = (
    "meter_id,building_id,energy_type,unit,reading_kind,register_max,register_digits\n"
    "R5,B1,electricity,kWh,cumulative,99999,\n"
    "D5,B1,electricity,kWh,cumulative,,5\n"
    "T1,B1,district_heat,GJ,cumulative,9999.9,\n"
)


def test_register_modulus_is_one_step_above_the_largest_value() -> None:
    assert register_modulus(99999.0) == 100000.0
    assert register_modulus(9999.9) == 10000.0
    assert register_modulus(999.99) == 1000.0
    assert register_modulus(0.0) == 1.0
    # 99990 → 5 on a five-digit register is 15 units.
    assert register_use_kwh(99990.0, 5.0, register_modulus(99999.0)) == 15.0


def test_register_digits_gives_register_max_and_must_agree_with_it() -> None:
    parsed = parse_registry("meters", METERS)
    assert not parsed.errors
    assert [r["register_max"] for r in parsed.records] == [99999.0, 99999.0, 9999.9]
    clash = parse_registry(
        "meters",
        "meter_id,building_id,energy_type,unit,reading_kind,register_max,register_digits\n"
        "X,B1,electricity,kWh,cumulative,100000,5\n",
    )
    assert [e.reason for e in clash.errors] == ["out_of_range"]
    interval = parse_registry(
        "meters", "meter_id,building_id,energy_type,unit,register_digits\nY,B1,electricity,kWh,6\n"
    )
    assert "cumulative meters only" in interval.errors[0].message


def test_five_digit_register_through_import_and_ingest(db, tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text(BUILDINGS, encoding="utf-8")
    (tmp_path / "m.csv").write_text(METERS, encoding="utf-8")
    db.cli("import", "buildings", str(tmp_path / "b.csv"), check=True)
    db.cli("import", "meters", str(tmp_path / "m.csv"), check=True)
    stored = {r["meter_id"]: r["register_max"] for r in db.query("SELECT * FROM meter")}
    assert stored == {"R5": 99999.0, "D5": 99999.0, "T1": 9999.9}

    readings = tmp_path / "r.csv"
    readings.write_text(
        "meter_id,timestamp,value\n"
        "R5,2024-03-01 00:00,99990\n"
        "R5,2024-03-01 12:00,5\n"  # rolled over: 15 kWh
        "D5,2024-03-01 00:00,99000\n"
        "D5,2024-03-01 12:00,99999\n"  # the largest value it shows: valid, 999 kWh
        "D5,2024-03-01 13:00,100000\n"  # a value it cannot show
        "T1,2024-03-01 00:00,9999.5\n"
        "T1,2024-03-01 12:00,0.5\n",  # wraps at 10000 GJ: 1 GJ
        encoding="utf-8",
    )
    proc = db.cli("ingest", "--json", str(readings))
    data = json.loads(proc.stdout)
    assert data["quarantine_by_reason"] == {"above_register_max": 1}
    energy = {
        r["meter_id"]: r["energy_kwh"]
        for r in db.query(
            "SELECT meter_id, sum(energy_kwh) AS energy_kwh FROM reading_as_sent GROUP BY meter_id"
        )
    }
    assert energy["R5"] == pytest.approx(15.0)
    assert energy["D5"] == pytest.approx(999.0)
    assert energy["T1"] == pytest.approx(1e9 / 3.6e6)  # 1 GJ in kWh


def _migrate_until(conn, tmp_path: Path, last_version: int) -> None:
    """Apply the migrations up to ``last_version`` (the state of a database before it)."""
    older = tmp_path / f"sql_{last_version}"
    older.mkdir()
    for path in SQL_DIR.glob("*.sql"):
        if int(path.name[:4]) <= last_version:
            shutil.copy(path, older / path.name)
    migrations.migrate(conn, older)


def test_migration_keeps_every_stored_meters_wrap_point(empty_db, tmp_path: Path) -> None:
    moduli = {"W1": 100000.0, "W2": 1000.5, "W3": 1000.1, "W4": 1.0, "W5": 65536.0}
    with empty_db.connect(autocommit=True) as conn:
        _migrate_until(conn, tmp_path, 39)
        conn.execute(
            "INSERT INTO building (building_id, name, district, building_type, floor_area_m2) "
            "VALUES ('B1', 'A', 'Dongcheng', 'hotel', 9000)"
        )
        for meter_id, modulus in moduli.items():
            conn.execute(
                "INSERT INTO meter (meter_id, building_id, energy_type, unit, reading_kind, "
                "register_max) VALUES (%s, 'B1', 'electricity', 'kWh', 'cumulative', %s)",
                (meter_id, modulus),
            )
        migrations.migrate(conn)
        after = {r["meter_id"]: r["register_max"] for r in conn.execute("SELECT * FROM meter")}
    assert after["W1"] == 99999.0
    assert after["W5"] == 65535.0
    assert {m: register_modulus(v) for m, v in after.items()} == moduli


def test_migration_moves_stored_year_one_readings_out(empty_db, tmp_path: Path) -> None:
    with empty_db.connect(autocommit=True) as conn:
        _migrate_until(conn, tmp_path, 40)
        conn.execute(
            "INSERT INTO building (building_id, name, district, building_type, floor_area_m2) "
            "VALUES ('B1', 'A', 'Dongcheng', 'hotel', 9000)"
        )
        conn.execute(
            "INSERT INTO meter (meter_id, building_id, energy_type, unit) "
            "VALUES ('E1', 'B1', 'electricity', 'kWh')"
        )
        file_id = conn.execute(
            "INSERT INTO ingest_file (file_name, path, sha256, size_bytes, status, rows_read, "
            "rows_loaded) VALUES ('old.csv', '/old.csv', 'x', 10, 'loaded', 2, 2) "
            "RETURNING file_id"
        ).fetchone()["file_id"]
        for at in ("0001-01-01 00:00+00", "2024-03-01 00:00+08"):  # stored by the old loader
            conn.execute(
                "INSERT INTO reading (meter_key, reading_at, value, unit, energy_kwh, file_id) "
                "SELECT meter_key, %s, 1, 'kWh', 1, %s FROM meter",
                (at, file_id),
            )
        migrations.migrate(conn)
        assert conn.execute("SELECT count(*) AS n FROM reading").fetchone()["n"] == 1
        moved = conn.execute("SELECT reason_code, raw_row, meter_id FROM quarantine").fetchall()
        assert [(m["reason_code"], m["meter_id"]) for m in moved] == [
            ("implausible_timestamp", "E1")
        ]
        assert moved[0]["raw_row"].startswith("E1,0001-01-01T00:00:00Z,1")
        counts = conn.execute("SELECT rows_loaded, rows_quarantined FROM ingest_file").fetchone()
        assert (counts["rows_loaded"], counts["rows_quarantined"]) == (1, 1)
    # Later loads work again.
    path = tmp_path / "new.csv"
    path.write_text("meter_id,timestamp,value\nE1,2024-03-01 01:00,2\n", encoding="utf-8")
    summary = ingest_paths(empty_db.settings, [path], trigger="test")
    assert [(f.status, f.rows_loaded) for f in summary.files] == [("loaded", 1)]
