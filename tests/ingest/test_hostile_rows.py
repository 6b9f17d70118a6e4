"""Hostile and absurd rows: each gets an outcome, the rest of its file loads, and no row makes
a later load fail (implausible dates and values, NUL bytes, huge fields, odd field counts)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from ingest.loader import ingest_paths


def _accounting_holds(data: dict[str, Any]) -> None:
    """rows_read = loaded + duplicate + quarantined, for the run and for every file."""
    for part in [data, *data["files"]]:
        assert part["rows_read"] == (
            part["rows_loaded"] + part["rows_duplicate"] + part["rows_quarantined"]
        ), part
        assert sum(part["quarantine_by_reason"].values()) == part["rows_quarantined"]


def _ingest(db: Any, *paths: Any) -> tuple[int, dict[str, Any], str]:
    proc = db.cli("ingest", "--json", *map(str, paths))
    assert "Traceback" not in proc.stderr, proc.stderr
    data = json.loads(proc.stdout)
    _accounting_holds(data)
    return proc.returncode, data, proc.stderr


def _reasons(db: Any) -> dict[int, str]:
    rows = db.query("SELECT line_number, reason_code FROM quarantine ORDER BY line_number")
    return {r["line_number"]: r["reason_code"] for r in rows}


def test_year_one_and_other_implausible_dates_are_quarantined_and_later_loads_work(
    registered, write_file
):
    first = write_file(
        "meter_id,timestamp,value\n"
        "E1,0001-01-01T00:00:00Z,1\n"  # an unset gateway clock, with an offset
        "E1,0001-01-01 00:00:00,1\n"  # the same as local time
        "E1,1582-10-15 00:00,1\n"
        "E1,1900-01-01 00:00,1\n"
        "E1,1999-12-31 23:00,1\n"
        "E1,2024-03-01 00:00,1\n",
        "first.csv",
    )
    status, data, _ = _ingest(registered, first)
    assert status == 0
    assert data["quarantine_by_reason"] == {"implausible_timestamp": 5}
    assert data["rows_loaded"] == 1
    assert set(_reasons(registered).values()) == {"implausible_timestamp"}
    message = registered.scalar("SELECT message FROM quarantine WHERE line_number = 2")
    assert "before 2000-01-01" in message
    # Nothing of it stayed behind to break the next load.
    second = write_file("meter_id,timestamp,value\nE1,2024-03-01 01:00,2\n", "second.csv")
    status, data, _ = _ingest(registered, second)
    assert (status, data["rows_loaded"]) == (0, 1)
    assert registered.scalar("SELECT min(reading_at) FROM reading").year == 2024


def test_earliest_reading_date_is_a_rule_parameter(registered, write_file):
    rules = json.loads(json.dumps(registered.settings.rules))
    rules["ingest"]["earliest_reading_date"] = "2020-01-01"
    settings = dataclasses.replace(registered.settings, rules=rules)
    path = write_file("meter_id,timestamp,value\nE1,2019-12-31 23:00,1\nE1,2020-01-01 00:00,1\n")
    summary = ingest_paths(settings, [path], trigger="test")
    assert summary.quarantine_by_reason == {"implausible_timestamp": 1}
    assert summary.rows_loaded == 1
    # The earliest date is local midnight in the quota time zone.
    loaded = registered.scalar("SELECT reading_at FROM reading")
    assert loaded.astimezone(settings.tz).isoformat().startswith("2020-01-01T00:00")


def test_absurd_values_are_quarantined_implausible_value(registered, write_file):
    with registered.connect() as conn:  # E1 may draw at most 50 kW
        conn.execute("UPDATE meter SET max_power_kw = 50 WHERE meter_id = 'E1'")
        conn.commit()
    path = write_file(
        "meter_id,timestamp,value,unit\n"
        "E1,2024-03-01 00:00,1e308,kWh\n"  # 1e308 kWh in one hour
        "E1,2024-03-01 01:00,1e308,MWh\n"  # not even a finite number of kWh
        "E1,2024-03-01 02:00,60,kWh\n"  # 60 kW over its hour: above E1's own 50 kW
        "E1,2024-03-01 03:00,50,kWh\n"  # exactly its ceiling: fine
        "E2,2024-03-01 00:00,3000,kWh\n"  # x40 multiplier: 120 MW, above the 100 MW default
        "E2,2024-03-01 01:00,2000,kWh\n"  # 80 MW: fine
        "C1,2024-03-01 00:00,100,kWh\n"  # cumulative: baseline
        "C1,2024-03-01 01:00,1e12,kWh\n"  # a use of 2e12 kWh in one hour
        "C1,2024-03-01 02:00,150,kWh\n"  # counted from the reading before the absurd one
    )
    status, data, _ = _ingest(registered, path)
    assert status == 0
    assert data["quarantine_by_reason"] == {"implausible_value": 5}
    assert data["rows_loaded"] == 4
    assert _reasons(registered) == {
        2: "implausible_value",
        3: "implausible_value",
        4: "implausible_value",
        6: "implausible_value",
        9: "implausible_value",
    }
    energy = {
        r["meter_id"]: r["energy_kwh"]
        for r in registered.query(
            "SELECT meter_id, sum(energy_kwh) AS energy_kwh FROM reading_as_sent GROUP BY meter_id"
        )
    }
    assert energy == {"E1": 50.0, "E2": 80_000.0, "C1": pytest.approx(100.0)}  # (150-100) x 2
    assert registered.scalar("SELECT max(energy_kwh) FROM meter_daily") < 1e6


def test_nul_bytes_and_huge_meter_ids_are_quarantined_and_the_rest_loads(registered, write_file):
    huge = "M" * 5000
    path = write_file(
        "meter_id,timestamp,value\n"
        "E1,2024-03-01 00:00,1\n"
        "E1\x00,2024-03-01 01:00,1\n"
        "E1,2024-03-01 02:00\x00,1\n"
        f"{huge},2024-03-01 03:00,1\n"
        "E1,2024-03-01 04:00,1\n"
    )
    status, data, _ = _ingest(registered, path)
    assert status == 0, data
    assert data["files"][0]["status"] == "loaded"
    assert (data["rows_read"], data["rows_loaded"], data["rows_quarantined"]) == (5, 2, 3)
    rows = registered.query(
        "SELECT line_number, reason_code, message, raw_row, length(meter_id) AS id_chars "
        "FROM quarantine ORDER BY line_number"
    )
    assert [(r["line_number"], r["reason_code"]) for r in rows] == [
        (3, "malformed_row"),
        (4, "malformed_row"),
        (5, "malformed_row"),
    ]
    assert "NUL" in rows[0]["message"] and "NUL" in rows[1]["message"]
    assert "longer than" in rows[2]["message"]
    assert "\x00" not in rows[0]["raw_row"]
    assert rows[2]["id_chars"] <= 201


def test_trailing_empty_fields_extra_columns_and_delimiter_only_rows(registered, write_file):
    trailing = write_file(
        "meter_id,timestamp,value,unit\n"
        "E1,2024-03-01 00:00,1,kWh,,\n"  # the first row ends in two empty fields
        "E1,2024-03-01 01:00,2,kWh\n"
        "E1,2024-03-01 02:00,3,kWh,\n"
        ",,,\n"  # a row of delimiters: a row, and malformed
        "\n"  # a blank line: not a row
        "E1,2024-03-01 03:00,4,kWh,x,y\n",  # more non-empty fields than the header
        "trailing.csv",
    )
    noted = write_file(
        "meter_id,timestamp,value,note\n"
        "E2,2024-03-01 00:00,1,checked by Wang\n"
        "E2,2024-03-01 01:00,2,\n",
        "noted.csv",
    )
    status, data, _ = _ingest(registered, trailing, noted)
    assert status == 0
    first, second = data["files"]
    assert (first["rows_read"], first["rows_loaded"], first["rows_quarantined"]) == (5, 3, 2)
    assert first["quarantine_by_reason"] == {"malformed_row": 2}
    assert (second["status"], second["rows_loaded"], second["rows_quarantined"]) == (
        "loaded",
        2,
        0,
    )
    reasons = registered.query(
        "SELECT q.line_number, q.message FROM quarantine q ORDER BY q.line_number"
    )
    assert [(r["line_number"], r["message"]) for r in reasons] == [
        (5, "missing meter_id"),
        (7, "more fields than the header"),
    ]
