"""Notices and case files end to end: real readings files ingested, a year determined, the
`quotawatch notice`, `notices` and `casefile` commands run in a subprocess, and their PDFs
and zips read back."""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from dashboard import users

BUILDINGS = (
    "building_id,name,district,building_type,floor_area_m2\n"
    "A,甲楼,朝阳区,office_commercial,10000\n"
    "B,乙楼,海淀区,office_commercial,10000\n"
)
QUOTAS = (
    "building_id,year,basis,limit_value\n"
    "A,2025,electricity_kwh,30000\n"
    "B,2025,electricity_kwh,50000\n"
)
METERS = "meter_id,building_id,energy_type,unit,interval_minutes\nA-E,A,electricity,kWh,60\n"
# A uses 4 kWh an hour in 2025: 96 kWh a day, 35,040 kWh in the year, with one correction.
HOURLY_KWH = 4.0


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def readings_text(start: date, end: date) -> str:
    """Hourly readings of meter A-E from ``start`` through ``end`` (local time)."""
    lines = ["meter_id,timestamp,value"]
    at = datetime(start.year, start.month, start.day)
    stop = datetime(end.year, end.month, end.day) + timedelta(days=1)
    while at < stop:
        lines.append(f"A-E,{at:%Y-%m-%d %H:%M},{HOURLY_KWH}")
        at += timedelta(hours=1)
    return "\n".join(lines) + "\n"


def run_json(db, *args: str) -> dict:
    proc = db.cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def determined_template(make_template, tmp_path_factory):
    """Buildings A and B; A has a year of hourly readings in two files and one correction,
    an adjusted quota, and 2025 is determined (A over, B without data): built once, in a
    template database; returns its name and the determination."""
    folder = tmp_path_factory.mktemp("notices_city")
    determinations: list[dict] = []

    def seed(db) -> None:
        db.cli("import", "buildings", str(write(folder, "b.csv", BUILDINGS)), check=True)
        db.cli("import", "meters", str(write(folder, "m.csv", METERS)), check=True)
        db.cli("import", "quotas", str(write(folder, "quotas.csv", QUOTAS)), check=True)
        first = write(folder, "a-h1.csv", readings_text(date(2025, 1, 1), date(2025, 6, 30)))
        second = write(folder, "a-h2.csv", readings_text(date(2025, 7, 1), date(2025, 12, 31)))
        db.cli("ingest", str(first), str(second), check=True)
        fix = write(folder, "fix.csv", "meter_id,timestamp,value\nA-E,2025-03-01 08:00,10\n")
        db.cli("ingest", "--corrections", str(fix), check=True)
        with db.connect() as conn:
            users.add_user(conn, "man", "manager", "password-man", ["A"])
            conn.commit()
        db.cli(
            "quota",
            "adjust",
            "A",
            "--year",
            "2025",
            "--basis",
            "electricity_kwh",
            "--limit-value",
            "31000",
            "--reason",
            "新楼层启用 new wing",
            check=True,
        )
        determinations.append(run_json(db, "determine", "--year", "2025"))

    return make_template("notices_city", seed), determinations[0], folder


@pytest.fixture
def determined(determined_template, clone_db, tmp_path):
    """A database of this test's own cloned from the determined city, and the
    determination; the files it was built from are copied into ``tmp_path``."""
    template, determination, folder = determined_template
    for source in folder.iterdir():
        shutil.copy(source, tmp_path / source.name)
    return clone_db(template), copy.deepcopy(determination)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_notice_in_chinese_and_english_states_the_determination(determined, tmp_path):
    db, determination = determined
    row = next(r for r in determination["buildings"] if r["building_id"] == "A")
    use_kwh = 365 * 24 * HOURLY_KWH + (10 - HOURLY_KWH)
    assert row["energy_kwh"] == pytest.approx(use_kwh)

    zh = tmp_path / "A-zh.pdf"
    summary = run_json(db, "notice", "A", "--year", "2025", "-o", str(zh))
    assert summary["determination_id"] == determination["determination_id"]
    assert summary["lang"] == "zh" and 1 <= summary["pages"] <= 2
    text = pdf_text(zh)
    assert "A" in text and "甲楼" in text
    assert "31,000" in text  # the adjusted quota in force
    assert f"{use_kwh:,.0f}" in text  # the use
    assert "新楼层启用 new wing" in text  # why the quota was adjusted
    assert f"认定编号 {determination['determination_id']}" in text
    assert "man" in text  # the building's manager
    assert "a-h1.csv" in text and "a-h2.csv" in text  # the reading files
    assert f"{use_kwh / 31000 * 100:.1f} %" in text

    en = tmp_path / "A-en.pdf"
    run_json(db, "notice", "A", "--year", "2025", "-o", str(en), "--lang", "en")
    text = pdf_text(en)
    assert "Quota in force: 31,000 kWh" in text
    assert f"Use in the year: {use_kwh:,.0f} kWh" in text
    assert f"Determination {determination['determination_id']}" in text
    assert "energy audit" in text  # what the tier triggers


