"""The quota calendar: local years and days in the configured time zone.

A quota year runs from local midnight on 1 January to local midnight on 1 January of the next
year (QUOTAWATCH_TIMEZONE). A reading that starts at 2024-12-31T16:00Z is on local day
2025-01-01 in Asia/Shanghai, so it counts for 2025.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def year_start(year: int) -> date:
    """First local day of quota year ``year``."""
    return date(year, 1, 1)


def year_end(year: int) -> date:
    """Last local day of quota year ``year`` (31 December)."""
    return date(year, 12, 31)


def days_in_year(year: int) -> int:
    """365, or 366 in a leap year."""
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    """The local calendar day of an aware ``instant`` (the day a reading starting then counts
    for)."""
    if instant.tzinfo is None:
        raise ValueError("local_day needs a timezone-aware datetime")
    return instant.astimezone(tz).date()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The aware instant at which local ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=tz)


def hours_between(start: datetime, end: datetime) -> float:
    """Elapsed real hours from ``start`` to ``end`` (aware datetimes; DST-correct) [h]."""
    return max(
        0.0,
        (end.astimezone(ZoneInfo("UTC")) - start.astimezone(ZoneInfo("UTC"))).total_seconds()
        / 3600.0,
    )


def hours_in_year(year: int, tz: ZoneInfo) -> float:
    """Real hours in local year ``year`` (8760 or 8784, ±1 h in a DST zone) [h]."""
    return hours_between(
        local_midnight(year_start(year), tz), local_midnight(date(year + 1, 1, 1), tz)
    )


def elapsed_hours(
    year: int,
    as_of: date,
    tz: ZoneInfo,
    *,
    start_day: date | None = None,
    now: datetime | None = None,
) -> float:
    """Hours of local year ``year`` from ``start_day`` (default 1 January) through the end of
    local day ``as_of``, but not beyond ``now`` when given [h]."""
    start = local_midnight(max(start_day or year_start(year), year_start(year)), tz)
    end = local_midnight(as_of + timedelta(days=1), tz)
    if now is not None:
        end = min(end, max(now, start))
    return hours_between(start, end)


def elapsed_share(year: int, as_of: date) -> float:
    """Share of the year's days through the end of ``as_of`` (day-of-year ÷ 365 or 366)."""
    return ((as_of - year_start(year)).days + 1) / days_in_year(year)


def same_date_previous_year(day: date) -> date:
    """The same calendar date one year earlier; 29 February maps to 28 February."""
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def local_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    """Today's local date in the quota calendar."""
    return (now or datetime.now(tz)).astimezone(tz).date()


class CalendarError(ValueError):
    """An as-of date cannot be used for the requested year."""


def resolve_as_of(year: int, as_of: date | None, today: date) -> date:
    """The as-of date of an evaluation of ``year``.

    Default: ``today``, clamped to 31 December for a past year. An explicit date must lie in
    ``year``; a year that has not started yet cannot be evaluated.
    """
    if as_of is not None:
        if as_of.year != year:
            raise CalendarError(f"as-of date {as_of} is not in {year}")
        return as_of
    if today.year < year:
        raise CalendarError(f"{year} has not started yet (today is {today})")
    return min(today, year_end(year))
