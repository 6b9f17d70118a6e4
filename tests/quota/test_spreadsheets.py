"""Exports never turn outside text into spreadsheet formulas: the pure rule, and every
`quotawatch export` file (CSV and XLSX) read back with csv and openpyxl."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from quota import spreadsheets
from tests.quota.conftest import add_building, add_daily, add_meter, day_range

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_is_marked(text: str) -> None:
    assert spreadsheets.is_formula_text(text)
    assert spreadsheets.csv_value(text) == "'" + text


@pytest.mark.parametrize("value", ["B1", "写字楼", "a=b", "", -5, -2.5, 0, None])
def test_other_values_stay_as_they_are(value: object) -> None:
    assert not spreadsheets.is_formula_text(value)
    assert spreadsheets.csv_value(value) == ("" if value is None else value)


def test_xlsx_bytes_store_text_as_text_and_numbers_as_numbers() -> None:
    data = spreadsheets.xlsx_bytes(
        ["name", "value"], [[text, -1.5] for text in [*HOSTILE, "#N/A", "bad\x00byte"]]
    )
    sheet = load_workbook(io.BytesIO(data)).active
    cells = list(sheet.iter_rows(min_row=2))
    assert [row[0].value for row in cells[: len(HOSTILE)]] == HOSTILE
    for name, value in cells:
        assert name.data_type == "s"
        assert value.data_type == "n" and value.value == -1.5
    assert cells[-2][0].value == "#N/A"
    assert cells[-1][0].value == "bad\ufffdbyte"


def test_csv_bytes_read_back_with_apostrophes() -> None:
    data = spreadsheets.csv_bytes(["name", "n"], [[text, -3] for text in HOSTILE])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["name", "n"]
    assert [r[0] for r in rows[1:]] == ["'" + text for text in HOSTILE]
    assert [r[1] for r in rows[1:]] == ["-3"] * len(HOSTILE)


@pytest.fixture
def hostile_city(db):
    """Six offices named with formula-like text; O4..O6 use the most (retrofit candidates)."""
    days = day_range(date(2024, 1, 1), date(2025, 6, 30))
    with db.connect() as conn:
        for i, name in enumerate(HOSTILE, start=1):
            add_building(conn, f"O{i}", name=name)
            add_meter(conn, f"M{i}", f"O{i}")
            add_daily(conn, f"O{i}", days, 100.0 * i)
        conn.execute("UPDATE building SET district = '=1+2' WHERE building_id = 'O6'")
        conn.commit()
    db.cli("evaluate", "--year", "2025", "--as-of", "2025-06-30", check=True)
    return db


@pytest.mark.parametrize("what", ["retrofit", "compliance"])
def test_cli_exports_write_names_as_text(hostile_city, tmp_path, what: str) -> None:
    xlsx = tmp_path / f"{what}.xlsx"
    hostile_city.cli("export", what, "--year", "2025", "-o", str(xlsx), check=True)
    sheet = load_workbook(xlsx)["data"]
    header = [c.value for c in sheet[1]]
    name_col, district_col = header.index("Name"), header.index("District")
    rows = list(sheet.iter_rows(min_row=2))
    assert rows
    names = {}
    for row in rows:
        for cell in row:
            assert cell.data_type != "f"
        assert row[name_col].data_type == "s"
        names[row[header.index("Building ID")].value] = row[name_col].value
        if row[header.index("Building ID")].value == "O6":
            assert row[district_col].value == "=1+2" and row[district_col].data_type == "s"
    for building_id, name in names.items():
        assert name == HOSTILE[int(building_id[1:]) - 1]

    out = tmp_path / f"{what}.csv"
    hostile_city.cli("export", what, "--year", "2025", "-o", str(out), check=True)
    table = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"), newline="")))
    assert {r["Building ID"] for r in table} == set(names)
    for row in table:
        assert row["Name"] == "'" + HOSTILE[int(row["Building ID"][1:]) - 1]
        if row["Building ID"] == "O6":
            assert row["District"] == "'=1+2"
