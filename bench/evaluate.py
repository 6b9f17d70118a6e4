"""Benchmark: full-city evaluation from the rollups vs a naive scan of raw readings.

Builds, in a scratch database on the same server (dropped afterwards unless --keep):
- a registry of N buildings (default 20,000) with one electricity meter each, quotas,
- daily rollups (``building_daily``) for the evaluated year and the previous year,
- a year of hourly raw readings for the first M buildings (default 1,000; --readings-buildings),
  consistent with the rollups (the same hourly values summed per local day).

Then, in one run, it times ``run_evaluation`` (load rollups + evaluate + store, as of 31
December, the heaviest day) and the naive baseline: the year's per-building totals computed by
scanning ``reading`` joined to ``meter``. The naive scan time is measured on M buildings and
scaled by N/M (a scan is linear in rows) unless M = N; the output says which. The evaluation
also aggregates the previous year, which the baseline does not, so the ratio is conservative.

Last line: ``evaluate: S s for N buildings, naive/evaluate ratio: R``.

    .venv/bin/python bench/evaluate.py                       # 20,000 buildings, 1,000 raw
    .venv/bin/python bench/evaluate.py --buildings 2000 --readings-buildings 2000
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quota import db as qdb
from quota import engine, queries
from quota.db import migrations
from quota.evaluation import run_evaluation
from quota.settings import load_settings

YEAR = 2025
TYPES = ["office_government", "office_commercial", "mall", "hotel", "hospital", "school"]


def copy_frame(conn, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, header=False, index=False)
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    with (
        conn.cursor() as cur,
        cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(sql.Identifier(table), cols)
        ) as copy,
    ):
        copy.write(buffer.getvalue())


def hourly_shape(year: int, tz: ZoneInfo) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Hour starts (UTC) of the local year and a relative load shape (office-like)."""
    local = pd.date_range(
        datetime(year, 1, 1, tzinfo=tz),
        datetime(year + 1, 1, 1, tzinfo=tz),
        freq="h",
        inclusive="left",
    )
    weekday = np.asarray(local.day_of_week)
    hour = np.asarray(local.hour)
    occupied = (weekday < 5) & (hour >= 8) & (hour < 19)
    season = 1.0 + 0.3 * np.cos((np.asarray(local.day_of_year) - 200) / 366 * 2 * np.pi)
    shape = np.where(occupied, 1.0, 0.35) * season
    return local.tz_convert("UTC"), shape


def build_city(conn, n: int, m: int, tz: ZoneInfo, seed: int = 7) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"B{i:06d}" for i in range(n)])
    area = rng.uniform(3000, 60000, n).round(0)
    buildings = pd.DataFrame(
        {
            "building_id": ids,
            "name": [f"楼{i}" for i in range(n)],
            "district": "海淀区",
            "building_type": rng.choice(TYPES, n),
            "floor_area_m2": area,
            "public_use_share": 1.0,
            "commissioned_year": 2000,
        }
    )
    copy_frame(conn, "building", buildings)
    copy_frame(
        conn,
        "meter",
        pd.DataFrame(
            {
                "meter_id": [f"M{i:06d}" for i in range(n)],
                "building_id": ids,
                "energy_type": "electricity",
                "unit": "kWh",
                "interval_minutes": 60,
            }
        ),
    )
    eui = rng.uniform(40, 160, n)  # kWh/m2.a
    copy_frame(
        conn,
        "quota",
        pd.DataFrame(
            {
                "building_id": ids,
                "year": YEAR,
                "basis": "electricity_kwh",
                "limit_value": (area * eui * rng.uniform(0.85, 1.3, n)).round(0),
                "source": "imported",
            }
        ),
    )

    counts = {}
    for year in (YEAR - 1, YEAR):
        hours_utc, shape = hourly_shape(year, tz)
        local_days = hours_utc.tz_convert(tz).date
        day_index = pd.Index(sorted(set(local_days)))
        day_pos = pd.Index(day_index).get_indexer(local_days)
        daily_shape = np.bincount(day_pos, weights=shape)
        scale = area * eui / shape.sum()  # kWh per shape unit so the year sums to area x EUI
        noise = rng.lognormal(0.0, 0.08, (n, len(day_index)))
        daily = scale[:, None] * noise * daily_shape[None, :]
        days = np.array(day_index, dtype="datetime64[D]")
        for start in range(0, n, 2000):
            part = slice(start, min(start + 2000, n))
            count = part.stop - part.start
            copy_frame(
                conn,
                "building_daily",
                pd.DataFrame(
                    {
                        "building_id": np.repeat(ids[part], len(days)),
                        "energy_type": "electricity",
                        "day": np.tile(days, count),
                        "energy_kwh": daily[part].ravel().round(4),
                        "reading_count": 24,
                        "covered_hours": 24.0,
                        "meter_count": 1,
                    }
                ),
            )
        counts[f"building_daily_{year}"] = daily.size
        if year == YEAR and m:
            keys = conn.execute(
                "SELECT meter_key FROM meter ORDER BY meter_id LIMIT %s", (m,)
            ).fetchall()
            stamps = hours_utc.strftime("%Y-%m-%d %H:%M:%S+00")
            loaded = 0
            for start in range(0, m, 100):
                block = range(start, min(start + 100, m))
                values = (
                    scale[list(block), None] * noise[list(block)][:, day_pos] * shape[None, :]
                ).round(4)
                frame = pd.DataFrame(
                    {
                        "meter_key": np.repeat([keys[i]["meter_key"] for i in block], len(shape)),
                        "reading_at": np.tile(stamps, len(block)),
                        "value": values.ravel(),
                        "unit": "kWh",
                        "energy_kwh": values.ravel(),
                        "flags": 0,
                        "file_id": 1,
                    }
                )
                copy_frame(conn, "reading", frame)
                loaded += len(frame)
            counts["readings"] = loaded
        conn.commit()
    return counts


