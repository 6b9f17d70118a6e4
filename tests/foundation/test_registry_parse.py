"""Registry file parsing on in-memory text (no database)."""

import pytest

from quota.registry.parse import BUILDING_TYPES, parse_registry
from quota.registry.textfiles import FileFormatError, decode

BUILDING_HEADER = "building_id,name,district,building_type,floor_area_m2,public_use_share\n"


def test_buildings_parse_with_chinese_type_names_and_defaults() -> None:
    text = BUILDING_HEADER + "B1,市政府大楼,东城区,政府办公,12000,\nB2,Mall,朝阳区,mall,50000,75%\n"
    parsed = parse_registry("buildings", text)
    assert parsed.errors == []
    first, second = parsed.records
    assert first["building_type"] == "office_government"
    assert first["public_use_share"] == 1.0
    assert first["floor_area_m2"] == 12000.0
    assert second["public_use_share"] == 0.75


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("B1,X,东城区,palace,12000,1", "unknown_building_type"),
        ("B1,X,东城区,mall,-5,1", "out_of_range"),
        ("B1,X,东城区,mall,0,1", "out_of_range"),
        ("B1,X,东城区,mall,abc,1", "bad_number"),
        ("B1,X,东城区,mall,nan,1", "bad_number"),
        ("B1,X,东城区,mall,1000,1.5", "out_of_range"),
        (",X,东城区,mall,1000,1", "missing_value"),
        ("B1,X,东城区", "malformed_row"),
        ("B1,X,东城区,mall,1000,1,extra,fields,beyond,header", "malformed_row"),
    ],
)
def test_invalid_building_rows_carry_line_and_reason(row: str, reason: str) -> None:
    parsed = parse_registry("buildings", BUILDING_HEADER + row + "\n")
    assert parsed.records == []
    assert [(e.line, e.reason) for e in parsed.errors] == [(2, reason)]
    assert parsed.errors[0].raw == row


def test_duplicate_key_in_one_file_is_an_error() -> None:
    text = BUILDING_HEADER + "B1,A,东城区,mall,5000,1\nB1,B,东城区,mall,6000,1\n"
    parsed = parse_registry("buildings", text)
    assert [e.reason for e in parsed.errors] == ["duplicate_key"]
    assert parsed.errors[0].line == 3


def test_missing_required_column_makes_file_unusable() -> None:
    with pytest.raises(FileFormatError, match="floor_area_m2"):
        parse_registry("buildings", "building_id,name,district,building_type\nB1,a,b,mall\n")


def test_meters_units_kinds_and_defaults() -> None:
    text = (
        "meter_id;building_id;energy_type;unit;reading_kind;multiplier;register_max\n"
        "M1;B1;electricity;kwh;;;\n"
        "M2;B1;天然气;m³;cumulative;10;99999\n"
        "M3;B1;electricity;m3;;;\n"
        "M4;B1;electricity;kWh;interval;;1000\n"
        "M5;B1;steam;kWh;;;\n"
        "M6;B1;electricity;kWh;sometimes;;\n"
    )
    parsed = parse_registry("meters", text)
    m1, m2 = parsed.records
    assert (m1["unit"], m1["reading_kind"], m1["multiplier"], m1["interval_minutes"]) == (
        "kWh",
        "interval",
        1.0,
        60,
    )
    assert (m2["energy_type"], m2["unit"], m2["multiplier"], m2["register_max"]) == (
        "natural_gas",
        "m3",
        10.0,
        99999.0,
    )
    assert [(e.line, e.reason) for e in parsed.errors] == [
        (4, "bad_unit"),
        (5, "out_of_range"),
        (6, "unknown_energy_type"),
        (7, "bad_reading_kind"),
    ]


@pytest.mark.parametrize("limit_column", ["limit_value", "limit"])
def test_quotas_basis_year_and_limit_value(limit_column: str) -> None:
    """The limit column is ``limit_value``; ``limit``, its older spelling, is still read."""
    text = (
        f"building_id,year,basis,{limit_column}\n"
        "B1,2025,electricity_kwh,1000000\n"
        "B1,2025,energy_kgce,120000\n"
        "B1,2025,water,5\n"
        "B1,20x5,electricity_kwh,5\n"
        "B1,2026,electricity_kwh,0\n"
    )
    parsed = parse_registry("quotas", text)
    assert [(r["basis"], r["limit_value"]) for r in parsed.records] == [
        ("electricity_kwh", 1_000_000.0),
        ("energy_kgce", 120_000.0),
    ]
    assert [e.reason for e in parsed.errors] == ["bad_basis", "bad_number", "out_of_range"]


def test_quotas_limit_value_wins_over_a_column_limit_and_is_required() -> None:
    both = "building_id,year,basis,limit,limit_value\nB1,2025,electricity_kwh,1,2\n"
    assert parse_registry("quotas", both).records[0]["limit_value"] == 2.0
    with pytest.raises(FileFormatError, match="limit_value"):
        parse_registry("quotas", "building_id,year,basis\nB1,2025,electricity_kwh\n")


def test_decode_handles_bom_and_gbk() -> None:
    text = BUILDING_HEADER + "B1,市政府大楼,东城区,政府办公,12000,1\n"
    assert decode(("\ufeff" + text).encode("utf-8")) == (text, "utf-8-sig")
    assert decode(text.encode("utf-8")) == (text, "utf-8")
    assert decode(text.encode("gbk")) == (text, "gb18030")


def test_building_types_match_the_database_seed() -> None:
    from pathlib import Path

    sql = (Path(__file__).resolve().parents[2] / "sql" / "0001_schema.sql").read_text("utf-8")
    for code, name_zh in BUILDING_TYPES.items():
        assert f"('{code}'," in sql.replace(" ", "")
        assert f"'{name_zh}'" in sql
