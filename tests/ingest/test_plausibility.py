"""Plausibility limits: the scalar path of too_powerful gives what the array form gives."""

from __future__ import annotations

import math

import numpy as np

from ingest.plausibility import US_PER_HOUR, too_powerful

CASES = [
    # energy [kWh], span [µs], ceiling [kW]
    (10.0, US_PER_HOUR, 20.0),  # 10 kW: plausible
    (30.0, US_PER_HOUR, 20.0),  # 30 kW: above the ceiling
    (20.0, US_PER_HOUR, 20.0),  # exactly at the ceiling: plausible
    (5.0, 15 * 60 * 1_000_000, 19.0),  # 20 kW over a quarter hour
    (0.0, 0, 20.0),  # no use over no time
    (1.0, 0, 20.0),  # use over no time: infinite power
    (1.0, -US_PER_HOUR, 20.0),  # use over a negative span
    (1.0, 0, math.inf),  # no ceiling
    (-4.0, US_PER_HOUR, 20.0),  # negative use
    (math.inf, US_PER_HOUR, 20.0),
    (math.nan, US_PER_HOUR, 20.0),
    (1e6, 24 * US_PER_HOUR, 41_666.0),  # 41,666.7 kW a day against 41,666 kW
]


def test_scalar_and_array_forms_agree() -> None:
    energy = np.array([c[0] for c in CASES])
    span = np.array([c[1] for c in CASES], dtype=np.int64)
    ceiling = np.array([c[2] for c in CASES])
    as_array = too_powerful(energy, span, ceiling)
    as_scalars = [too_powerful(e, s, c) for e, s, c in CASES]
    assert all(isinstance(v, bool) for v in as_scalars)
    assert as_scalars == [bool(v) for v in as_array]
    assert as_scalars == [
        False,
        True,
        False,
        True,
        False,
        True,
        True,
        False,
        False,
        True,
        True,
        True,
    ]
