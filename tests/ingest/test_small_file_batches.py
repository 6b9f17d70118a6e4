"""Small files loaded several to a transaction, a savepoint each (ingest/loader.py,
load_small_files): a failing file leaves the others loaded and nothing of its own; a kill
mid-batch leaves nothing of any file of the batch; rollups equal those of one-by-one loads."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from ingest import checked, loader
from ingest.loader import ingest_paths

ROOT = Path(__file__).resolve().parents[2]


def _gateway_file(path: Path, day: int, value: float) -> int:
    """E1 and E2 hourly over four hours of 2024-03-``day``; returns the rows."""
    lines = ["meter_id,timestamp,value"]
    for hour in range(4):
        lines += [
            f"E1,2024-03-{day:02d} {hour:02d}:00,{value}",
            f"E2,2024-03-{day:02d} {hour:02d}:00,1",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def _folder(tmp_path: Path, days: list[int]) -> tuple[Path, int]:
    folder = tmp_path / "inbox"
    folder.mkdir()
    rows = sum(_gateway_file(folder / f"gw-{day:02d}.csv", day, 2.5) for day in days)
    return folder, rows


@pytest.mark.parametrize("defer_indexes", [False, True])
@pytest.mark.parametrize("read_ahead", [2, 20])
def test_a_failing_file_in_a_batch_leaves_the_others_loaded_and_its_rows_absent(
    registered, tmp_path, defer_indexes, read_ahead, monkeypatch
):
    """Without deferred indexes the failing file rolls back to its savepoint and the batch
    goes on; with them it wrote into a chunk the batch created (its key set no longer
    matches), so the batch is redone file by file: the outcome is the same. Read two files
    ahead, the rows the first files held back are written while the next ones are read."""
    monkeypatch.setattr(checked, "READ_AHEAD_FILES", read_ahead)
    monkeypatch.setattr(loader, "WRITE_BEHIND_MIN_BYTES", 0)  # however few
    settings = dataclasses.replace(registered.settings, ingest_defer_indexes=defer_indexes)
    folder, _rows = _folder(tmp_path, [1, 2, 3, 4])
    (folder / "gw-00-unusable.csv").write_text("nothing useful\n", encoding="utf-8")
    with registered.connect() as conn:
        # gw-03.csv fails at the database when its counts are recorded, after its readings
        # were written: the savepoint must take its readings with it.
        conn.execute(
            """
            CREATE FUNCTION fail_gw03() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.file_name = 'gw-03.csv' THEN RAISE EXCEPTION 'refused by test'; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER fail_gw03 BEFORE UPDATE ON ingest_file
              FOR EACH ROW EXECUTE FUNCTION fail_gw03();
            """
        )
        conn.commit()
    summary = ingest_paths(settings, [folder], trigger="test")
    status = {f.path.name: f.status for f in summary.files}
    assert status == {
        "gw-00-unusable.csv": "rejected",
        "gw-01.csv": "loaded",
        "gw-02.csv": "loaded",
        "gw-03.csv": "failed",
        "gw-04.csv": "loaded",
    }
    failed = next(f for f in summary.files if f.status == "failed")
    assert "refused by test" in (failed.error or "")
    assert failed.rows_read == failed.rows_loaded == 0
    assert summary.outcome == "partial"
    assert summary.rows_loaded == 3 * 8
    if not defer_indexes:  # the files shared one transaction (now() is its start)
        assert registered.scalar("SELECT count(DISTINCT loaded_at) FROM ingest_file") == 1
    recorded = registered.query("SELECT file_name, status FROM ingest_file ORDER BY file_name")
    assert [(r["file_name"], r["status"]) for r in recorded] == [
        ("gw-00-unusable.csv", "rejected"),
        ("gw-01.csv", "loaded"),
        ("gw-02.csv", "loaded"),
        ("gw-04.csv", "loaded"),
    ]
    # Nothing of gw-03 (2024-03-03): neither readings nor rollups.
    days = registered.query(
        "SELECT DISTINCT (reading_at AT TIME ZONE 'Asia/Shanghai')::date AS day FROM reading "
        "ORDER BY 1"
    )
    assert [str(r["day"]) for r in days] == ["2024-03-01", "2024-03-02", "2024-03-04"]
    assert registered.scalar("SELECT count(*) FROM reading") == 24
    # Rollups of the loaded files, done once for the batch: E1 2.5 + E2 1 × 40 a reading.
    assert registered.scalar("SELECT sum(energy_kwh) FROM meter_daily") == 12 * (2.5 + 40)
    assert registered.scalar("SELECT sum(energy_kwh) FROM building_daily") == 12 * (2.5 + 40)
    assert summary.affected == {2024: {"B1"}}

    # gw-03 loads alone once the database accepts it; the others are skipped.
    with registered.connect() as conn:
        conn.execute("DROP TRIGGER fail_gw03 ON ingest_file")
        conn.commit()
    again = ingest_paths(settings, [folder], trigger="test")
    status = {f.path.name: f.status for f in again.files}
    assert (status["gw-03.csv"], status["gw-00-unusable.csv"]) == ("loaded", "rejected")
    assert {status[f"gw-0{d}.csv"] for d in (1, 2, 4)} == {"skipped"}
    assert registered.scalar("SELECT count(*) FROM reading") == 32
    assert registered.scalar("SELECT sum(energy_kwh) FROM building_daily") == 16 * (2.5 + 40)


def test_batched_rollups_equal_one_by_one_loads(registered, tmp_path):
    """Same files: one folder (one transaction) and file by file give the same rollups,
    including a later file of a day already stored."""
    folder, rows = _folder(tmp_path, [5, 6, 12])
    _gateway_file(folder / "gw-07.csv", 5, 3.0)  # other meters' values on 5 March: conflicts
    _gateway_file(folder / "gw-08.csv", 5, 2.5)  # the same rows as gw-05: duplicates
    summary = ingest_paths(registered.settings, [folder], trigger="test")
    batched = registered.query(
        "SELECT meter_key, day, energy_kwh, reading_count FROM meter_daily ORDER BY 1, 2"
    )
    buildings = registered.query("SELECT * FROM building_daily ORDER BY day, energy_type")
    assert summary.rows_loaded == rows
    assert summary.rows_quarantined == 8 - 4  # gw-07: E1 differs (4 rows), E2 identical
    with registered.connect() as conn:
        conn.execute(
            "TRUNCATE reading, meter_daily, building_daily, quarantine, ingest_file CASCADE"
        )
        conn.commit()
    for path in sorted(folder.iterdir()):
        ingest_paths(registered.settings, [path], trigger="test")
    single = registered.query(
        "SELECT meter_key, day, energy_kwh, reading_count FROM meter_daily ORDER BY 1, 2"
    )
    assert batched == single
    again = registered.query("SELECT * FROM building_daily ORDER BY day, energy_type")
    assert [{k: v for k, v in r.items() if k != "updated_at"} for r in buildings] == [
        {k: v for k, v in r.items() if k != "updated_at"} for r in again
    ]


def test_kill_mid_batch_leaves_no_file_of_it(registered, tmp_path):
    folder, rows = _folder(tmp_path, [1, 2, 3])
    proc = subprocess.Popen(
        [sys.executable, "-m", "quota.cli", "ingest", str(folder)],
        cwd=ROOT,
        env=registered.env(QUOTAWATCH_INGEST_TEST_PAUSE="3"),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        seen = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stderr.readline() if proc.stderr else ""
            seen.append(line)
            if sum("batch done" in s for s in seen) == 2:  # two files written, the third not
                break
            if not line and proc.poll() is not None:
                break
        assert sum("batch done" in s for s in seen) == 2, seen
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert registered.scalar("SELECT count(*) FROM reading") == 0
    assert registered.scalar("SELECT count(*) FROM ingest_file") == 0
    assert registered.scalar("SELECT count(*) FROM meter_daily") == 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and registered.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE 'quotawatch-ingest-%'"
    ):
        time.sleep(0.1)
    rerun = registered.cli("ingest", "--json", str(folder))
    assert rerun.returncode == 0, rerun.stderr
    data = json.loads(rerun.stdout)
    assert [f["status"] for f in data["files"]] == ["loaded"] * 3
    assert registered.scalar("SELECT count(*) FROM reading") == rows
    assert registered.scalar("SELECT count(*) FROM ingest_file") == 3


def _weeks_file(path: Path, meter: str, days: int, value: float, first_day: int = 1) -> int:
    """``meter`` hourly from 2024-01-``first_day`` for ``days`` days; returns the rows."""
    lines = ["meter_id,timestamp,value"]
    for day in range(first_day, first_day + days):
        lines += [f"{meter},2024-01-{day:02d} {hour:02d}:00,{value}" for hour in range(24)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


@pytest.mark.parametrize("defer_indexes", [True, False])
@pytest.mark.parametrize("read_ahead", [1, 20])
def test_files_of_several_weeks_in_one_batch(
    registered, tmp_path, defer_indexes, read_ahead, monkeypatch
):
    """Files spanning five weekly chunks, loaded in one transaction with their rows held
    back and written once per chunk (ingest/pending.py): every row stored once, a later
    file of the batch repeating a meter's rows is checked against the rows held back (same
    value: duplicates; other value: conflicting_duplicate), and the rollups are those of
    the rows stored. Read one file ahead, each file's held rows are written (behind the
    reading of the next) before the next file's checks: the outcome is the same."""
    monkeypatch.setattr(checked, "READ_AHEAD_FILES", read_ahead)
    monkeypatch.setattr(loader, "WRITE_BEHIND_MIN_BYTES", 0)  # however few
    settings = dataclasses.replace(registered.settings, ingest_defer_indexes=defer_indexes)
    folder = tmp_path / "year"
    folder.mkdir()
    e1 = _weeks_file(folder / "a-e1.csv", "E1", 31, 2.0)
    e2 = _weeks_file(folder / "b-e2.csv", "E2", 31, 1.0)
    _weeks_file(folder / "c-e1-again.csv", "E1", 3, 2.0, first_day=10)  # duplicates
    _weeks_file(folder / "d-e1-other.csv", "E1", 2, 9.0, first_day=20)  # conflicts
    summary = ingest_paths(settings, [folder], trigger="test")
    assert [f.status for f in summary.files] == ["loaded"] * 4
    assert summary.rows_loaded == e1 + e2
    assert summary.rows_duplicate == 3 * 24
    assert summary.rows_quarantined == 2 * 24
    assert summary.quarantine_by_reason == {"conflicting_duplicate": 48}
    assert registered.scalar("SELECT count(*) FROM reading") == e1 + e2
    assert registered.scalar("SELECT count(DISTINCT loaded_at) FROM ingest_file") == 1
    # Each reading carries its own file's id (the rows were prepared while read ahead,
    # before the file was claimed, and given its id after).
    by_file = registered.query(
        "SELECT f.file_name, count(*) AS n FROM reading r JOIN ingest_file f USING (file_id) "
        "GROUP BY 1 ORDER BY 1"
    )
    assert [(r["file_name"], r["n"]) for r in by_file] == [("a-e1.csv", e1), ("b-e2.csv", e2)]
    assert registered.scalar("SELECT sum(energy_kwh) FROM reading") == e1 * 2.0 + e2 * 40.0
    assert registered.scalar("SELECT sum(energy_kwh) FROM meter_daily") == e1 * 2.0 + e2 * 40.0
    assert registered.scalar("SELECT sum(reading_count) FROM meter_daily") == e1 + e2
    assert (
        registered.scalar(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'reading'"
        )
        >= 5
    )
    # Every chunk index is on and valid (the unique key was enforced by the build).
    assert (
        registered.scalar(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "WHERE c.relname LIKE '%chunk%' AND NOT (i.indisvalid AND i.indisready)"
        )
        == 0
    )


