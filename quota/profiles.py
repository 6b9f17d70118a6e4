"""Expected share: the share of a normal year's use that falls by a given local date.

Method, in order of preference (see docs/quota-engine.md):

1. ``own``: the building's own previous year, when that year is sufficiently complete
   (days with data ÷ days in the year ≥ ``min_profile_year_completeness``): use from
   1 January through the same calendar date last year ÷ last year's total.
2. ``type``: the same-type citywide profile of the previous year, pooled over the peers whose
   previous year is complete (Σ to-date ÷ Σ total), if there are at least ``min_peer_count``.
3. ``elapsed``: elapsed time, day of year ÷ 365 or 366 (leap years count 366 days).

Calendar dates are matched by month and day; 29 February of a leap year maps to 28 February
of the previous year, and a leap previous year's 29 February counts in "through 28 February"
only from 1 March on.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from quota import calendar

PROFILE_SOURCES = ("own", "type", "elapsed")


def share_to_date(to_date: pd.Series, full: pd.Series) -> pd.Series:
    """to_date ÷ full, NaN where the full-year total is not positive."""
    full = full.astype("float64")
    return (to_date.astype("float64") / full.where(full > 0)).clip(0.0, 1.0)


def type_profile_shares(
    building_type: pd.Series, to_date: pd.Series, full: pd.Series, is_complete: pd.Series
) -> pd.DataFrame:
    """Pooled previous-year share per building type over complete peers.

    Returns a frame indexed by building type with ``share`` (Σ to_date ÷ Σ full of the
    complete peers) and ``peer_count``.
    """
    frame = pd.DataFrame(
        {
            "building_type": building_type,
            "to_date": to_date,
            "full": full,
            "ok": is_complete.astype(bool) & (full > 0),
        }
    )
    peers = frame[frame["ok"]]
    grouped = peers.groupby("building_type", observed=True).agg(
        to_date=("to_date", "sum"), full=("full", "sum"), peer_count=("full", "size")
    )
    grouped["share"] = share_to_date(grouped["to_date"], grouped["full"])
    return grouped[["share", "peer_count"]]


def choose_expected_share(
    own_share: pd.Series,
    own_is_complete: pd.Series,
    type_share: pd.Series,
    type_peer_count: pd.Series,
    elapsed_share: float,
    min_peer_count: int,
) -> tuple[pd.Series, pd.Series]:
    """(expected_share, profile_source) per row, preferring own → type → elapsed."""
    use_own = own_is_complete.astype(bool) & own_share.notna()
    use_type = ~use_own & type_share.notna() & (type_peer_count.fillna(0) >= min_peer_count)
    share = pd.Series(
        np.where(use_own, own_share, np.where(use_type, type_share, elapsed_share)),
        index=own_share.index,
        dtype="float64",
    )
    source = pd.Series(
        np.where(use_own, "own", np.where(use_type, "type", "elapsed")),
        index=own_share.index,
        dtype=object,
    )
    return share, source


def cumulative_share_from_daily(daily: pd.Series, target_year: int) -> pd.Series:
    """Cumulative expected share for every local date of ``target_year`` from a daily profile
    of another year (``daily``: use per local date, any unit).

    Each target date takes the share of the source year's use through the same month and day
    (29 February of a leap target year repeats 28 February). The value is 1.0 on 31 December.
    """
    days = pd.date_range(calendar.year_start(target_year), calendar.year_end(target_year), freq="D")
    if daily.empty or not (daily.sum() > 0):
        return linear_cumulative_share(target_year)
    src = daily.copy()
    src.index = pd.to_datetime(src.index)
    src_key = src.index.month * 100 + src.index.day
    by_key = src.groupby(src_key).sum().sort_index().cumsum() / float(src.sum())
    target_key = days.month * 100 + days.day
    values = by_key.reindex(np.arange(101, 1232)).ffill().fillna(0.0)
    result = pd.Series(values.reindex(target_key).to_numpy(), index=days.date, dtype="float64")
    result.iloc[-1] = 1.0
    return result.clip(0.0, 1.0)


def linear_cumulative_share(year: int) -> pd.Series:
    """Elapsed-time share for every local date of ``year`` (day of year ÷ 365 or 366)."""
    days = pd.date_range(calendar.year_start(year), calendar.year_end(year), freq="D")
    n = calendar.days_in_year(year)
    return pd.Series(np.arange(1, n + 1) / n, index=days.date, dtype="float64")


def share_on(cumulative: pd.Series, day: date) -> float:
    """The cumulative share on ``day`` (a date in the series' year)."""
    return float(cumulative.loc[day])
