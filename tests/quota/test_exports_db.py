"""Proposals and exports against the real database, through the CLI; files parse back."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.quota.conftest import add_building, add_daily, add_meter, add_quota, day_range

TZ = ZoneInfo("Asia/Shanghai")
PREV = day_range(date(2024, 1, 1), date(2024, 12, 31))
CUR = day_range(date(2025, 1, 1), date(2025, 6, 30))


@pytest.fixture
def offices(db):
    """Six commercial offices of 10,000 m², O1..O6 using i x 100 kWh/day in 2024 and 2025;
    O6 has an imported 2025 quota and hourly readings with a high night load."""
    with db.connect() as conn:
        for i in range(1, 7):
            bid = f"O{i}"
            add_building(conn, bid, name=f"写字楼{i}号")
            add_meter(conn, f"M{i}", bid)
            add_daily(conn, bid, PREV, 100.0 * i)
            add_daily(conn, bid, CUR, 100.0 * i)
        add_quota(conn, "O6", 2025, 250000.0)
        key = conn.execute("SELECT meter_key FROM meter WHERE meter_id = 'M6'").fetchone()
        start = datetime(2025, 6, 3, tzinfo=TZ)
        rows = []
        for h in range(28 * 24):
            at = start + timedelta(hours=h)
            occupied = at.weekday() < 5 and 8 <= at.hour < 18
            rows.append(
                (
                    key["meter_key"],
                    at,
                    20.0 if occupied else 15.0,
                    "kWh",
                    20.0 if occupied else 15.0,
                    0,
                    1,
                )
            )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO reading (meter_key, reading_at, value, unit,"
                " energy_kwh, flags, file_id) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                rows,
            )
        conn.commit()
    db.cli("evaluate", "--year", "2025", "--as-of", "2025-06-30", check=True)
    return db


def test_propose_writes_import_format_csv_and_stores_proposals(offices, tmp_path):
    out = tmp_path / "proposals.csv"
    proc = offices.cli(
        "quota",
        "propose",
        "--year",
        "2025",
        "-o",
        str(out),
        "--method",
        "history",
        "--basis",
        "electricity_kwh",
        "--json",
        check=True,
    )
    summary = json.loads(proc.stdout)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0])[:4] == ["building_id", "year", "basis", "limit_value"]
    assert {"method", "base_years", "historical_base", "benchmark", "reduction_applied"} <= set(
        rows[0]
    )
    by_id = {r["building_id"]: r for r in rows}
    # O6 has an imported quota: imported wins, it is left out of the file.
    assert "O6" not in by_id and summary["skipped_imported"] == 1
    # One complete year (2024, leap): 366 days x 100 kWh x i, reduction 0 by default.
    assert float(by_id["O2"]["limit_value"]) == pytest.approx(366 * 200.0)
    assert by_id["O2"]["base_years"] == "2024"
    stored = offices.query(
        "SELECT building_id, source, limit_value FROM quota"
        " WHERE year = 2025 AND basis = 'electricity_kwh' ORDER BY 1, 2"
    )
    assert ("O6", "imported", 250000.0) in [tuple(r.values()) for r in stored]
    # A published quota is in force: no proposed version is added behind it, so the last
    # version of the history stays the one in force.
    assert ("O6", "proposed") not in [(r["building_id"], r["source"]) for r in stored]
    effective = offices.scalar(
        "SELECT source FROM quota_effective WHERE building_id = 'O6' AND year = 2025"
    )
    assert effective == "imported"


def test_retrofit_export_csv_ranks_by_savings(offices, tmp_path):
    out = tmp_path / "retrofit.csv"
    offices.cli(
        "export", "retrofit", "--year", "2025", "--format", "csv", "-o", str(out), check=True
    )
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    # Same flat profile for all: savings = annual use - median annual use (3.5 x 100 x i ...).
    assert [r["Building ID"] for r in rows] == ["O6", "O5", "O4"]
    assert rows[0]["Name"] == "写字楼6号"
    share = 182 / 366  # own 2024 profile through 30 June
    annual = {i: 181 * 100.0 * i / share for i in range(1, 7)}
    median = (annual[3] + annual[4]) / 2
    # Rounded to whole kWh and yuan.
    assert int(rows[0]["Savings potential (kWh/a)"]) == round(annual[6] - median)
    assert int(rows[0]["Savings potential (CNY/a)"]) == round((annual[6] - median) * 0.8)
    # O6's night and weekend load is 15/20 of the occupied load, above the 0.5 threshold.
    assert float(rows[0]["Night+weekend ÷ occupied mean power"]) == pytest.approx(0.75)
    assert rows[0]["Trigger: high night/weekend base load"] == "yes"
    assert rows[1]["Trigger: high night/weekend base load"] == "no"
    assert rows[0]["Status"] == "Within quota" and rows[0]["Building type"] == "Commercial office"
    assert rows[0]["Evaluation as of"] == "2025-06-30"


def test_retrofit_and_compliance_xlsx_open_with_units(offices, tmp_path):
    out = tmp_path / "retrofit.xlsx"
    offices.cli("export", "retrofit", "--year", "2025", "--lang", "zh", "-o", str(out), check=True)
    sheet = load_workbook(out)["data"]
    header = [c.value for c in sheet[1]]
    assert "节能潜力（kWh/年）" in header and "减排潜力（t CO₂/年）" in header
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["O6", "O5", "O4"]
    # A frozen, filterable header; number formats; words, not codes.
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    savings = sheet.cell(row=2, column=header.index("节能潜力（kWh/年）") + 1)
    assert savings.number_format == "#,##0" and isinstance(savings.value, int)
    assert sheet.cell(row=2, column=header.index("状态") + 1).value == "限额内"
    assert sheet.cell(row=2, column=header.index("建筑类型") + 1).value == "商业办公"

    comp = tmp_path / "compliance.xlsx"
    proc = offices.cli(
        "export",
        "compliance",
        "--year",
        "2025",
        "--format",
        "xlsx",
        "-o",
        str(comp),
        "--json",
        check=True,
    )
    assert json.loads(proc.stdout)["rows"] == 6
    sheet = load_workbook(comp)["data"]
    header = [c.value for c in sheet[1]]
    # kWh and kgce never share a column; every header carries its unit.
    assert "Quota (kWh)" in header and "Quota (kgce)" in header
    assert not any("basis unit" in h for h in header)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    values = {
        row[0]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert values["O6"]["Status"] == "Within quota"
    assert values["O6"]["Basis"] == "Electricity (kWh)"
    assert values["O6"]["Electricity to date (kWh)"] == round(181 * 600.0)
    assert values["O6"]["Quota (kgce)"] is None
    assert values["O1"]["Status"] == "No quota"
    assert values["O1"]["Name"] == "写字楼1号"
    util = sheet.cell(row=2, column=header.index("Utilization (%)") + 1)
    assert util.number_format == "0.0"


def test_compliance_csv_has_bom_and_chinese_names(offices, tmp_path):
    out = tmp_path / "compliance.csv"
    offices.cli("export", "compliance", "--year", "2025", "-o", str(out), check=True)
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    assert "写字楼3号" in text
