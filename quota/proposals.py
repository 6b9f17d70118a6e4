"""Quota proposals (pure): history, benchmark and combined methods with the 5 % rules.

Beijing scheme (京建发〔2014〕17号; revised ~2021), parameters in ``[proposal]``:

- ``history``: a statistic (mean by default, or median) of up to ``history_years`` previous
  complete years of the building × (1 − reduction). Buildings with fewer complete years use
  the years they have; with none, the benchmark.
- ``benchmark``: floor area × the same-type citywide intensity of the previous year, pooled
  over the complete peers (Σ use ÷ Σ floor area), when there are at least ``min_peer_count``
  of them, else the configured ``[proposal.benchmark_table]`` (unverified placeholders).
- ``combined`` (default, the revised rule's worked example): the smaller of the two.

The reduction applies to the historical base: the most efficient ``exempt_best_share`` of a
type (lowest historical intensity) get none, the least efficient ``worst_share`` get
``reduction_rate + worst_extra_reduction_rate``. Group sizes are floor(share × peers): with
20 buildings of a type 5 % is one building, with fewer than 20 nobody.

Units: ``limit_value`` and bases in the basis unit (kWh for ``electricity_kwh``, kgce for
``energy_kgce``); intensities per m² of floor area per year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quota.intensity import best_and_worst
from quota.rules import RulesError, group, number

METHODS = ("history", "benchmark", "combined")
STATISTICS = ("mean", "median")
TABLE_KEYS = {"electricity_kwh": "electricity_kwh_per_m2", "energy_kgce": "energy_kgce_per_m2"}

PROPOSAL_COLUMNS = (
    "building_id",
    "year",
    "basis",
    "limit_value",
    "method",
    "base_years",
    "historical_base",
    "historical_intensity_per_m2",
    "benchmark",
    "benchmark_intensity_per_m2",
    "benchmark_source",
    "benchmark_peer_count",
    "reduction_applied",
    "efficiency_group",
    "explanation",
)


@dataclass(frozen=True)
class ProposalRules:
    """The ``[proposal]`` parameters (rates are fractions, 0.05 = 5 %)."""

    method: str
    statistic: str
    history_years: int
    reduction_rate: float
    exempt_best_share: float
    worst_share: float
    worst_extra_reduction_rate: float
    min_peer_count: int
    min_year_completeness: float
    benchmark_table: Mapping[str, Mapping[str, float]]

    RULE_GROUPS = ("proposal", "proposal.benchmark_table", "data")

    @classmethod
    def from_rules(cls, rules: Mapping[str, Any], method: str | None = None) -> ProposalRules:
        p = group(rules, "proposal")
        chosen = method or str(p.get("method", "combined"))
        statistic = str(p.get("statistic", "mean"))
        if chosen not in METHODS:
            raise RulesError(f"rules: [proposal] method {chosen!r} is not one of {METHODS}")
        if statistic not in STATISTICS:
            raise RulesError(f"rules: [proposal] statistic {statistic!r} not in {STATISTICS}")
        try:
            table = group(rules, "proposal.benchmark_table.types")
        except RulesError:
            table = {}
        return cls(
            method=chosen,
            statistic=statistic,
            history_years=int(number(rules, "proposal", "history_years", minimum=1)),
            reduction_rate=number(rules, "proposal", "reduction_rate"),
            exempt_best_share=number(rules, "proposal", "exempt_best_share"),
            worst_share=number(rules, "proposal", "worst_share"),
            worst_extra_reduction_rate=number(rules, "proposal", "worst_extra_reduction_rate"),
            min_peer_count=int(number(rules, "data", "min_peer_count", minimum=1)),
            min_year_completeness=number(rules, "data", "min_profile_year_completeness"),
            benchmark_table={k: dict(v) for k, v in table.items() if isinstance(v, Mapping)},
        )


def history_base(
    annual: pd.DataFrame, year: int, history_years: int, statistic: str
) -> pd.DataFrame:
    """Per building: the statistic of up to ``history_years`` most recent complete years
    before ``year``.

    ``annual``: building_id, year, value (basis unit), is_complete. Returns building_id,
    historical_base, base_years (e.g. "2021;2022;2023"), year_count.
    """
    usable = annual[(annual["year"] < year) & annual["is_complete"].astype(bool)]
    usable = usable.sort_values(["building_id", "year"], ascending=[True, False])
    usable = usable.groupby("building_id", group_keys=False).head(history_years)
    grouped = usable.sort_values(["building_id", "year"]).groupby("building_id")
    out = pd.DataFrame(
        {
            "historical_base": grouped["value"].agg(statistic),
            "base_years": grouped["year"].agg(lambda ys: ";".join(str(int(y)) for y in ys)),
            "year_count": grouped["year"].size(),
        }
    )
    out.index.name = "building_id"
    return out.reset_index()


def benchmark_intensity(
    annual: pd.DataFrame,
    buildings: pd.DataFrame,
    year: int,
    min_peer_count: int,
    table: Mapping[str, Mapping[str, float]],
    basis: str,
) -> pd.DataFrame:
    """Per building type: the previous year's pooled intensity of complete peers
    (Σ value ÷ Σ floor area) with its peer count, or the table value when there are fewer
    than ``min_peer_count`` peers. Columns: intensity_per_m2, source, peer_count."""
    prev = annual[(annual["year"] == year - 1) & annual["is_complete"].astype(bool)]
    prev = prev.merge(
        buildings[["building_id", "building_type", "floor_area_m2"]], on="building_id"
    )
    pooled = prev.groupby("building_type").agg(
        value=("value", "sum"), area=("floor_area_m2", "sum"), peer_count=("building_id", "nunique")
    )
    types = sorted(set(buildings["building_type"]) | set(pooled.index))
    rows = []
    key = TABLE_KEYS[basis]
    for building_type in types:
        peers = int(pooled["peer_count"].get(building_type, 0))
        if peers >= min_peer_count:
            intensity = float(pooled.at[building_type, "value"] / pooled.at[building_type, "area"])
            source = "citywide"
        elif building_type in table and key in table[building_type]:
            intensity, source = float(table[building_type][key]), "table"
        else:
            intensity, source = np.nan, "none"
        rows.append(
            {
                "building_type": building_type,
                "intensity_per_m2": intensity,
                "source": source,
                "peer_count": peers,
            }
        )
    return pd.DataFrame(rows).set_index("building_type")


def propose(
    year: int,
    basis: str,
    buildings: pd.DataFrame,
    annual: pd.DataFrame,
    rules: ProposalRules,
) -> pd.DataFrame:
    """Proposed quotas for ``year`` and ``basis``, one row per building in ``buildings``
    (building_id, building_type, floor_area_m2), columns :data:`PROPOSAL_COLUMNS`.

    ``annual``: building_id, year, value (basis unit), is_complete. A building with neither a
    history nor a benchmark gets ``limit_value`` NaN (method "none").
    """
    b = buildings.set_index("building_id")
    hist = (
        history_base(annual, year, rules.history_years, rules.statistic)
        .set_index("building_id")
        .reindex(b.index)
    )
    hist_intensity = hist["historical_base"] / b["floor_area_m2"]
    is_best, is_worst = best_and_worst(
        hist_intensity, b["building_type"], rules.exempt_best_share, rules.worst_share
    )
    reduction = pd.Series(rules.reduction_rate, index=b.index)
    reduction[is_best] = 0.0
    reduction[is_worst] = rules.reduction_rate + rules.worst_extra_reduction_rate
    history_limit = hist["historical_base"] * (1.0 - reduction)

    bench = benchmark_intensity(
        annual, buildings, year, rules.min_peer_count, rules.benchmark_table, basis
    )
    bench_intensity = b["building_type"].map(bench["intensity_per_m2"]).astype("float64")
    benchmark = b["floor_area_m2"] * bench_intensity

    has_hist = history_limit.notna()
    has_bench = benchmark.notna()
    if rules.method == "history":
        limit_value = history_limit.where(has_hist, benchmark)
        method = np.where(has_hist, "history", np.where(has_bench, "benchmark", "none"))
    elif rules.method == "benchmark":
        limit_value = benchmark
        method = np.where(has_bench, "benchmark", "none")
    else:
        limit_value = pd.concat([history_limit, benchmark], axis=1).min(axis=1, skipna=True)
        limit_value = limit_value.where(has_hist | has_bench)
        method = np.select(
            [
                has_hist & has_bench & (history_limit <= benchmark),
                has_hist & has_bench,
                has_hist,
                has_bench,
            ],
            ["combined:history", "combined:benchmark", "history", "benchmark"],
            default="none",
        )
    used_history = pd.Series(method, index=b.index).str.endswith("history")
    group_label = np.where(is_best, "best", np.where(is_worst, "worst", ""))
    out = pd.DataFrame(
        {
            "building_id": b.index,
            "year": year,
            "basis": basis,
            "limit_value": limit_value.to_numpy(),
            "method": method,
            "base_years": hist["base_years"].fillna("").to_numpy(),
            "historical_base": hist["historical_base"].to_numpy(),
            "historical_intensity_per_m2": hist_intensity.to_numpy(),
            "benchmark": benchmark.to_numpy(),
            "benchmark_intensity_per_m2": bench_intensity.to_numpy(),
            "benchmark_source": b["building_type"].map(bench["source"]).fillna("none").to_numpy(),
            "benchmark_peer_count": b["building_type"]
            .map(bench["peer_count"])
            .fillna(0)
            .astype(int)
            .to_numpy(),
            "reduction_applied": np.where(used_history, reduction, 0.0),
            "efficiency_group": group_label,
        }
    )
    out["explanation"] = [_explain(row, basis, rules) for row in out.to_dict("records")]
    return out.loc[:, list(PROPOSAL_COLUMNS)]


def _explain(row: dict[str, Any], basis: str, rules: ProposalRules) -> str:
    unit = "kWh" if basis == "electricity_kwh" else "kgce"
    parts = []
    if isinstance(row["base_years"], str) and row["base_years"]:
        parts.append(
            f"{rules.statistic} of {row['base_years']} = {row['historical_base']:,.0f} {unit}"
        )
    if np.isfinite(row["benchmark"]):
        parts.append(
            f"benchmark {row['benchmark_intensity_per_m2']:,.2f} {unit}/m² "
            f"({row['benchmark_source']}, {row['benchmark_peer_count']} peers) = "
            f"{row['benchmark']:,.0f} {unit}"
        )
    if row["efficiency_group"] == "best":
        parts.append(f"most efficient {rules.exempt_best_share:.0%} of type: no reduction")
    elif row["efficiency_group"] == "worst":
        parts.append(f"least efficient {rules.worst_share:.0%} of type: extra reduction")
    parts.append(f"method {row['method']}, reduction {row['reduction_applied']:.1%}")
    return "; ".join(parts)
