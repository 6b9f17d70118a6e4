"""Daily rollups: per meter and local day (``meter_daily``) and per building, energy type and
local day (``building_daily``), recomputed from ``reading`` for touched ranges.

The loader calls :func:`refresh` in the same transaction as the readings it stored, with the
local day range each meter's new or changed readings touch; ``quotawatch rollups rebuild``
calls :func:`rebuild` for a range. Both delete the rollup rows of the range and recompute
them from readings (the Apache edition of TimescaleDB has no continuous aggregates), so a
rollup never drifts from its readings.

Allocation to local days (days in the quota time zone):

- interval meters: a reading's energy belongs to the local day of its interval start;
  covered hours = readings × interval length;
- cumulative meters: the use of a span (since_at, reading_at] is split over the local days
  it overlaps in proportion to time (a 23- or 25-hour day counts its real length);
  covered hours = the span's hours in that day; reading_count counts the register reads made
  that day.

``building_daily.covered_hours`` is the mean covered hours over the building's registered
meters of that energy type (24 = every meter reported the whole day) and ``meter_count``
the number of meters with data that day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import psycopg

from ingest import queries

Touched = dict[int, tuple[int, int]]  # meter_key -> (first, last) instant [µs since epoch]


def merge_touched(
    into: Touched, meter_key: np.ndarray, lo_us: np.ndarray, hi_us: np.ndarray
) -> None:
    """Widen ``into`` with per-row touched instants (vectorised per meter)."""
    if len(meter_key) == 0:
        return
    order = np.argsort(meter_key, kind="stable")
    keys = meter_key[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    lows = np.minimum.reduceat(lo_us[order], starts)
    highs = np.maximum.reduceat(hi_us[order], starts)
    for key, low, high in zip(keys[starts].tolist(), lows.tolist(), highs.tolist(), strict=True):
        old = into.get(key)
        into[key] = (min(old[0], low), max(old[1], high)) if old else (low, high)


def local_day_ranges(touched: Touched, tz: Any) -> list[tuple[int, date, date]]:
    """(meter_key, first local day, last local day) per touched meter."""
    return [
        (
            key,
            datetime.fromtimestamp(lo / 1e6, tz).date(),
            datetime.fromtimestamp(hi / 1e6, tz).date(),
        )
        for key, (lo, hi) in sorted(touched.items())
    ]


def _refresh_ranges(
    conn: psycopg.Connection[Any], tz_name: str, ranges: list[tuple[int, date, date]]
) -> int:
    """Recompute both rollups for ``ranges``; returns the meter_daily rows written."""
    if not ranges:
        return 0
    conn.execute(queries.CREATE_TOUCHED)
    conn.execute(queries.TRUNCATE_TOUCHED)
    with conn.cursor().copy(queries.COPY_TOUCHED) as copy:
        for row in ranges:
            copy.write_row(row)
    lo_day = min(r[1] for r in ranges)
    hi_day = max(r[2] for r in ranges)
    params = {
        "tz": tz_name,
        "lo": datetime.combine(lo_day - timedelta(days=2), datetime.min.time()),
        "hi": datetime.combine(hi_day + timedelta(days=2), datetime.min.time()),
    }
    conn.execute(queries.DELETE_METER_DAILY)
    written = conn.execute(queries.INSERT_METER_DAILY_INTERVAL, params).rowcount
    written += conn.execute(queries.INSERT_METER_DAILY_CUMULATIVE, params).rowcount
    conn.execute(queries.DELETE_BUILDING_DAILY)
    conn.execute(queries.INSERT_BUILDING_DAILY)
    return max(written, 0)


def refresh(conn: psycopg.Connection[Any], tz: Any, touched: Touched) -> dict[int, set[str]]:
    """Recompute the rollups of the local days ``touched`` covers; returns the affected
    buildings by local year ({year: {building_id}})."""
    ranges = local_day_ranges(touched, tz)
    _refresh_ranges(conn, tz.key, ranges)
    return affected_by_year(conn, ranges)


def affected_by_year(
    conn: psycopg.Connection[Any], ranges: list[tuple[int, date, date]]
) -> dict[int, set[str]]:
    """{local year: building ids} touched by ``ranges``."""
    if not ranges:
        return {}
    rows = conn.execute(queries.BUILDINGS_OF_METERS, ([r[0] for r in ranges],)).fetchall()
    building = {row["meter_key"]: row["building_id"] for row in rows}
    affected: dict[int, set[str]] = {}
    for key, lo, hi in ranges:
        for year in range(lo.year, hi.year + 1):
            affected.setdefault(year, set()).add(building[key])
    return affected


def rebuild(
    conn: psycopg.Connection[Any], tz: Any, day_from: date | None, day_to: date | None
) -> dict[str, Any]:
    """Recompute rollups for every meter over [day_from, day_to] (local days; default: the
    whole span of stored readings). Returns the range and the rows written."""
    bounds = conn.execute(queries.READING_BOUNDS).fetchone()
    if bounds is None or bounds["first_at"] is None:
        return {"day_from": day_from, "day_to": day_to, "meter_daily_rows": 0, "meters": 0}
    first = day_from or bounds["first_at"].astimezone(tz).date()
    last = day_to or bounds["last_at"].astimezone(tz).date()
    keys = [row["meter_key"] for row in conn.execute(queries.ALL_METER_KEYS).fetchall()]
    ranges = [(key, first, last) for key in keys]
    written = _refresh_ranges(conn, tz.key, ranges)
    return {"day_from": first, "day_to": last, "meter_daily_rows": written, "meters": len(keys)}
