"""Ingest benchmark: `quotawatch ingest` against raw COPY of the same rows, in one run.

Generates a realistic readings file (default 5,000,000 rows: 1,000 meters, hourly, in
time order as gateways export it), creates a scratch database on the configured server,
then measures

(a) raw ``COPY`` of the file into an unindexed plain table (the baseline),
(b) ``quotawatch ingest FILE`` into the empty, migrated database (a subprocess, so its peak
    memory is measured), and prints rows/s for each and the ratio b/a;
(c) re-ingesting the same file (skipped by its checksum) and the same rows under another
    name and compression (every row a duplicate: the conflict path).

With ``--repeat K`` (a) and (b) are each measured K times (every ingest into a new empty
database) and the best time of each is used: the machine's momentary load then weighs on
neither side.

Then the shapes cities actually send, each against a raw COPY of the same rows into an
unindexed plain table measured in the same run (one line ``shape NAME: ...`` each):

- ``per-building``: a folder with one file per building and year (default 1,000 files of a
  year of hourly readings), loaded by one ``quotawatch ingest FOLDER``;
- ``daily``: one day of a city's readings (default 20,000 meters) into chunks that already
  hold the previous days (loaded first, not timed);
- ``trickle``: small gateway files (default 2,000), one building's meters over a few hours
  each, loaded by one ``quotawatch ingest FOLDER``, counted in files/s;
- ``register`` (only when asked for: ``--shapes register``): a meter-sorted monthly file of
  cumulative register meters (default 4,000, hourly register readings as the demo city's
  electricity meters send them) into a database that already holds the previous month, so
  the file's first week lands in a chunk the previous month filled; printed as its own
  line ``register/copy ratio: R`` before the headline.

The last line is the headline:
``ingest/copy ratio: bulk R1, per-building R2, daily R3; trickle F files/s``. Usage:

    .venv/bin/python bench/ingest.py [--rows N] [--meters M] [--repeat K] [--keep]
        [--shapes bulk,per-building,daily,trickle,register] [--files N] [--daily-meters M]
        [--trickle-files N] [--register-meters M]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import create_database, settle, write_buildings  # noqa: E402
from bench.scratch import settings_for as _settings_for  # noqa: E402
from quota import db as qdb  # noqa: E402
from quota.settings import load_settings  # noqa: E402


def generate(path: Path, rows: int, meters: int, start: datetime) -> int:
    """Write ``rows`` hourly readings of ``meters`` meters, hour by hour; returns the rows."""
    rng = np.random.default_rng(7)
    ids = [f"BM{m:06d}" for m in range(meters)]
    base = rng.uniform(5, 80, meters)
    hours = -(-rows // meters)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("meter_id,timestamp,value\n")
        for hour in range(hours):
            stamp = (start + timedelta(hours=hour)).strftime("%Y-%m-%d %H:%M:%S")
            local_hour = (start + timedelta(hours=hour)).hour
            shape = 0.6 + 0.8 * (8 <= local_hour < 20)
            values = np.round(base * shape * rng.uniform(0.85, 1.15, meters), 3)
            take = min(meters, rows - written)
            out.write("".join(f"{ids[i]},{stamp},{values[i]}\n" for i in range(take)))
            written += take
    return written


def setup_database(settings, name: str, meters: int, meters_per_building: int = 3) -> None:
    bench = create_database(settings, name)
    with qdb.connect(bench, autocommit=True) as conn:
        buildings = max(meters // meters_per_building, 1)
        write_buildings(conn, buildings, 5)
        with conn.cursor().copy(
            "COPY meter (meter_id, building_id, energy_type, unit, interval_minutes) FROM STDIN"
        ) as copy:
            for m in range(meters):
                copy.write_row((f"BM{m:06d}", f"BB{m % buildings:05d}", "electricity", "kWh", 60))
        conn.execute("CREATE TABLE raw_copy (meter_id text, reading_at timestamptz, value float8)")


def _spread(times: list[float]) -> str:
    """`` (best of K: a-b s)`` when measured more than once, else empty."""
    if len(times) < 2:
        return ""
    return f"  (best of {len(times)}: {min(times):.2f}-{max(times):.2f} s)"


def raw_copy(settings, path: Path) -> float:
    with qdb.connect(settings) as conn:
        conn.execute("TRUNCATE raw_copy")
        conn.commit()
        settle(settings)
        conn.execute(sql.SQL("SET TIME ZONE {}").format(sql.Literal(settings.timezone_name)))
        started = time.perf_counter()
        with (
            conn.cursor().copy(
                "COPY raw_copy (meter_id, reading_at, value) FROM STDIN (FORMAT csv, HEADER true)"
            ) as copy,
            path.open("rb") as handle,
        ):
            for block in iter(lambda: handle.read(1 << 20), b""):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - started


def raw_copy_files(settings, paths: list[Path]) -> float:
    """Seconds for a raw COPY of every file's rows into the unindexed plain table, one COPY
    per file in one transaction (what a loader without any checks would do)."""
    with qdb.connect(settings) as conn:
        conn.execute("TRUNCATE raw_copy")
        conn.commit()
        settle(settings)
        conn.execute(sql.SQL("SET TIME ZONE {}").format(sql.Literal(settings.timezone_name)))
        started = time.perf_counter()
        for path in paths:
            with conn.cursor().copy(
                "COPY raw_copy (meter_id, reading_at, value) FROM STDIN (FORMAT csv, HEADER true)"
            ) as copy:
                copy.write(path.read_bytes())
        conn.commit()
        return time.perf_counter() - started


def _hour_stamps(start: datetime, hours: int) -> list[str]:
    return [(start + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S") for h in range(hours)]


def generate_per_building(folder: Path, files: int, year: int) -> int:
    """One file per building and year: the building's meter (``BM{b:06d}``), hourly, the
    whole year, in time order, as building-management exports send it; returns the rows."""
    rng = np.random.default_rng(11)
    stamps = _hour_stamps(datetime(year, 1, 1), 8760)
    folder.mkdir(parents=True, exist_ok=True)
    for b in range(files):
        values = np.round(rng.uniform(5, 80) * rng.uniform(0.6, 1.4, len(stamps)), 3)
        meter = f"BM{b:06d}"
        body = "".join(f"{meter},{t},{v}\n" for t, v in zip(stamps, values.tolist(), strict=True))
        (folder / f"building-{b:05d}-{year}.csv").write_text(
            "meter_id,timestamp,value\n" + body, encoding="utf-8"
        )
    return files * len(stamps)


def generate_trickle(folder: Path, files: int, buildings: int, hours: int) -> int:
    """``files`` small gateway files: one building's three meters over ``hours`` hours each,
    buildings taken in turn and each file continuing where that building's last one ended."""
    rng = np.random.default_rng(13)
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2025, 3, 1)
    rows = 0
    for i in range(files):
        b, window = i % buildings, i // buildings
        stamps = _hour_stamps(start + timedelta(hours=window * hours), hours)
        lines = [
            f"BM{b * 3 + m:06d},{t},{v:.3f}\n"
            for t in stamps
            for m, v in zip(range(3), rng.uniform(5, 80, 3), strict=True)
        ]
        (folder / f"gw-{i:05d}.csv").write_text(
            "meter_id,timestamp,value\n" + "".join(lines), encoding="utf-8"
        )
        rows += len(lines)
    return rows


