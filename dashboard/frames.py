"""Pure shaping of query results for the charts and tables: no database, no Dash.

Energies are kWh unless the name says otherwise; ``basis`` is ``electricity_kwh`` (kWh of
electricity) or ``energy_kgce`` (all carriers in kilograms of standard coal equivalent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

KWH_PER_GJ = 1e9 / 3.6e6


def kgce_per_kwh(rules: Mapping[str, Any]) -> dict[str, float]:
    """Calorific-equivalent factor [kgce/kWh] of each energy type, from the rule parameters.

    Electricity uses ``conversion.electricity_kgce_per_kwh``; gas and heat, stored in kWh,
    are converted back through ``units.natural_gas_kwh_per_m3`` and 277.8 kWh/GJ.
    (GB/T 2589-2020 for electricity; the others are secondary-source values.)
    """
    conversion = rules.get("conversion", {})
    units = rules.get("units", {})
    return {
        "electricity": float(conversion.get("electricity_kgce_per_kwh", 0.1229)),
        "natural_gas": float(conversion.get("natural_gas_kgce_per_m3", 1.2143))
        / float(units.get("natural_gas_kwh_per_m3", 9.97)),
        "district_heat": float(conversion.get("district_heat_kgce_per_gj", 34.12)) / KWH_PER_GJ,
    }


def daily_in_basis(
    daily: pd.DataFrame, basis: str, factors_kgce_per_kwh: Mapping[str, float]
) -> pd.Series:
    """Use per local day in the basis's unit from rows (day, energy_type, energy_kwh).

    ``electricity_kwh`` keeps electricity only [kWh]; ``energy_kgce`` sums every carrier
    converted with ``factors_kgce_per_kwh`` [kgce]. Index: day (dates), sorted.
    """
    if daily.empty:
        return pd.Series(dtype=float, name="energy")
    data = daily[["day", "energy_type", "energy_kwh"]].copy()
    if basis == "electricity_kwh":
        data = data[data["energy_type"] == "electricity"]
        values = data["energy_kwh"].astype(float)
    else:
        factor = data["energy_type"].map(factors_kgce_per_kwh).astype(float).fillna(0.0)
        values = data["energy_kwh"].astype(float) * factor
    series = values.groupby(data["day"]).sum().sort_index()
    series.name = "energy"
    return series


def cumulative(daily: pd.Series) -> pd.Series:
    """Running total of a per-day series (same unit), indexed by day."""
    return daily.sort_index().cumsum()


def monthly_totals(daily: pd.Series) -> pd.Series:
    """Totals per calendar month (index 1..12, missing months absent) of a per-day series."""
    if daily.empty:
        return pd.Series(dtype=float)
    months = pd.Index([d.month for d in daily.index], name="month")
    return daily.groupby(months).sum()


def trajectory_values(share: pd.Series, quota: float) -> pd.Series:
    """The quota trajectory: expected cumulative share (0..1) × annual quota, by date."""
    return share.astype(float) * float(quota)


def heatmap_matrix(hourly: pd.DataFrame) -> pd.DataFrame:
    """Hour-of-day (rows 0..23) × local day (columns) matrix of energy [kWh] from rows
    (day, hour, energy_kwh); hours without data are NaN."""
    if hourly.empty:
        return pd.DataFrame(index=range(24), dtype=float)
    matrix = hourly.pivot_table(
        index="hour", columns="day", values="energy_kwh", aggfunc="sum"
    ).reindex(range(24))
    return matrix.astype(float)


def completeness_share(covered_hours: float, start: date, end: date) -> float:
    """Share (0..1) of the hours in local days [start, end) covered by data."""
    hours = max((end - start).days, 0) * 24.0
    if hours <= 0:
        return float("nan")
    return min(float(covered_hours) / hours, 1.0)


def headline(results: pd.DataFrame) -> dict[str, Any]:
    """Headline figures of the city page from city results rows.

    Returns counts per status, ``evaluated`` (rows), ``floor_area_m2`` (sum), ``judged`` (rows
    with a within/at-risk/over status), ``share_within`` (within ÷ judged, NaN without judged
    rows) and ``excess_by_tier`` (sum of ``excess`` per over tier, in the basis's unit).
    """
    counts = results["status"].value_counts().to_dict() if not results.empty else {}
    judged = sum(counts.get(s, 0) for s in ("within", "at_risk", "over", "over_20",
                                             "over_20_repeat"))
    excess: dict[str, float] = {}
    for tier in ("over", "over_20", "over_20_repeat"):
        rows = results[results["status"] == tier] if not results.empty else results
        excess[tier] = float(pd.to_numeric(rows.get("excess"), errors="coerce").sum()) \
            if not rows.empty else 0.0
    return {
        "evaluated": len(results),
        "floor_area_m2": float(results["floor_area_m2"].astype(float).sum())
        if not results.empty else 0.0,
        "counts": {k: int(v) for k, v in counts.items()},
        "judged": judged,
        "share_within": counts.get("within", 0) / judged if judged else float("nan"),
        "excess_by_tier": excess,
    }


def status_counts(results: pd.DataFrame, by: str) -> pd.DataFrame:
    """Buildings per (``by`` group, status): a table with groups as rows, statuses as
    columns (zeros filled)."""
    if results.empty:
        return pd.DataFrame()
    return results.groupby([by, "status"]).size().unstack("status", fill_value=0)


def _triggers_from_details(details: object) -> list[str]:
    if isinstance(details, dict):
        found = details.get("triggers") or []
        if isinstance(found, list | tuple):
            return [str(x) for x in found]
    return []


def rank_retrofit(
    inputs: pd.DataFrame,
    rules: Mapping[str, Any],
    triggers_wanted: Iterable[str] = (),
) -> pd.DataFrame:
    """The ranked retrofit list from electricity-basis results with peer statistics.

    Savings potential [kWh/a] = max(0, EUI − peer median EUI of the type) × floor area
    (DOMAIN §6, target = peer median), when the type has at least ``data.min_peer_count``
    peers; reported also in kgce (``conversion``), tCO₂ (``emissions``) and CNY
    (``retrofit.tariff_cny_per_kwh``). A building is a candidate when it has a trigger:
    ``over_20``/``over_20_repeat`` status, EUI above the GB/T 51161 constraint value of its
    type, EUI in the worst ``retrofit.worst_share`` of its type, or a trigger the quota engine
    stored in ``details.triggers`` (e.g. ``base_load``). Sorted by savings, then
    utilization; ``rank`` starts at 1.
    """
    columns = [
        "rank", "building_id", "name", "district", "building_type", "type_zh", "type_en",
        "floor_area_m2", "status", "utilization", "eui_kwh_per_m2", "peer_median_eui",
        "savings_kwh", "savings_kgce", "savings_tco2", "savings_cny", "triggers",
    ]
    if inputs.empty:
        return pd.DataFrame(columns=columns)
    min_peers = int(rules.get("data", {}).get("min_peer_count", 5))
    constraints = {
        name: float(values["constraint_kwh_per_m2"])
        for name, values in rules.get("standards", {}).get("gb51161", {}).get("types", {}).items()
        if isinstance(values, dict) and "constraint_kwh_per_m2" in values
    }
    kgce = kgce_per_kwh(rules)["electricity"]
    kgco2 = float(rules.get("emissions", {}).get("electricity_kgco2_per_kwh", 0.6776))
    tariff = float(rules.get("retrofit", {}).get("tariff_cny_per_kwh", 0.8))

    data = inputs.copy()
    eui = pd.to_numeric(data["eui_kwh_per_m2"], errors="coerce").astype(float)
    median = pd.to_numeric(data["peer_median_eui"], errors="coerce").astype(float)
    p95 = pd.to_numeric(data["peer_p95_eui"], errors="coerce").astype(float)
    enough = pd.to_numeric(data["peer_count"], errors="coerce").fillna(0) >= min_peers
    area = data["floor_area_m2"].astype(float)
    savings = (eui - median).clip(lower=0) * area
    data["savings_kwh"] = savings.where(enough)
    data["savings_kgce"] = data["savings_kwh"] * kgce
    data["savings_tco2"] = data["savings_kwh"] * kgco2 / 1000.0
    data["savings_cny"] = data["savings_kwh"] * tariff
    data["peer_median_eui"] = median.where(enough)

    constraint = data["building_type"].map(constraints).astype(float)
    triggers: list[list[str]] = []
    for i in range(len(data)):
        found: list[str] = []
        status = data["status"].iat[i]
        if status in ("over_20", "over_20_repeat"):
            found.append(status)
        if not np.isnan(constraint.iat[i]) and eui.iat[i] > constraint.iat[i]:
            found.append("above_constraint")
        if enough.iat[i] and not np.isnan(p95.iat[i]) and eui.iat[i] >= p95.iat[i]:
            found.append("worst_share")
        for extra in _triggers_from_details(data["details"].iat[i] if "details" in data else None):
            if extra not in found:
                found.append(extra)
        triggers.append(found)
    data["triggers"] = triggers
    data = data[data["triggers"].map(bool)]
    wanted = set(triggers_wanted)
    if wanted:
        data = data[data["triggers"].map(lambda found: bool(wanted.intersection(found)))]
    data = data.sort_values(
        ["savings_kwh", "utilization", "building_id"],
        ascending=[False, False, True],
        na_position="last",
    ).reset_index(drop=True)
    data["rank"] = range(1, len(data) + 1)
    return data[columns]
