"""Rows for stored chunks: after their meter's last stored instant they are new without a
look-up (ingest/stored_checks.py); at or before it they are looked up, also when an earlier
batch of the same file raised that instant."""

from __future__ import annotations

import dataclasses

from ingest.loader import ingest_paths


def _rows(*rows: tuple[str, str, float]) -> str:
    return "meter_id,timestamp,value\n" + "".join(f"{m},{t},{v}\n" for m, t, v in rows)


def test_rows_before_and_after_the_last_stored_instant(registered, write_file):
    settings = dataclasses.replace(registered.settings, ingest_batch_rows=2)
    first = write_file(
        _rows(
            ("E1", "2024-03-01 00:00", 1),
            ("E1", "2024-03-01 01:00", 1),
            ("E1", "2024-03-01 05:00", 1),
        ),
        "first.csv",
    )
    assert ingest_paths(settings, [first], trigger="test").rows_loaded == 3
    # Batches of about two lines: the later batches meet instants written by earlier ones.
    second = write_file(
        _rows(
            ("E1", "2024-03-01 06:00", 2),  # after the last stored: new
            ("E1", "2024-03-01 07:00", 2),
            ("E1", "2024-03-01 03:00", 2),  # in a gap before the last stored: new
            ("E1", "2024-03-01 01:00", 9),  # stored with 1: conflict
            ("E1", "2024-03-01 00:00", 1),  # stored, identical: duplicate
            ("E1", "2024-03-01 06:00", 3),  # written by this file's first batch: conflict
            ("E2", "2024-03-01 06:00", 1),  # another meter, nothing stored: new
        ),
        "second.csv",
    )
    summary = ingest_paths(settings, [second], trigger="test")
    result = summary.files[0]
    assert (result.rows_loaded, result.rows_duplicate, result.rows_quarantined) == (4, 1, 2)
    assert result.quarantine_by_reason == {"conflicting_duplicate": 2}
    stored = registered.query(
        "SELECT to_char(reading_at AT TIME ZONE 'Asia/Shanghai', 'HH24') AS h, energy_kwh "
        "FROM reading JOIN meter USING (meter_key) WHERE meter_id = 'E1' ORDER BY reading_at"
    )
    assert [(r["h"], r["energy_kwh"]) for r in stored] == [
        ("00", 1.0),
        ("01", 1.0),
        ("03", 2.0),
        ("05", 1.0),
        ("06", 2.0),
        ("07", 2.0),
    ]
