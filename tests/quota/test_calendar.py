"""Local quota calendar: year-boundary attribution, leap years, as-of resolution."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from quota import calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2024, 12, 31, 16, 0, tzinfo=UTC), date(2025, 1, 1)),  # local midnight
        (datetime(2024, 12, 31, 15, 59, tzinfo=UTC), date(2024, 12, 31)),
        (datetime(2025, 6, 30, 23, 0, tzinfo=UTC), date(2025, 7, 1)),
    ],
)
def test_local_day_attributes_readings_to_the_local_year(instant, expected):
    assert calendar.local_day(instant, SHANGHAI) == expected


def test_local_day_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.local_day(datetime(2025, 1, 1), SHANGHAI)


@pytest.mark.parametrize(("year", "days"), [(2023, 365), (2024, 366), (2100, 365), (2000, 366)])
def test_days_in_year(year, days):
    assert calendar.days_in_year(year) == days


def test_elapsed_share_counts_the_as_of_day_and_leap_days():
    assert calendar.elapsed_share(2024, date(2024, 1, 1)) == pytest.approx(1 / 366)
    assert calendar.elapsed_share(2025, date(2025, 1, 1)) == pytest.approx(1 / 365)
    assert calendar.elapsed_share(2024, date(2024, 3, 1)) == pytest.approx(61 / 366)
    assert calendar.elapsed_share(2024, date(2024, 12, 31)) == 1.0


def test_elapsed_hours_in_local_time_and_cut_at_now():
    assert calendar.elapsed_hours(2025, date(2025, 1, 2), SHANGHAI) == 48.0
    now = datetime(2025, 1, 2, 6, 0, tzinfo=SHANGHAI)
    assert calendar.elapsed_hours(2025, date(2025, 1, 2), SHANGHAI, now=now) == 30.0
    assert (
        calendar.elapsed_hours(2025, date(2025, 1, 10), SHANGHAI, start_day=date(2025, 1, 9))
        == 48.0
    )
    assert calendar.hours_in_year(2024, SHANGHAI) == 8784.0


def test_elapsed_hours_across_a_dst_change():
    berlin = ZoneInfo("Europe/Berlin")
    # 2025-03-30 has 23 hours in Berlin.
    assert (
        calendar.elapsed_hours(2025, date(2025, 3, 30), berlin, start_day=date(2025, 3, 30)) == 23.0
    )


def test_same_date_previous_year_maps_29_february():
    assert calendar.same_date_previous_year(date(2024, 2, 29)) == date(2023, 2, 28)
    assert calendar.same_date_previous_year(date(2025, 3, 1)) == date(2024, 3, 1)


def test_resolve_as_of():
    today = date(2025, 7, 1)
    assert calendar.resolve_as_of(2025, None, today) == today
    assert calendar.resolve_as_of(2024, None, today) == date(2024, 12, 31)
    assert calendar.resolve_as_of(2025, date(2025, 3, 1), today) == date(2025, 3, 1)
    with pytest.raises(calendar.CalendarError, match="not in 2025"):
        calendar.resolve_as_of(2025, date(2024, 12, 31), today)
    with pytest.raises(calendar.CalendarError, match="not started"):
        calendar.resolve_as_of(2026, None, today)