NAIVE = """
SELECT m.building_id, m.energy_type, sum(r.energy_kwh) AS energy_kwh, count(*) AS n
  FROM reading r JOIN meter m USING (meter_key)
 WHERE r.reading_at >= %(start)s AND r.reading_at < %(end)s
 GROUP BY m.building_id, m.energy_type
"""


def build(settings, n: int, m: int) -> dict[str, int]:
    """Create the schema and the synthetic city in the (empty) scratch database."""
    with qdb.connect(settings, autocommit=True) as conn:
        migrations.migrate(conn)
        # Faster bulk load of the synthetic readings; the naive scan needs no key.
        conn.execute("ALTER TABLE reading DROP CONSTRAINT reading_pkey")
        # Rollup indexes are rebuilt after the bulk load (faster than maintaining them), and
        # the monthly rollup is rebuilt once instead of by the triggers after every COPY.
        conn.execute("ALTER TABLE building_daily DROP CONSTRAINT building_daily_pkey")
        conn.execute("DROP INDEX building_daily_day_idx")
        conn.execute("ALTER TABLE building_daily DISABLE TRIGGER USER")
    t0 = time.perf_counter()
    with qdb.connect(settings) as conn:
        counts = build_city(conn, n, m, settings.tz)
        conn.execute("ALTER TABLE building_daily ADD PRIMARY KEY (building_id, energy_type, day)")
        conn.execute("CREATE INDEX building_daily_day_idx ON building_daily (day, energy_type)")
        conn.execute("SELECT building_monthly_rebuild()")
        conn.execute("ALTER TABLE building_daily ENABLE TRIGGER USER")
        conn.commit()
    with qdb.connect(settings, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"city: {n:,} buildings, {counts} built in {time.perf_counter() - t0:.1f} s")
    return counts


def time_evaluations(
    settings, as_of_days: list[date], repeat: int
) -> tuple[dict[date, float], dict[date, Any]]:
    """Best-of-``repeat`` wall time of ``run_evaluation`` per as-of date, and its outcome.
    Also checks the monthly-path inputs against the two-year daily scan (the previous
    method) and prints that scan's time."""
    now = datetime(YEAR + 1, 1, 2, tzinfo=settings.tz)
    best: dict[date, float] = {}
    outcomes: dict[date, Any] = {}
    with qdb.connect(settings) as conn:
        for as_of in as_of_days:
            for i in range(repeat):
                t = time.perf_counter()
                outcome = run_evaluation(conn, settings, YEAR, as_of, now=now, trigger="cli")
                conn.commit()
                elapsed = time.perf_counter() - t
                best[as_of] = min(best.get(as_of, elapsed), elapsed)
                parts = ", ".join(f"{k} {v:.2f} s" for k, v in outcome.timings_s.items())
                print(f"as of {as_of}, evaluation run {i + 1}: {elapsed:.2f} s ({parts})")
            outcomes[as_of] = outcome
            ranges = engine.rollup_ranges(YEAR, as_of)
            t = time.perf_counter()
            daily = queries.rollup_aggregates(conn, ranges, daily_only=True)
            daily_s = time.perf_counter() - t
            monthly = queries.rollup_aggregates(conn, ranges)
            worst = max(
                _largest_relative_difference(a, b) for a, b in zip(monthly, daily, strict=True)
            )
            print(
                f"as of {as_of}: previous load path (two-year daily scan) {daily_s:.2f} s; "
                f"monthly path inputs differ from it by at most {worst:.1e} (relative)"
            )
            conn.rollback()
    return best, outcomes


