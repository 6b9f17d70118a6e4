"""Storage benchmark: bytes a reading before and after sql/0160 (the column order of
`reading`), the bulk ingest speed on both layouts, and how long 0160 takes per million
readings.

On the configured cluster it creates scratch databases of two layouts: ``before`` (every
migration before 0160: the old column order) and ``after`` (all of them). The same files
are loaded into each through the real ``quotawatch ingest`` (a subprocess):

- ``bulk``: one file of ``--rows`` hourly readings of ``--meters`` meters in time order (as
  bench/ingest.py's bulk shape); loaded ``--repeat`` times into each layout, alternating
  (before, after, before, ...), each into a new database; the load average is printed with
  every run;
- ``per-building``: ``--files`` files of one building's year (8,760 hourly readings each),
  loaded by one ``quotawatch ingest FOLDER`` (chunks a batch of files creates indexed once);
- ``daily``: ``--daily-days`` daily files of ``--daily-meters`` meters, one ``quotawatch
  ingest`` each: after the first, each day's rows go into a chunk that exists, its index
  kept up row by row in meter-interleaved order (half-empty leaf pages).

For each loaded database it prints bytes a reading: ``pg_column_size`` of the row (header
and data), heap (the chunks' main forks), primary-key index, the hypertable in all, and from
``pgstattuple`` the live tuples' bytes, free space and readings per 8 kB page. Then it
applies sql/0160 to the ``before`` databases (timed: seconds per million readings) and
measures them again. The databases are dropped at the end (``--keep`` keeps them).

    .venv/bin/python bench/storage.py [--rows N] [--meters M] [--files F] [--repeat K]
        [--daily-meters M] [--daily-days D] [--shapes bulk,per-building,daily]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import generate, generate_per_building, run_ingest  # noqa: E402
from bench.scratch import drop_database, settings_for, settle, write_buildings  # noqa: E402
from quota import db as qdb  # noqa: E402
from quota.db import migrations  # noqa: E402
from quota.settings import Settings, load_settings  # noqa: E402

REBUILD_VERSION = 160


def load_average() -> str:
    """The 1-minute load average now (the machine is shared)."""
    return f"{os.getloadavg()[0]:.1f}"


def create_layout(settings: Settings, name: str, layout: str, sql_before: Path) -> Settings:
    """A new empty database ``name`` with the ``before`` or ``after`` layout of reading."""
    drop_database(settings, name)
    with qdb.connect(settings, "postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    bench = settings_for(settings, name)
    with qdb.connect(bench, autocommit=True) as conn:
        migrations.migrate(conn, sql_before if layout == "before" else migrations.SQL_DIR)
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
    return bench


def register_meters(settings: Settings, meters: int, per_building: int) -> None:
    """Buildings and hourly kWh meters ``BM000000…`` (as bench/ingest.py registers them)."""
    with qdb.connect(settings, autocommit=True) as conn:
        buildings = max(meters // per_building, 1)
        write_buildings(conn, buildings, 5)
        with conn.cursor().copy(
            "COPY meter (meter_id, building_id, energy_type, unit, interval_minutes) FROM STDIN"
        ) as copy:
            for m in range(meters):
                copy.write_row((f"BM{m:06d}", f"BB{m % buildings:05d}", "electricity", "kWh", 60))


def sql_dir_before(workdir: Path) -> Path:
    """A copy of sql/ without 0160 and later: the schema before the column order changed."""
    folder = workdir / "sql-before"
    folder.mkdir()
    for migration in migrations.discover():
        if migration.version < REBUILD_VERSION:
            shutil.copy(migration.path, folder / migration.path.name)
    return folder


SIZES = """
SELECT count(*) AS readings,
       (SELECT avg(s) FROM (SELECT pg_column_size(r.*) AS s FROM reading r) x) AS row_b,
       (SELECT sum(pg_relation_size(format('%I.%I', chunk_schema, chunk_name)))
          FROM timescaledb_information.chunks WHERE hypertable_name = 'reading') AS heap_b,
       (SELECT sum(pg_indexes_size(format('%I.%I', chunk_schema, chunk_name)))
          FROM timescaledb_information.chunks WHERE hypertable_name = 'reading') AS index_b,
       hypertable_size('reading') AS total_b,
       (SELECT sum(s.tuple_len) FROM timescaledb_information.chunks c
          CROSS JOIN LATERAL pgstattuple(format('%I.%I', c.chunk_schema, c.chunk_name)) s
         WHERE c.hypertable_name = 'reading') AS tuple_b,
       (SELECT sum(s.free_space) FROM timescaledb_information.chunks c
          CROSS JOIN LATERAL pgstattuple(format('%I.%I', c.chunk_schema, c.chunk_name)) s
         WHERE c.hypertable_name = 'reading') AS free_b,
       (SELECT avg(s.avg_leaf_density) FROM timescaledb_information.chunks c
          JOIN pg_index i ON i.indrelid = format('%I.%I', c.chunk_schema, c.chunk_name)::regclass
          CROSS JOIN LATERAL pgstatindex(i.indexrelid::regclass) s
         WHERE c.hypertable_name = 'reading') AS leaf_density
  FROM reading
