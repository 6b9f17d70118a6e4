"""Rows for stored chunks: after their meter's last stored instant they are new without a
look-up (ingest/stored_checks.py); at or before it they are looked up, also when an earlier
batch of the same file raised that instant."""

from __future__ import annotations

import dataclasses

from ingest import stored_checks
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


def test_batches_over_many_stored_chunks_check_each_chunk_by_its_last_instants(
    registered, write_file, monkeypatch
):
    # A meter-sorted monthly file: every batch spans several weekly chunks already stored.
    # With many rows a chunk the batch takes the last-stored short cut per chunk instead of
    # one range probe; duplicates and conflicts are still found, in every chunk.
    monkeypatch.setattr(stored_checks, "LAST_STORED_ROWS_PER_CHUNK", 0)
    asked: list[str] = []
    original = stored_checks.StoredChecks._last_stored_in

    def spy(self, chunk, keys):
        asked.append(chunk)
        return original(self, chunk, keys)

    monkeypatch.setattr(stored_checks.StoredChecks, "_last_stored_in", spy)
    settings = dataclasses.replace(registered.settings, ingest_batch_rows=4)
    history = write_file(
        _rows(
            ("E1", "2024-03-01 00:00", 1),
            ("E1", "2024-03-08 00:00", 1),
            ("E1", "2024-03-15 00:00", 1),
            ("E1", "2024-03-22 00:00", 1),
            ("C1", "2024-03-01 00:00", 100),
            ("C1", "2024-03-08 00:00", 200),
            ("C1", "2024-03-15 00:00", 300),
        ),
        "history.csv",
    )
    assert ingest_paths(settings, [history], trigger="test").rows_loaded == 7
    month = write_file(
        _rows(
            ("E1", "2024-03-01 06:00", 2),  # after the last stored in its chunk: new
            ("E1", "2024-03-08 00:00", 1),  # stored, identical: duplicate
            ("E1", "2024-03-15 00:00", 5),  # stored with 1: conflict
            ("E1", "2024-03-22 06:00", 2),  # new
            ("E1", "2024-03-01 06:00", 3),  # written by this file's first batch: conflict
            ("E1", "2024-03-08 03:00", 2),  # new
            ("E1", "2024-03-15 00:00", 1),  # duplicate
            ("E1", "2024-03-08 06:00", 2),  # new
            ("C1", "2024-03-01 00:00", 100),  # register stored, identical: duplicate
            ("C1", "2024-03-08 00:00", 250),  # register stored with 200: conflict
            ("C1", "2024-03-15 12:00", 310),  # new, 10 × 2 kWh since the 15th
            ("C1", "2024-03-22 00:00", 320),  # new
        ),
        "month.csv",
    )
    result = ingest_paths(settings, [month], trigger="test").files[0]
    assert (result.rows_loaded, result.rows_duplicate, result.rows_quarantined) == (6, 3, 3)
    assert result.quarantine_by_reason == {"conflicting_duplicate": 3}
    assert len(set(asked)) > stored_checks.MAX_CHUNKS_LAST_STORED  # the short cut ran
    stored = registered.query(
        "SELECT meter_id, to_char(reading_at AT TIME ZONE 'Asia/Shanghai', 'DD HH24') AS at, "
        "coalesce(value, energy_kwh) AS value, energy_kwh FROM reading "
        "JOIN meter USING (meter_key) ORDER BY meter_id, reading_at"
    )
    assert [(r["meter_id"], r["at"], r["value"], r["energy_kwh"]) for r in stored] == [
        ("C1", "01 00", 100.0, None),
        ("C1", "08 00", 200.0, 200.0),
        ("C1", "15 00", 300.0, 200.0),
        ("C1", "15 12", 310.0, 20.0),
        ("C1", "22 00", 320.0, 20.0),
        ("E1", "01 00", 1.0, 1.0),
        ("E1", "01 06", 2.0, 2.0),
        ("E1", "08 00", 1.0, 1.0),
        ("E1", "08 03", 2.0, 2.0),
        ("E1", "08 06", 2.0, 2.0),
        ("E1", "15 00", 1.0, 1.0),
        ("E1", "22 00", 1.0, 1.0),
        ("E1", "22 06", 2.0, 2.0),
    ]
