"""Registry import against the real database and through the CLI."""

import json
from pathlib import Path

BUILDINGS = (
    "building_id,name,district,building_type,floor_area_m2,public_use_share,commissioned_year\n"
    "B1,市政府大楼,东城区,政府办公,12000,1,2001\n"
    "B2,国贸商城,朝阳区,mall,50000,0.9,\n"
)
METERS = (
    "meter_id,building_id,energy_type,unit,reading_kind,multiplier,register_max,interval_minutes\n"
    "M1,B1,electricity,kWh,interval,1,,15\n"
    "M2,B2,natural_gas,m3,cumulative,10,99999,\n"
)
QUOTAS = (
    "building_id,year,basis,limit_value\nB1,2025,electricity_kwh,1200000\nB2,2025,energy_kgce,9e5\n"
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_import_happy_path_then_upsert(db, tmp_path: Path) -> None:
    proc = db.cli("import", "buildings", str(write(tmp_path, "b.csv", BUILDINGS)), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)["files"][0]
    assert (summary["applied"], summary["rows_inserted"], summary["rows_updated"]) == (True, 2, 0)
    db.cli("import", "meters", str(write(tmp_path, "m.csv", METERS)), check=True)
    db.cli("import", "quotas", str(write(tmp_path, "q.csv", QUOTAS)), check=True)

    rows = db.query(
        "SELECT building_id, building_type, floor_area_m2, commissioned_year "
        "FROM building ORDER BY building_id"
    )
    assert [
        (r["building_id"], r["building_type"], r["floor_area_m2"], r["commissioned_year"])
        for r in rows
    ] == [("B1", "office_government", 12000.0, 2001), ("B2", "mall", 50000.0, None)]
    meter = db.query("SELECT * FROM meter WHERE meter_id = 'M2'")[0]
    assert (
        meter["reading_kind"],
        meter["multiplier"],
        meter["register_max"],
        meter["interval_minutes"],
    ) == ("cumulative", 10.0, 99999.0, 60)
    quotas = db.query(
        "SELECT building_id, basis, limit_value, source FROM quota_effective ORDER BY building_id"
    )
    assert [(q["building_id"], q["basis"], q["limit_value"], q["source"]) for q in quotas] == [
        ("B1", "electricity_kwh", 1_200_000.0, "imported"),
        ("B2", "energy_kgce", 900_000.0, "imported"),
    ]

    changed = BUILDINGS.replace("12000", "13000")
    proc = db.cli("import", "buildings", str(write(tmp_path, "b2.csv", changed)), "--json")
    summary = json.loads(proc.stdout)["files"][0]
    assert (summary["rows_inserted"], summary["rows_updated"]) == (0, 2)
    assert db.scalar("SELECT floor_area_m2 FROM building WHERE building_id = 'B1'") == 13000.0
    assert db.scalar("SELECT count(*) FROM building") == 2


def test_gbk_file_with_bom_free_chinese_names(db, tmp_path: Path) -> None:
    path = write(tmp_path, "gbk.csv", BUILDINGS, encoding="gbk")
    proc = db.cli("import", "buildings", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"][0]["encoding"] == "gb18030"
    assert db.scalar("SELECT name FROM building WHERE building_id = 'B1'") == "市政府大楼"


def test_utf8_bom_and_semicolons(db, tmp_path: Path) -> None:
    text = "\ufeff" + BUILDINGS.replace(",", ";")
    db.cli("import", "buildings", str(write(tmp_path, "bom.csv", text)), check=True)
    assert db.scalar("SELECT district FROM building WHERE building_id = 'B2'") == "朝阳区"


def test_invalid_rows_reported_and_nothing_applied(db, tmp_path: Path) -> None:
    bad = BUILDINGS + "B3,坏数据,海淀区,palace,100,1,\nB4,负面积,海淀区,hotel,-1,1,\n"
    proc = db.cli("import", "buildings", str(write(tmp_path, "bad.csv", bad)), "--json")
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)["files"][0]
    assert summary["applied"] is False
    assert [(e["line"], e["reason"]) for e in summary["errors"]] == [
        (4, "unknown_building_type"),
        (5, "out_of_range"),
    ]
    assert db.scalar("SELECT count(*) FROM building") == 0

    human = db.cli("import", "buildings", str(write(tmp_path, "bad.csv", bad)))
    assert "line 4: unknown_building_type" in human.stdout
    assert "NOT applied" in human.stdout


def test_meters_and_quotas_need_known_buildings(db, tmp_path: Path) -> None:
    db.cli("import", "buildings", str(write(tmp_path, "b.csv", BUILDINGS)), check=True)
    meters = METERS + "M9,B404,electricity,kWh,,,,\n"
    proc = db.cli("import", "meters", str(write(tmp_path, "m.csv", meters)), "--json")
    assert proc.returncode == 1
    errors = json.loads(proc.stdout)["files"][0]["errors"]
    assert [(e["line"], e["reason"]) for e in errors] == [(4, "unknown_building")]
    assert db.scalar("SELECT count(*) FROM meter") == 0
    quotas = QUOTAS + "B404,2025,electricity_kwh,5\n"
    proc = db.cli("import", "quotas", str(write(tmp_path, "q.csv", quotas)), "--json")
    assert proc.returncode == 1
    assert db.scalar("SELECT count(*) FROM quota") == 0


def test_meter_with_readings_cannot_change_meaning(db, tmp_path: Path) -> None:
    db.cli("import", "buildings", str(write(tmp_path, "b.csv", BUILDINGS)), check=True)
    db.cli("import", "meters", str(write(tmp_path, "m.csv", METERS)), check=True)
    db.query(
        "INSERT INTO ingest_file (file_name, path, sha256, size_bytes, status) "
        "VALUES ('f', '/f', 'x', 1, 'loaded') RETURNING file_id"
    )
    db.query(
        "INSERT INTO reading (meter_key, reading_at, value, unit, energy_kwh, file_id) "
        "SELECT meter_key, '2025-01-01T00:00+08', 5, 'kWh', 5, 1 FROM meter WHERE meter_id='M1' "
        "RETURNING meter_key"
    )
    changed = METERS.replace("M1,B1,electricity,kWh,interval,1", "M1,B1,electricity,MWh,interval,1")
    proc = db.cli("import", "meters", str(write(tmp_path, "m2.csv", changed)), "--json")
    assert proc.returncode == 1
    errors = json.loads(proc.stdout)["files"][0]["errors"]
    assert [(e["line"], e["reason"]) for e in errors] == [(2, "meter_has_readings")]
    assert db.scalar("SELECT unit FROM meter WHERE meter_id = 'M1'") == "kWh"


def test_quotas_file_with_the_older_header_limit_still_imports(db, tmp_path: Path) -> None:
    """``limit`` is the older spelling of the ``limit_value`` column: such files still import."""
    db.cli("import", "buildings", str(write(tmp_path, "b.csv", BUILDINGS)), check=True)
    older = QUOTAS.replace("basis,limit_value", "basis,limit")
    assert older.startswith("building_id,year,basis,limit\n")
    proc = db.cli("import", "quotas", str(write(tmp_path, "q.csv", older)), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"][0]["rows_inserted"] == 2
    quotas = db.query("SELECT building_id, limit_value FROM quota_effective ORDER BY building_id")
    assert [(q["building_id"], q["limit_value"]) for q in quotas] == [
        ("B1", 1_200_000.0),
        ("B2", 900_000.0),
    ]


def test_unusable_file_exits_2_with_one_clear_message(db, tmp_path: Path) -> None:
    path = write(tmp_path, "nohdr.csv", "B1,x,y\n")
    proc = db.cli("import", "buildings", str(path))
    assert proc.returncode == 2
    assert "lacks required column" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = db.cli("import", "buildings", str(tmp_path / "absent.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81\x00" * 10)
    proc = db.cli("import", "buildings", str(binary), "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["files"][0]["applied"] is False


def test_dry_run_applies_nothing(db, tmp_path: Path) -> None:
    proc = db.cli(
        "import", "buildings", str(write(tmp_path, "b.csv", BUILDINGS)), "--dry-run", "--json"
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["files"][0]["dry_run"] is True
    assert db.scalar("SELECT count(*) FROM building") == 0


def test_database_constraints_hold_without_python(db) -> None:
    import psycopg
    import pytest

    with db.connect() as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO building (building_id, name, district, building_type, "
            "floor_area_m2) VALUES ('X', 'x', 'd', 'mall', 0)"
        )
    with db.connect() as conn, pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(
            "INSERT INTO building (building_id, name, district, building_type, "
            "floor_area_m2) VALUES ('X', 'x', 'd', 'castle', 10)"
        )
