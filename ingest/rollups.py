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
  that day. New readings of a straight register meter (:func:`ingest.cumulative.straight_meters`:
  nothing stored after them) are allocated the same way in the loader
  (:func:`span_increments`) and added as increments like interval readings; the other
  register meters' days are recomputed from ``reading``.

``building_daily.covered_hours`` is the mean covered hours over the building's registered
meters of that energy type (24 = every meter reported the whole day) and ``meter_count``
the number of meters with data that day.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from ingest import bills_rollups, column_memo, copybin, free_memory, queries

# Meter-days of increments a load keeps in memory before staging them on the server.
INCREMENTS_IN_MEMORY = 1_000_000
# Meter-days of increments from which a refresh first gives freed memory back (a trim of a
# few hundred MB of heap takes ≈ 8 ms: not for a small file's load).
RELEASE_AT_METER_DAYS = 100_000

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


def _copy_ranges(conn: psycopg.Connection[Any], ranges: list[tuple[int, date, date]]) -> None:
    conn.execute(queries.CREATE_TOUCHED)
    conn.execute(queries.TRUNCATE_TOUCHED)
    with conn.cursor().copy(queries.COPY_TOUCHED) as copy:
        for row in ranges:
            copy.write_row(row)
    # Row counts for the planner (a temporary table has none): hash, not sort, aggregation.
    conn.execute(queries.ANALYZE_TOUCHED)


class Increments:
    """Daily increments of a load's new interval readings and straight register readings
    (per meter and local day),
    summed as batches come: in memory up to ``limit`` meter-days, beyond that COPYed to a
    staging table on the server (summed there by :func:`refresh`), so a load's memory does
    not grow with the number of meter-days a file covers."""

    def __init__(self, conn: psycopg.Connection[Any], limit: int | None = None):
        self.conn = conn
        self.limit = INCREMENTS_IN_MEMORY if limit is None else limit
        self.parts: list[pd.DataFrame] = []
        self.rows = 0
        self.staged = False

    def add(self, increments: pd.DataFrame) -> None:
        """Add one batch's increments (columns meter_key, day as a date ordinal,
        energy_kwh [kWh], reading_count, covered_hours [h])."""
        if increments.empty:
            return
        self.parts.append(increments)
        self.rows += len(increments)
        if self.rows > self.limit:
            free_memory.release()  # the sum is a load's largest allocation (ingest/free_memory.py)
            combined = self._take_summed()
            self.parts, self.rows = [combined], len(combined)
            if self.rows > self.limit // 2:
                self._stage(combined)
                self.parts, self.rows = [], 0

    def _take_summed(self) -> pd.DataFrame | None:
        """The parts summed (:func:`combine_increments`), taken out of this object (the
        parts are let go while they are summed). None when there are none."""
        parts, self.parts, self.rows = self.parts, [], 0
        return combine_increments(parts)

    def _stage(self, increments: pd.DataFrame) -> None:
        if not self.staged:
            self.conn.execute(queries.CREATE_INCREMENT)
            self.conn.execute(queries.TRUNCATE_INCREMENT)
            self.staged = True
        _copy_increments(self.conn, queries.COPY_INCREMENT, increments)

    def in_memory(self) -> pd.DataFrame | None:
        """The summed increments when none were staged on the server (None otherwise; an
        empty frame when there are none)."""
        if self.staged:
            return None
        combined = self._take_summed()
        if combined is None:
            return pd.DataFrame(
                {
                    "meter_key": np.zeros(0, np.int64),
                    "day": np.zeros(0, np.int64),
                    "energy_kwh": np.zeros(0),
                    "reading_count": np.zeros(0, np.int64),
                    "covered_hours": np.zeros(0),
                }
            )
        self.parts, self.rows = [combined], len(combined)
        return combined

    def finish(self) -> None:
        """Leave the summed increments in ``ingest_day_increment`` (dropped at commit)."""
        rest = self._take_summed()
        if self.staged:
            if rest is not None:
                self._stage(rest)
            self.conn.execute(queries.SUM_INCREMENTS)
        else:
            self.conn.execute(queries.CREATE_DAY_INCREMENT)
            if rest is not None:
                _copy_increments(self.conn, queries.COPY_DAY_INCREMENT, rest)


def _copy_increments(
    conn: psycopg.Connection[Any], statement: str, increments: pd.DataFrame
) -> None:
    _copy(
        conn,
        statement,
        [
            copybin.Column("int4", increments["meter_key"].to_numpy(dtype=np.int64)),
            copybin.Column("date", increments["day"].to_numpy(dtype=np.int64)),
            copybin.Column("float8", increments["energy_kwh"].to_numpy(dtype=np.float64)),
            copybin.Column("int4", increments["reading_count"].to_numpy(dtype=np.int64)),
            copybin.Column("float8", increments["covered_hours"].to_numpy(dtype=np.float64)),
        ],
    )