def generate_register_month(
    path: Path, meters: int, start: datetime, registers: np.ndarray, seed: int
) -> int:
    """A meter-sorted monthly file of cumulative register meters ``BM{m:06d}``: hourly
    register readings [kWh, two decimals] from ``start`` to the first of the next month,
    each meter's block in time order (as a utility's monthly export sends them).
    ``registers`` (one per meter [kWh]) holds the register before the month and is advanced
    to the register at the month's end; returns the rows."""
    rng = np.random.default_rng(seed)
    end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
    hours = int((end - start).total_seconds() // 3600)
    stamps = _hour_stamps(start, hours)
    local_hours = np.array([(start + timedelta(hours=h)).hour for h in range(hours)])
    shape = 0.6 + 0.8 * ((local_hours >= 8) & (local_hours < 20))
    with path.open("w", encoding="utf-8") as out:
        out.write("meter_id,timestamp,value\n")
        for m in range(meters):
            use = rng.uniform(5, 80) * shape * rng.uniform(0.85, 1.15, hours)
            reading = np.round(registers[m] + np.cumsum(use), 2)
            registers[m] = reading[-1]
            meter = f"BM{m:06d}"
            out.write(
                "".join(
                    f"{meter},{t},{v:.2f}\n" for t, v in zip(stamps, reading.tolist(), strict=True)
                )
            )
    return meters * hours


def setup_register_database(settings, name: str, meters: int) -> None:
    """The scratch database with ``meters`` cumulative register meters (kWh, no register
    maximum), three to a building."""
    bench = create_database(settings, name)
    with qdb.connect(bench, autocommit=True) as conn:
        buildings = max(meters // 3, 1)
        write_buildings(conn, buildings, 5)
        with conn.cursor().copy(
            "COPY meter (meter_id, building_id, energy_type, unit, reading_kind) FROM STDIN"
        ) as copy:
            for m in range(meters):
                copy.write_row(
                    (f"BM{m:06d}", f"BB{m % buildings:05d}", "electricity", "kWh", "cumulative")
                )
        conn.execute("CREATE TABLE raw_copy (meter_id text, reading_at timestamptz, value float8)")


def shape_register(settings, name: str, workdir: Path, meters: int) -> float:
    """A month of register meters after the previous month (loaded first, not timed)."""
    registers = np.random.default_rng(17).uniform(1_000, 90_000, meters)
    previous = workdir / "register-2025-04.csv"
    generate_register_month(previous, meters, datetime(2025, 4, 1), registers, seed=19)
    month = workdir / "register-2025-05.csv"
    rows = generate_register_month(month, meters, datetime(2025, 5, 1), registers, seed=23)
    setup_register_database(settings, name, meters)
    bench = _settings_for(settings, name)
    run_ingest(bench, previous)
    copy_s = raw_copy_files(bench, [month])
    ingest_s, peak, _ = run_ingest(bench, month)
    ratio = copy_s / ingest_s
    print(
        f"shape register: {meters:,} register meters, {rows:,} rows (a meter-sorted month) "
        f"after the previous month stored; raw COPY {rows / copy_s:,.0f} rows/s, ingest "
        f"{rows / ingest_s:,.0f} rows/s ({ingest_s:.1f} s, peak {peak:,.0f} MB); "
        f"ratio {ratio:.2f}"
    )
    return ratio


def _paths(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def shape_per_building(settings, name: str, workdir: Path, files: int) -> float:
    folder = workdir / "per-building"
    rows = generate_per_building(folder, files, 2025)
    setup_database(settings, name, files, meters_per_building=1)
    bench = _settings_for(settings, name)
    copy_s = raw_copy_files(bench, _paths(folder))
    ingest_s, peak, _ = run_ingest(bench, folder)
    ratio = copy_s / ingest_s
    print(
        f"shape per-building: {files:,} files, {rows:,} rows; "
        f"raw COPY {rows / copy_s:,.0f} rows/s, ingest {rows / ingest_s:,.0f} rows/s "
        f"(peak {peak:,.0f} MB); ratio {ratio:.2f}"
    )
    return ratio


def shape_daily(settings, name: str, workdir: Path, meters: int, history_days: int) -> float:
    day = datetime(2025, 5, 14)
    history = workdir / "daily-history.csv"
    generate(history, meters * 24 * history_days, meters, day - timedelta(days=history_days))
    today = workdir / "daily-day.csv"
    rows = generate(today, meters * 24, meters, day)
    setup_database(settings, name, meters)
    bench = _settings_for(settings, name)
    run_ingest(bench, history)  # the previous days, already in their chunks (not timed)
    copy_s = raw_copy_files(bench, [today])
    ingest_s, peak, _ = run_ingest(bench, today)
    ratio = copy_s / ingest_s
    print(
        f"shape daily: {meters:,} meters, {rows:,} rows after {history_days} days already "
        f"stored; raw COPY {rows / copy_s:,.0f} rows/s, ingest {rows / ingest_s:,.0f} rows/s "
        f"(peak {peak:,.0f} MB); ratio {ratio:.2f}"
    )
    return ratio


def shape_trickle(settings, name: str, workdir: Path, files: int) -> float:
    folder = workdir / "trickle"
    buildings = 500
    rows = generate_trickle(folder, files, buildings, hours=4)
    setup_database(settings, name, buildings * 3)
    bench = _settings_for(settings, name)
    copy_s = raw_copy_files(bench, _paths(folder))
    ingest_s, peak, _ = run_ingest(bench, folder)
    rate = files / ingest_s
    print(
        f"shape trickle: {files:,} files of {rows // files} rows; raw COPY {files / copy_s:,.0f} "
        f"files/s, ingest {rate:,.1f} files/s ({1000 * ingest_s / files:.1f} ms a file, "
        f"peak {peak:,.0f} MB)"
    )
    return rate


def run_ingest(settings, path: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of `quotawatch ingest --json PATH`."""
    env = dict(os.environ)
    env["QUOTAWATCH_DATABASE_NAME"] = settings.database_name
    env["QUOTAWATCH_TIMEZONE"] = settings.timezone_name
    if settings.database_url:
        env["QUOTAWATCH_DATABASE_URL"] = settings.database_url
    settle(settings)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quota.cli", "ingest", "--json", str(path)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"ingest failed: {err.read().decode()}")
        # ru_maxrss is in kilobytes on Linux.
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def shape_bulk(settings, name: str, workdir: Path, args: argparse.Namespace) -> float:
    """The best case: one large file into new time ranges, (a)-(d) as described above."""
    path = workdir / "readings.csv"
    started = time.perf_counter()
    rows = generate(path, args.rows, args.meters, datetime(2025, 1, 1))
    size_mb = path.stat().st_size / 1e6
    print(
        f"file: {rows:,} rows, {args.meters:,} meters, hourly, {size_mb:,.0f} MB "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )
    setup_database(settings, name, args.meters)
    bench = _settings_for(settings, name)

    repeat = max(args.repeat, 1)
    copy_times = []
    for _ in range(repeat):
        copy_times.append(raw_copy(bench, path))
    copy_s = min(copy_times)
    copy_rate = rows / copy_s
    print(
        f"(a) raw COPY into an unindexed plain table: {copy_s:6.2f} s  "
        f"{copy_rate:>12,.0f} rows/s{_spread(copy_times)}"
    )

    ingest_times, peaks = [], []
    for attempt in range(repeat):
        if attempt:
            setup_database(settings, name, args.meters)
        seconds, peak, _ = run_ingest(bench, path)
        ingest_times.append(seconds)
        peaks.append(peak)
    ingest_s, peak_mb = min(ingest_times), max(peaks)
    ingest_rate = rows / ingest_s
    print(
        f"(b) quotawatch ingest into an empty database: {ingest_s:6.2f} s  "
        f"{ingest_rate:>12,.0f} rows/s  (peak memory {peak_mb:,.0f} MB){_spread(ingest_times)}"
    )

    again_s, again_mb, _ = run_ingest(bench, path)
    print(
        f"(c) re-ingest of the same file (skipped by checksum): {again_s:6.2f} s  "
        f"(peak memory {again_mb:,.0f} MB)"
    )

    dup_path = workdir / "readings-again.csv.gz"
    with path.open("rb") as src, gzip.open(dup_path, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst)
    dup_s, dup_mb, _ = run_ingest(bench, dup_path)
    print(
        f"(d) the same rows in another file (all duplicates): {dup_s:6.2f} s  "
        f"{rows / dup_s:>12,.0f} rows/s  (peak memory {dup_mb:,.0f} MB)"
    )
    ratio = ingest_rate / copy_rate
    print(f"shape bulk: {rows:,} rows; ratio {ratio:.2f}")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--meters", type=int, default=1_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="K",
        help="measure (a) and (b) K times each and use the best of each (default 1)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--shapes",
        default="bulk,per-building,daily,trickle",
        help="comma-separated shapes to measure (default: the four of the headline; "
        "register only when named)",
    )
    parser.add_argument("--files", type=int, default=1_000, help="per-building files (1,000)")
    parser.add_argument("--daily-meters", type=int, default=20_000, help="daily meters (20,000)")
    parser.add_argument("--daily-history-days", type=int, default=6, help="days stored before (6)")
    parser.add_argument("--trickle-files", type=int, default=2_000, help="trickle files (2,000)")
    parser.add_argument(
        "--register-meters", type=int, default=4_000, help="register meters (4,000)"
    )
    args = parser.parse_args()
    shapes = {s.strip() for s in args.shapes.split(",") if s.strip()}

    settings = load_settings()
    name = f"qwbench_ingest_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="qwbench_"))
    ratios: dict[str, float] = {}
    trickle = None
    register = None
    try:
        if "bulk" in shapes:
            ratios["bulk"] = shape_bulk(settings, name, workdir, args)
        if "per-building" in shapes:
            ratios["per-building"] = shape_per_building(settings, name, workdir, args.files)
        if "daily" in shapes:
            ratios["daily"] = shape_daily(
                settings, name, workdir, args.daily_meters, args.daily_history_days
            )
        if "trickle" in shapes:
            trickle = shape_trickle(settings, name, workdir, args.trickle_files)
        if "register" in shapes:
            register = shape_register(settings, name, workdir, args.register_meters)
            print(f"register/copy ratio: {register:.2f}")
        headline = ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
        tail = f"; trickle {trickle:.1f} files/s" if trickle is not None else ""
        if ratios or trickle is not None:
            print(f"ingest/copy ratio: {headline}{tail}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            with qdb.connect(settings, "postgres", autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
