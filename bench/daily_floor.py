"""Where the time of the ``daily`` ingest shape goes: the pieces of its load, measured in one run.

The shape (bench/ingest.py ``--shapes daily``): one day of N meters' hourly readings (default
20,000 meters, 480,000 rows) into the week's chunk that already holds the previous six days.
Each piece runs on a database of its own, freshly migrated and holding the same six days
(loaded by ``quotawatch ingest``, not timed), after a CHECKPOINT (as bench/ingest.py does
before each timed step):

- ``raw``: CSV COPY of the day's file into an unindexed plain table (the ratio's baseline);
- ``raw-binary``: the same rows, binary COPY in the loader's format, into an unindexed table;
- ``chunk``: the same binary rows COPYed straight into the week's chunk of ``reading`` (its
  primary-key B-tree on (meter_key, reading_at) holding the six days), in the file's order
  (hour by hour), one COPY;
- ``chunk-batches``: the same in the loader's batches (``ingest_batch_rows``, each batch
  sorted by meter and instant), one COPY per batch;
- ``chunk-sorted``: the same, the whole day sorted by (meter_key, reading_at), one COPY;
- ``chunk-sorted-no-checkpoint``: as ``chunk-sorted`` without the CHECKPOINT before (the
  leaves were written since the last one: no full-page images);
- ``plain-pk-empty``: the same binary rows into an empty plain table with that primary key;
- ``plain-pk``: the same binary rows into a plain table with the same columns and primary
  key, holding the six days (built sorted, as a chunk's index is), one COPY;
- ``ingest``: the full ``quotawatch ingest`` of the day's file (a subprocess, as in
  bench/ingest.py), with every statement the loader sends logged with its duration
  (``log_min_duration_statement = 0`` for that database), summed by kind and cut into
  phases (process start, up to the first COPY, the COPYs, rollups and commit, exit);
- ``ingest-skipped``: ``quotawatch ingest`` of the day's file a second time (skipped by its
  checksum): the fixed cost of a load (process start, imports, digest, claim).

For each piece: seconds, rows/s (the day's rows over its seconds), its ratio to the run's
best ``raw``, and the WAL it wrote (bytes, records, full-page images; from ``pg_stat_wal``
and ``pg_current_wal_lsn()``: the cluster must be otherwise idle), with ``--waldump`` also
by record kind and relation (pg_waldump). Usage:

    .venv/bin/python bench/daily_floor.py [--meters M] [--pieces raw,chunk,...] [--repeat K]
        [--waldump]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import generate, raw_copy_files, run_ingest, setup_database  # noqa: E402
from bench.scratch import drop_database, settle  # noqa: E402
from bench.scratch import settings_for as _settings_for  # noqa: E402
from ingest import copybin  # noqa: E402
from quota import db as qdb  # noqa: E402
from quota.db.cluster import Cluster  # noqa: E402
from quota.settings import load_settings  # noqa: E402

PIECES = (
    "raw",
    "raw-binary",
    "chunk",
    "chunk-batches",
    "chunk-sorted",
    "chunk-sorted-no-checkpoint",
    "plain-pk",
    "plain-pk-empty",
    "ingest",
    "ingest-skipped",
)
COLUMNS = "meter_key, reading_at, value, unit, energy_kwh, file_id"
WAL = (
    "SELECT wal_records, wal_fpi,"
    " pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS wal_bytes FROM pg_stat_wal"
)


def lsn(position: int) -> str:
    """A WAL position [B] as PostgreSQL writes it (``X/Y``)."""
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def wal_by_relation(settings, start: int, end: int, top: int = 12) -> list[str]:
    """The ``top`` (record kind, relation) pairs of the WAL between two positions by bytes,
    relations named in this database (pg_waldump, one line a record)."""
    from quota.db.cluster import find_server_bin

    data = Cluster.from_settings(settings).data_dir
    proc = subprocess.run(
        [
            *(str(find_server_bin() / "pg_waldump"), "-p", str(data / "pg_wal")),
            *("-s", lsn(start), "-e", lsn(end)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    sizes: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for line in proc.stdout.splitlines():
        m = re.search(r"rmgr: (\S+)\s+len \(rec/tot\):\s+\d+/\s*(\d+).*?desc: (\S+)", line)
        if not m:
            continue
        rel = re.search(r"rel \d+/\d+/(\d+)", line)
        key = (f"{m.group(1)}/{m.group(3)}", rel.group(1) if rel else "-")
        sizes[key][0] += 1
        sizes[key][1] += int(m.group(2))
    names: dict[str, str] = {}
    with qdb.connect(settings, autocommit=True) as conn:
        for row in conn.execute(
            "SELECT pg_relation_filenode(c.oid)::text AS node, c.oid::regclass::text AS name"
            " FROM pg_class c WHERE pg_relation_filenode(c.oid) IS NOT NULL"
        ).fetchall():
            names[row["node"]] = row["name"]
    ranked = sorted(sizes.items(), key=lambda kv: -kv[1][1])[:top]
    return [
        f"{kind:24s} {names.get(rel, rel):45s} {n:>8,} records {b / 1e6:7.1f} MB"
        for (kind, rel), (n, b) in ranked
    ]


def wal_kinds(settings, start: int, end: int, top: int = 8) -> list[str]:
    """The ``top`` record kinds of the WAL between two positions by bytes (pg_waldump
    --stats=record; empty when pg_waldump or the WAL files cannot be read)."""
    from quota.db.cluster import find_server_bin

    data = Cluster.from_settings(settings).data_dir
    proc = subprocess.run(
        [
            str(find_server_bin() / "pg_waldump"),
            "-p",
            str(data / "pg_wal"),
            "-s",
            lsn(start),
            "-e",
            lsn(end),
            "--stats=record",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if "/" in ln and "(" in ln]

    def combined(line: str) -> float:
        fields = line.split()
        try:
            return float(fields[-3])
        except (ValueError, IndexError):
            return 0.0

    return sorted(lines, key=combined, reverse=True)[:top]


def day_rows(conn, path: Path, tz) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(meter_key, reading_at [µs since 1970 UTC], value) of the day's file, in file order."""
    keys = {
        r["meter_id"]: r["meter_key"]
        for r in conn.execute("SELECT meter_id, meter_key FROM meter").fetchall()
    }
    import pandas as pd

    frame = pd.read_csv(path)
    local = pd.to_datetime(frame["timestamp"]).dt.tz_localize(tz)
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    at = ((local - epoch) // pd.Timedelta(microseconds=1)).to_numpy()
    return (
        frame["meter_id"].map(keys).to_numpy().astype(np.int64),
        at.astype(np.int64),
        frame["value"].to_numpy().astype(np.float64),
    )


def binary_rows(keys: np.ndarray, at: np.ndarray, value: np.ndarray, order: np.ndarray) -> bytes:
    """The loader's COPY rows (kWh with multiplier 1: value and unit NULL, energy_kwh the
    value) in ``order``, without header and trailer."""
    n = len(order)
    none = np.ones(n, dtype=bool)
    return copybin.rows_bytes(
        [
            copybin.Column("int4", keys[order]),
            copybin.Column("timestamptz", at[order]),
            copybin.Column("float8", value[order], none),
            copybin.Column("text", np.full(n, "kWh", dtype=object), none),
            copybin.Column("float8", value[order]),
            copybin.Column("int8", np.full(n, 1, dtype=np.int64)),
        ]
    )


def copy_binary(conn, table: sql.Composable, parts: list[bytes]) -> None:
    for part in parts:
        with conn.cursor().copy(
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(table, sql.SQL(COLUMNS))
        ) as copy:
            copy.write(copybin.HEADER)
            copy.write(part)
            copy.write(copybin.TRAILER)


def wal(settings) -> tuple[int, int, int]:
    """(WAL records, full-page images, WAL position [B]) of the cluster: read on a new
    connection after a pause, so that a backend just closed has reported its WAL counts."""
    time.sleep(0.5)
    with qdb.connect(settings, autocommit=True) as conn:
        row = conn.execute(WAL).fetchone()
    return int(row["wal_records"]), int(row["wal_fpi"]), int(row["wal_bytes"])


def copy_into_plain_pk(bench, create: str, rows: bytes) -> tuple[float, tuple, tuple]:
    """``timed_copy`` of ``rows`` into a plain table ``plain_pk`` made by ``create`` and then
    given reading's primary key (meter_key, reading_at)."""
    with qdb.connect(bench, autocommit=True) as conn:
        conn.execute(create)
        conn.execute("ALTER TABLE plain_pk ADD PRIMARY KEY (meter_key, reading_at)")
    return timed_copy(bench, sql.Identifier("plain_pk"), [rows])


def timed_copy(
    bench, table: sql.Composable, parts: list[bytes], checkpoint: bool = True
) -> tuple[float, tuple, tuple]:
    if checkpoint:
        settle(bench)
    before = wal(bench)
    with qdb.connect(bench) as conn:
        started = time.perf_counter()
        copy_binary(conn, table, parts)
        conn.commit()
        seconds = time.perf_counter() - started
    after = wal(bench)
    return seconds, before, after


def week_chunk(conn) -> sql.Composable:
    name = conn.execute(
        "SELECT chunk_schema, chunk_name FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'reading' ORDER BY range_start DESC LIMIT 1"
    ).fetchone()
    return sql.Identifier(name["chunk_schema"], name["chunk_name"])


def statement_kind(text: str) -> str:
    text = " ".join(text.split())
    for pattern, kind in (
        (r"^COPY \"_timescaledb_internal\"", "COPY into the chunk"),
        (r"^COPY (meter|building)_daily", "rollups: COPY of new days"),
        (r"_daily|_monthly", "rollups: other statements"),
        (r"^COPY", "COPY other"),
        (r"max\(c\.reading_at\)", "last stored per meter"),
        (r"ingest_probe", "probe"),
    ):
        if re.search(pattern, text, re.IGNORECASE):
            return kind
    return text[:70]


def timeline(log: Path, start: int, seconds: float) -> list[tuple[str, float]]:
    """Phases of a logged ingest [s]: from the CHECKPOINT before it (the timed start, within
    a few ms) to its first statement (process start and imports), to the start of its first
    COPY into a chunk, to the end of its last one, to its COMMIT, to the end of ``seconds``."""
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode(errors="replace")
    entries = [
        (
            datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp(),
            m.group(2),
            float(m.group(3)) / 1000,
            m.group(4),
        )
        for m in re.finditer(
            r"^(\S+ \S+) UTC \[(\d+)\] LOG:  duration: ([0-9.]+) ms\s+"
            r"(?:statement|execute [^:]*|parse [^:]*|bind [^:]*): (.*?)$",
            text,
            re.M,
        )
    ]
    pid = next(e[1] for e in entries if "INSERT INTO ingest_run" in e[3])
    own = [e for e in entries if e[1] == pid]
    t0 = [e[0] for e in entries if e[3].startswith("CHECKPOINT") and e[0] < own[0][0]][-1]
    copies = [e for e in own if e[3].startswith('COPY "_timescaledb_internal"')]
    commit = [e for e in own if e[3].startswith("COMMIT")][:1]
    if not copies or not commit:
        return []
    marks = [
        ("process start, imports", own[0][0] - own[0][2]),
        ("run, registry, chunk list, first batch, last stored", copies[0][0] - copies[0][2]),
        ("COPYs into the chunk (and checks between them)", copies[-1][0]),
        ("rollups, bookkeeping, COMMIT", commit[-1][0]),
    ]
    phases, at = [], t0
    for name, until in marks:
        phases.append((name, until - at))
        at = until
    phases.append(("exit", t0 + seconds - at))
    return phases


def logged_statements(log: Path, start: int) -> dict[str, list[float]]:
    """Durations [ms] by statement kind from the server log after byte ``start``."""
    kinds: dict[str, list[float]] = defaultdict(list)
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode(errors="replace")
    for match in re.finditer(
        r"duration: ([0-9.]+) ms\s+(?:statement|execute [^:]*): (.*?)(?=\n\S|\Z)", text, re.S
    ):
        kinds[statement_kind(match.group(2))].append(float(match.group(1)))
    return kinds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--meters", type=int, default=20_000)
    parser.add_argument("--history-days", type=int, default=6)
    parser.add_argument("--pieces", default=",".join(PIECES))
    parser.add_argument("--repeat", type=int, default=1, help="run the pieces K times in turn")
    parser.add_argument(
        "--waldump", action="store_true", help="WAL record kinds of each piece (pg_waldump)"
    )
    args = parser.parse_args()
    pieces = [p.strip() for p in args.pieces.split(",") if p.strip()]
    settings = load_settings()
    name = f"qwbench_daily_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="qwbench_"))
    day = datetime(2025, 5, 14)
    try:
        history = workdir / "daily-history.csv"
        generate(
            history,
            args.meters * 24 * args.history_days,
            args.meters,
            day - timedelta(days=args.history_days),
        )
        today = workdir / "daily-day.csv"
        rows = generate(today, args.meters * 24, args.meters, day)
        print(f"uptime: {os.getloadavg()}; {rows:,} rows, {args.meters:,} meters")
        results: dict[str, list[tuple[float, tuple]]] = defaultdict(list)
        raw_s: list[float] = []
        for _ in range(args.repeat):
            for piece in pieces:
                setup_database(settings, name, args.meters)
                bench = _settings_for(settings, name)
                run_ingest(bench, history)
                with qdb.connect(bench) as conn:
                    keys, at, value = day_rows(conn, today, settings.tz)
                    chunk = week_chunk(conn)
                file_order = np.arange(len(keys))
                sorted_order = np.lexsort((at, keys))
                if piece == "raw":
                    settle(bench)
                    before = wal(bench)
                    seconds = raw_copy_files(bench, [today])
                    after = wal(bench)
                    raw_s.append(seconds)
                elif piece == "raw-binary":
                    with qdb.connect(bench, autocommit=True) as conn:
                        conn.execute(
                            "CREATE TABLE raw_binary (meter_key int4, reading_at timestamptz,"
                            " value float8, unit text, energy_kwh float8, file_id int8)"
                        )
                    seconds, before, after = timed_copy(
                        bench,
                        sql.Identifier("raw_binary"),
                        [binary_rows(keys, at, value, file_order)],
                    )
                elif piece == "chunk":
                    seconds, before, after = timed_copy(
                        bench, chunk, [binary_rows(keys, at, value, file_order)]
                    )
                elif piece == "chunk-sorted":
                    seconds, before, after = timed_copy(
                        bench, chunk, [binary_rows(keys, at, value, sorted_order)]
                    )
                elif piece == "chunk-sorted-no-checkpoint":
                    seconds, before, after = timed_copy(
                        bench, chunk, [binary_rows(keys, at, value, sorted_order)], False
                    )
                elif piece == "plain-pk-empty":
                    seconds, before, after = copy_into_plain_pk(
                        bench,
                        "CREATE TABLE plain_pk (LIKE reading INCLUDING DEFAULTS)",
                        binary_rows(keys, at, value, file_order),
                    )
                elif piece == "ingest-skipped":
                    # The fixed cost of a load: the process, its imports, the registry, the
                    # file's digest and claim (the day's file again, skipped by checksum).
                    run_ingest(bench, today)
                    before = wal(bench)
                    seconds, _peak, _out = run_ingest(bench, today)
                    after = wal(bench)
                elif piece == "chunk-batches":
                    step = settings.ingest_batch_rows
                    parts = []
                    for lo in range(0, len(keys), step):
                        part = np.arange(lo, min(lo + step, len(keys)))
                        part = part[np.lexsort((at[part], keys[part]))]
                        parts.append(binary_rows(keys, at, value, part))
                    seconds, before, after = timed_copy(bench, chunk, parts)
                elif piece == "plain-pk":
                    seconds, before, after = copy_into_plain_pk(
                        bench,
                        "CREATE TABLE plain_pk AS SELECT * FROM reading"
                        " ORDER BY meter_key, reading_at",
                        binary_rows(keys, at, value, file_order),
                    )
                elif piece == "ingest":
                    log = Cluster.from_settings(settings).log_file
                    with qdb.connect(settings, "postgres", autocommit=True) as conn:
                        conn.execute(
                            sql.SQL("ALTER DATABASE {} SET log_min_duration_statement = 0").format(
                                sql.Identifier(name)
                            )
                        )
                    settle(bench)
                    before = wal(bench)
                    start = log.stat().st_size
                    seconds, _peak, _out = run_ingest(bench, today)
                    after = wal(bench)
                    for phase, spent in timeline(log, start, seconds):
                        print(f"    phase {spent:6.2f} s  {phase}")
                    kinds = logged_statements(log, start)
                    top = sorted(kinds.items(), key=lambda kv: -sum(kv[1]))[:12]
                    for kind, ms in top:
                        print(f"    {sum(ms) / 1000:6.2f} s  {len(ms):5d}x  {kind}")
                else:
                    raise SystemExit(f"unknown piece {piece}")
                used = tuple(a - b for a, b in zip(after, before, strict=True))
                results[piece].append((seconds, used))
                if args.waldump:
                    for line in wal_kinds(settings, before[2], after[2]):
                        print("    wal: " + " ".join(line.split()))
                    for line in wal_by_relation(bench, before[2], after[2]):
                        print("    wal: " + line)
                base = min(raw_s) if raw_s else float("nan")
                print(
                    f"{piece:14s} {seconds:6.2f} s {rows / seconds:>10,.0f} rows/s "
                    f"ratio {base / seconds:4.2f}  WAL {used[2] / 1e6:7.1f} MB "
                    f"{used[0]:>9,} records {used[1]:>7,} full-page images  "
                    f"(load {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        drop_database(settings, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