def test_held_rows_written_behind_that_fail_redo_the_batch_file_by_file(
    registered, tmp_path, monkeypatch
):
    """The rows held back are written by a thread of their own while the next files are
    read; when that write fails, the batch's transaction is rolled back and every file
    loaded in a transaction of its own: each file loaded once, none lost."""
    monkeypatch.setattr(checked, "READ_AHEAD_FILES", 1)
    monkeypatch.setattr(loader, "WRITE_BEHIND_MIN_BYTES", 0)
    folder = tmp_path / "year"
    folder.mkdir()
    rows = sum(
        _weeks_file(folder / f"{name}.csv", meter, 9, 2.0)
        for name, meter in (("a", "E1"), ("b", "E2"))
    )
    real_copy_rows = loader.copy_rows
    failed_writes: list[str] = []

    def copy_rows(conn, table, column_names, parts):
        if threading.current_thread().name == "ingest-held-rows" and not failed_writes:
            failed_writes.append(table)
            raise psycopg.errors.DataError("write refused by test")
        real_copy_rows(conn, table, column_names, parts)

    monkeypatch.setattr(loader, "copy_rows", copy_rows)
    summary = ingest_paths(registered.settings, [folder], trigger="test")
    assert failed_writes  # the write behind the reading did run, and failed
    assert [f.status for f in summary.files] == ["loaded", "loaded"]
    assert summary.rows_loaded == rows
    assert registered.scalar("SELECT count(*) FROM reading") == rows
    assert registered.scalar("SELECT count(*) FROM ingest_file") == 2
    # Two transactions now (file by file), not the batch's one.
    assert registered.scalar("SELECT count(DISTINCT loaded_at) FROM ingest_file") == 2
    assert registered.scalar("SELECT sum(reading_count) FROM meter_daily") == rows


