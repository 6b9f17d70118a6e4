"""Retrofit candidates (pure): savings potential and the triggers that put a building on
the list, ranked by savings potential.

Savings potential [kWh/a] = max(0, corrected EUI − target EUI) × floor area (DOMAIN.md §6),
but at least the building's electricity excess over its quota (a building over its quota
can save at least that much; ``savings_source`` says which of the two applies: ``target_eui``,
``excess`` or ``none``),
with the electricity EUI annualised by the evaluation and corrected for operating hours and
occupancy (GB/T 51161-2016, ``quota.intensity``). Target: the median corrected EUI of the
same type (at least ``min_peer_count`` peers), or the type's guide value where
``[retrofit] target = "guide"`` and the table has one. Also reported: kgce (electricity
factor), t CO₂ (grid factor) and CNY (``tariff_cny_per_kwh``).

Triggers (boolean columns): ``over_20`` (above 120 % of the quota this year),
``over_20_repeat`` (also last year), ``worst_of_type`` (worst ``worst_share`` corrected EUI
of the type), ``above_constraint`` (corrected EUI above the GB/T 51161 constraint value where
configured), ``high_base_load`` (night/weekend mean power ÷ occupied-hours mean power above
``base_load_ratio_threshold``, only where hourly interval data exist; NaN-free False
otherwise). A building is listed when its savings potential is positive or any trigger holds.
Out-of-scope buildings are not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quota import intensity
from quota.rules import Factors, group, number

TRIGGERS = ("over_20", "over_20_repeat", "worst_of_type", "above_constraint", "high_base_load")
CANDIDATE_COLUMNS = (
    "rank",
    "building_id",
    "building_type",
    "floor_area_m2",
    "eui_kwh_per_m2",
    "corrected_eui_kwh_per_m2",
    "target_eui_kwh_per_m2",
    "target_source",
    "constraint_kwh_per_m2",
    "savings_kwh_per_year",
    "savings_kgce_per_year",
    "savings_tco2_per_year",
    "savings_cny_per_year",
    "savings_source",
    "base_load_ratio",
    *TRIGGERS,
    "status",
)


@dataclass(frozen=True)
class RetrofitRules:
    """``[retrofit]`` parameters plus the peer minimum and conversion factors."""

    tariff_cny_per_kwh: float
    worst_share: float
    base_load_ratio_threshold: float
    base_load_window_days: int
    target: str
    min_peer_count: int
    factors: Factors

    RULE_GROUPS = ("retrofit", "standards.gb51161", "conversion", "emissions")

    @classmethod
    def from_rules(cls, rules: Mapping[str, Any]) -> RetrofitRules:
        target = str(group(rules, "retrofit").get("target", "peer_median"))
        return cls(
            tariff_cny_per_kwh=number(rules, "retrofit", "tariff_cny_per_kwh"),
            worst_share=number(rules, "retrofit", "worst_share"),
            base_load_ratio_threshold=number(rules, "retrofit", "base_load_ratio_threshold"),
            base_load_window_days=int(
                number(rules, "retrofit", "base_load_window_days", minimum=1)
            ),
            target=target if target in ("peer_median", "guide") else "peer_median",
            min_peer_count=int(number(rules, "data", "min_peer_count", minimum=1)),
            factors=Factors.from_rules(rules),
        )


def target_eui(
    corrected: pd.Series, building_type: pd.Series, standards: pd.DataFrame, rules: RetrofitRules
) -> tuple[pd.Series, pd.Series]:
    """(target EUI [kWh/m²·a], source) per building: peer median of the type's corrected
    EUI (≥ min_peer_count peers), or the guide value when configured and available."""
    frame = pd.DataFrame({"v": corrected, "t": building_type})
    median = frame.groupby("t")["v"].transform("median")
    peers = frame.groupby("t")["v"].transform("count")
    peer_ok = peers >= rules.min_peer_count
    guide = (
        building_type.map(standards["guide_kwh_per_m2"])
        if not standards.empty
        else pd.Series(np.nan, index=corrected.index)
    )
    guide = guide.astype("float64")
    use_guide = (rules.target == "guide") & guide.notna()
    target = pd.Series(
        np.where(use_guide, guide, np.where(peer_ok, median, np.nan)),
        index=corrected.index,
        dtype="float64",
    )
    source = pd.Series(
        np.where(use_guide, "guide", np.where(peer_ok, "peer_median", "none")),
        index=corrected.index,
        dtype=object,
    )
    return target, source


def screen(
    buildings: pd.DataFrame,
    results: pd.DataFrame,
    rules: RetrofitRules,
    rule_table: Mapping[str, Any],
) -> pd.DataFrame:
    """Savings potential and evaluation-based triggers for every in-scope building.

    ``buildings``: building_id, building_type, floor_area_m2, operating_hours_per_year,
    area_per_person_m2. ``results``: one evaluation's rows (building_id, basis, status,
    electricity_eui_kwh_per_m2, optionally excess [kWh on the electricity basis]). Returns
    one row per building (not yet filtered or ranked).
    """
    res = results[results["status"] != "out_of_scope"]
    if "excess" in res.columns:
        electricity = res[res["basis"] == "electricity_kwh"]
        excess_kwh = (
            pd.to_numeric(electricity["excess"], errors="coerce")
            .groupby(electricity["building_id"])
            .max()
        )
    else:
        excess_kwh = pd.Series(dtype="float64")
    per_building = res.groupby("building_id").agg(
        eui_kwh_per_m2=("electricity_eui_kwh_per_m2", "first"),
        over_20=("status", lambda s: bool(s.isin(["over_20", "over_20_repeat"]).any())),
        over_20_repeat=("status", lambda s: bool((s == "over_20_repeat").any())),
        status=("status", lambda s: _worst_status(s)),
    )
    b = buildings.set_index("building_id").loc[
        buildings["building_id"].isin(per_building.index).to_numpy()
    ]
    df = b[["building_type", "floor_area_m2"]].join(per_building, how="inner")
    eui = df["eui_kwh_per_m2"].astype("float64")
    corrected = intensity.corrected_eui_kwh_per_m2(
        eui,
        b["operating_hours_per_year"].reindex(df.index),
        b["area_per_person_m2"].reindex(df.index),
        rule_table,
    )
    standards = intensity.standard_values(rule_table)
    target, source = target_eui(corrected, df["building_type"], standards, rules)
    eui_savings = ((corrected - target).clip(lower=0.0) * df["floor_area_m2"]).fillna(0.0)
    over_quota = excess_kwh.reindex(df.index).astype("float64").fillna(0.0).clip(lower=0.0)
    savings = np.maximum(eui_savings, over_quota)
    savings_source = np.where(
        over_quota > eui_savings, "excess", np.where(eui_savings > 0, "target_eui", "none")
    )
    _, is_worst = intensity.best_and_worst(corrected, df["building_type"], 0.0, rules.worst_share)
    constraint = (
        df["building_type"].map(standards["constraint_kwh_per_m2"]).astype("float64")
        if not standards.empty
        else pd.Series(np.nan, index=df.index)
    )
    f = rules.factors
    out = pd.DataFrame(
        {
            "building_id": df.index,
            "building_type": df["building_type"].to_numpy(),
            "floor_area_m2": df["floor_area_m2"].to_numpy(),
            "eui_kwh_per_m2": eui.to_numpy(),
            "corrected_eui_kwh_per_m2": corrected.to_numpy(),
            "target_eui_kwh_per_m2": target.to_numpy(),
            "target_source": source.to_numpy(),
            "constraint_kwh_per_m2": constraint.to_numpy(),
            "savings_kwh_per_year": savings.to_numpy(),
            "savings_kgce_per_year": (savings * f.electricity_kgce_per_kwh).to_numpy(),
            "savings_tco2_per_year": (savings * f.electricity_kgco2_per_kwh / 1000.0).to_numpy(),
            "savings_cny_per_year": (savings * rules.tariff_cny_per_kwh).to_numpy(),
            "savings_source": savings_source,
            "base_load_ratio": np.nan,
            "over_20": df["over_20"].to_numpy(dtype=bool),
            "over_20_repeat": df["over_20_repeat"].to_numpy(dtype=bool),
            "worst_of_type": is_worst.to_numpy(dtype=bool),
            "above_constraint": (corrected > constraint).fillna(False).to_numpy(dtype=bool),
            "high_base_load": False,
            "status": df["status"].to_numpy(),
        }
    )
    return out.reset_index(drop=True)


_STATUS_ORDER = (
    "over_20_repeat",
    "over_20",
    "over",
    "at_risk",
    "insufficient_data",
    "within",
    "no_quota",
)


def _worst_status(statuses: pd.Series) -> str:
    for status in _STATUS_ORDER:
        if (statuses == status).any():
            return status
    return str(statuses.iloc[0])


def is_listed(screened: pd.DataFrame) -> pd.Series:
    """True for buildings with positive savings potential or any trigger."""
    return (screened["savings_kwh_per_year"] > 0) | screened[list(TRIGGERS)].any(axis=1)


def apply_base_load(
    candidates: pd.DataFrame, base_load: pd.DataFrame, threshold: float
) -> pd.DataFrame:
    """Add ``base_load_ratio`` (night/weekend ÷ occupied mean power) and ``high_base_load``
    (ratio > threshold) from ``base_load`` (building_id, base_kw, occupied_kw)."""
    out = candidates.copy()
    if base_load.empty:
        return out
    bl = base_load.set_index("building_id")
    occupied = bl["occupied_kw"].astype("float64")
    ratio = bl["base_kw"].astype("float64") / occupied.where(occupied > 0)
    out["base_load_ratio"] = out["building_id"].map(ratio).astype("float64")
    out["high_base_load"] = (out["base_load_ratio"] > threshold).fillna(False).astype(bool)
    return out


def rank(candidates: pd.DataFrame) -> pd.DataFrame:
    """Listed candidates ranked by savings potential (highest first; ties by number of
    triggers, then building id), with ``rank`` from 1."""
    listed = candidates[is_listed(candidates)].copy()
    listed["_triggers"] = listed[list(TRIGGERS)].sum(axis=1)
    listed = listed.sort_values(
        ["savings_kwh_per_year", "_triggers", "building_id"],
        ascending=[False, False, True],
        ignore_index=True,
    )
    listed["rank"] = np.arange(1, len(listed) + 1)
    return listed.loc[:, list(CANDIDATE_COLUMNS)]
