"""The evaluation, as a pure function of plain tables (no database, no environment).

:func:`evaluate` takes the registry, meter counts, the rollup aggregates of the year to date
and of the previous year, and the quotas, and returns one row per building and basis with the
columns of :data:`RESULT_COLUMNS`. SQL that produces the inputs is in ``quota.queries``.

Units: ``energy_kwh`` electricity [kWh] used from local 1 January through the as-of date;
``energy_kgce`` all carriers [kgce]; ``quota``, ``projected`` and ``excess`` in the basis unit
(kWh for ``electricity_kwh``, kgce for ``energy_kgce``); ``eui_kwh_per_m2`` annualised
[kWh/(m²·a)] of the basis's carriers (electricity, or all carriers for ``energy_kgce``);
``co2_kg`` all carriers to date [kg CO₂]; ``expected_share``, ``utilization``,
``completeness`` ratios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from quota import calendar, conversion, profiles, tiers
from quota.intensity import eui_kwh_per_m2
from quota.rules import EvaluationRules

BASES = ("electricity_kwh", "energy_kgce")
DEFAULT_BASIS = "electricity_kwh"

RESULT_COLUMNS = (
    "building_id", "basis", "status", "energy_kwh", "energy_kgce", "quota", "expected_share",
    "utilization", "projected", "completeness", "excess", "eui_kwh_per_m2", "co2_kg",
)
DETAIL_COLUMNS = (
    "profile_source", "quota_source", "previous_utilization", "building_type",
    "floor_area_m2", "energy_all_kwh", "electricity_eui_kwh_per_m2",
)

BUILDING_COLUMNS = ("building_id", "building_type", "floor_area_m2", "public_use_share",
                    "commissioned_year")
METER_COLUMNS = ("building_id", "energy_type", "meter_count")
CURRENT_COLUMNS = ("building_id", "energy_type", "energy_kwh", "covered_hours", "first_day")
PREVIOUS_COLUMNS = ("building_id", "energy_type", "to_date_kwh", "full_kwh", "day_count")
QUOTA_COLUMNS = ("building_id", "year", "basis", "limit_value", "source")


@dataclass
class EvaluationInputs:
    """Everything one evaluation needs, as plain frames (columns as in the *_COLUMNS tuples).

    ``current``: per building and energy type, the year to date (1 Jan .. as_of): energy
    [kWh], covered meter-hours [h] (the sum over the building's meters of that type), first
    local day with data. ``previous``: per building and energy type, the previous year's use
    through the same calendar date [kWh], its full-year use [kWh] and days with data.
    ``quotas``: quotas in force for ``year`` and ``year - 1``.
    """

    year: int
    as_of: date
    buildings: pd.DataFrame
    meters: pd.DataFrame
    current: pd.DataFrame
    previous: pd.DataFrame
    quotas: pd.DataFrame
    timezone_name: str = "Asia/Shanghai"
    now: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _pivot(frame: pd.DataFrame, value: str, index: pd.Index) -> pd.DataFrame:
    """Per building, one column per energy type (missing → 0)."""
    if frame.empty:
        return pd.DataFrame(0.0, index=index, columns=["electricity"])
    wide = frame.pivot_table(index="building_id", columns="energy_type", values=value,
                             aggfunc="sum", fill_value=0.0)
    return wide.reindex(index, fill_value=0.0).astype("float64")


def _kgce_total(frame: pd.DataFrame, value: str, index: pd.Index, rules: EvaluationRules
                ) -> pd.Series:
    if frame.empty:
        return pd.Series(0.0, index=index)
    kgce = conversion.kgce_from_kwh(frame[value], frame["energy_type"], rules.factors)
    return kgce.groupby(frame["building_id"]).sum().reindex(index, fill_value=0.0)


def _expected_hours(
    year: int, as_of: date, tz: ZoneInfo, start_days: pd.Series, now: datetime | None
) -> pd.Series:
    """Elapsed hours per building from its start day through the end of ``as_of`` [h]."""
    cache: dict[date, float] = {}
    out = np.empty(len(start_days))
    for i, day in enumerate(start_days.to_numpy()):
        key = day if isinstance(day, date) else calendar.year_start(year)
        if key not in cache:
            cache[key] = calendar.elapsed_hours(year, as_of, tz, start_day=key, now=now)
        out[i] = cache[key]
    return pd.Series(out, index=start_days.index)


def evaluate(inputs: EvaluationInputs, rules: EvaluationRules) -> pd.DataFrame:
    """Evaluate every building against its quotas for ``inputs.year`` as of ``inputs.as_of``.

    One row per building and basis with a quota in force; a building without any quota gets
    one ``no_quota`` row with basis ``electricity_kwh``. Columns: :data:`RESULT_COLUMNS` then
    :data:`DETAIL_COLUMNS`.
    """
    year, as_of = inputs.year, inputs.as_of
    tz = ZoneInfo(inputs.timezone_name)
    is_year_end = as_of >= calendar.year_end(year)
    b = inputs.buildings.set_index("building_id")
    index = b.index
    factors = rules.factors

    # --- use to date --------------------------------------------------------------------
    cur = inputs.current
    cur_kwh = _pivot(cur, "energy_kwh", index)
    cur_cov = _pivot(cur, "covered_hours", index)
    electricity_kwh = cur_kwh.get("electricity", pd.Series(0.0, index=index))
    all_kwh = cur_kwh.sum(axis=1)
    kgce = _kgce_total(cur, "energy_kwh", index, rules)
    co2 = (
        conversion.co2_kg_from_kwh(cur["energy_kwh"], cur["energy_type"], factors)
        .groupby(cur["building_id"]).sum().reindex(index, fill_value=0.0)
        if not cur.empty else pd.Series(0.0, index=index)
    )

    # --- completeness: covered meter-hours ÷ (registered meters × elapsed hours) ---------
    commissioned_this_year = b["commissioned_year"].astype("Float64").eq(year).fillna(False)
    start_day = pd.Series(None, index=index, dtype=object)
    if not cur.empty and commissioned_this_year.any():
        first_day = pd.to_datetime(cur["first_day"]).groupby(cur["building_id"]).min()
        new_ids = index[commissioned_this_year.to_numpy(dtype=bool)]
        for bid, day in first_day.reindex(new_ids).dropna().items():
            start_day[bid] = day.date()
    hours = _expected_hours(year, as_of, tz, start_day, inputs.now)
    meters = _pivot(inputs.meters, "meter_count", index)
    elec_meters = meters.get("electricity", pd.Series(0.0, index=index))
    expected_elec = elec_meters * hours
    expected_all = meters.sum(axis=1) * hours
    completeness_elec = (cur_cov.get("electricity", pd.Series(0.0, index=index))
                         / expected_elec.where(expected_elec > 0)).clip(0, 1).fillna(0.0)
    completeness_all = (cur_cov.sum(axis=1) / expected_all.where(expected_all > 0)
                        ).clip(0, 1).fillna(0.0)

    # --- previous year: profile inputs and final use ------------------------------------
    prev = inputs.previous
    prev_days = calendar.days_in_year(year - 1)
    prev_elec_to = _pivot(prev, "to_date_kwh", index).get("electricity",
                                                           pd.Series(0.0, index=index))
    prev_elec_full = _pivot(prev, "full_kwh", index).get("electricity",
                                                          pd.Series(0.0, index=index))
    day_share = _pivot(prev, "day_count", index) / prev_days
    elec_complete = day_share.get("electricity", pd.Series(0.0, index=index)) >= (
        rules.min_profile_year_completeness)
    present = _pivot(prev, "full_kwh", index) > 0
    all_complete = (day_share.where(present) >= rules.min_profile_year_completeness).where(
        present).min(axis=1).fillna(0).astype(bool) & present.any(axis=1)
    prev_kgce_to = _kgce_total(prev, "to_date_kwh", index, rules)
    prev_kgce_full = _kgce_total(prev, "full_kwh", index, rules)

    share_by_basis: dict[str, tuple[pd.Series, pd.Series]] = {}
    for basis, to_date, full, complete in (
        ("electricity_kwh", prev_elec_to, prev_elec_full, elec_complete),
        ("energy_kgce", prev_kgce_to, prev_kgce_full, all_complete),
    ):
        own = profiles.share_to_date(to_date, full)
        by_type = profiles.type_profile_shares(b["building_type"], to_date, full, complete)
        type_share = b["building_type"].map(by_type["share"]).astype("float64")
        type_peers = b["building_type"].map(by_type["peer_count"]).astype("float64")
        share, source = profiles.choose_expected_share(
            own, complete, type_share, type_peers, calendar.elapsed_share(year, as_of),
            rules.min_peer_count)
        if is_year_end:
            share = pd.Series(1.0, index=index)
            source = pd.Series("year_end", index=index, dtype=object)
        share_by_basis[basis] = (share, source)

    # Annualised electricity intensity (for retrofit screening, whatever the basis).
    elec_share = share_by_basis["electricity_kwh"][0]
    electricity_eui = eui_kwh_per_m2(
        electricity_kwh if is_year_end
        else (electricity_kwh / elec_share).where(elec_share >= rules.min_expected_share),
        b["floor_area_m2"])

    # --- rows: one per building and basis with a quota ----------------------------------
    q = inputs.quotas
    q_now = q[q["year"] == year]
    q_prev = q[q["year"] == year - 1].set_index(["building_id", "basis"])["limit_value"]
    rows = q_now[["building_id", "basis", "limit_value", "source"]].rename(
        columns={"limit_value": "quota", "source": "quota_source"})
    rows = rows[rows["building_id"].isin(index)]
    without = index.difference(rows["building_id"].unique())
    rows = pd.concat(
        [rows, pd.DataFrame({"building_id": without, "basis": DEFAULT_BASIS,
                             "quota": np.nan, "quota_source": None})],
        ignore_index=True,
    )
    bid = rows["building_id"]
    is_elec = (rows["basis"] == "electricity_kwh").to_numpy()

    def pick(elec: pd.Series, other: pd.Series) -> pd.Series:
        return pd.Series(np.where(is_elec, elec.reindex(bid).to_numpy(),
                                  other.reindex(bid).to_numpy()), index=rows.index)

    use = pick(electricity_kwh, kgce)
    share = pick(*(share_by_basis[k][0] for k in BASES))
    source = pick(*(share_by_basis[k][1] for k in BASES))
    completeness = pick(completeness_elec, completeness_all)
    basis_kwh = pick(electricity_kwh, all_kwh)
    prev_final = pick(prev_elec_full, prev_kgce_full)
    prev_quota = pd.Series(
        q_prev.reindex(pd.MultiIndex.from_frame(rows[["building_id", "basis"]])).to_numpy(),
        index=rows.index)
    prev_util = tiers.utilization(prev_final, prev_quota)

    projectable = share >= rules.min_expected_share
    projected = (use / share).where(projectable)
    if is_year_end:
        projected = use.copy()
    annual_kwh = (basis_kwh / share).where(projectable)
    if is_year_end:
        annual_kwh = basis_kwh.copy()
    area = b["floor_area_m2"].reindex(bid).to_numpy()
    area_s = pd.Series(area, index=rows.index, dtype="float64")

    quota = rows["quota"].astype("float64")
    util = tiers.utilization(use, quota)
    scope = tiers.in_scope(
        b["floor_area_m2"], b["public_use_share"],
        min_floor_area_m2=rules.min_floor_area_m2,
        min_public_use_share=rules.min_public_use_share,
    )
    status = tiers.status(
        in_scope=pd.Series(scope.reindex(bid).to_numpy(), index=rows.index),
        has_quota=quota.notna(),
        utilization_ratio=util,
        projected_ratio=tiers.utilization(projected, quota),
        completeness=completeness,
        previous_utilization_ratio=prev_util,
        is_year_end=is_year_end,
        over_ratio=rules.over_ratio,
        over_20_ratio=rules.over_20_ratio,
        min_completeness=rules.min_completeness,
    )
    result = pd.DataFrame({
        "building_id": bid,
        "basis": rows["basis"],
        "status": status,
        "energy_kwh": electricity_kwh.reindex(bid).to_numpy(),
        "energy_kgce": kgce.reindex(bid).to_numpy(),
        "quota": quota,
        "expected_share": share,
        "utilization": util,
        "projected": projected,
        "completeness": completeness,
        "excess": tiers.excess(use, quota),
        "eui_kwh_per_m2": eui_kwh_per_m2(annual_kwh, area_s),
        "co2_kg": co2.reindex(bid).to_numpy(),
        "profile_source": source,
        "quota_source": rows["quota_source"],
        "previous_utilization": prev_util,
        "building_type": b["building_type"].reindex(bid).to_numpy(),
        "floor_area_m2": area_s,
        "energy_all_kwh": all_kwh.reindex(bid).to_numpy(),
        "electricity_eui_kwh_per_m2": electricity_eui.reindex(bid).to_numpy(),
    })
    return result.sort_values(["building_id", "basis"], ignore_index=True)


def as_of_cutoffs(year: int, as_of: date) -> dict[str, date]:
    """The local-day ranges the SQL aggregates use: the year to date and the previous year,
    with the previous year's same-calendar-date cutoff."""
    return {
        "year_start": calendar.year_start(year),
        "as_of": as_of,
        "next_day": as_of + timedelta(days=1),
        "previous_start": calendar.year_start(year - 1),
        "previous_cutoff": calendar.same_date_previous_year(as_of),
        "previous_end": calendar.year_end(year - 1),
    }


def month_split(cutoff: date) -> tuple[date, date]:
    """(months_end, days_start) for "1 January .. cutoff" read as whole months before
    ``months_end`` plus the days ``days_start .. cutoff``. A cutoff on a month's last day is a
    whole month: ``days_start`` is then the day after ``cutoff`` (no day is read)."""
    next_day = cutoff + timedelta(days=1)
    if next_day.day == 1:
        return next_day, next_day
    month_start = cutoff.replace(day=1)
    return month_start, month_start


def rollup_ranges(year: int, as_of: date) -> dict[str, date]:
    """:func:`as_of_cutoffs` plus the month/day split of the year to date and of the previous
    year through the same calendar date (parameters of ``queries.ROLLUP_AGGREGATES``)."""
    ranges = as_of_cutoffs(year, as_of)
    months_end, days_start = month_split(as_of)
    previous_months_end, previous_days_start = month_split(ranges["previous_cutoff"])
    ranges.update(months_end=months_end, days_start=days_start,
                  previous_months_end=previous_months_end,
                  previous_days_start=previous_days_start)
    return ranges