def _largest_relative_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    key = ["building_id", "energy_type"]
    if len(a) != len(b):
        return float("inf")
    a = a.sort_values(key, ignore_index=True)
    b = b.sort_values(key, ignore_index=True)
    if not (a[key] == b[key]).all().all():
        return float("inf")
    worst = 0.0
    for col in a.columns.difference(key):
        if col == "first_day":
            if not (a[col].astype(str) == b[col].astype(str)).all():
                return float("inf")
            continue
        x, y = a[col].astype("float64").to_numpy(), b[col].astype("float64").to_numpy()
        scale = np.maximum(np.abs(y), 1.0)
        worst = max(worst, float(np.nanmax(np.abs(x - y) / scale, initial=0.0)))
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buildings", type=int, default=20000, help="city size N")
    parser.add_argument(
        "--readings-buildings",
        type=int,
        default=1000,
        help="buildings with a year of hourly raw readings M (<= N)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed evaluations (best kept)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--database",
        metavar="NAME",
        help="reuse a scratch database kept by an earlier --keep run (no "
        "build; pending migrations are applied); it is kept",
    )
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        action="append",
        dest="as_of",
        help=f"as-of date(s) to time (default {YEAR}-12-31 and {YEAR}-12-15: "
        "a month end reads only monthly rows, the 15th of a 31-day "
        "month the most daily rows, 15 days in each year); the "
        "headline is the slowest",
    )
    args = parser.parse_args()
    n, m = args.buildings, min(args.readings_buildings, args.buildings)
    as_of_days = args.as_of or [date(YEAR, 12, 31), date(YEAR, 12, 15)]

    base = load_settings()
    name = args.database or f"qwbench_eval_{os.getpid()}"
    keep = args.keep or bool(args.database)
    if not args.database:
        with qdb.connect(base, "postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    settings = (
        dataclasses.replace(base, database_name=name)
        if base.is_embedded
        else dataclasses.replace(base, database_url=qdb.conninfo(base, name), database_name=name)
    )
    try:
        if args.database:
            with qdb.connect(settings, autocommit=True) as conn:
                migrations.migrate(conn)
                conn.execute("ANALYZE")
                n = conn.execute("SELECT count(*) AS n FROM building").fetchone()["n"]
                m = conn.execute("SELECT count(DISTINCT meter_key) AS n FROM reading").fetchone()[
                    "n"
                ]
                counts = {
                    "readings": conn.execute("SELECT count(*) AS n FROM reading").fetchone()["n"]
                }
            print(f"reusing {name}: {n:,} buildings, {m:,} with raw readings")
        else:
            counts = build(settings, n, m)
            print(f"scratch database {name}" + (" (kept)" if keep else ""))
        best, outcomes = time_evaluations(settings, as_of_days, args.repeat)
        with qdb.connect(settings) as conn:
            last = max(as_of_days)
            start = datetime(YEAR, 1, 1, tzinfo=settings.tz)
            end = datetime.combine(
                last + timedelta(days=1), datetime.min.time(), tzinfo=settings.tz
            )
            t = time.perf_counter()
            naive = pd.DataFrame(conn.execute(NAIVE, {"start": start, "end": end}).fetchall())
            naive_measured = time.perf_counter() - t
        evaluated = outcomes[last].results.set_index("building_id")["energy_kwh"]
        diff = (
            (naive.set_index("building_id")["energy_kwh"] - evaluated.reindex(naive["building_id"]))
            .abs()
            .max()
        )
        print(
            f"naive scan of {counts.get('readings', 0):,} readings ({m:,} buildings) "
            f"through {last}: {naive_measured:.2f} s; largest difference from the "
            f"evaluation's totals {diff:.4f} kWh"
        )
        naive_s = naive_measured * n / m
        if m != n:
            print(f"naive scan scaled to {n:,} buildings (linear in rows): {naive_s:.2f} s")
        print(f"statuses as of {last}: {outcomes[last].status_counts()}")
        for as_of, seconds in best.items():
            print(f"as of {as_of}: best {seconds:.2f} s")
        slowest = max(best.values())
        print(
            f"evaluate: {slowest:.2f} s for {n} buildings, naive/evaluate ratio: "
            f"{naive_s / slowest:.0f}"
        )
    finally:
        if not keep:
            with qdb.connect(base, "postgres", autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