def _refresh_ranges(
    conn: psycopg.Connection[Any],
    tz_name: str,
    ranges: list[tuple[int, date, date]],
    increment_spans: list[tuple[int, date, date]] | None = None,
) -> int:
    """Recompute meter rollups for ``ranges``, add the summed staged increments (whose
    meters' spans are ``increment_spans``; none when None), then recompute the building
    rollups of everything touched. Returns meter-days written."""
    written = 0
    building_ranges = list(ranges)
    if increment_spans:
        written += max(conn.execute(queries.APPLY_INCREMENT_UPDATE).rowcount, 0)
        written += max(conn.execute(queries.APPLY_INCREMENT_INSERT).rowcount, 0)
        building_ranges += increment_spans
    if ranges:
        _copy_ranges(conn, ranges)
        lo_day = min(r[1] for r in ranges)
        hi_day = max(r[2] for r in ranges)
        params = {
            "tz": tz_name,
            "lo": datetime.combine(lo_day - timedelta(days=2), datetime.min.time()),
            "hi": datetime.combine(hi_day + timedelta(days=2), datetime.min.time()),
        }
        conn.execute(queries.DELETE_METER_DAILY)
        written += max(conn.execute(queries.INSERT_METER_DAILY_INTERVAL, params).rowcount, 0)
        written += max(conn.execute(queries.INSERT_METER_DAILY_CUMULATIVE, params).rowcount, 0)
    if building_ranges:
        _copy_ranges(conn, _merge_ranges(building_ranges))
        conn.execute(queries.DELETE_BUILDING_DAILY)
        conn.execute(queries.INSERT_BUILDING_DAILY)
    return written


def _merge_ranges(ranges: list[tuple[int, date, date]]) -> list[tuple[int, date, date]]:
    merged: dict[int, tuple[date, date]] = {}
    for key, lo, hi in ranges:
        old = merged.get(key)
        merged[key] = (min(old[0], lo), max(old[1], hi)) if old else (lo, hi)
    return [(k, lo, hi) for k, (lo, hi) in sorted(merged.items())]


@dataclass(frozen=True)
class MeterGroups:
    """The (building, energy type) groups of the registered meters, numbered in their sort
    order: ``group_of[meter_key]`` is a meter's group (-1 for no meter), ``building_id``,
    ``energy_type`` and ``meters`` (registered meters, the denominator of building covered
    hours) are per group."""

    group_of: np.ndarray
    building_id: np.ndarray
    energy_type: np.ndarray
    meters: np.ndarray

    @classmethod
    def of(cls, meters: dict[int, tuple[str, str]]) -> MeterGroups:
        """From {meter_key: (building_id, energy_type)} of every registered meter."""
        groups = sorted(set(meters.values()))
        number = {group: i for i, group in enumerate(groups)}
        group_of = np.full(max(meters, default=0) + 1, -1, dtype=np.int64)
        counts = np.zeros(len(groups), dtype=np.int64)
        for key, group in meters.items():
            group_of[key] = number[group]
            counts[number[group]] += 1
        return cls(
            group_of=group_of,
            building_id=np.array([g[0] for g in groups], dtype=object),
            energy_type=np.array([g[1] for g in groups], dtype=object),
            meters=counts,
        )


def refresh(
    conn: psycopg.Connection[Any],
    tz: Any,
    touched: Touched,
    increments: Increments,
    groups: MeterGroups | None = None,
) -> dict[int, set[str]]:
    """Bring the rollups up to date after a load: recompute the local days ``touched``
    covers from readings and add the ``increments`` of new interval readings. A meter in
    both is recomputed over both ranges. Returns the affected buildings by local year.

    When the load only added interval readings and no building it touches has rollups
    stored in the span of days it covers (a load of new days: a backfill, the next day's
    file), its meter-days and building-days are new rows summed here from the increments
    (``groups`` says which building each meter is in) and COPYed in; otherwise they are
    updated and recomputed with SQL.

    For a large load (at least :data:`RELEASE_AT_METER_DAYS` meter-days of increments) the
    memory its batches freed is given back first: summing and writing the increments is
    then the load's largest allocation (:mod:`ingest.free_memory`)."""
    if increments.rows >= RELEASE_AT_METER_DAYS or increments.staged:
        free_memory.release()
    if groups is not None and not touched:
        summed = increments.in_memory()
        if summed is not None and _add_new_days(conn, summed, groups):
            return _affected_by_year(summed, groups)
    increments.finish()
    spans = [
        (row["meter_key"], row["day_lo"], row["day_hi"])
        for row in conn.execute(queries.INCREMENT_SPANS).fetchall()
    ]
    ranges = local_day_ranges(touched, tz)
    if spans and ranges:
        recomputed = {r[0] for r in ranges}
        overlap = [span for span in spans if span[0] in recomputed]
        if overlap:
            ranges = _merge_ranges(ranges + overlap)
            conn.execute(queries.DROP_RECOMPUTED_INCREMENTS, ([span[0] for span in overlap],))
            spans = [span for span in spans if span[0] not in recomputed]
    _refresh_ranges(conn, tz.key, ranges, spans)
    return affected_by_year(conn, _merge_ranges(list(ranges) + spans))


