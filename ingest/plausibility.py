"""Plausibility limits of readings (pure): dates too early and power too high to be real.

A reading is quarantined

- ``implausible_timestamp`` when it lies before ``earliest_reading_date`` (a local date in
  the quota time zone; default 2000-01-01): a gateway's unset clock (year 1, 1900, 1970) or a
  typo, never a reading of a building under quota management;
- ``implausible_value`` when the average power over the reading's interval is above the
  meter's ceiling: ``max_power_kw`` of the meter when registered, else ``max_power_kw`` of
  ``[rules.ingest]`` (default 100,000 kW = 100 MW, more than any single public building
  draws). For an interval meter the interval is its ``interval_minutes``; for a cumulative
  meter the span since the previous register reading.

Both parameters live under ``[rules.ingest]`` (quota/rules_default.toml).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ingest.timestamps import to_epoch_us

DEFAULT_EARLIEST_READING_DATE = date(2000, 1, 1)
# The earliest the parameter may be: stored readings before it were moved out (sql/0041).
EARLIEST_ALLOWED_DATE = date(1900, 1, 1)
DEFAULT_MAX_POWER_KW = 100_000.0
US_PER_HOUR = 3_600_000_000


@dataclass(frozen=True)
class Plausibility:
    """The limits: readings before ``earliest_us`` [µs since epoch] or whose average power is
    above a meter's ceiling (``max_power_kw`` [kW] by default) are implausible."""

    earliest_date: date
    earliest_us: int
    max_power_kw: float


def plausibility(rules: dict[str, Any], tz: ZoneInfo) -> Plausibility:
    """The limits from the ``[ingest]`` rules table (``earliest_reading_date``,
    ``max_power_kw``), defaults filled in; the earliest date is local midnight in ``tz``."""
    section = rules.get("ingest", {}) if isinstance(rules, dict) else {}
    raw = section.get("earliest_reading_date", DEFAULT_EARLIEST_READING_DATE)
    try:
        earliest = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    except ValueError as exc:
        raise ValueError(
            f"[rules.ingest] earliest_reading_date {raw!r} is not a date (YYYY-MM-DD)"
        ) from exc
    if isinstance(earliest, datetime):
        earliest = earliest.date()
    if earliest < EARLIEST_ALLOWED_DATE:
        raise ValueError(
            f"[rules.ingest] earliest_reading_date {earliest} is before "
            f"{EARLIEST_ALLOWED_DATE}: no reading that old is real"
        )
    max_kw = float(section.get("max_power_kw", DEFAULT_MAX_POWER_KW))
    if not max_kw > 0:
        raise ValueError("[rules.ingest] max_power_kw must be > 0")
    earliest_us = to_epoch_us(datetime.combine(earliest, time(0), tzinfo=tz))
    return Plausibility(earliest, earliest_us, max_kw)


def too_early(reading_at_us: np.ndarray, limits: Plausibility) -> np.ndarray:
    """Per reading: whether it lies before the earliest plausible instant."""
    return reading_at_us < limits.earliest_us


def power_kw(energy_kwh: np.ndarray | float, span_us: np.ndarray | float) -> np.ndarray:
    """Average power over a span [kW] of ``energy_kwh`` [kWh] used in ``span_us`` [µs]
    (infinite for a span of zero or less with use above zero)."""
    energy = np.asarray(energy_kwh, dtype=np.float64)
    hours = np.asarray(span_us, dtype=np.float64) / US_PER_HOUR
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(hours > 0, energy / np.where(hours > 0, hours, 1.0), np.inf * (energy > 0))


def too_powerful(
    energy_kwh: np.ndarray | float, span_us: np.ndarray | float, ceiling_kw: np.ndarray | float
) -> np.ndarray | bool:
    """Per reading: whether ``energy_kwh`` [kWh] over ``span_us`` [µs] means an average
    power above ``ceiling_kw`` [kW] (a non-finite energy always is). Three plain numbers
    (one register reading at a time) take a scalar path with the same arithmetic: the
    array form costs ~15 µs a call in NumPy's set-up alone."""
    if (
        isinstance(energy_kwh, int | float)
        and isinstance(span_us, int | float)
        and isinstance(ceiling_kw, int | float)
    ):
        if not math.isfinite(energy_kwh):
            return True
        if span_us > 0:
            return energy_kwh / (span_us / US_PER_HOUR) > ceiling_kw
        return energy_kwh > 0 and math.inf > ceiling_kw  # infinite power (NaN for no use)
    energy = np.asarray(energy_kwh, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(energy) | (power_kw(energy, span_us) > ceiling_kw)


def describe_power(energy_kwh: float, span_us: float, ceiling_kw: float) -> str:
    """The quarantine message of an implausible value."""
    power = float(power_kw(energy_kwh, span_us))
    shown = f"{power:,.0f} kW" if np.isfinite(power) else "an infinite power"
    return (
        f"average power {shown} over the reading's interval is above the ceiling "
        f"{ceiling_kw:,.0f} kW"
    )
