"""Status of a building against its quota (the tiers the regulator acts on).

Exactly one of :data:`STATUSES`, decided in this order (京建发〔2014〕17号, Decree No. 256;
thresholds from ``[tiers]`` and ``[data]`` in the rules):

1. ``out_of_scope`` – below the floor-area or public-use-share threshold (not evaluated);
2. ``no_quota`` – no quota in force for the year and basis;
3. ``over_20_repeat`` – use > over_20_ratio × quota this year, and last year's final use was
   > over_20_ratio × last year's quota;
4. ``over_20`` – use > over_20_ratio × quota;
5. ``over`` – use > over_ratio × quota (a building over its quota is ``over`` whatever its
   data gaps);
6. ``insufficient_data`` – completeness below ``min_completeness``;
7. ``at_risk`` – before the last day of the year, projected year-end use > over_ratio × quota;
8. ``within``.

"Above" is strict: exactly 100 % is ``within`` and exactly 120 % is ``over``. Ratios within a
relative 1e-9 of a threshold count as equal to it (1.356 kWh / 1.13 kWh is 120 %, although
the floating-point quotient is 1.2000000000000002).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STATUSES = (
    "no_quota",
    "out_of_scope",
    "insufficient_data",
    "within",
    "at_risk",
    "over",
    "over_20",
    "over_20_repeat",
)
OVER_STATUSES = ("over", "over_20", "over_20_repeat")
RATIO_TOLERANCE = 1e-9


def utilization(use: pd.Series, limit_value: pd.Series) -> pd.Series:
    """use ÷ limit_value (both in the basis unit); NaN without a positive limit [-]."""
    limit_value = limit_value.astype("float64")
    return use.astype("float64") / limit_value.where(limit_value > 0)


def excess(use: pd.Series, limit_value: pd.Series) -> pd.Series:
    """max(0, use − limit_value) in the basis unit; NaN without a limit."""
    return (use.astype("float64") - limit_value.astype("float64")).clip(lower=0.0)


def is_above(ratio: pd.Series, threshold: float) -> pd.Series:
    """ratio > threshold, with ties (within a relative 1e-9) counted as not above."""
    return ratio.astype("float64") > threshold * (1.0 + RATIO_TOLERANCE)


def status(
    *,
    in_scope: pd.Series,
    has_quota: pd.Series,
    utilization_ratio: pd.Series,
    projected_ratio: pd.Series,
    completeness: pd.Series,
    previous_utilization_ratio: pd.Series,
    is_year_end: bool,
    over_ratio: float,
    over_20_ratio: float,
    min_completeness: float,
) -> pd.Series:
    """The status per row (see the module docstring for the order of the rules).

    ``utilization_ratio`` = use to date ÷ limit_value, ``projected_ratio`` = projected year-end
    use ÷ limit_value (NaN when no projection), ``previous_utilization_ratio`` = last year's
    final use ÷ last year's limit_value (NaN when unknown), ``completeness`` 0..1.
    """
    u = utilization_ratio.astype("float64")
    over_20 = is_above(u, over_20_ratio)
    repeat = over_20 & is_above(previous_utilization_ratio, over_20_ratio)
    conditions = [
        ~in_scope.astype(bool),
        ~has_quota.astype(bool),
        repeat,
        over_20,
        is_above(u, over_ratio),
        ~(completeness.astype("float64") >= min_completeness),
        pd.Series(not is_year_end, index=u.index) & is_above(projected_ratio, over_ratio),
    ]
    choices = [
        "out_of_scope",
        "no_quota",
        "over_20_repeat",
        "over_20",
        "over",
        "insufficient_data",
        "at_risk",
    ]
    return pd.Series(np.select(conditions, choices, default="within"), index=u.index, dtype=object)


def in_scope(
    floor_area_m2: pd.Series,
    public_use_share: pd.Series,
    *,
    min_floor_area_m2: float,
    min_public_use_share: float,
) -> pd.Series:
    """True for buildings the quota scheme covers: floor area ≥ min and public-use share ≥ min
    (Beijing: 3,000 m² and 50 %, 京建发〔2014〕17号)."""
    return (floor_area_m2.astype("float64") >= min_floor_area_m2) & (
        public_use_share.astype("float64") >= min_public_use_share
    )