def _add_new_days(conn: psycopg.Connection[Any], summed: pd.DataFrame, groups: MeterGroups) -> bool:
    """Insert ``summed`` meter-days and their building-days as new rows, unless a building
    they touch has rollups stored between their first and last day (then nothing is
    written and False returned)."""
    if summed.empty:
        return True
    keys = summed["meter_key"].to_numpy(dtype=np.int64)
    days = summed["day"].to_numpy(dtype=np.int64)
    group = groups.group_of[keys]
    span = {
        "buildings": sorted(set(groups.building_id[np.unique(group)].tolist())),
        "lo": date.fromordinal(int(days.min())),
        "hi": date.fromordinal(int(days.max())),
    }
    if conn.execute(queries.ROLLUPS_STORED_IN_SPAN, span).fetchone()["present"]:
        return False
    energy = summed["energy_kwh"].to_numpy(dtype=np.float64)
    count = summed["reading_count"].to_numpy(dtype=np.int64)
    covered = np.minimum(summed["covered_hours"].to_numpy(dtype=np.float64), 25.0)
    _copy(
        conn,
        queries.COPY_METER_DAILY,
        [
            copybin.Column("int4", keys),
            copybin.Column("date", days),
            copybin.Column("float8", energy),
            copybin.Column("int4", count),
            copybin.Column("float8", covered),
        ],
    )
    # Building-days: the meter-days summed per group and day, in the primary key's order.
    order = np.lexsort((days, group))
    group, day = group[order], days[order]
    starts = np.flatnonzero(np.r_[True, (group[1:] != group[:-1]) | (day[1:] != day[:-1])])
    g = group[starts]
    _copy(
        conn,
        queries.COPY_BUILDING_DAILY,
        [
            copybin.Column("text", groups.building_id[g]),
            copybin.Column("text", groups.energy_type[g]),
            copybin.Column("date", day[starts]),
            copybin.Column("float8", np.add.reduceat(energy[order], starts)),
            copybin.Column("int4", np.add.reduceat(count[order], starts)),
            copybin.Column("float8", np.add.reduceat(covered[order], starts) / groups.meters[g]),
            copybin.Column("int4", np.diff(np.r_[starts, len(order)])),
        ],
    )
    return True


def _copy(conn: psycopg.Connection[Any], statement: str, columns: list[copybin.Column]) -> None:
    """COPY ``columns`` with ``statement``, built and sent in parts (memory stays bounded for
    a load's million meter-days, see :func:`copybin.payload_parts`)."""
    with conn.cursor().copy(statement) as copy:
        for part in copybin.payload_parts(columns):
            copy.write(part)


def _affected_by_year(summed: pd.DataFrame, groups: MeterGroups) -> dict[int, set[str]]:
    """{local year: building ids} of the meter-days ``summed``."""
    group = groups.group_of[summed["meter_key"].to_numpy(dtype=np.int64)]
    days, inverse = np.unique(summed["day"].to_numpy(dtype=np.int64), return_inverse=True)
    years = np.array([date.fromordinal(int(d)).year for d in days], dtype=np.int64)[inverse]
    return {
        year: set(groups.building_id[np.unique(group[years == year])].tolist())
        for year in np.unique(years).tolist()
    }


def affected_in_memory(
    touched: Touched, summed: pd.DataFrame | None, groups: MeterGroups, tz: Any
) -> dict[int, set[str]]:
    """{local year: building ids} of a load's new meter-days ``summed`` and its ``touched``
    ranges, from the registry's meter groups (no query)."""
    out = _affected_by_year(summed, groups) if summed is not None and len(summed) else {}
    for key, lo, hi in local_day_ranges(touched, tz):
        building = str(groups.building_id[groups.group_of[key]])
        for year in range(lo.year, hi.year + 1):
            out.setdefault(year, set()).add(building)
    return out


