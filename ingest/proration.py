"""From bills to building-days (pure): proration, and the rule for bills and meters together.

**Proration** (CalTRACK's billing method): a bill is spread evenly over the local days of its
period, both ends inclusive — value ÷ days per day — times the account's share for each
building it serves. A building with several accounts of one energy type gets their sum.

**Bills and meters together**, for a building and energy type with at least one account:

- a day covered by a bill of its accounts takes the billed figure (the utility's figure is
  what the quota is set on); the building's meters of that energy type are not added;
  the day counts as covered for its whole length (``covered_hours`` = the local day's
  hours), ``source`` = ``bills``;
- a day no bill covers (after the last bill, typically) takes the meters' figures when the
  building has meters, marked ``source`` = ``provisional``; without meters it has no row
  (not covered);
- buildings and energy types without accounts keep their meters' figures (``meters``).

Completeness of an account-based building and energy type is then covered days ÷ elapsed
days (the quota engine counts it as one source of data; see ``quota.queries.METER_COUNTS``).

Days are proleptic Gregorian ordinals (``date.toordinal()``); energies in kWh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

SOURCE_METERS = "meters"
SOURCE_BILLS = "bills"
SOURCE_PROVISIONAL = "provisional"

_KEY_DAYS = 1 << 22  # > any date ordinal (9999-12-31 is 3,652,059)


@dataclass(frozen=True)
class GroupDays:
    """Rows per (group, day), sorted by group then day: ``group`` numbers a (building,
    energy type) pair; energy [kWh], covered hours [h]."""

    group: np.ndarray  # int64
    day: np.ndarray  # int64 date ordinal
    energy_kwh: np.ndarray  # float64 [kWh]
    reading_count: np.ndarray  # int64 (bills: bills covering the day)
    covered_hours: np.ndarray  # float64 [h]
    meter_count: np.ndarray  # int64
    source: np.ndarray  # object: meters | bills | provisional

    def __len__(self) -> int:
        return len(self.group)

    def take(self, rows: np.ndarray) -> GroupDays:
        """The rows ``rows`` (indexes or a mask), in that order."""
        return GroupDays(
            group=self.group[rows],
            day=self.day[rows],
            energy_kwh=self.energy_kwh[rows],
            reading_count=self.reading_count[rows],
            covered_hours=self.covered_hours[rows],
            meter_count=self.meter_count[rows],
            source=self.source[rows],
        )

    @classmethod
    def empty(cls) -> GroupDays:
        i, f = np.zeros(0, np.int64), np.zeros(0)
        return cls(i, i, f, i, f, i, np.zeros(0, dtype=object))


def prorate(
    group: np.ndarray,
    period_start: np.ndarray,
    period_end: np.ndarray,
    energy_kwh: np.ndarray,
    share: np.ndarray,
    lo: int | None = None,
    hi: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Spread bill shares over their days: per (group, day) within [lo, hi] (ordinals; the
    whole periods when None), the energy [kWh] = Σ energy_kwh ÷ period days × share, and the
    number of bills covering the day. One input row per bill and building (``group``).
    Returns (group, day, energy_kwh, bill_count), sorted by group then day."""
    group = np.asarray(group, dtype=np.int64)
    start = np.asarray(period_start, dtype=np.int64)
    end = np.asarray(period_end, dtype=np.int64)
    per_day = np.asarray(energy_kwh, dtype=np.float64) / (end - start + 1)
    per_day = per_day * np.asarray(share, dtype=np.float64)
    first = start if lo is None else np.maximum(start, lo)
    last = end if hi is None else np.minimum(end, hi)
    n = np.maximum(last - first + 1, 0)
    total = int(n.sum())
    if total == 0:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0), z
    which = np.repeat(np.arange(len(n)), n)
    offset = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
    g = group[which]
    day = first[which] + offset
    value = per_day[which]
    key = g * _KEY_DAYS + day
    if len(key) > 1 and not (key[1:] > key[:-1]).all():
        order = np.argsort(key, kind="stable")
        key, g, day, value = key[order], g[order], day[order], value[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        count = np.diff(np.r_[starts, len(key)]).astype(np.int64)
        return g[starts], day[starts], np.add.reduceat(value, starts), count
    return g, day, value, np.ones(total, dtype=np.int64)


def local_day_hours(days: np.ndarray, tz: Any) -> np.ndarray:
    """The length of each local day [h] in time zone ``tz`` (23 or 25 on clock changes)."""
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0:
        return np.zeros(0)
    first = int(days.min())
    span = int(days.max()) - first + 1
    table = np.empty(span)
    for i in range(span):
        d = date.fromordinal(first + i)
        start = datetime.combine(d, time(), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(d + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
        table[i] = (end - start).total_seconds() / 3600.0
    return table[days - first]


def combine(
    billed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    metered: GroupDays,
    has_account: np.ndarray,
    tz: Any,
) -> GroupDays:
    """The building-days of groups under the bills-and-meters rule (module docstring).

    ``billed``: :func:`prorate`'s output; ``metered``: the groups' building-days from
    meters (source ignored); ``has_account[group]``: whether the group has an account."""
    b_group, b_day, b_energy, b_count = billed
    b_key = b_group * _KEY_DAYS + b_day
    m_key = metered.group * _KEY_DAYS + metered.day
    keep = ~np.isin(m_key, b_key) if len(b_key) and len(m_key) else np.ones(len(m_key), dtype=bool)
    m_source = np.where(
        np.asarray(has_account, dtype=bool)[metered.group[keep]],
        SOURCE_PROVISIONAL,
        SOURCE_METERS,
    ).astype(object)
    n_billed = len(b_key)
    if not len(metered):  # bills only (no meters): the billed days as they are
        return GroupDays(
            group=b_group,
            day=b_day,
            energy_kwh=b_energy,
            reading_count=b_count,
            covered_hours=local_day_hours(b_day, tz),
            meter_count=np.zeros(n_billed, np.int64),
            source=np.full(n_billed, SOURCE_BILLS, dtype=object),
        )
    group = np.concatenate([b_group, metered.group[keep]])
    day = np.concatenate([b_day, metered.day[keep]])
    out = GroupDays(
        group=group,
        day=day,
        energy_kwh=np.concatenate([b_energy, metered.energy_kwh[keep]]),
        reading_count=np.concatenate([b_count, metered.reading_count[keep]]),
        covered_hours=np.concatenate([local_day_hours(b_day, tz), metered.covered_hours[keep]]),
        meter_count=np.concatenate([np.zeros(n_billed, np.int64), metered.meter_count[keep]]),
        source=np.concatenate([np.full(n_billed, SOURCE_BILLS, dtype=object), m_source]),
    )
    if not int(keep.sum()):
        return out
    return out.take(np.argsort(group * _KEY_DAYS + day, kind="stable"))
