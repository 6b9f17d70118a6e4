"""Building-days of buildings with utility accounts, written in the loading transaction.

:func:`recompute` rewrites the ``building_daily`` rows of (building, energy type) groups
over a range of local days from their active bills (prorated) and their meters' days, under
the rule of :mod:`ingest.proration`. It runs after a bills file is loaded, after a readings
load touches a building with accounts (its meters' days on billed days are replaced by the
bills again, the others marked provisional), after `quotawatch rollups rebuild`, and after
an accounts import changes shares.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import psycopg

from ingest import bills_queries as q
from ingest import copybin, queries
from ingest.day_runs import DayRuns, split_runs
from ingest.proration import SOURCE_BILLS, GroupDays, combine, prorate

Group = tuple[str, str]  # (building_id, energy_type)


# Groups worked out per pass (about 730,000 building-days for a year of 2,000 groups): the
# bills, meter days and rows of one pass are in memory at a time.
GROUPS_PER_PASS = 2_000


def recompute(
    conn: psycopg.Connection[Any], tz: Any, groups: set[Group] | list[Group], lo: date, hi: date
) -> dict[int, set[str]]:
    """Rewrite the building-days of ``groups`` in [lo, hi] (local days, inclusive).
    Returns {local year: building ids} of the range (the buildings to re-evaluate).

    The billed days are stored as runs of equal days (``building_daily_run``, sql/0150), the
    others one row a day in building_daily. Both are deleted and COPYed without
    building_daily's per-statement upkeep; the building references and the monthly rollup of
    the groups' months are then done once (``building_daily_deferred_upkeep``, sql/0140 and
    0150: the partial months at the ends from the stored days; the whole months from the
    days written, summed here and COPYed)."""
    ordered = sorted(groups)
    if not ordered or lo > hi:
        return {}
    # Loads hold the ingest lock already (re-entrant); other callers take it here, so no
    # other loader rewrites these groups' days before the upkeep below.
    conn.execute(queries.LOCK_INGEST, (queries.INGEST_LOCK_KEY,))
    whole_from, whole_to = whole_months(lo, hi)
    months: list[dict[str, np.ndarray]] = []
    conn.execute(q.DEFER_UPKEEP)
    try:
        conn.execute(q.DELETE_GROUP_DAYS, _params(ordered, lo, hi))
        conn.execute(q.CLIP_GROUP_RUNS, _params(ordered, lo, hi))
        for start in range(0, len(ordered), GROUPS_PER_PASS):
            part = ordered[start : start + GROUPS_PER_PASS]
            params = _params(part, lo, hi)
            has_account = np.zeros(len(part), dtype=bool)
            for row in conn.execute(q.GROUPS_WITH_ACCOUNTS, params).fetchall():
                has_account[row["n"] - 1] = True
            billed = _billed(conn, params, lo, hi)
            days = combine(billed, _metered(conn, params), has_account, tz)
            days = replace(days, covered_hours=np.minimum(days.covered_hours, MAX_COVERED_HOURS))
            write_group_days(conn, part, days)
            months.append(monthly_sums(part, days, whole_from, whole_to))
    finally:
        if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            conn.execute(q.END_DEFERRED_UPKEEP)
    upkeep = {**_params(ordered, lo, hi), "whole_from": whole_from, "whole_to": whole_to}
    conn.execute(q.DEFERRED_UPKEEP, upkeep)
    _copy_monthly(conn, months)
    buildings = sorted({g[0] for g in ordered})
    return {year: set(buildings) for year in range(lo.year, hi.year + 1)}


MAX_COVERED_HOURS = 25.0  # a local day's longest length [h] (the clock goes back)
MONTH_KEYS = (
    "month_building",
    "month_energy_type",
    "month_first",
    "month_energy_kwh",
    "month_reading_count",
    "month_covered_hours",
    "month_day_count",
    "month_first_day",
)
_EPOCH = date(1970, 1, 1).toordinal()


def whole_months(lo: date, hi: date) -> tuple[date, date]:
    """The first and last day of the whole calendar months within [lo, hi] (first > last
    when there is none)."""
    first = lo if lo.day == 1 else (lo.replace(day=1) + timedelta(days=32)).replace(day=1)
    after = hi + timedelta(days=1)
    last = hi if after.day == 1 else hi.replace(day=1) - timedelta(days=1)
    return first, last


def monthly_sums(
    groups: list[Group], days: GroupDays, whole_from: date, whole_to: date
) -> dict[str, np.ndarray]:
    """building_monthly rows of the building-days ``days`` (sorted by group, then day) in the
    whole months [whole_from, whole_to]: per group and month Σ energy [kWh], Σ reading
    counts, Σ covered hours [h], days and the first day, summed in day order as
    ``building_monthly_rebuild()`` sums them. One array per :data:`MONTH_KEYS` (months and
    first days as date ordinals)."""
    keep = (days.day >= whole_from.toordinal()) & (days.day <= whole_to.toordinal())
    group, day = days.group[keep], days.day[keep]
    month = (
        (day - _EPOCH).astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]")
    ).astype(np.int64) + _EPOCH
    key = group * (1 << 22) + month
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else key
    sizes = np.diff(np.r_[starts, len(key)]).astype(np.int64)
    index = np.repeat(np.arange(len(starts)), sizes)
    n = len(starts)
    building = np.array([g[0] for g in groups] or [""], dtype=object)
    energy_type = np.array([g[1] for g in groups] or [""], dtype=object)
    return {
        "month_building": building[group[starts]],
        "month_energy_type": energy_type[group[starts]],
        "month_first": month[starts],
        "month_energy_kwh": np.bincount(index, weights=days.energy_kwh[keep], minlength=n),
        "month_reading_count": np.bincount(
            index, weights=days.reading_count[keep], minlength=n
        ).astype(np.int64),
        "month_covered_hours": np.bincount(index, weights=days.covered_hours[keep], minlength=n),
        "month_day_count": sizes,
        "month_first_day": day[starts],
    }


def _copy_monthly(conn: psycopg.Connection[Any], parts: list[dict[str, np.ndarray]]) -> None:
    """COPY the whole months :func:`monthly_sums` gave into building_monthly."""
    data = {key: np.concatenate([p[key] for p in parts]) for key in MONTH_KEYS} if parts else {}
    if not parts or not len(data["month_first"]):
        return
    kinds = ("text", "text", "date", "float8", "int8", "float8", "int4", "date")
    payload = copybin.payload(
        [copybin.Column(kind, data[key]) for kind, key in zip(kinds, MONTH_KEYS, strict=True)]
    )
    with conn.cursor().copy(q.COPY_BUILDING_MONTHLY) as copy:
        copy.write(payload)


def _params(groups: list[Group], lo: date, hi: date) -> dict[str, Any]:
    return {
        "buildings": [g[0] for g in groups],
        "energy_types": [g[1] for g in groups],
        "lo": lo,
        "hi": hi,
    }


def _billed(
    conn: psycopg.Connection[Any], params: dict[str, Any], lo: date, hi: date
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cursor = conn.cursor(row_factory=psycopg.rows.tuple_row)
    rows = cursor.execute(q.GROUP_BILLS, params).fetchall()
    if not rows:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0), z
    n, start, end, energy, share = zip(*rows, strict=True)
    return prorate(
        np.array(n, dtype=np.int64) - 1,
        np.array([d.toordinal() for d in start], dtype=np.int64),
        np.array([d.toordinal() for d in end], dtype=np.int64),
        np.array(energy, dtype=np.float64),
        np.array(share, dtype=np.float64),
        lo.toordinal(),
        hi.toordinal(),
    )


def _metered(conn: psycopg.Connection[Any], params: dict[str, Any]) -> GroupDays:
    cursor = conn.cursor(row_factory=psycopg.rows.tuple_row)
    rows = cursor.execute(q.GROUP_METER_DAYS, params).fetchall()
    if not rows:
        return GroupDays.empty()
    n, day, energy, count, covered, meters = zip(*rows, strict=True)
    return GroupDays(
        group=np.array(n, dtype=np.int64) - 1,
        day=np.array([d.toordinal() for d in day], dtype=np.int64),
        energy_kwh=np.array(energy, dtype=np.float64),
        reading_count=np.array(count, dtype=np.int64),
        covered_hours=np.array(covered, dtype=np.float64),
        meter_count=np.array(meters, dtype=np.int64),
        source=np.zeros(len(n), dtype=object),
    )


# Building-days COPYed per slice: the binary rows of a slice are built and sent before the
# next, so memory stays bounded (7.3 M rows at once took ~3 GB).
WRITE_SLICE_ROWS = 500_000


def write_group_days(conn: psycopg.Connection[Any], groups: list[Group], days: GroupDays) -> int:
    """Write building-days (``days.group`` indexes ``groups``): the billed days as runs into
    building_daily_run, the others one row a day into building_daily. Returns the days
    written."""
    if not len(days):
        return 0
    runs, others = split_runs(days, days.source == SOURCE_BILLS)
    building = np.array([g[0] for g in groups], dtype=object)
    energy_type = np.array([g[1] for g in groups], dtype=object)
    if len(runs):
        _copy_runs(conn, building, energy_type, runs)
    if not len(others):
        return len(days)
    with conn.cursor().copy(q.COPY_BUILDING_DAILY_WITH_SOURCE) as copy:
        copy.write(copybin.HEADER)
        for lo in range(0, len(others), WRITE_SLICE_ROWS):
            part = slice(lo, lo + WRITE_SLICE_ROWS)
            group = others.group[part]
            copy.write(
                copybin.rows_bytes(
                    [
                        copybin.Column("text", building[group]),
                        copybin.Column("text", energy_type[group]),
                        copybin.Column("date", others.day[part]),
                        copybin.Column("float8", others.energy_kwh[part]),
                        copybin.Column("int4", others.reading_count[part]),
                        copybin.Column(
                            "float8", np.minimum(others.covered_hours[part], MAX_COVERED_HOURS)
                        ),
                        copybin.Column("int4", others.meter_count[part]),
                        copybin.Column("text", others.source[part]),
                    ]
                )
            )
        copy.write(copybin.TRAILER)
    return len(days)


def _copy_runs(
    conn: psycopg.Connection[Any], building: np.ndarray, energy_type: np.ndarray, runs: DayRuns
) -> None:
    payload = copybin.payload(
        [
            copybin.Column("text", building[runs.group]),
            copybin.Column("text", energy_type[runs.group]),
            copybin.Column("date", runs.first_day),
            copybin.Column("date", runs.last_day),
            copybin.Column("float8", runs.energy_kwh),
            copybin.Column("int4", runs.reading_count),
            copybin.Column("float8", np.minimum(runs.covered_hours, MAX_COVERED_HOURS)),
            copybin.Column("int4", runs.meter_count),
            copybin.Column("text", runs.source),
        ]
    )
    with conn.cursor().copy(q.COPY_BUILDING_DAILY_RUNS) as copy:
        copy.write(payload)


def after_meter_load(conn: psycopg.Connection[Any], tz: Any, affected: dict[int, set[str]]) -> None:
    """After readings changed the building-days of ``affected`` buildings ({local year:
    building ids}): re-apply their accounts' bills over those years, for the buildings
    that have accounts (nothing to do for the others)."""
    if not affected:
        return
    buildings = sorted(set().union(*affected.values()))
    groups = [
        (r["building_id"], r["energy_type"])
        for r in conn.execute(q.ACCOUNT_GROUPS_OF_BUILDINGS, (buildings,)).fetchall()
    ]
    if not groups:
        return
    years = sorted(affected)
    recompute(conn, tz, groups, date(years[0], 1, 1), date(years[-1], 12, 31))


def after_accounts_change(
    conn: psycopg.Connection[Any], tz: Any, groups: set[Group]
) -> dict[int, set[str]]:
    """After an accounts import changed the accounts of ``groups``: recompute their days
    over the span of their bills and of their stored building-days."""
    if not groups:
        return {}
    ordered = sorted(groups)
    span = conn.execute(
        q.BILL_SPAN_OF_GROUPS,
        {"buildings": [g[0] for g in ordered], "energy_types": [g[1] for g in ordered]},
    ).fetchone()
    if span is None or span["lo"] is None:
        return {}
    return recompute(conn, tz, ordered, span["lo"], span["hi"])


def after_rebuild(conn: psycopg.Connection[Any], tz: Any, lo: date, hi: date) -> None:
    """After `quotawatch rollups rebuild` recomputed the meters' building-days in [lo, hi]:
    re-apply the bills of the buildings that have both accounts and meters."""
    groups = [
        (r["building_id"], r["energy_type"])
        for r in conn.execute(q.ACCOUNT_GROUPS_WITH_METERS).fetchall()
    ]
    recompute(conn, tz, groups, lo, hi)
