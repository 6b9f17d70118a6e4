"""The readers of a transaction of small files (ingest/checked.py): a worker process reads
and checks them (and prepares their interval write) exactly as the thread does, falls back
to the loader reading a file itself when the worker is gone, and a folder loaded through
either stores the same rows, quarantine, rollups and file records."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
from pathlib import Path

import pandas as pd
import pytest

from ingest import checked
from ingest.checked import Checks, ProcessFileReader, ReaderWorker, SmallFileReader
from ingest.interval_store import prepare_interval
from ingest.loader import LoadContext, ingest_paths


def _folder(root: Path) -> Path:
    """Files of every kind a folder of exports holds: interval meters over several weekly
    chunks, a later file repeating rows (same and other values), quarantined rows, a
    cumulative meter, a gzipped and a GB18030 file, and an unusable one."""
    folder = root / "exports"
    folder.mkdir()

    def hours(meter: str, first_day: int, days: int, value: float) -> list[str]:
        return [
            f"{meter},2024-01-{day:02d} {hour:02d}:00,{value + hour / 10}"
            for day in range(first_day, first_day + days)
            for hour in range(24)
        ]

    header = "meter_id,timestamp,value"
    (folder / "a-e1.csv").write_text("\n".join([header, *hours("E1", 1, 20, 2.5)]) + "\n")
    (folder / "b-e2.csv").write_text(
        "\n".join(
            [header, *hours("E2", 3, 12, 1.0), "E2,2024-01-05 00:00,abc", "E9,2024-01-05 00:00,1"]
        )
        + "\n"
    )
    # E1's 10th-11th again: same values (duplicates), then one other value (a conflict).
    again = hours("E1", 10, 2, 2.5)
    again[5] = again[5].rsplit(",", 1)[0] + ",99"
    (folder / "c-e1-again.csv").write_text("\n".join([header, *again]) + "\n")
    register = [f"G1,2024-01-{d:02d} 00:00,{100 + d * 3.5}" for d in range(1, 25)]
    (folder / "d-g1.csv").write_text("\n".join([header, *register]) + "\n")
    (folder / "e-e2.csv.gz").write_bytes(
        gzip.compress(("\n".join([header, *hours("E2", 20, 5, 3.0)]) + "\n").encode())
    )
    (folder / "f-e1-gb.csv").write_bytes(
        ("\n".join([header, *hours("E1", 25, 3, 4.0), "电表1,2024-01-26 00:00,1"]) + "\n").encode(
            "gb18030"
        )
    )
    (folder / "g-unusable.csv").write_text("nothing useful here\n")
    return folder


def _stored(db) -> dict[str, list]:
    return {
        "reading": db.query(
            "SELECT r.meter_key, r.reading_at, r.value, r.unit, r.energy_kwh, r.flags, "
            "f.file_name FROM reading r JOIN ingest_file f USING (file_id) ORDER BY 1, 2"
        ),
        "quarantine": db.query(
            "SELECT f.file_name, q.line_number, q.reason_code, q.raw_row, q.message "
            "FROM quarantine q JOIN ingest_file f USING (file_id) ORDER BY 1, 2"
        ),
        "files": db.query(
            "SELECT file_name, status, rows_read, rows_loaded, rows_duplicate, "
            "rows_quarantined, error FROM ingest_file ORDER BY 1"
        ),
        "meter_daily": db.query(
            "SELECT meter_key, day, energy_kwh, reading_count FROM meter_daily ORDER BY 1, 2"
        ),
        "building_daily": db.query(
            "SELECT building_id, energy_type, day, energy_kwh FROM building_days("
            "'2023-12-01', '2024-03-01') ORDER BY 1, 2, 3"
        ),
    }


def _reset(db) -> None:
    with db.connect() as conn:
        conn.execute(
            "TRUNCATE reading, meter_daily, building_daily, quarantine, ingest_file CASCADE"
        )
        conn.commit()


def test_a_folder_loads_the_same_through_the_worker_process_and_the_thread(
    registered, tmp_path, monkeypatch
):
    folder = _folder(tmp_path)
    settings = dataclasses.replace(registered.settings, ingest_defer_indexes=True)
    outcomes = {}
    for reader in ("thread", "process"):
        _reset(registered)
        # The worker takes any transaction of two or more files (else only large ones).
        monkeypatch.setattr(checked, "PROCESS_READER_BYTES", 0 if reader == "process" else 1 << 60)
        monkeypatch.setattr(checked, "PROCESS_READER_FILES", 2)
        summary = ingest_paths(settings, [folder], trigger="test")
        outcomes[reader] = (
            [
                (
                    f.path.name,
                    f.status,
                    f.rows_read,
                    f.rows_loaded,
                    f.rows_duplicate,
                    f.rows_quarantined,
                    dict(f.quarantine_by_reason),
                )
                for f in summary.files
            ],
            _stored(registered),
        )
    thread, process = outcomes["thread"], outcomes["process"]
    assert process == thread
    files = {name: status for name, status, *_ in thread[0]}
    assert files["g-unusable.csv"] == "rejected"
    assert set(files.values()) == {"loaded", "rejected"}
    by_name = {name: rest for name, _status, *rest in thread[0]}
    assert by_name["c-e1-again.csv"][2] == 47  # duplicates of a-e1.csv
    assert by_name["c-e1-again.csv"][4] == {"conflicting_duplicate": 1}
    assert by_name["b-e2.csv"][4] == {"bad_value": 1, "unknown_meter": 1}
    assert by_name["f-e1-gb.csv"][4] == {"unknown_meter": 1}  # read as GB18030
    assert len(thread[1]["reading"]) == 20 * 24 + 12 * 24 + 24 + 5 * 24 + 3 * 24


def _checks_and_prepare(db) -> tuple[Checks, functools.partial]:
    with db.connect() as conn:
        context = LoadContext.read(conn, db.settings)
    prepare = functools.partial(
        prepare_interval, setup=context.interval_setup(db.settings), file_id=0
    )
    return Checks.of(db.settings, context.registry), prepare


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b)


def test_the_worker_reads_and_prepares_what_the_thread_does(registered, tmp_path):
    folder = _folder(tmp_path)
    paths = sorted(folder.iterdir())
    checks, prepare = _checks_and_prepare(registered)
    skip = {paths[2]}
    worker = ReaderWorker()
    thread = SmallFileReader(checks, paths, skip, prepare)
    process = ProcessFileReader(worker, checks, paths, skip, prepare)
    try:
        for path in paths:
            a, b = thread.take(path), process.take(path)
            assert (a.encoding, type(a.error), str(a.error)) == (
                b.encoding,
                type(b.error),
                str(b.error),
            )
            if path in skip or a.error is not None:
                assert a.batches is b.batches is None
                continue
            assert a.batches is not None and b.batches is not None
            assert a.prepared is not None and b.prepared is not None
            for (raw_a, *rest_a), (raw_b, *rest_b) in zip(a.batches, b.batches, strict=True):
                assert [raw_a.raw_text(i) for i in range(len(raw_a))] == [
                    raw_b.raw_text(i) for i in range(len(raw_b))
                ]
                for x, y in zip(rest_a, rest_b, strict=True):
                    if isinstance(x, pd.DataFrame):
                        _frames_equal(x, y)
                    else:
                        assert x == y
            for pa, pb in zip(a.prepared, b.prepared, strict=True):
                assert (pa is None) == (pb is None)
                if pa is not None:
                    assert pa.slots.keys() == pb.slots.keys()
                    for slot in pa.slots:
                        assert pa.slots[slot].first.tobytes() == pb.slots[slot].first.tobytes()
                        assert pa.slots[slot].rest.tobytes() == pb.slots[slot].rest.tobytes()
    finally:
        thread.close()
        process.close()
        worker.close()


def test_prepared_ahead_rows_get_the_file_id_of_the_claim(registered, tmp_path):
    """Rows prepared before the file was claimed (file id 0) and given its id afterwards
    are byte for byte the rows prepared with the id."""
    folder = _folder(tmp_path)
    checks, prepare = _checks_and_prepare(registered)
    read = checked.read_checked(folder / "a-e1.csv", checks, prepare)
    assert read.batches is not None and read.prepared is not None
    ahead = read.prepared[0]
    assert ahead is not None and len(ahead.slots) == 4  # 20 days: four weekly chunks
    direct = prepare_interval(read.batches[0][1], prepare.keywords["setup"], 4242)
    assert direct is not None
    patched = ahead.for_file(4242)
    assert patched is not None
    for slot in direct.slots:
        for part in ("first", "rest"):
            got = getattr(patched.slots[slot], part)
            want = getattr(direct.slots[slot], part)
            assert got.tobytes() == want.tobytes()
            assert (got[direct.file_id_field] == 4242).all()


def test_a_worker_that_dies_leaves_its_files_to_the_loader(registered, tmp_path):
    """The worker process killed mid-run: the files it had not sent back come as not read
    (the loader reads them itself), and the reader still closes."""
    folder = _folder(tmp_path)
    paths = sorted(folder.iterdir())
    checks, prepare = _checks_and_prepare(registered)
    worker = ReaderWorker()
    reader = ProcessFileReader(worker, checks, paths, set(), prepare, ahead=1)
    try:
        first = reader.take(paths[0])
        assert first.batches is not None
        assert worker._pool is not None
        for pid in list(worker._pool._processes):
            os.kill(pid, 9)
        rest = [reader.take(path) for path in paths[1:]]
        # The next transaction of the load finds no worker: its files are left to the loader.
        after = ProcessFileReader(worker, checks, paths[:1], set(), prepare)
        assert after.take(paths[0]).batches is None
        after.close()
    finally:
        reader.close()
        worker.close()
    assert any(read.batches is None and read.error is None for read in rest)


@pytest.mark.parametrize("name", ["e-e2.csv.gz", "g-unusable.csv"])
def test_errors_and_gzip_come_back_from_the_worker(registered, tmp_path, name):
    folder = _folder(tmp_path)
    checks, prepare = _checks_and_prepare(registered)
    worker = ReaderWorker()
    reader = ProcessFileReader(worker, checks, [folder / name], set(), prepare)
    try:
        read = reader.take(folder / name)
    finally:
        reader.close()
        worker.close()
    direct = checked.read_checked(folder / name, checks, prepare)
    assert (type(read.error), str(read.error)) == (type(direct.error), str(direct.error))
    assert (read.batches is None) == (direct.batches is None)
