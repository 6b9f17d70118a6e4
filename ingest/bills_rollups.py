"""Building-days of buildings with utility accounts, written in the loading transaction.

:func:`recompute` rewrites the ``building_daily`` rows of (building, energy type) groups
over a range of local days from their active bills (prorated) and their meters' days, under
the rule of :mod:`ingest.proration`. It runs after a bills file is loaded, after a readings
load touches a building with accounts (its meters' days on billed days are replaced by the
bills again, the others marked provisional), after `quotawatch rollups rebuild`, and after
an accounts import changes shares.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import psycopg

from ingest import bills_queries as q
from ingest import copybin, queries
from ingest.proration import GroupDays, combine, prorate

Group = tuple[str, str]  # (building_id, energy_type)


# Groups worked out per pass (about 730,000 building-days for a year of 2,000 groups): the
# bills, meter days and rows of one pass are in memory at a time.
GROUPS_PER_PASS = 2_000


def recompute(
    conn: psycopg.Connection[Any], tz: Any, groups: set[Group] | list[Group], lo: date, hi: date
) -> dict[int, set[str]]:
    """Rewrite the building-days of ``groups`` in [lo, hi] (local days, inclusive).
    Returns {local year: building ids} of the range (the buildings to re-evaluate).

    The rows are deleted and COPYed without building_daily's per-statement upkeep; the
    monthly rollup of the groups' months and the building references are then done once
    (``building_daily_deferred_upkeep``, sql/0140)."""
    ordered = sorted(groups)
    if not ordered or lo > hi:
        return {}
    # Loads hold the ingest lock already (re-entrant); other callers take it here, so no
    # other loader rewrites these groups' days before the upkeep below.
    conn.execute(queries.LOCK_INGEST, (queries.INGEST_LOCK_KEY,))
    conn.execute(q.DEFER_UPKEEP)
    try:
        conn.execute(q.DELETE_GROUP_DAYS, _params(ordered, lo, hi))
        for start in range(0, len(ordered), GROUPS_PER_PASS):
            part = ordered[start : start + GROUPS_PER_PASS]
            params = _params(part, lo, hi)
            has_account = np.zeros(len(part), dtype=bool)
            for row in conn.execute(q.GROUPS_WITH_ACCOUNTS, params).fetchall():
                has_account[row["n"] - 1] = True
            billed = _billed(conn, params, lo, hi)
            write_group_days(conn, part, combine(billed, _metered(conn, params), has_account, tz))
    finally:
        if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            conn.execute(q.END_DEFERRED_UPKEEP)
    conn.execute(q.DEFERRED_UPKEEP, _params(ordered, lo, hi))
    buildings = sorted({g[0] for g in ordered})
    return {year: set(buildings) for year in range(lo.year, hi.year + 1)}


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
    """COPY building-days (``days.group`` indexes ``groups``) into building_daily."""
    if not len(days):
        return 0
    building = np.array([g[0] for g in groups], dtype=object)
    energy_type = np.array([g[1] for g in groups], dtype=object)
    with conn.cursor().copy(q.COPY_BUILDING_DAILY_WITH_SOURCE) as copy:
        copy.write(copybin.HEADER)
        for lo in range(0, len(days), WRITE_SLICE_ROWS):
            part = slice(lo, lo + WRITE_SLICE_ROWS)
            group = days.group[part]
            copy.write(
                copybin.rows_bytes(
                    [
                        copybin.Column("text", building[group]),
                        copybin.Column("text", energy_type[group]),
                        copybin.Column("date", days.day[part]),
                        copybin.Column("float8", days.energy_kwh[part]),
                        copybin.Column("int4", days.reading_count[part]),
                        copybin.Column("float8", np.minimum(days.covered_hours[part], 25.0)),
                        copybin.Column("int4", days.meter_count[part]),
                        copybin.Column("text", days.source[part]),
                    ]
                )
            )
        copy.write(copybin.TRAILER)
    return len(days)


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
