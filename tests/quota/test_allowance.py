"""The remaining allowance of a building (pure arithmetic)."""

from __future__ import annotations

from datetime import date

import pytest

from quota.allowance import remaining_allowance


def test_remaining_and_daily_allowance_against_pace() -> None:
    # 2025: day 100 is 10 April; 265 days remain. Quota 1,000,000 kWh, 400,000 used.
    a = remaining_allowance(1_000_000.0, 400_000.0, 2025, date(2025, 4, 10))
    assert (a.days_elapsed, a.days_left) == (100, 265)
    assert a.remaining == 600_000.0 and not a.exceeded
    assert a.pace_per_day == 4000.0
    assert a.per_day_left == pytest.approx(600_000.0 / 265)
    # 2264.15 kWh/day left against a pace of 4000: 43.4 % below the pace so far.
    assert a.below_pace_pct == pytest.approx((1 - 600_000.0 / 265 / 4000.0) * 100)
    assert round(a.below_pace_pct, 1) == 43.4


def test_the_120_percent_line() -> None:
    a = remaining_allowance(1_000_000.0, 400_000.0, 2025, date(2025, 4, 10), ratio=1.2)
    assert a.limit == pytest.approx(1_200_000.0)
    assert a.remaining == pytest.approx(800_000.0)
    assert a.per_day_left == pytest.approx(800_000.0 / 265)


def test_more_room_than_used_so_far_is_a_negative_gap() -> None:
    a = remaining_allowance(1_000_000.0, 100_000.0, 2025, date(2025, 4, 10))
    assert a.pace_per_day == 1000.0 and a.per_day_left > 1000.0
    assert a.below_pace_pct is not None and a.below_pace_pct < 0


def test_already_over_the_limit_leaves_nothing() -> None:
    a = remaining_allowance(100.0, 130.0, 2024, date(2024, 6, 30))
    assert a.exceeded and a.remaining == -30.0
    assert a.per_day_left == 0.0 and a.below_pace_pct == 100.0
    assert a.days_elapsed == 182 and a.days_left == 366 - 182  # leap year


def test_a_closed_year_has_no_days_left() -> None:
    a = remaining_allowance(100.0, 90.0, 2025, date(2025, 12, 31))
    assert a.days_left == 0 and a.per_day_left is None and a.below_pace_pct is None
    assert a.remaining == 10.0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        remaining_allowance(0.0, 1.0, 2025, date(2025, 1, 1))
    with pytest.raises(ValueError):
        remaining_allowance(10.0, 1.0, 2025, date(2024, 12, 31))
