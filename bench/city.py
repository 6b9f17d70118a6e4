"""City-scale rehearsal: generate a demo city, ingest it, evaluate it, time the dashboard's
queries, and report each stage's time and throughput, the database size and peak memory.

A throw-away database is created on the configured server (the embedded cluster, or the
server of QUOTAWATCH_DATABASE_URL), migrated, filled through the real commands
(`quotawatch import`, `quotawatch ingest`, `quotawatch evaluate` as subprocesses, as an
operator would run them) and dropped at the end unless --keep is given.

The city has one full previous year of hourly electricity (plus daily gas and heat for the
buildings that use them) and that year's published quotas; Beijing's scale is 20,000
buildings (about 175 million readings):

    .venv/bin/python bench/city.py --buildings 20000      # hours on 2 cores
    .venv/bin/python bench/city.py                         # 200 buildings, about a minute

The last line is the headline: ``city: N buildings, R readings, ingest X rows/s, evaluate
S s, city query p95 Q ms, database D MB``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from psycopg import sql

from quota import db as qdb
from quota.db import migrations
from quota.demo.generator import DemoSpec, generate
from quota.settings import PROJECT_ROOT, Settings, load_settings


@dataclasses.dataclass
class Stage:
    """One measured stage: wall time [s], rows handled, peak resident memory [MB]."""

    name: str
    seconds: float
    rows: int | None = None
    peak_mb: float | None = None
    note: str = ""

    def line(self) -> str:
        rate = f"{self.rows / self.seconds:>12,.0f} rows/s" if self.rows and self.seconds else ""
        peak = f"peak {self.peak_mb:,.0f} MB" if self.peak_mb else ""
        rows = f"{self.rows:>13,} rows" if self.rows is not None else " " * 18
        return f"{self.name:<22} {self.seconds:9.1f} s {rows} {rate:>20}  {peak}  {self.note}"


def child_env(settings: Settings) -> dict[str, str]:
    """Environment for `quotawatch` subprocesses that use the bench database."""
    env = dict(os.environ)
    if settings.database_url:
        env["QUOTAWATCH_DATABASE_URL"] = settings.database_url
    else:
        env["QUOTAWATCH_DATABASE_NAME"] = settings.database_name
    return env


def run_child(name: str, args: list[str], env: dict[str, str], rows_key: str | None) -> Stage:
    """Run `quotawatch ARGS`, measuring its wall time and peak resident memory.

    The peak comes from GNU time (``/usr/bin/time -f %M``) when present: the rusage of a
    child forked from this (large) process would report at least this process's size.
    """
    gnu_time = Path("/usr/bin/time")
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as peak_file:
        wrapper = [str(gnu_time), "-f", "%M", "-o", peak_file.name] if gnu_time.exists() else []
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*wrapper, sys.executable, "-m", "quota.cli", *args],
            stdout=out,
            env=env,
            cwd=PROJECT_ROOT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode("utf-8")
        reported = peak_file.read().strip().splitlines()
    if proc.returncode != 0:
        raise SystemExit(f"{name}: quotawatch {' '.join(args)} failed (exit {proc.returncode})")
    peak_kb = int(reported[-1]) if reported and reported[-1].isdigit() else usage.ru_maxrss
    data = json.loads(text) if text.strip() else {}
    rows = int(data[rows_key]) if rows_key and rows_key in data else None
    return Stage(name, seconds, rows, peak_kb / 1024)


def timed_ms(func: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def dashboard_queries(settings: Settings, year: int, repeat: int) -> dict[str, list[float]]:
    """Times [ms] of the dashboard's queries for a regulator: city table, one building's
    daily use, month heat map (raw readings), peers and the quarantine summary."""
    from dashboard import queries
    from dashboard.users import Viewer

    viewer = Viewer("bench", "regulator")
    times: dict[str, list[float]] = {}
    with qdb.connect(settings, autocommit=True) as conn:
        conn.execute("ANALYZE")
        run = queries.resolve_evaluation_id(conn, year)
        if run is None:
            return times
        ids = [
            r["building_id"]
            for r in conn.execute("SELECT building_id FROM building ORDER BY building_id")
        ]
        sample = ids[:: max(1, len(ids) // repeat)][:repeat]
        picks = iter(sample * 4)
        times["city table"] = timed_ms(
            lambda: queries.city_results(conn, viewer, settings, run, "electricity_kwh"), repeat
        )
        times["building daily use"] = timed_ms(
            lambda: queries.building_daily(
                conn, viewer, next(picks), date(year, 1, 1), date(year, 12, 31)
            ),
            repeat,
        )
        times["building heat map"] = timed_ms(
            lambda: queries.building_hourly(conn, viewer, settings, next(picks), date(year, 7, 1)),
            repeat,
        )
        times["building peers"] = timed_ms(
            lambda: queries.peer_stats(conn, viewer, next(picks), run), repeat
        )
        times["quarantine by reason"] = timed_ms(
            lambda: queries.quarantine_by_reason(conn, viewer), repeat
        )
    return times


def database_size_mb(settings: Settings) -> tuple[float, float]:
    """(whole database, readings hypertable) on disk [MB]."""
    with qdb.connect(settings, autocommit=True) as conn:
        total = conn.execute("SELECT pg_database_size(current_database()) AS b").fetchone()["b"]
        reading = conn.execute("SELECT hypertable_size('reading') AS b").fetchone()["b"]
    return total / 1e6, (reading or 0) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buildings", type=int, default=200, help="buildings (200)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeat", type=int, default=20, help="requests per query timing")
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args = parser.parse_args()

    base = load_settings()
    year = date.today().year - 1
    name = f"qwbench_city_{os.getpid()}"
    with qdb.connect(base, "postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    if base.database_url:
        settings = dataclasses.replace(
            base, database_url=qdb.conninfo(base, name), database_name=name
        )
    else:
        settings = dataclasses.replace(base, database_name=name)
    workdir = Path(tempfile.mkdtemp(prefix="qwbench_city_"))
    stages: list[Stage] = []
    try:
        with qdb.connect(settings, autocommit=True) as conn:
            migrations.migrate(conn)
        spec = DemoSpec(
            buildings=args.buildings,
            years=1,
            seed=args.seed,
            today=date(year + 1, 1, 1),
            history_end=date(year + 1, 1, 1),
            timezone_name=settings.timezone_name,
        )
        print(
            f"city of {args.buildings:,} buildings, {year} hourly, files in {workdir}", flush=True
        )
        started = time.perf_counter()
        generated = generate(spec, workdir, settings.rules.get("conversion"))
        size_mb = sum(p.stat().st_size for p in generated.readings_files) / 1e6
        stages.append(
            Stage(
                "generate",
                time.perf_counter() - started,
                generated.readings_rows,
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                f"{size_mb:,.0f} MB of CSV",
            )
        )
        print(stages[-1].line(), flush=True)
        env = child_env(settings)
        for kind in ("buildings", "meters", "quotas"):
            stage = run_child(
                f"import {kind}",
                ["import", kind, str(workdir / f"{kind}.csv"), "--json"],
                env,
                None,
            )
            stages.append(stage)
            print(stage.line(), flush=True)
        stage = run_child(
            "ingest", ["ingest", str(workdir / "readings"), "--json"], env, "rows_read"
        )
        stages.append(stage)
        print(stage.line(), flush=True)
        stage = run_child("evaluate", ["evaluate", "--year", str(year), "--json"], env, None)
        stage.rows = args.buildings
        stage.note = "(rows = buildings)"
        stages.append(stage)
        print(stage.line(), flush=True)

        total_mb, reading_mb = database_size_mb(settings)
        print(
            f"database size          {total_mb:9,.0f} MB (readings hypertable "
            f"{reading_mb:,.0f} MB, {reading_mb * 1e6 / max(generated.readings_rows, 1):.0f} "
            "bytes/reading)",
            flush=True,
        )
        times = dashboard_queries(settings, year, args.repeat)
        for label, values in times.items():
            print(
                f"query {label:<22} median {statistics.median(values):8.1f} ms   "
                f"p95 {p95(values):8.1f} ms",
                flush=True,
            )
        ingest = next(s for s in stages if s.name == "ingest")
        evaluate = next(s for s in stages if s.name == "evaluate")
        city_p95 = p95(times["city table"]) if "city table" in times else float("nan")
        print(
            f"city: {args.buildings} buildings, {generated.readings_rows:,} readings, "
            f"ingest {ingest.rows / ingest.seconds:,.0f} rows/s "
            f"(peak {ingest.peak_mb:,.0f} MB), evaluate {evaluate.seconds:.1f} s, "
            f"city query p95 {city_p95:.0f} ms, database {total_mb:,.0f} MB"
        )
    finally:
        if not args.keep:
            with qdb.connect(base, "postgres", autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            for path in sorted(workdir.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            workdir.rmdir()
        else:
            print(f"kept database {name} and files in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
