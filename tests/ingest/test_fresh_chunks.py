"""Chunks created by a load are written without index upkeep and indexed before the commit:
the key set that stands in for the index meanwhile, and loads with the deferral on and off
ending in the same database."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import psycopg
import pytest

from ingest import fresh
from ingest.fresh import FreshChunk, FreshChunks
from ingest.loader import ingest_paths

HOUR_US = 3_600_000_000
WEEK_US = 7 * 24 * HOUR_US

DISABLED_INDEXES = """
SELECT count(*) FROM pg_index i
 WHERE i.indrelid IN (SELECT format('%I.%I', chunk_schema, chunk_name)::regclass
                        FROM timescaledb_information.chunks WHERE hypertable_name = 'reading')
   AND NOT (i.indisready AND i.indisvalid)
"""


def _chunk(n_meter_keys: int = 10) -> FreshChunk:
    return FreshChunk("c", 0, WEEK_US, n_meter_keys)


def test_fresh_chunk_finds_rows_written_before_with_what_they_were():
    chunk = _chunk()
    keys = np.array([1, 1, 2], dtype=np.int32)
    times = np.array([0, HOUR_US, 0], dtype=np.int64)
    chunk.add(
        chunk.written(
            keys, times, np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), np.array([2, 3, 4])
        )
    )
    chunk.add(
        chunk.written(
            np.array([3], dtype=np.int32),
            np.array([5 * HOUR_US]),
            np.array([7.0]),
            np.array([0.007]),
            np.array([9]),
        )
    )
    found = chunk.find(
        np.array([1, 2, 2, 3, 9], dtype=np.int32),
        np.array([HOUR_US, 0, HOUR_US, 5 * HOUR_US, 0], dtype=np.int64),
    )
    assert found.found.tolist() == [True, True, False, True, False]
    assert found.register_kwh[found.found].tolist() == [2.0, 3.0, 7.0]
    assert found.value[found.found].tolist() == [2.0, 3.0, 0.007]
    assert found.line_number[found.found].tolist() == [3, 4, 9]
    assert chunk.rows == 4


def test_fresh_chunk_answers_later_instants_without_a_lookup():
    chunk = _chunk()
    chunk.add(
        chunk.written(
            np.array([1, 1], dtype=np.int32),
            np.array([0, HOUR_US]),
            np.ones(2),
            np.ones(2),
            np.array([2, 3]),
        )
    )
    chunk._runs.clear()  # a lookup would now find nothing; the span test must not need one
    found = chunk.find(np.array([1, 2], dtype=np.int32), np.array([2 * HOUR_US, 0]))
    assert not found.found.any()


def test_keys_that_would_not_pack_are_not_tracked():
    chunks = FreshChunks(n_meter_keys=np.iinfo(np.int64).max // WEEK_US + 2)
    assert chunks.add_chunk("c", 0, WEEK_US) is None
    assert chunks.chunks == {}


def test_over_budget_names_least_recently_written_chunks_first():
    chunks = FreshChunks(n_meter_keys=5)
    for i, name in enumerate(["a", "b", "c"]):
        chunk = chunks.add_chunk(name, i * WEEK_US, (i + 1) * WEEK_US)
        assert chunk is not None
        chunk.add(
            chunk.written(
                np.arange(4, dtype=np.int32),
                np.full(4, i * WEEK_US),
                np.ones(4),
                np.ones(4),
                np.arange(4),
            )
        )
    chunks.touch(chunks.chunks["b"])
    chunks.touch(chunks.chunks["a"])
    chunks.touch(chunks.chunks["c"])
    assert chunks.over_budget(limit=12) == []
    assert chunks.over_budget(limit=11) == ["b", "a"]


# --- loads into the database --------------------------------------------------------------

# Two weeks of E1 and E2, then rows that repeat earlier ones of the same file in later
# batches: identical (duplicates) and different (conflicts), in both weeks.
FILE = (
    "meter_id,timestamp,value\n"
    + "".join(f"E1,2024-03-{d:02d} {h:02d}:00,{d + h / 10}\n" for d in (4, 5, 12) for h in (0, 1))
    + "".join(f"E2,2024-03-{d:02d} 00:00,{d}\n" for d in (4, 12))
    + "E1,2024-03-04 01:00,4.1\n"  # identical to line 3
    + "E1,2024-03-12 00:00,99\n"  # differs from line 6
    + "E2,2024-03-04 00:00,4\n"  # identical
    + "E2,2024-03-13 00:00,13\n"  # new
)


def _load(db: Any, tmp_path: Any, defer: bool) -> dict[str, Any]:
    path = tmp_path / f"readings-{defer}.csv"
    path.write_text(FILE)
    settings = dataclasses.replace(db.settings, ingest_batch_rows=3, ingest_defer_indexes=defer)
    summary = ingest_paths(settings, [path], trigger="test")
    return {
        "summary": {k: v for k, v in summary.to_dict()["files"][0].items() if k != "seconds"}
        | {"file": None, "path": None, "sha256": None, "file_id": None},
        "reading": db.query(
            "SELECT meter_key, reading_at, value, energy_kwh, flags FROM reading "
            "ORDER BY meter_key, reading_at"
        ),
        "quarantine": db.query(
            "SELECT line_number, reason_code, message, details - 'file' AS details "
            "FROM quarantine ORDER BY line_number"
        ),
        "meter_daily": db.query("SELECT * FROM meter_daily ORDER BY meter_key, day"),
        "building_daily": db.query("SELECT * FROM building_daily ORDER BY energy_type, day"),
    }


def test_load_with_and_without_deferred_indexes_ends_the_same(registered, tmp_path):
    deferred = _load(registered, tmp_path, defer=True)
    assert registered.scalar(DISABLED_INDEXES) == 0
    assert registered.scalar("SELECT count(*) FROM show_chunks('reading')") == 2
    summary = deferred["summary"]
    assert (summary["rows_loaded"], summary["rows_duplicate"], summary["rows_quarantined"]) == (
        9,
        2,
        1,
    )
    assert deferred["quarantine"] == [
        {
            "line_number": 11,
            "reason_code": "conflicting_duplicate",
            "message": "line 6 has the same meter and time with a different value",
            "details": {
                "code": "reading.conflicting_duplicate",
                "kept_line": 6,
                "kept_value": 12.0,
            },
        }
    ]
    # The same file with index upkeep on, into a clean database: the same result.
    with registered.connect() as conn:
        for table in ("reading", "quarantine", "meter_daily", "building_daily"):
            conn.execute(f"TRUNCATE {table} CASCADE")
        conn.execute("DELETE FROM ingest_file")
        conn.commit()
    kept = _load(registered, tmp_path, defer=False)
    # The conflict is the same; the message cites the earlier line where the loader still
    # knows it (deferred) or the stored row (index upkeep, the earlier batch is stored).
    assert [
        (q["line_number"], q["reason_code"], q["details"]["stored_value"])
        for q in kept.pop("quarantine")
    ] == [
        (q["line_number"], q["reason_code"], q["details"]["kept_value"])
        for q in deferred.pop("quarantine")
    ]
    assert kept == deferred


def test_primary_key_holds_and_serves_lookups_after_a_deferred_load(registered, write_file):
    path = write_file(FILE)
    settings = dataclasses.replace(registered.settings, ingest_batch_rows=3)
    ingest_paths(settings, [path], trigger="test")
    with registered.connect() as conn:
        conn.execute("SET enable_seqscan = off")  # a valid index must then be used
        plan = "\n".join(
            row["QUERY PLAN"]
            for row in conn.execute(
                "EXPLAIN SELECT * FROM reading WHERE meter_key = 1 "
                "AND reading_at BETWEEN '2024-03-12' AND '2024-03-13'"
            ).fetchall()
        )
        assert "Index" in plan, plan
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO reading (meter_key, reading_at, value, unit, energy_kwh, file_id) "
                "SELECT meter_key, reading_at, value, unit, energy_kwh, file_id FROM reading "
                "LIMIT 1"
            )


def test_memory_bound_indexes_chunks_early_and_loads_the_same(registered, tmp_path, monkeypatch):
    monkeypatch.setattr(fresh, "MAX_REMEMBERED_ROWS", 2)
    early = _load(registered, tmp_path, defer=True)
    assert registered.scalar(DISABLED_INDEXES) == 0
    summary = early["summary"]
    assert (summary["rows_loaded"], summary["rows_duplicate"], summary["rows_quarantined"]) == (
        9,
        2,
        1,
    )
    # The chunk was indexed and forgotten before the conflicting row came: the conflict was
    # found through the index, with the stored row's value.
    assert [q["details"]["stored_value"] for q in early["quarantine"]] == [12.0]


def test_only_a_superuser_switches_indexes_off(registered):
    from ingest import queries

    with registered.connect() as conn:
        assert conn.execute(queries.CAN_DEFER_INDEXES).fetchone()["allowed"] is True
        conn.execute("CREATE ROLE qw_plain_loader")
        conn.execute("SET ROLE qw_plain_loader")
        assert conn.execute(queries.CAN_DEFER_INDEXES).fetchone()["allowed"] is False
        conn.rollback()


def test_chunks_of_another_interval_take_the_general_path(registered, write_file):
    first = write_file(
        "meter_id,timestamp,value\n"
        + "".join(f"E1,2024-03-04 {h:02d}:00,1\n" for h in range(0, 24, 2)),
        "a.csv",
    )
    assert ingest_paths(registered.settings, [first], trigger="test").rows_loaded == 12
    with registered.connect() as conn:
        conn.execute("SELECT set_chunk_time_interval('reading', interval '1 day')")
        conn.commit()
    # Odd hours into the 7-day chunk, a later week into new 1-day chunks.
    second = write_file(
        "meter_id,timestamp,value\n"
        + "".join(f"E1,2024-03-04 {h:02d}:00,2\n" for h in range(1, 24, 2))
        + "".join(f"E1,2024-03-{d} 12:00,3\n" for d in (20, 21, 22))
        + "E1,2024-03-04 02:00,1\n",  # a duplicate of the first file
        "b.csv",
    )
    summary = ingest_paths(registered.settings, [second], trigger="test")
    assert (summary.rows_loaded, summary.rows_duplicate) == (15, 1)
    assert registered.scalar("SELECT count(*) FROM reading") == 27
    assert registered.scalar("SELECT sum(energy_kwh) FROM meter_daily") == pytest.approx(45.0)
    assert registered.scalar(DISABLED_INDEXES) == 0
    widths = registered.query(
        "SELECT range_end - range_start AS width FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'reading' ORDER BY range_start"
    )
    assert [w["width"].days for w in widths] == [7, 1, 1, 1]


def test_passed_names_chunks_wholly_before_an_instant():
    chunks = FreshChunks(n_meter_keys=5)
    for i, name in enumerate(["a", "b", "c"]):
        chunks.add_chunk(name, i * WEEK_US, (i + 1) * WEEK_US)
    assert chunks.passed(0) == []
    assert chunks.passed(WEEK_US) == ["a"]
    assert chunks.passed(2 * WEEK_US + 1) == ["a", "b"]


def test_chunks_the_file_has_moved_past_are_indexed_during_the_load(registered, write_file):
    # Time order, batches of a few rows: once a batch of 12 March alone is written, the week
    # of 4 March is behind the file and gets its index. Rows for it that come later anyway
    # are checked through that index (the conflict names the stored row, not a file line).
    path = write_file(
        "meter_id,timestamp,value\n"
        "E1,2024-03-04 00:00,1\nE1,2024-03-04 01:00,2\n"
        + "".join(f"E1,2024-03-12 {h:02d}:00,3\n" for h in range(20))
        + "E1,2024-03-04 00:00,1\nE1,2024-03-04 01:00,9\n"
    )
    settings = dataclasses.replace(registered.settings, ingest_batch_rows=2)
    summary = ingest_paths(settings, [path], trigger="test")
    assert (summary.rows_loaded, summary.rows_duplicate, summary.rows_quarantined) == (22, 1, 1)
    assert registered.query(
        "SELECT line_number, reason_code, details->>'stored_value' AS stored FROM quarantine"
    ) == [{"line_number": 25, "reason_code": "conflicting_duplicate", "stored": "2.0"}]
    assert registered.scalar(DISABLED_INDEXES) == 0
    assert registered.scalar("SELECT sum(energy_kwh) FROM meter_daily") == pytest.approx(63.0)


def test_fresh_chunk_finds_rows_of_meters_in_any_order():
    chunk = _chunk()
    keys = np.array([1, 1, 2, 2], dtype=np.int32)
    times = np.array([0, HOUR_US, 0, HOUR_US], dtype=np.int64)
    chunk.add(chunk.written(keys, times, np.ones(4), np.ones(4), np.arange(2, 6)))
    # Runs of one meter, not sorted by meter: each row is looked up for its own meter.
    found = chunk.find(
        np.array([2, 1, 2, 1, 3], dtype=np.int32),
        np.array([HOUR_US, 2 * HOUR_US, 2 * HOUR_US, 0, 0], dtype=np.int64),
    )
    assert found.found.tolist() == [True, False, False, True, False]
    assert found.line_number[found.found].tolist() == [5, 2]


def test_a_batch_within_one_fresh_chunk_repeating_earlier_rows(registered, write_file):
    path = write_file(
        "meter_id,timestamp,value\n"
        "E1,2024-03-04 00:00,1.0\nE1,2024-03-04 01:00,2.0\n"
        "E1,2024-03-04 00:00,1.0\nE1,2024-03-04 01:00,7.0\n"
    )
    settings = dataclasses.replace(registered.settings, ingest_batch_rows=2)
    summary = ingest_paths(settings, [path], trigger="test")
    assert (summary.rows_loaded, summary.rows_duplicate, summary.rows_quarantined) == (2, 1, 1)
    assert registered.query(
        "SELECT line_number, details->>'kept_line' AS kept FROM quarantine"
    ) == [{"line_number": 5, "kept": "3"}]
