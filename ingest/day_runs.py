"""Runs of equal building-days (pure): how billed days are stored.

A bill is spread evenly over its days (:mod:`ingest.proration`), so the consecutive days of
one building and energy type that one bill covers carry the same figures. They are stored as
one row of ``building_daily_run`` (first day, last day, the figures of each day) instead of
one ``building_daily`` row a day (sql/0150); ``building_days(lo, hi)`` gives the days back.

Days are proleptic Gregorian ordinals (``date.toordinal()``); energies in kWh, hours in h.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.proration import GroupDays


@dataclass(frozen=True)
class DayRuns:
    """Runs of consecutive, equal days: ``group`` numbers a (building, energy type) pair;
    the figures are those of each day of the run (energy [kWh], covered hours [h])."""

    group: np.ndarray  # int64
    first_day: np.ndarray  # int64 date ordinal
    last_day: np.ndarray  # int64 date ordinal, >= first_day
    energy_kwh: np.ndarray  # float64 [kWh] each day
    reading_count: np.ndarray  # int64 each day
    covered_hours: np.ndarray  # float64 [h] each day
    meter_count: np.ndarray  # int64 each day
    source: np.ndarray  # object

    def __len__(self) -> int:
        return len(self.group)

    @property
    def day_count(self) -> int:
        """Days the runs hold."""
        return int((self.last_day - self.first_day + 1).sum())


def split_runs(days: GroupDays, in_runs: np.ndarray) -> tuple[DayRuns, GroupDays]:
    """Split ``days`` (sorted by group, then day) into the runs of the days where
    ``in_runs`` is true — maximal stretches of consecutive days of one group with equal
    figures and source — and the other days, kept one row a day."""
    in_runs = np.asarray(in_runs, dtype=bool)
    billed = days.take(in_runs)
    group, day = billed.group, billed.day
    figures = (
        billed.energy_kwh,
        billed.reading_count,
        billed.covered_hours,
        billed.meter_count,
        billed.source,
    )
    if len(group):
        same = (group[1:] == group[:-1]) & (day[1:] == day[:-1] + 1)
        for values in figures:
            same &= values[1:] == values[:-1]
        starts = np.flatnonzero(np.r_[True, ~same])
    else:
        starts = np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(group)] - 1 if len(starts) else starts
    runs = DayRuns(
        group=group[starts],
        first_day=day[starts],
        last_day=day[ends],
        energy_kwh=figures[0][starts],
        reading_count=figures[1][starts],
        covered_hours=figures[2][starts],
        meter_count=figures[3][starts],
        source=figures[4][starts],
    )
    return runs, days.take(~in_runs)
