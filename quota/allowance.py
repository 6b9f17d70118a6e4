"""What a building may still use this year (pure): the remaining allowance under its
quota (or under a multiple of it, such as the 120 % line) and the daily use that keeps it
there for the rest of the year, compared with its pace so far.

All energies are in the basis's unit (kWh of electricity or kgce); ``as_of`` is the last
local day counted in ``used_to_date`` (inclusive, as in :mod:`quota.calendar`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from quota.calendar import days_in_year, year_start


@dataclass(frozen=True)
class Allowance:
    """The remaining allowance under ``limit`` (= the year's limit_value × ratio) as of a day.

    ``remaining`` [unit] is negative when the limit is already passed. ``per_day_left``
    [unit/day] is the most the building may use on each remaining day to stay within the
    limit (0 when none is left; None when the year is over). ``pace_per_day`` [unit/day] is
    the average daily use so far; ``below_pace_pct`` [%] is how far ``per_day_left`` lies
    below that pace (negative: the building may use more than so far; None without use).
    """

    ratio: float
    limit: float
    used_to_date: float
    remaining: float
    days_elapsed: int
    days_left: int
    pace_per_day: float
    per_day_left: float | None
    below_pace_pct: float | None

    @property
    def exceeded(self) -> bool:
        """True when the use so far already passes the limit."""
        return self.remaining < 0


def remaining_allowance(
    limit_value: float, used_to_date: float, year: int, as_of: date, ratio: float = 1.0
) -> Allowance:
    """The allowance under ``limit_value × ratio`` (basis unit) for ``year`` after
    ``used_to_date`` through local day ``as_of`` (inclusive).

    >>> a = remaining_allowance(365.0, 100.0, 2025, date(2025, 4, 10))  # day 100 of 365
    >>> a.remaining, a.days_left, a.pace_per_day, a.per_day_left
    (265.0, 265, 1.0, 1.0)
    """
    if not math.isfinite(limit_value) or limit_value <= 0:
        raise ValueError("the quota must be a positive number")
    if as_of.year != year:
        raise ValueError(f"as-of date {as_of} is not in {year}")
    limit = limit_value * ratio
    days_elapsed = (as_of - year_start(year)).days + 1
    days_left = days_in_year(year) - days_elapsed
    remaining = limit - used_to_date
    pace = used_to_date / days_elapsed
    if days_left <= 0:
        per_day: float | None = None
    else:
        per_day = max(remaining, 0.0) / days_left
    below: float | None = None
    if per_day is not None and pace > 0:
        below = (1.0 - per_day / pace) * 100.0
    return Allowance(
        ratio=ratio,
        limit=limit,
        used_to_date=used_to_date,
        remaining=remaining,
        days_elapsed=days_elapsed,
        days_left=days_left,
        pace_per_day=pace,
        per_day_left=per_day,
        below_pace_pct=below,
    )