def test_notice_without_determination_says_so(determined, tmp_path):
    db, _ = determined
    path = tmp_path / "A-2024.pdf"
    summary = run_json(db, "notice", "A", "--year", "2024", "-o", str(path), "--lang", "en")
    assert summary["determination_id"] is None
    assert "There is no determination in force for 2024" in pdf_text(path)
    proc = db.cli("notice", "NOPE", "--year", "2025", "-o", str(tmp_path / "x.pdf"))
    assert proc.returncode == 2 and "not in the registry" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_notices_for_a_status_write_one_file_per_building(determined, tmp_path):
    db, determination = determined
    statuses = {r["building_id"]: r["status"] for r in determination["buildings"]}
    out = tmp_path / "out"
    everything = run_json(db, "notices", "--year", "2025", "-o", str(out))
    assert sorted(n["building_id"] for n in everything["notices"]) == ["A", "B"]
    assert sorted(p.name for p in out.iterdir()) == ["NOTICE-A-2025.pdf", "NOTICE-B-2025.pdf"]
    over = run_json(
        db, "notices", "--year", "2025", "--status", statuses["A"], "-o", str(tmp_path / "o2")
    )
    assert [n["building_id"] for n in over["notices"]] == ["A"]
    proc = db.cli("notices", "--year", "2024", "-o", str(tmp_path / "o3"))
    assert proc.returncode == 2 and "no determination in force" in proc.stderr


def test_casefile_recomputes_the_determined_use(determined, tmp_path):
    import csv
    import hashlib
    import io
    import zipfile

    db, determination = determined
    path = tmp_path / "A-2025.zip"
    summary = run_json(db, "casefile", "A", "--year", "2025", "-o", str(path))
    assert summary["determination_id"] == determination["determination_id"]
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert {
            "README.md",
            "determination.json",
            "quota_versions.csv",
            "daily_use.csv",
            "daily_sources.csv",
            "source_files.csv",
            "corrections.csv",
            "rules.json",
            "factors.json",
        } <= names
        readme = archive.read("README.md").decode("utf-8")
        for name in names - {"README.md"}:
            assert name in readme  # every file is explained
        det = json.loads(archive.read("determination.json"))
        daily = list(csv.DictReader(io.StringIO(archive.read("daily_use.csv").decode())))
        files = list(csv.DictReader(io.StringIO(archive.read("source_files.csv").decode())))
        corrections = list(csv.DictReader(io.StringIO(archive.read("corrections.csv").decode())))
        versions = list(csv.DictReader(io.StringIO(archive.read("quota_versions.csv").decode())))
        factors = json.loads(archive.read("factors.json"))
        sources = list(csv.DictReader(io.StringIO(archive.read("daily_sources.csv").decode())))

    row = next(r for r in det["results"] if r["basis"] == "electricity_kwh")
    recomputed = sum(float(d["energy_kwh"]) for d in daily if d["energy_type"] == "electricity")
    assert len(daily) == 365
    assert recomputed == pytest.approx(row["use_value"], rel=1e-12)
    assert recomputed / row["limit_value"] == pytest.approx(row["utilization"])
    kgce = recomputed * factors["electricity_kgce_per_kwh"]
    assert kgce == pytest.approx(row["energy_kgce"])
    # The sources carry the checksums of the files as they were read.
    first = (tmp_path / "a-h1.csv").read_bytes()
    assert {f["file_name"]: f["sha256"] for f in files}["a-h1.csv"] == hashlib.sha256(
        first
    ).hexdigest()
    assert {s["day"] for s in sources} >= {"2025-01-01", "2025-12-31"}
    assert [(c["meter_id"], float(c["new_value"])) for c in corrections] == [("A-E", 10.0)]
    used = [v for v in versions if int(v["version_id"]) == row["quota_version_id"]]
    assert used and used[0]["source"] == "adjusted" and used[0]["reason"] == "新楼层启用 new wing"


def test_notice_and_casefile_name_the_bills_a_billed_building_is_evaluated_on(db, tmp_path):
    """B has no meter, only a utility account with twelve monthly bills: its notice lists
    them with their file, and the case file's bills.csv holds them and adds up to the use."""
    db.cli("import", "buildings", str(write(tmp_path, "b.csv", BUILDINGS)), check=True)
    db.cli("import", "quotas", str(write(tmp_path, "quotas.csv", QUOTAS)), check=True)
    accounts = "account_id,building_id,energy_type,unit\nACC-B,B,electricity,kWh\n"
    db.cli("import", "accounts", str(write(tmp_path, "acc.csv", accounts)), check=True)
    lines = ["account_id,period_start,period_end,value"]
    for month in range(1, 13):
        first = date(2025, month, 1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        lines.append(f"ACC-B,{first},{last},{1000 * month}")
    bills = write(tmp_path, "bills-2025.csv", "\n".join(lines) + "\n")
    db.cli("ingest", str(bills), check=True)
    run_json(db, "determine", "--year", "2025")

    pdf = tmp_path / "b.pdf"
    db.cli("notice", "B", "--year", "2025", "-o", str(pdf), "--lang", "en", check=True)
    text = pdf_text(pdf)
    assert "bills-2025.csv" in text and "ACC-B" in text
    assert "Bills: none" not in text

    zip_path = tmp_path / "b.zip"
    db.cli("casefile", "B", "--year", "2025", "-o", str(zip_path), check=True)
    with zipfile.ZipFile(zip_path) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("bills.csv").decode("utf-8-sig"))))
        determination = json.loads(archive.read("determination.json"))
    assert len(rows) == 12 and {r["file_name"] for r in rows} == {"bills-2025.csv"}
    billed_kwh = sum(float(r["energy_kwh"]) * float(r["share"]) for r in rows)
    assert billed_kwh == pytest.approx(78_000)
    [result] = [r for r in determination["results"] if r["basis"] == "electricity_kwh"]
    assert float(result["energy_kwh"]) == pytest.approx(billed_kwh)
