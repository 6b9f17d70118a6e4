"""Pure shaping of query results for the charts and tables: no database, no Dash.

Energies are kWh unless the name says otherwise; ``basis`` is ``electricity_kwh`` (kWh of
electricity) or ``energy_kgce`` (all carriers in kilograms of standard coal equivalent).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import pandas as pd


def cumulative(daily: pd.Series) -> pd.Series:
    """Running total of a per-day series (same unit), indexed by day."""
    return daily.sort_index().cumsum()


def monthly_totals(daily: pd.Series) -> pd.Series:
    """Totals per calendar month (index 1..12, missing months absent) of a per-day series."""
    if daily.empty:
        return pd.Series(dtype=float)
    months = pd.Index([d.month for d in daily.index], name="month")
    return daily.groupby(months).sum()


def trajectory_values(share: pd.Series, limit_value: float) -> pd.Series:
    """The quota trajectory: expected cumulative share (0..1) × the year's limit_value
    [basis unit], by date."""
    return share.astype(float) * float(limit_value)


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
    judged = sum(
        counts.get(s, 0) for s in ("within", "at_risk", "over", "over_20", "over_20_repeat")
    )
    excess: dict[str, float] = {}
    projected_excess: dict[str, float] = {}
    for tier in ("over", "over_20", "over_20_repeat"):
        rows = results[results["status"] == tier] if not results.empty else results
        excess[tier] = (
            float(pd.to_numeric(rows.get("excess"), errors="coerce").sum())
            if not rows.empty
            else 0.0
        )
        projected_excess[tier] = (
            float(
                (
                    pd.to_numeric(rows["projected"], errors="coerce")
                    - pd.to_numeric(rows["limit_value"], errors="coerce")
                )
                .clip(lower=0.0)
                .sum()
            )
            if not rows.empty and "projected" in rows and "limit_value" in rows
            else 0.0
        )
    return {
        "evaluated": len(results),
        "floor_area_m2": float(results["floor_area_m2"].astype(float).sum())
        if not results.empty
        else 0.0,
        "counts": {k: int(v) for k, v in counts.items()},
        "judged": judged,
        "share_within": counts.get("within", 0) / judged if judged else float("nan"),
        "excess_by_tier": excess,
        "projected_excess_by_tier": projected_excess,
    }


def filter_city(
    results: pd.DataFrame,
    districts: Iterable[str] = (),
    types: Iterable[str] = (),
    sizes: Iterable[str] = (),
) -> pd.DataFrame:
    """City results rows (from ``queries.city_results``) in the given districts, building
    types and size classes; an empty filter means all. Order is kept."""
    keep = pd.Series(True, index=results.index)
    for column, wanted in (
        ("district", districts),
        ("building_type", types),
        ("size_class", sizes),
    ):
        chosen = set(wanted)
        if chosen and not results.empty:
            keep &= results[column].isin(chosen)
    return results if bool(keep.all()) else results[keep].reset_index(drop=True)


def status_counts(results: pd.DataFrame, by: str) -> pd.DataFrame:
    """Buildings per (``by`` group, status): a table with groups as rows, statuses as
    columns (zeros filled)."""
    if results.empty:
        return pd.DataFrame()
    return results.groupby([by, "status"]).size().unstack("status", fill_value=0)


RETROFIT_TRIGGERS = (
    "over_20",
    "over_20_repeat",
    "worst_of_type",
    "above_constraint",
    "high_base_load",
)


def retrofit_list(
    ranked: pd.DataFrame,
    registry: pd.DataFrame,
    results: pd.DataFrame,
    districts: Iterable[str] = (),
    types: Iterable[str] = (),
    min_area_m2: float = 0.0,
    triggers_wanted: Iterable[str] = (),
) -> pd.DataFrame:
    """The ranked retrofit list of ``quota.retrofit_screening.ranked_candidates`` (the same
    screening as ``quotawatch export retrofit``, base-load trigger included) with the
    registry's display fields and the dashboard's filters applied.

    ``rank`` stays the city-wide rank. Filters: districts, building types, minimum floor
    area [m²], and any of ``triggers_wanted`` (names of the engine's boolean trigger
    columns).
    """
    from quota import retrofit

    if ranked.empty or registry.empty:
        return pd.DataFrame(
            columns=[
                *retrofit.CANDIDATE_COLUMNS,
                "name",
                "district",
                "type_zh",
                "type_en",
                "utilization",
            ]
        )
    ranked = ranked.copy()
    names = registry.set_index("building_id")
    for column in ("name", "district", "type_zh", "type_en"):
        ranked[column] = ranked["building_id"].map(names[column])
    electricity = results[results["basis"] == "electricity_kwh"].set_index("building_id")
    ranked["utilization"] = ranked["building_id"].map(electricity["utilization"])
    keep = pd.Series(True, index=ranked.index)
    district_set, type_set, wanted = set(districts), set(types), list(triggers_wanted)
    if district_set:
        keep &= ranked["district"].isin(district_set)
    if type_set:
        keep &= ranked["building_type"].isin(type_set)
    if min_area_m2:
        keep &= ranked["floor_area_m2"].astype(float) >= float(min_area_m2)
    wanted = [w for w in wanted if w in ranked.columns]
    if wanted:
        keep &= ranked[wanted].any(axis=1)
    return ranked[keep].reset_index(drop=True)