"""


def sizes(settings: Settings) -> dict[str, float]:
    """Bytes a reading in the database of ``settings`` (see the module docstring)."""
    with qdb.connect(settings, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE reading")
        row = conn.execute(SIZES).fetchone()
    n = int(row["readings"])
    return {
        "readings": n,
        "row": float(row["row_b"]),
        "heap": int(row["heap_b"]) / n,
        "index": int(row["index_b"]) / n,
        "total": int(row["total_b"]) / n,
        "tuple": int(row["tuple_b"]) / n,
        "free": int(row["free_b"]) / n,
        "per_page": n / (int(row["heap_b"]) / 8192),
        "leaf_density": float(row["leaf_density"]),
    }


def show_sizes(label: str, s: dict[str, float]) -> None:
    print(
        f"  {label}: {s['readings']:,} readings; bytes a reading: row {s['row']:.1f}, "
        f"heap {s['heap']:.1f} (tuples {s['tuple']:.1f}, free {s['free']:.1f}; "
        f"{s['per_page']:.1f} a page), index {s['index']:.1f} "
        f"(leaf density {s['leaf_density']:.1f} %), hypertable {s['total']:.1f}"
    )


def migrate_timed(settings: Settings) -> float:
    """Seconds to apply sql/0160 (and whatever follows it) to the database."""
    settle(settings)
    with qdb.connect(settings, autocommit=True) as conn:
        started = time.perf_counter()
        applied = migrations.migrate(conn)
        seconds = time.perf_counter() - started
    assert applied and applied[0].version == REBUILD_VERSION, applied
    return seconds


def shape_bulk(
    settings: Settings, workdir: Path, before_sql: Path, args: argparse.Namespace, names: list[str]
) -> dict[str, Settings]:
    """The bulk file loaded ``--repeat`` times into each layout, alternating; the
    databases of the last load of each layout."""
    bulk = workdir / "bulk.csv"
    rows = generate(bulk, args.rows, args.meters, datetime(2025, 1, 1))
    loaded: dict[str, Settings] = {}
    times: dict[str, list[float]] = {"before": [], "after": []}
    for attempt in range(max(args.repeat, 1)):
        for layout in ("before", "after") if attempt % 2 == 0 else ("after", "before"):
            name = f"qwbench_storage_{os.getpid()}_bulk_{layout}"
            if name not in names:
                names.append(name)
            bench = create_layout(settings, name, layout, before_sql)
            register_meters(bench, args.meters, 3)
            load = load_average()
            seconds, peak, _ = run_ingest(bench, bulk)
            times[layout].append(seconds)
            print(
                f"bulk ingest ({rows:,} rows of {args.meters:,} meters), {layout:6}: "
                f"{seconds:6.2f} s  {rows / seconds:>10,.0f} rows/s "
                f"(peak {peak:,.0f} MB; load average {load})"
            )
            loaded[f"bulk {layout}"] = bench
    best = {k: min(v) for k, v in times.items()}
    ratio = best["before"] / best["after"]
    print(
        f"bulk ingest, best of {len(times['before'])}: before {rows / best['before']:,.0f}, "
        f"after {rows / best['after']:,.0f} rows/s (after/before {ratio:.2f})"
    )
    return loaded


def shape_per_building(
    settings: Settings, workdir: Path, before_sql: Path, args: argparse.Namespace, names: list[str]
) -> dict[str, Settings]:
    folder = workdir / "per-building"
    rows = generate_per_building(folder, args.files, 2025)
    loaded: dict[str, Settings] = {}
    for layout in ("before", "after"):
        name = f"qwbench_storage_{os.getpid()}_pb_{layout}"
        names.append(name)
        bench = create_layout(settings, name, layout, before_sql)
        register_meters(bench, args.files, 1)
        load = load_average()
        seconds, _peak, _ = run_ingest(bench, folder)
        print(
            f"per-building ingest ({args.files:,} files, {rows:,} rows), {layout:6}: "
            f"{seconds:6.2f} s  {rows / seconds:>10,.0f} rows/s (load average {load})"
        )
        loaded[f"per-building {layout}"] = bench
    return loaded


def shape_daily(
    settings: Settings, workdir: Path, before_sql: Path, args: argparse.Namespace, names: list[str]
) -> dict[str, Settings]:
    first = datetime(2025, 5, 12)  # a Monday: the days share one 7-day chunk or two
    files = []
    for day in range(args.daily_days):
        path = workdir / f"daily-{day}.csv"
        generate(path, args.daily_meters * 24, args.daily_meters, first + timedelta(days=day))
        files.append(path)
    loaded: dict[str, Settings] = {}
    for layout in ("before", "after"):
        name = f"qwbench_storage_{os.getpid()}_daily_{layout}"
        names.append(name)
        bench = create_layout(settings, name, layout, before_sql)
        register_meters(bench, args.daily_meters, 3)
        load = load_average()
        seconds = sum(run_ingest(bench, path)[0] for path in files)
        rows = args.daily_meters * 24 * len(files)
        print(
            f"daily ingest ({len(files)} files of {args.daily_meters:,} meters, {rows:,} rows), "
            f"{layout:6}: {seconds:6.2f} s  {rows / seconds:>10,.0f} rows/s (load average {load})"
        )
        loaded[f"daily {layout}"] = bench
    return loaded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="bulk rows (5,000,000)")
    parser.add_argument("--meters", type=int, default=1_000, help="bulk meters (1,000)")
    parser.add_argument("--files", type=int, default=100, help="per-building files (100)")
    parser.add_argument("--repeat", type=int, default=2, help="bulk loads per layout (2)")
    parser.add_argument("--daily-meters", type=int, default=20_000, help="daily meters (20,000)")
    parser.add_argument("--daily-days", type=int, default=7, help="daily files (7)")
    parser.add_argument(
        "--shapes", default="bulk,per-building,daily", help="comma-separated shapes (all three)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args()
    shapes = {s.strip() for s in args.shapes.split(",") if s.strip()}

    settings = load_settings()
    workdir = Path(tempfile.mkdtemp(prefix="qwbench_storage_"))
    names: list[str] = []
    try:
        before_sql = sql_dir_before(workdir)
        print(f"load average now {load_average()}")
        loaded: dict[str, Settings] = {}
        if "bulk" in shapes:
            loaded.update(shape_bulk(settings, workdir, before_sql, args, names))
        if "per-building" in shapes:
            loaded.update(shape_per_building(settings, workdir, before_sql, args, names))
        if "daily" in shapes:
            loaded.update(shape_daily(settings, workdir, before_sql, args, names))

        print("bytes a reading (same rows in each pair):")
        for label, bench in loaded.items():
            show_sizes(label, sizes(bench))

        for label in [k for k in loaded if k.endswith(" before")]:
            bench = loaded[label]
            n = sizes(bench)["readings"]
            load = load_average()
            seconds = migrate_timed(bench)
            print(
                f"sql/0160 on {label}: {n:,} readings in {seconds:.1f} s, "
                f"{seconds / (n / 1e6):.2f} s per million readings (load average {load})"
            )
            show_sizes(f"{label}, migrated", sizes(bench))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            for name in names:
                try:
                    drop_database(settings, name)
                except psycopg.Error as exc:
                    print(f"could not drop {name}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