def test_connection_lost_while_held_rows_are_written_behind(registered, tmp_path, monkeypatch):
    """The connection dies while the rows held back are written behind the reading: the
    batches committed before stay, every file of the lost batch is reported failed with
    ``connection_lost`` (the run still returns its summary: no traceback, every file a
    status), and a re-run loads exactly those files."""
    monkeypatch.setattr(checked, "READ_AHEAD_FILES", 1)
    monkeypatch.setattr(loader, "WRITE_BEHIND_MIN_BYTES", 0)
    monkeypatch.setattr(loader, "FILES_PER_TRANSACTION", 2)
    folder = tmp_path / "year"
    folder.mkdir()
    meters = ("E1", "E2", "E1", "E2")
    rows = [
        _weeks_file(folder / f"{name}.csv", meter, 3, 2.0, first_day=1 + 3 * i)
        for i, (name, meter) in enumerate(zip("abcd", meters, strict=True))
    ]
    real_copy_rows = loader.copy_rows
    writes: list[str] = []

    def copy_rows(conn, table, column_names, parts):
        if threading.current_thread().name == "ingest-held-rows":
            writes.append(table)
            if len(writes) == 2:  # the second batch's write behind its second file
                conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        real_copy_rows(conn, table, column_names, parts)

    monkeypatch.setattr(loader, "copy_rows", copy_rows)
    summary = ingest_paths(registered.settings, [folder], trigger="test")
    assert len(writes) == 2
    assert [(f.path.name, f.status, f.connection_lost) for f in summary.files] == [
        ("a.csv", "loaded", False),
        ("b.csv", "loaded", False),
        ("c.csv", "failed", True),
        ("d.csv", "failed", True),
    ]
    assert all("database error" in (f.error or "") for f in summary.files[2:])
    assert registered.scalar("SELECT count(*) FROM reading") == rows[0] + rows[1]

    monkeypatch.setattr(loader, "copy_rows", real_copy_rows)
    again = ingest_paths(registered.settings, [folder], trigger="test")
    assert [f.status for f in again.files] == ["skipped", "skipped", "loaded", "loaded"]
    assert registered.scalar("SELECT count(*) FROM reading") == sum(rows)
    assert registered.scalar("SELECT sum(reading_count) FROM meter_daily") == sum(rows)
    # The lost run's row was closed as interrupted by the next run.
    assert registered.scalar("SELECT count(*) FROM ingest_run WHERE finished_at IS NULL") == 0


