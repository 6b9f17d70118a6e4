"""Flags: zero runs and spikes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingest import codes
from ingest.flags import DEFAULTS, compute_flags


def test_flags_zero_run_and_spike() -> None:
    n = 72
    keys = np.ones(n, dtype=np.int64)
    times = np.arange(n, dtype=np.int64) * 3_600_000_000
    energy = np.full(n, 2.0)
    energy[10:36] = 0.0  # 26 hours of zeros
    energy[40] = 500.0
    minutes = np.full(n, 60)
    flags, records = compute_flags(keys, times, energy, minutes, dict(DEFAULTS))
    assert (flags[10:36] & codes.FLAG_ZERO_RUN).all()
    assert not (flags[:10] & codes.FLAG_ZERO_RUN).any()
    assert flags[40] & codes.FLAG_SPIKE
    assert [r.flag_code for r in records] == ["zero_run", "spike"]
    assert records[0].end_us - records[0].start_us == 26 * 3_600_000_000


@pytest.mark.parametrize("sorted_by_meter", [True, False])
def test_spikes_are_those_above_ratio_times_the_meters_median(sorted_by_meter: bool) -> None:
    # Meters with steady use, with spikes, with a few readings only, with zeros.
    rng = np.random.default_rng(11)
    keys = np.repeat(np.arange(1, 9), 40)
    times = np.tile(np.arange(40, dtype=np.int64) * 3_600_000_000, 8)
    energy = rng.uniform(1, 3, len(keys))
    energy[keys == 2] *= rng.choice([1, 30], size=40, p=[0.9, 0.1])
    energy[(keys == 3) & (times > 30 * 3_600_000_000)] = 0.0
    energy[keys == 4] = np.where(rng.random(40) < 0.5, 0.0, 1.0)
    energy[np.flatnonzero(keys == 4)[-1]] = 50.0
    energy[(keys == 5) & (times > 20 * 3_600_000_000)] = 0.0  # too few readings for a level
    energy[np.flatnonzero(keys == 5)[3]] = 90.0
    if not sorted_by_meter:
        order = rng.permutation(len(keys))
        keys, times, energy = keys[order], times[order], energy[order]
    flags, records = compute_flags(keys, times, energy, np.full(len(keys), 60), dict(DEFAULTS))
    frame = pd.DataFrame({"k": keys, "e": energy})
    positive = frame[frame["e"] > 0].groupby("k")["e"].agg(["median", "size"])
    level = positive["median"].where(positive["size"] >= DEFAULTS["spike_min_readings"])
    expected = energy > DEFAULTS["spike_ratio"] * level.reindex(keys).to_numpy()
    assert expected.sum() >= 3
    assert ((flags & codes.FLAG_SPIKE) != 0).tolist() == expected.tolist()
    assert sum(r.flag_code == "spike" for r in records) == expected.sum()
