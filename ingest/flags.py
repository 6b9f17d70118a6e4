"""Flags for suspicious-but-possible readings (pure): long runs of zeros and spikes.

Such readings are stored and flagged (``reading.flags`` bits and one ``reading_flag`` row per
run or spike), never rejected: a closed building does use nothing, a cold snap does spike.

Parameters (``[ingest]`` in the rules, defaults below):

- ``zero_run_hours``: consecutive zero readings of one meter covering at least this many
  hours form a zero run [h];
- ``spike_ratio``: a reading above this multiple of the meter's usual level (the median of
  its positive readings in the batch) is a spike [-];
- ``spike_min_readings``: the usual level needs at least this many positive readings.

Runs and levels are judged within one load batch (100,000 rows by default), so a zero run
split across two batches is flagged only when a part reaches the threshold on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ingest.codes import FLAG_SPIKE, FLAG_ZERO_RUN

DEFAULTS: dict[str, float] = {
    "zero_run_hours": 24.0,
    "spike_ratio": 10.0,
    "spike_min_readings": 24.0,
}


@dataclass(frozen=True)
class FlagRecord:
    """One flagged run or reading: meter, code and time range [µs since epoch]."""

    meter_key: int
    flag_code: str
    start_us: int
    end_us: int
    details: dict[str, Any]


def parameters(rules: dict[str, Any]) -> dict[str, float]:
    """Flag parameters from the ``[ingest]`` rules table, defaults filled in."""
    section = rules.get("ingest", {}) if isinstance(rules, dict) else {}
    return {k: float(section.get(k, v)) for k, v in DEFAULTS.items()}


def limits(rules: dict[str, Any]) -> tuple[int, float]:
    """(future-timestamp tolerance [µs], rollover maximum share [-]) from the ``[ingest]``
    rules table (``future_tolerance_minutes``, ``rollover_max_share``)."""
    section = rules.get("ingest", {}) if isinstance(rules, dict) else {}
    minutes = float(section.get("future_tolerance_minutes", 5.0))
    share = float(section.get("rollover_max_share", 0.5))
    if minutes < 0 or not 0 < share <= 1:
        raise ValueError(
            "[rules.ingest] future_tolerance_minutes must be >= 0 and rollover_max_share in (0, 1]"
        )
    return int(minutes * 60_000_000), share


def compute_flags(
    meter_key: np.ndarray,
    reading_at_us: np.ndarray,
    energy_kwh: np.ndarray,
    interval_minutes: np.ndarray,
    params: dict[str, float],
) -> tuple[np.ndarray, list[FlagRecord]]:
    """(flag bits per row, flag records) for interval readings sorted by meter and time.

    ``energy_kwh`` is each reading's use [kWh]; ``interval_minutes`` each meter's interval.
    """
    n = len(meter_key)
    flags = np.zeros(n, dtype=np.int16)
    records: list[FlagRecord] = []
    if n == 0:
        return flags, records
    interval_us = interval_minutes.astype(np.int64) * 60_000_000

    # Zero runs: maximal stretches of consecutive zero readings of one meter.
    is_zero = energy_kwh == 0
    if is_zero.any():
        new_run = np.ones(n, dtype=bool)
        new_run[1:] = (meter_key[1:] != meter_key[:-1]) | (is_zero[1:] != is_zero[:-1])
        run_id = np.cumsum(new_run) - 1
        starts = np.flatnonzero(new_run)
        ends = np.append(starts[1:], n) - 1
        hours = np.bincount(run_id, weights=interval_minutes / 60.0)
        for run in np.flatnonzero(is_zero[starts] & (hours >= params["zero_run_hours"])):
            first, last = starts[run], ends[run]
            flags[first : last + 1] |= FLAG_ZERO_RUN
            records.append(
                FlagRecord(
                    int(meter_key[first]),
                    "zero_run",
                    int(reading_at_us[first]),
                    int(reading_at_us[last] + interval_us[last]),
                    {"readings": int(last - first + 1), "hours": float(hours[run])},
                )
            )

    # Spikes: far above the meter's median positive reading in this batch.
    positive = energy_kwh > 0
    candidate = positive & _may_spike(meter_key, energy_kwh, positive, params["spike_ratio"])
    if candidate.any():
        # The usual level of the meters that may have a spike: all their positive readings.
        of_candidates = np.isin(meter_key, np.unique(meter_key[candidate])) & positive
        frame = pd.DataFrame({"k": meter_key[of_candidates], "e": energy_kwh[of_candidates]})
        stats = frame.groupby("k", sort=False)["e"].agg(["median", "size"])
        enough = stats[stats["size"] >= params["spike_min_readings"]]
        level = pd.Series(enough["median"]).reindex(meter_key).to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            spike = energy_kwh > params["spike_ratio"] * level
        for row in np.flatnonzero(spike):
            flags[row] |= FLAG_SPIKE
            records.append(
                FlagRecord(
                    int(meter_key[row]),
                    "spike",
                    int(reading_at_us[row]),
                    int(reading_at_us[row] + interval_us[row]),
                    {
                        "energy_kwh": float(energy_kwh[row]),
                        "usual_kwh": float(level[row]),
                        "ratio": float(energy_kwh[row] / level[row]),
                    },
                )
            )
    return flags, records


def _may_spike(
    meter_key: np.ndarray, energy_kwh: np.ndarray, positive: np.ndarray, ratio: float
) -> np.ndarray:
    """Per row: whether its meter's readings could hold a spike. The median of a meter's
    positive readings is at least the smallest of them, so a meter whose largest reading
    is at most ``ratio`` × its smallest positive one has none (the usual case: no median
    needs computing)."""
    n = len(meter_key)
    positive_energy = np.where(positive, energy_kwh, np.inf)
    if (meter_key[1:] >= meter_key[:-1]).all():  # sorted by meter: one run per meter
        starts = np.flatnonzero(np.r_[True, meter_key[1:] != meter_key[:-1]])
        largest = np.maximum.reduceat(energy_kwh, starts)
        smallest = np.minimum.reduceat(positive_energy, starts)
        return np.repeat(largest > ratio * smallest, np.diff(np.r_[starts, n]))
    keys, inverse = np.unique(meter_key, return_inverse=True)
    largest = np.full(len(keys), -np.inf)
    smallest = np.full(len(keys), np.inf)
    np.maximum.at(largest, inverse, energy_kwh)
    np.minimum.at(smallest, inverse, positive_energy)
    return (largest > ratio * smallest)[inverse]
