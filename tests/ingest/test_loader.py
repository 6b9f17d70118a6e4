"""Loading files into the real database: reason codes, duplicates, rollups, accounting."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.loader import ingest_paths


def _check_accounting(summary: Any) -> None:
    data = summary.to_dict()
    assert (
        data["rows_read"] == data["rows_loaded"] + data["rows_duplicate"] + data["rows_quarantined"]
    )
    assert sum(data["quarantine_by_reason"].values()) == data["rows_quarantined"]
    for f in data["files"]:
        assert f["rows_read"] == f["rows_loaded"] + f["rows_duplicate"] + f["rows_quarantined"]


def test_every_reason_code_is_quarantined_with_line_and_raw_text(registered, write_file):
    text = (
        "meter_id,timestamp,value,unit\n"
        "E1,2024-03-01 00:00,1.5,\n"  # 2 good
        "E1,2024-03-01 01:00\n"  # 3 malformed_row
        "NOPE,2024-03-01 01:00,1,\n"  # 4 unknown_meter
        "E1,2024-03-01 25:00,1,\n"  # 5 bad_timestamp
        "E1,2099-03-01 01:00,1,\n"  # 6 future_timestamp
        "E1,2024-03-01 02:00,nan,\n"  # 7 bad_value
        "E1,2024-03-01 03:00,-2,\n"  # 8 negative_value
        "E1,2024-03-01 04:00,2,m3\n"  # 9 bad_unit
        "E1,2024-03-01 00:00,9,\n"  # 10 conflicting_duplicate (in the file)
        "G1,2024-03-01 00:00,100,\n"  # 11 good baseline
        "G1,2024-03-01 06:00,90,\n"  # 12 register_decrease
    )
    summary = ingest_paths(registered.settings, [write_file(text)], trigger="test")
    _check_accounting(summary)
    assert summary.rows_loaded == 2
    assert summary.quarantine_by_reason == {
        "bad_timestamp": 1,
        "bad_unit": 1,
        "bad_value": 1,
        "conflicting_duplicate": 1,
        "future_timestamp": 1,
        "malformed_row": 1,
        "negative_value": 1,
        "register_decrease": 1,
        "unknown_meter": 1,
    }
    rows = registered.query(
        "SELECT line_number, raw_row, reason_code, details->>'code' AS dotted "
        "FROM quarantine ORDER BY line_number"
    )
    by_line = {r["line_number"]: r for r in rows}
    assert by_line[4]["raw_row"] == "NOPE,2024-03-01 01:00,1,"
    assert by_line[4]["reason_code"] == "unknown_meter"
    assert by_line[12]["reason_code"] == "register_decrease"
    assert by_line[9]["dotted"] == "reading.bad_unit"
    assert registered.scalar("SELECT count(*) FROM reading") == 2


def test_rerun_is_idempotent_and_overlap_adds_only_new(registered, write_file):
    first = write_file(
        "meter_id,timestamp,value\nE1,2024-03-01 00:00,1\nE1,2024-03-01 01:00,2\n", "a.csv"
    )
    s1 = ingest_paths(registered.settings, [first], trigger="test")
    assert (s1.rows_loaded, s1.rows_duplicate) == (2, 0)
    s2 = ingest_paths(registered.settings, [first], trigger="test")
    assert s2.files[0].status == "skipped"
    assert s2.rows_read == 0
    overlap = write_file(
        "meter_id;timestamp;value\nE1;2024-03-01 01:00;2,0\nE1;2024-03-01 02:00;3\n"
        "E1;2024-03-01 00:00;1.5\n",
        "b.csv",
    )
    s3 = ingest_paths(registered.settings, [overlap], trigger="test")
    _check_accounting(s3)
    assert (s3.rows_loaded, s3.rows_duplicate, s3.rows_quarantined) == (1, 1, 1)
    assert s3.quarantine_by_reason == {"conflicting_duplicate": 1}
    assert registered.scalar("SELECT count(*) FROM reading") == 3
    assert registered.scalar("SELECT sum(energy_kwh) FROM meter_daily") == pytest.approx(6.0)
