"""Bills benchmark: `quotawatch ingest` of a bills file against raw COPY of the daily rows it
writes, in one run.

Creates a scratch database with N buildings, one electricity account each (default 20,000),
writes a bills file of 12 monthly bills per account (one year: ~7.3 M building-days), then
measures

(a) raw ``COPY`` of the same building-days (binary, prepared in a file beforehand) into an
    unindexed plain table with building_daily's columns (the baseline),
(b) raw ``COPY`` of them into ``building_daily`` itself (its key, triggers and the monthly
    rollup they keep), then emptied again,
(c) ``quotawatch ingest FILE`` into the database (a subprocess, whole command timed), and
    prints bills/s, building-days/s and the ratios (c)/(a) and (c)/(b). ``--repeat K``
    measures each K times (every ingest into an emptied database) and uses the best.

The last line is the headline: ``bills/copy ratio: R`` (against (a)). Usage:

    .venv/bin/python bench/bills.py [--accounts N] [--repeat K] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import (  # noqa: E402
    create_database,
    drop_database,
    settings_for,
    settle,
    write_buildings,
)
from ingest import copybin  # noqa: E402
from quota import db as qdb  # noqa: E402
from quota.settings import load_settings  # noqa: E402

YEAR = 2024
COLUMNS = (
    "building_id, energy_type, day, energy_kwh, reading_count, covered_hours, meter_count, source"
)


def months(year: int) -> list[tuple[date, date]]:
    out = []
    for month in range(1, 13):
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1)
        out.append((start, date.fromordinal(end.toordinal() - 1)))
    return out


def generate(path: Path, days_path: Path, accounts: int) -> tuple[int, int]:
    """Write the bills file and, into ``days_path``, the binary COPY data of the
    building-days they make; return (bills, building-days). The data goes to a file, not
    this process's memory: a child process inherits the parent's peak memory figure
    (``ru_maxrss`` survives fork and exec), so a large parent would hide the ingest's own."""
    rng = np.random.default_rng(7)
    periods = months(YEAR)
    values = np.round(rng.uniform(5_000, 200_000, (accounts, 12)), 1)
    with path.open("w", encoding="utf-8") as out:
        out.write("account_id,period_start,period_end,value,unit,estimated\n")
        for a in range(accounts):
            out.write(
                "".join(
                    f"BA{a:06d},{s},{e},{values[a, m]},kWh,A\n" for m, (s, e) in enumerate(periods)
                )
            )
    days_per = np.array([(e - s).days + 1 for s, e in periods])
    total_days = int(days_per.sum())
    first = periods[0][0].toordinal()
    n = accounts * total_days
    building = np.repeat(
        np.array([f"BB{a:06d}" for a in range(accounts)], dtype=object), total_days
    )
    day = np.tile(np.arange(first, first + total_days, dtype=np.int64), accounts)
    per_day = np.repeat(values / days_per, np.tile(days_per, (accounts, 1)).ravel()).ravel()
    days_path.write_bytes(
        copybin.payload(
            [
                copybin.Column("text", building),
                copybin.Column("text", np.full(n, "electricity", dtype=object)),
                copybin.Column("date", day),
                copybin.Column("float8", per_day),
                copybin.Column("int4", np.ones(n, dtype=np.int64)),
                copybin.Column("float8", np.full(n, 24.0)),
                copybin.Column("int4", np.zeros(n, dtype=np.int64)),
                copybin.Column("text", np.full(n, "bills", dtype=object)),
            ]
        )
    )
    return accounts * 12, n


def setup_database(settings, name: str, accounts: int) -> None:
    with qdb.connect(create_database(settings, name), autocommit=True) as conn:
        write_buildings(conn, accounts, 6)
        with conn.cursor().copy(
            "COPY utility_account (account_id, building_id, energy_type, unit) FROM STDIN"
        ) as copy:
            for a in range(accounts):
                copy.write_row((f"BA{a:06d}", f"BB{a:06d}", "electricity", "kWh"))
        conn.execute(
            "CREATE TABLE raw_days (building_id text, energy_type text, day date, "
            "energy_kwh float8, reading_count int4, covered_hours float8, meter_count int4, "
            "source text)"
        )


