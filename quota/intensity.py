"""Energy-use intensity (EUI) and the GB/T 51161-2016 comparison.

EUI = annual energy ÷ floor area [kWh/(m²·a)]. Before comparing with the standard's
constraint (约束值) and guide (引导值) values, GB/T 51161-2016 corrects the measured EUI for
operating hours and occupancy density ([S], see DOMAIN.md §2):

    γ₁ = 0.3 + 0.7 × (T_ref / T)      T = annual operating hours [h], T_ref = 2500 h
    γ₂ = 0.7 + 0.3 × (S / S_ref)      S = floor area per person [m²], S_ref = 10 m²
    corrected EUI = EUI × γ₁ × γ₂

A missing T or S leaves that factor at 1. The references and the per-type values come from
``[standards.gb51161]`` in the rules (cold-zone values unverified).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from quota.rules import RulesError, group, number

STANDARD_GROUP = "standards.gb51161"


def eui_kwh_per_m2(energy_kwh: pd.Series, floor_area_m2: pd.Series) -> pd.Series:
    """Energy-use intensity [kWh/m²] (per year when ``energy_kwh`` is annual)."""
    area = floor_area_m2.astype("float64")
    return energy_kwh.astype("float64") / area.where(area > 0)


def operating_hours_factor(operating_hours_per_year: pd.Series, reference_h: float) -> pd.Series:
    """γ₁ = 0.3 + 0.7 × reference_h / T; 1 where T is unknown [-]."""
    hours = operating_hours_per_year.astype("float64")
    return (0.3 + 0.7 * reference_h / hours.where(hours > 0)).fillna(1.0)


def occupancy_factor(area_per_person_m2: pd.Series, reference_m2: float) -> pd.Series:
    """γ₂ = 0.7 + 0.3 × S / reference_m2; 1 where S is unknown [-]."""
    area = area_per_person_m2.astype("float64")
    return (0.7 + 0.3 * area.where(area > 0) / reference_m2).fillna(1.0)


def corrected_eui_kwh_per_m2(
    eui: pd.Series,
    operating_hours_per_year: pd.Series,
    area_per_person_m2: pd.Series,
    rules: Mapping[str, Any],
) -> pd.Series:
    """EUI × γ₁ × γ₂ [kWh/m²] (GB/T 51161-2016 corrections)."""
    gamma_1 = operating_hours_factor(
        operating_hours_per_year,
        number(rules, STANDARD_GROUP, "operating_hours_reference_h", minimum=1e-9),
    )
    gamma_2 = occupancy_factor(
        area_per_person_m2,
        number(rules, STANDARD_GROUP, "area_per_person_reference_m2", minimum=1e-9),
    )
    return eui.astype("float64") * gamma_1 * gamma_2


def standard_values(rules: Mapping[str, Any]) -> pd.DataFrame:
    """Constraint and guide values by building type [kWh/m²·a] (types not in the table are
    absent)."""
    try:
        types = group(rules, f"{STANDARD_GROUP}.types")
    except RulesError:
        types = {}
    rows = {
        name: {
            "constraint_kwh_per_m2": float(values.get("constraint_kwh_per_m2", np.nan)),
            "guide_kwh_per_m2": float(values.get("guide_kwh_per_m2", np.nan)),
        }
        for name, values in types.items()
        if isinstance(values, Mapping)
    }
    frame = pd.DataFrame.from_dict(
        rows, orient="index", columns=["constraint_kwh_per_m2", "guide_kwh_per_m2"]
    )
    frame.index.name = "building_type"
    return frame.astype("float64")


def rank_within_type(values: pd.Series, building_type: pd.Series) -> pd.DataFrame:
    """Rank of each value within its building type, ascending (1 = lowest intensity), with the
    type's count of ranked (non-missing) values. Ties share the lower rank ('min')."""
    frame = pd.DataFrame({"v": values.astype("float64"), "t": building_type})
    rank = frame.groupby("t", observed=True)["v"].rank(method="min", ascending=True)
    count = frame.groupby("t", observed=True)["v"].transform("count")
    return pd.DataFrame({"rank": rank, "count": count}, index=values.index)


def best_and_worst(
    values: pd.Series, building_type: pd.Series, best_share: float, worst_share: float
) -> tuple[pd.Series, pd.Series]:
    """(is_best, is_worst) per row: the ``best_share`` lowest and ``worst_share`` highest
    intensities of each type. The group size is floor(share × count): with 20 buildings of a
    type, 5 % is exactly one building; with fewer than 20, nobody."""
    ranked = rank_within_type(values, building_type)
    n_best = np.floor(best_share * ranked["count"] + 1e-9)
    n_worst = np.floor(worst_share * ranked["count"] + 1e-9)
    desc = (
        pd.DataFrame({"v": values.astype("float64"), "t": building_type})
        .groupby("t", observed=True)["v"]
        .rank(method="min", ascending=False)
    )
    is_best = values.notna() & (ranked["rank"] <= n_best)
    is_worst = values.notna() & (desc <= n_worst)
    return is_best.astype(bool), is_worst.astype(bool)