def test_an_interrupt_while_reading_ahead_stops_the_load_and_keeps_nothing_of_the_batch(
    registered, tmp_path, monkeypatch
):
    """Ctrl-C while the next file is read (and the rows held back are written behind):
    the interrupt is not kept as the file's error but stops the load at once; the writer
    is waited for, and the batch's transaction rolls back (no file of it recorded)."""
    monkeypatch.setattr(checked, "READ_AHEAD_FILES", 1)
    monkeypatch.setattr(loader, "WRITE_BEHIND_MIN_BYTES", 0)
    folder = tmp_path / "year"
    folder.mkdir()
    for name, meter in (("a", "E1"), ("b", "E2"), ("c", "E1")):
        _weeks_file(folder / f"{name}.csv", meter, 9, 2.0, first_day=1 if name != "c" else 12)
    real_checked_batches = checked.checked_batches

    def checked_batches(stream, checks, stop=None):
        if stream.name.endswith("b.csv"):
            raise KeyboardInterrupt
        return real_checked_batches(stream, checks, stop)

    monkeypatch.setattr(checked, "checked_batches", checked_batches)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths(registered.settings, [folder], trigger="test")
    assert not [t for t in threading.enumerate() if t.name == "ingest-held-rows"]
    assert registered.scalar("SELECT count(*) FROM ingest_file") == 0
    assert registered.scalar("SELECT count(*) FROM reading") == 0