def empty(settings) -> None:
    """Remove what a previous measurement wrote (bills, files, building-days)."""
    with qdb.connect(settings, autocommit=True) as conn:
        conn.execute("TRUNCATE raw_days")
        conn.execute("TRUNCATE bill_correction, bill, quarantine, ingest_file, ingest_run CASCADE")
        conn.execute("TRUNCATE building_daily")
        conn.execute("VACUUM ANALYZE building_daily")
        conn.execute("VACUUM ANALYZE building_monthly")


def raw_copy(settings, days_path: Path, table: str) -> float:
    empty(settings)
    settle(settings)
    with qdb.connect(settings) as conn:
        started = time.perf_counter()
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table), sql.SQL(COLUMNS)
        )
        with conn.cursor().copy(statement) as copy, days_path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - started


def run_ingest(settings, path: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of `quotawatch ingest --json PATH`."""
    empty(settings)
    settle(settings)
    env = dict(os.environ)
    env["QUOTAWATCH_DATABASE_NAME"] = settings.database_name
    env["QUOTAWATCH_TIMEZONE"] = settings.timezone_name
    if settings.database_url:
        env["QUOTAWATCH_DATABASE_URL"] = settings.database_url
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quota.cli", "ingest", "--json", str(path)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
        peak_kb = _watch_peak(proc)
        _pid, status, _usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"ingest failed: {err.read().decode()}")
        return seconds, peak_kb / 1024, out.read().decode()


def _watch_peak(proc: subprocess.Popen[bytes]) -> int:
    """The child's peak resident memory [kB], VmHWM of its own image, read until it exits
    (ru_maxrss would report the larger of it and this parent's memory at the fork)."""
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while True:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
            return peak
        time.sleep(0.2)


def _spread(times: list[float]) -> str:
    return (
        f"  (best of {len(times)}: {min(times):.2f}-{max(times):.2f} s)" if len(times) > 1 else ""
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1, metavar="K")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    settings = load_settings()
    name = f"qwbench_bills_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="qwbench_bills_"))
    path = workdir / "bills.csv"
    repeat = max(args.repeat, 1)
    try:
        started = time.perf_counter()
        days_path = workdir / "days.bin"
        bills, days = generate(path, days_path, args.accounts)
        print(
            f"file: {bills:,} bills ({args.accounts:,} accounts x 12 months of {YEAR}), "
            f"{path.stat().st_size / 1e6:,.1f} MB; {days:,} building-days "
            f"(generated in {time.perf_counter() - started:.1f} s)"
        )
        setup_database(settings, name, args.accounts)
        bench = settings_for(settings, name)

        plain = [raw_copy(bench, days_path, "raw_days") for _ in range(repeat)]
        print(
            f"(a) raw COPY of the building-days into a plain table: {min(plain):6.2f} s  "
            f"{days / min(plain):>12,.0f} rows/s{_spread(plain)}"
        )
        into = [raw_copy(bench, days_path, "building_daily") for _ in range(repeat)]
        print(
            f"(b) raw COPY of them into building_daily (key, triggers): {min(into):6.2f} s  "
            f"{days / min(into):>12,.0f} rows/s{_spread(into)}"
        )
        runs = [run_ingest(bench, path) for _ in range(repeat)]
        seconds = min(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        with qdb.connect(bench) as conn:
            written = conn.execute(
                "SELECT count(*) AS n FROM building_days('-infinity', 'infinity')"
            ).fetchone()["n"]
            stored_runs = conn.execute("SELECT count(*) AS n FROM building_daily_run").fetchone()[
                "n"
            ]
            loaded = conn.execute("SELECT count(*) AS n FROM bill").fetchone()["n"]
        assert written == days and loaded == bills, (written, days, loaded, bills)
        print(
            f"(c) quotawatch ingest of the bills file: {seconds:6.2f} s  {bills / seconds:>10,.0f} "
            f"bills/s  {written / seconds:>12,.0f} building-days/s  "
            f"(stored as {stored_runs:,} runs; peak memory {peak:,.0f} MB)"
            f"{_spread([r[0] for r in runs])}"
        )
        print(f"bills vs COPY into building_daily: {min(into) / seconds:.2f}")
        print(f"bills/copy ratio: {min(plain) / seconds:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            drop_database(settings, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