_DAY_COLUMNS: column_memo.ColumnMemo[np.ndarray] = column_memo.ColumnMemo()


def _local_days(at_us: np.ndarray, tz: Any) -> np.ndarray:
    """Ordinals of the local days in ``tz`` of the instants ``at_us`` [µs since epoch] (a
    long column remembered whole, see :mod:`ingest.column_memo`)."""

    def each() -> np.ndarray:
        return np.array([_local_day(int(u), tz) for u in at_us.tolist()], dtype=np.int64)

    if len(at_us) < column_memo.MIN_VALUES:
        return each()
    return _DAY_COLUMNS.get((str(tz), column_memo.number_key(at_us)), each)


@functools.lru_cache(maxsize=200_000)
def _local_day(at_us: int, tz: Any) -> int:
    """Ordinal of the local day in ``tz`` of the instant ``at_us`` [µs since epoch]
    (remembered: files of one building and year repeat the same instants)."""
    return datetime.fromtimestamp(at_us / 1e6, tz).date().toordinal()


def daily_increments(
    meter_key: np.ndarray,
    reading_at_us: np.ndarray,
    energy_kwh: np.ndarray,
    interval_minutes: np.ndarray,
    tz: Any,
) -> pd.DataFrame:
    """New interval readings summed per meter and local day of their interval start
    (columns meter_key, day as a date ordinal, energy_kwh [kWh], reading_count,
    covered_hours [h]). Rows sorted by meter and time (as the loader's are) are summed as
    runs of one meter-day; others are sorted first."""
    codes, uniques = pd.factorize(reading_at_us, sort=False)
    days_u = _local_days(np.asarray(uniques, dtype=np.int64), tz)
    key = np.asarray(meter_key, dtype=np.int64)
    day = days_u[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    energy = np.asarray(energy_kwh, dtype=np.float64)
    hours = np.asarray(interval_minutes, dtype=np.float64) / 60.0
    same_key = key[1:] == key[:-1]
    if not ((key[1:] > key[:-1]) | (same_key & (day[1:] >= day[:-1]))).all():
        order = np.lexsort((day, key))
        key, day, energy, hours = key[order], day[order], energy[order], hours[order]
        same_key = key[1:] == key[:-1]
    starts = np.flatnonzero(np.r_[True, ~(same_key & (day[1:] == day[:-1]))]) if len(key) else []
    return pd.DataFrame(
        {
            "meter_key": key[starts],
            "day": day[starts],
            "energy_kwh": np.add.reduceat(energy, starts) if len(key) else energy,
            "reading_count": np.diff(np.r_[starts, len(key)]).astype(np.int64),
            "covered_hours": np.add.reduceat(hours, starts) if len(key) else hours,
        }
    )


def span_increments(
    meter_key: np.ndarray,
    since_us: np.ndarray,
    reading_at_us: np.ndarray,
    energy_kwh: np.ndarray,
    tz: Any,
) -> pd.DataFrame:
    """New cumulative readings summed per meter and local day, as
    ``INSERT_METER_DAILY_CUMULATIVE`` allocates them (same columns as
    :func:`daily_increments`): the use ``energy_kwh`` [kWh] of the span (``since_us``,
    ``reading_at_us``] [µs] split over the local days it overlaps in proportion to time,
    covered hours the span's hours in each day, and one read counted on the local day of
    ``reading_at_us``. A NaN energy is a baseline: counted, no use. Each piece is computed
    with the same arithmetic as the SQL (``energy × piece seconds / span seconds``)."""
    key = np.asarray(meter_key, dtype=np.int64)
    at = np.asarray(reading_at_us, dtype=np.int64)
    since = np.asarray(since_us, dtype=np.int64)
    energy = np.asarray(energy_kwh, dtype=np.float64)
    has_use = ~np.isnan(energy) & (at > since)
    codes, uniques = pd.factorize(np.concatenate((at, since[has_use])), sort=False)
    days_u = _local_days(np.asarray(uniques, dtype=np.int64), tz)
    day_at = days_u[codes[: len(at)]]
    day_since = np.full(len(at), -1, dtype=np.int64)
    day_since[has_use] = days_u[codes[len(at) :]]
    span_s = (at - since) / 1e6
    one_day = has_use & (day_since == day_at)
    parts_key = [key, key[one_day]]
    parts_day = [day_at, day_at[one_day]]
    parts_energy = [np.zeros(len(at)), energy[one_day] * span_s[one_day] / span_s[one_day]]
    parts_count = [np.ones(len(at), dtype=np.int64), np.zeros(int(one_day.sum()), np.int64)]
    parts_hours = [np.zeros(len(at)), span_s[one_day] / 3600.0]
    # Spans over one midnight (an hourly meter's reading at midnight), as arrays.
    two_days = has_use & (day_at == day_since + 1)
    if two_days.any():
        midnight_of = {d: _local_midnight_us(d, tz) for d in np.unique(day_at[two_days]).tolist()}
        midnight = np.array([midnight_of[d] for d in day_at[two_days].tolist()], dtype=np.int64)
        whole = span_s[two_days]
        for day, lo, hi in (
            (day_since[two_days], since[two_days], midnight),
            (day_at[two_days], midnight, at[two_days]),
        ):
            lo, hi = np.maximum(lo, since[two_days]), np.minimum(hi, at[two_days])
            piece_s = (hi - lo) / 1e6
            keep = hi > lo
            parts_key.append(key[two_days][keep])
            parts_day.append(day[keep])
            parts_energy.append(energy[two_days][keep] * piece_s[keep] / whole[keep])
            parts_count.append(np.zeros(int(keep.sum()), dtype=np.int64))
            parts_hours.append(piece_s[keep] / 3600.0)
    pieces: list[tuple[int, int, float, float]] = []
    for i in np.flatnonzero(has_use & ~one_day & ~two_days).tolist():
        whole_s = float(span_s[i])
        for day in range(int(day_since[i]), int(day_at[i]) + 1):
            start = max(int(since[i]), _local_midnight_us(day, tz))
            end = min(int(at[i]), _local_midnight_us(day + 1, tz))
            if end > start:
                piece_s = (end - start) / 1e6
                pieces.append((int(key[i]), day, float(energy[i]) * piece_s / whole_s, piece_s))
    if pieces:
        arr = np.array(pieces, dtype=np.float64)
        parts_key.append(arr[:, 0].astype(np.int64))
        parts_day.append(arr[:, 1].astype(np.int64))
        parts_energy.append(arr[:, 2])
        parts_count.append(np.zeros(len(pieces), dtype=np.int64))
        parts_hours.append(arr[:, 3] / 3600.0)
    frame = pd.DataFrame(
        {
            "meter_key": np.concatenate(parts_key),
            "day": np.concatenate(parts_day),
            "energy_kwh": np.concatenate(parts_energy),
            "reading_count": np.concatenate(parts_count),
            "covered_hours": np.concatenate(parts_hours),
        }
    )
    return frame.groupby(["meter_key", "day"], as_index=False, sort=True).sum()


@functools.lru_cache(maxsize=20_000)
def _local_midnight_us(day: int, tz: Any) -> int:
    """The instant [µs since epoch] local midnight starts the day of ordinal ``day`` in
    ``tz`` (a midnight a clock change skips: as PostgreSQL's ``AT TIME ZONE`` reads it, with
    the offset before the change)."""
    start = datetime.combine(date.fromordinal(day), datetime.min.time(), tzinfo=tz)
    return round(start.timestamp() * 1_000_000)


def combine_increments(parts: list[pd.DataFrame]) -> pd.DataFrame | None:
    """Sum per-batch increments (``day`` stays a date ordinal); None when there are none.
    Empties ``parts``: they are let go once joined, before the sum."""
    if not parts:
        return None
    joined = pd.concat(parts, ignore_index=True)
    parts.clear()
    return joined.groupby(["meter_key", "day"], as_index=False, sort=True).sum()


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
    whole span of stored readings). Returns the range and the rows written. Takes the
    ingest lock: no load writes readings or rollups meanwhile."""
    conn.execute(queries.LOCK_INGEST, (queries.INGEST_LOCK_KEY,))
    bounds = conn.execute(queries.READING_BOUNDS).fetchone()
    if bounds is None or bounds["first_at"] is None:
        return {"day_from": day_from, "day_to": day_to, "meter_daily_rows": 0, "meters": 0}
    first = day_from or bounds["first_at"].astimezone(tz).date()
    last = day_to or bounds["last_at"].astimezone(tz).date()
    keys = [row["meter_key"] for row in conn.execute(queries.ALL_METER_KEYS).fetchall()]
    ranges = [(key, first, last) for key in keys]
    written = _refresh_ranges(conn, tz.key, ranges) if ranges else 0
    if ranges:  # buildings with accounts and meters: their billed days again
        bills_rollups.after_rebuild(conn, tz, first, last)
    return {"day_from": first, "day_to": last, "meter_daily_rows": written, "meters": len(keys)}
