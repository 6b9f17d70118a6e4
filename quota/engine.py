"""The evaluation, as a pure function of plain tables (no database, no environment).

:func:`evaluate` takes the registry, meter counts, the rollup aggregates of the year to date
and of the previous year, and the quotas, and returns one row per building and basis with the
columns of :data:`RESULT_COLUMNS`. SQL that produces the inputs is in ``quota.queries``.

Units: ``energy_kwh`` electricity [kWh] used from local 1 January through the as-of date;
``energy_kgce`` all carriers [kgce]; ``limit_value`` (the year's quota limit), ``projected``
and ``excess`` in the basis unit (kWh for ``electricity_kwh``, kgce for ``energy_kgce``);
``eui_kwh_per_m2`` annualised
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
    "building_id",
    "basis",
    "status",
    "energy_kwh",
    "energy_kgce",
    "limit_value",
    "expected_share",
    "utilization",
    "projected",
    "completeness",
    "excess",
    "eui_kwh_per_m2",
    "co2_kg",
)
DETAIL_COLUMNS = (
    "profile_source",
    "curve_source",
    "quota_source",
    "previous_utilization",
    "building_type",
    "floor_area_m2",
    "energy_all_kwh",
    "electricity_eui_kwh_per_m2",
    "quota_version_id",
    "previous_source",
)

BUILDING_COLUMNS = (
    "building_id",
    "building_type",
    "floor_area_m2",
    "public_use_share",
    "commissioned_year",
)
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
    ``quotas``: quotas in force for ``year`` and ``year - 1`` (with an optional
    ``version_id``). ``previous_determined``: per building and basis, the utilisation of
    ``year - 1``'s determination in force (None or empty: none), which the repeat-offender
    rule uses instead of the computed previous year. ``buildings`` holds the registry values
    in force on ``as_of`` (floor area, type, public-use share).
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
    previous_determined: pd.DataFrame | None = None


class _ByBuilding:
    """Row positions of a per-(building, energy type) frame in the registry ``index``, to sum
    its columns per building and energy type with ``numpy.bincount`` (no string grouping)."""

    def __init__(self, frame: pd.DataFrame, index: pd.Index) -> None:
        pos = index.get_indexer(frame["building_id"]) if not frame.empty else np.empty(0, int)
        self.known = pos >= 0
        self.pos = pos[self.known]
        self.n = len(index)
        self.energy_type = frame["energy_type"].to_numpy(dtype=object)[self.known]
        self.types = sorted(set(self.energy_type))
        self.frame = frame

    def values(self, column: str) -> np.ndarray:
        values = self.frame[column].to_numpy(dtype="float64", na_value=np.nan)[self.known]
        return np.where(np.isnan(values), 0.0, values)

    def total(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Σ ``values`` (aligned with the known rows) per building, optionally masked."""
        if mask is None:
            return np.bincount(self.pos, weights=values, minlength=self.n)
        return np.bincount(self.pos[mask], weights=values[mask], minlength=self.n)

    def wide(self, column: str) -> dict[str, np.ndarray]:
        """Per energy type present: Σ ``column`` per building (missing → 0)."""
        values = self.values(column)
        return {t: self.total(values, self.energy_type == t) for t in self.types}

    def converted(self, column: str, convert, factors) -> np.ndarray:
        """Σ per building of ``convert(kWh, energy_type, factors)`` (kgce or kg CO₂)."""
        if not self.types:
            return np.zeros(self.n)
        kwh = pd.Series(self.values(column))
        out = convert(kwh, pd.Series(self.energy_type), factors).to_numpy(dtype="float64")
        return self.total(np.where(np.isnan(out), 0.0, out))


def _sum_types(wide: dict[str, np.ndarray], n: int) -> np.ndarray:
    return np.sum(list(wide.values()), axis=0) if wide else np.zeros(n)


def _expected_hours(
    year: int, as_of: date, tz: ZoneInfo, start_days: dict[int, date], n: int, now: datetime | None
) -> np.ndarray:
    """Elapsed hours per building from its start day (default 1 January; ``start_days`` by
    building position) through the end of ``as_of`` [h]."""
    out = np.full(n, calendar.elapsed_hours(year, as_of, tz, now=now))
    cache: dict[date, float] = {}
    for pos, day in start_days.items():
        if day not in cache:
            cache[day] = calendar.elapsed_hours(year, as_of, tz, start_day=day, now=now)
        out[pos] = cache[day]
    return out


def _first_days(cur: pd.DataFrame, index: pd.Index, new: np.ndarray) -> dict[int, date]:
    """First local day with data per building position, for the buildings in ``new``."""
    if cur.empty or not new.any():
        return {}
    rows = cur[cur["building_id"].isin(index[new])]
    first = pd.to_datetime(rows["first_day"]).groupby(rows["building_id"]).min().dropna()
    positions = index.get_indexer(first.index)
    return {int(p): day.date() for p, day in zip(positions, first, strict=True)}


def _sort_rank(values: np.ndarray) -> np.ndarray:
    """Rank of each value in ascending (code point) order."""
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank


@dataclass
class _UseToDate:
    """Per building (registry position): use from 1 January through the as-of date."""

    electricity_kwh: np.ndarray  # [kWh]
    all_kwh: np.ndarray  # every carrier [kWh]
    kgce: np.ndarray  # every carrier [kgce]
    co2_kg: np.ndarray  # [kg CO₂]
    completeness_electricity: np.ndarray  # [-]
    completeness_all: np.ndarray  # [-]


@dataclass
class _PreviousYear:
    """Per building: the previous year through the same calendar date and in full, and the
    expected share of each basis with the profile chosen for it."""

    electricity_full_kwh: np.ndarray  # [kWh]
    kgce_full: np.ndarray  # [kgce]
    share: dict[str, np.ndarray]  # by basis [-]
    source: dict[str, np.ndarray]  # by basis: own, type, elapsed or year_end
    curve_source: dict[str, np.ndarray]  # by basis: own, type or elapsed (the chosen profile)


def _completeness(meter_hours: np.ndarray, expected_hours: np.ndarray) -> np.ndarray:
    """Covered meter-hours ÷ expected meter-hours, clipped to 0..1; 0 without meters [-]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = meter_hours / np.where(expected_hours > 0, expected_hours, np.nan)
    return np.nan_to_num(np.clip(ratio, 0, 1), nan=0.0)


def _use_to_date(
    inputs: EvaluationInputs, b: pd.DataFrame, rules: EvaluationRules, tz: ZoneInfo
) -> _UseToDate:
    """Use to date per building, and its completeness: covered meter-hours ÷ (registered
    meters × elapsed hours). ``building_daily.covered_hours`` is the MEAN over the
    building's registered meters of a carrier (24 = every meter reported all day), so
    meter-hours = mean × meter count."""
    index, n = b.index, len(b.index)
    zeros = np.zeros(n)
    factors = rules.factors
    cur = _ByBuilding(inputs.current, index)
    cur_kwh = cur.wide("energy_kwh")
    cur_cov = cur.wide("covered_hours")
    commissioned_this_year = b["commissioned_year"].astype("Float64").eq(inputs.year).fillna(False)
    start_days = _first_days(inputs.current, index, commissioned_this_year.to_numpy(dtype=bool))
    hours = _expected_hours(inputs.year, inputs.as_of, tz, start_days, n, inputs.now)
    meters = _ByBuilding(inputs.meters, index).wide("meter_count")
    meter_hours = {t: cov * meters.get(t, zeros) for t, cov in cur_cov.items()}
    return _UseToDate(
        electricity_kwh=cur_kwh.get("electricity", zeros),
        all_kwh=_sum_types(cur_kwh, n),
        kgce=cur.converted("energy_kwh", conversion.kgce_from_kwh, factors),
        co2_kg=cur.converted("energy_kwh", conversion.co2_kg_from_kwh, factors),
        completeness_electricity=_completeness(
            meter_hours.get("electricity", zeros), meters.get("electricity", zeros) * hours
        ),
        completeness_all=_completeness(_sum_types(meter_hours, n), _sum_types(meters, n) * hours),
    )


def _previous_year(
    inputs: EvaluationInputs, b: pd.DataFrame, rules: EvaluationRules, is_year_end: bool
) -> _PreviousYear:
    """The previous year's use and, per basis, the expected share to date with the profile
    chosen (``quota.profiles.choose_expected_share``: own → type → elapsed). On 31 December
    the share is 1 and the source ``year_end``; ``curve_source`` keeps the chosen profile."""
    year, index, n = inputs.year, b.index, len(b.index)
    zeros = np.zeros(n)
    factors = rules.factors
    prev = _ByBuilding(inputs.previous, index)
    prev_days = calendar.days_in_year(year - 1)
    prev_full = prev.wide("full_kwh")
    day_share = {t: v / prev_days for t, v in prev.wide("day_count").items()}
    threshold = rules.min_profile_year_completeness
    elec_complete = day_share.get("electricity", zeros) >= threshold
    # every carrier with previous-year use is complete (and there is at least one)
    any_present = np.zeros(n, dtype=bool)
    all_complete = np.ones(n, dtype=bool)
    for t, full in prev_full.items():
        present = full > 0
        any_present |= present
        all_complete &= ~present | (day_share[t] >= threshold)
    all_complete &= any_present
    electricity_full = prev_full.get("electricity", zeros)
    kgce_full = prev.converted("full_kwh", conversion.kgce_from_kwh, factors)
    out = _PreviousYear(electricity_full, kgce_full, {}, {}, {})
    building_type = b["building_type"]
    for basis, to_date, full, complete in (
        (
            "electricity_kwh",
            prev.wide("to_date_kwh").get("electricity", zeros),
            electricity_full,
            elec_complete,
        ),
        (
            "energy_kgce",
            prev.converted("to_date_kwh", conversion.kgce_from_kwh, factors),
            kgce_full,
            all_complete,
        ),
    ):
        to_date_s = pd.Series(to_date, index=index)
        full_s = pd.Series(full, index=index)
        complete_s = pd.Series(complete, index=index)
        own = profiles.share_to_date(to_date_s, full_s)
        by_type = profiles.type_profile_shares(building_type, to_date_s, full_s, complete_s)
        share, source = profiles.choose_expected_share(
            own,
            complete_s,
            building_type.map(by_type["share"]).astype("float64"),
            building_type.map(by_type["peer_count"]).astype("float64"),
            calendar.elapsed_share(year, inputs.as_of),
            rules.min_peer_count,
        )
        out.curve_source[basis] = source.to_numpy(dtype=object)
        if is_year_end:
            out.share[basis] = np.ones(n)
            out.source[basis] = np.full(n, "year_end", dtype=object)
        else:
            out.share[basis] = share.to_numpy(dtype="float64")
            out.source[basis] = source.to_numpy(dtype=object)
    return out


def _electricity_eui(
    use: _UseToDate,
    previous: _PreviousYear,
    area_m2: np.ndarray,
    rules: EvaluationRules,
    is_year_end: bool,
) -> np.ndarray:
    """Annualised electricity intensity per building [kWh/(m²·a)], for retrofit screening
    whatever the basis: use to date ÷ expected share (NaN below ``min_expected_share``)."""
    share = previous.share["electricity_kwh"]
    with np.errstate(divide="ignore", invalid="ignore"):
        annual = (
            use.electricity_kwh
            if is_year_end
            else np.where(share >= rules.min_expected_share, use.electricity_kwh / share, np.nan)
        )
    return eui_kwh_per_m2(pd.Series(annual), pd.Series(area_m2)).to_numpy()


@dataclass
class _QuotaRows:
    """One output row per building and basis with a quota in force (plus one ``no_quota``
    row per building without any): registry positions, basis, limit_value and its source."""

    pos: np.ndarray
    basis: np.ndarray
    limit_value: np.ndarray  # in the basis unit
    quota_source: np.ndarray
    quota_version_id: pd.Series  # Int64, <NA> for rows without a quota


def _quota_rows(quotas: pd.DataFrame, index: pd.Index, year: int) -> _QuotaRows:
    q_now = quotas[quotas["year"] == year]
    q_pos = index.get_indexer(q_now["building_id"])
    known = q_pos >= 0
    without = np.setdiff1d(np.arange(len(index)), q_pos[known])
    version_ids = (
        q_now["version_id"].to_numpy(dtype="float64", na_value=np.nan)[known]
        if "version_id" in q_now
        else np.full(int(known.sum()), np.nan)
    )
    return _QuotaRows(
        pos=np.concatenate([q_pos[known], without]),
        basis=np.concatenate(
            [
                q_now["basis"].to_numpy(dtype=object)[known],
                np.full(len(without), DEFAULT_BASIS, dtype=object),
            ]
        ),
        limit_value=np.concatenate(
            [
                q_now["limit_value"].to_numpy(dtype="float64", na_value=np.nan)[known],
                np.full(len(without), np.nan),
            ]
        ),
        quota_source=np.concatenate(
            [
                q_now["source"].to_numpy(dtype=object)[known],
                np.full(len(without), None, dtype=object),
            ]
        ),
        quota_version_id=pd.Series(
            np.concatenate([version_ids, np.full(len(without), np.nan)])
        ).astype("Int64"),
    )


def _previous_limit_value(
    quotas: pd.DataFrame, index: pd.Index, year: int, rows: _QuotaRows
) -> tuple[pd.Series, np.ndarray]:
    """Last year's limit_value of each row's building and basis (NaN when none), and each row's
    basis code for sorting."""
    q_last = quotas[quotas["year"] == year - 1]
    bases = pd.Index(sorted(set(rows.basis) | set(q_last["basis"])))
    last_pos = index.get_indexer(q_last["building_id"])
    last_known = last_pos >= 0
    lookup = np.full(len(index) * len(bases), np.nan)
    lookup[last_pos[last_known] * len(bases) + bases.get_indexer(q_last["basis"])[last_known]] = (
        q_last["limit_value"].to_numpy(dtype="float64", na_value=np.nan)[last_known]
    )
    basis_code = bases.get_indexer(rows.basis)
    return pd.Series(lookup[rows.pos * len(bases) + basis_code]), basis_code


def evaluate(inputs: EvaluationInputs, rules: EvaluationRules) -> pd.DataFrame:
    """Evaluate every building against its quotas for ``inputs.year`` as of ``inputs.as_of``.

    One row per building and basis with a quota in force; a building without any quota gets
    one ``no_quota`` row with basis ``electricity_kwh``. Columns: :data:`RESULT_COLUMNS` then
    :data:`DETAIL_COLUMNS`, sorted by building and basis.

    Vectorised: buildings are addressed by their position in the registry and per-building
    sums use ``numpy.bincount``; no Python loop runs per building.
    """
    year, as_of = inputs.year, inputs.as_of
    is_year_end = as_of >= calendar.year_end(year)
    b = inputs.buildings.set_index("building_id")
    index = b.index
    n = len(index)
    use = _use_to_date(inputs, b, rules, ZoneInfo(inputs.timezone_name))
    previous = _previous_year(inputs, b, rules, is_year_end)
    area = b["floor_area_m2"].to_numpy(dtype="float64", na_value=np.nan)
    electricity_eui = _electricity_eui(use, previous, area, rules, is_year_end)

    rows = _quota_rows(inputs.quotas, index, year)
    rpos = rows.pos
    is_elec = rows.basis == "electricity_kwh"

    def pick(elec: np.ndarray, other: np.ndarray) -> pd.Series:
        return pd.Series(np.where(is_elec, elec[rpos], other[rpos]))

    energy = pick(use.electricity_kwh, use.kgce)
    share = pick(*(previous.share[k] for k in BASES))
    basis_kwh = pick(use.electricity_kwh, use.all_kwh)
    prev_limit_value, basis_code = _previous_limit_value(inputs.quotas, index, year, rows)
    prev_util, prev_source = previous_utilization(
        tiers.utilization(
            pick(previous.electricity_full_kwh, previous.kgce_full), prev_limit_value
        ),
        index.to_numpy()[rpos],
        rows.basis,
        inputs.previous_determined,
    )

    projectable = share >= rules.min_expected_share
    projected = energy.copy() if is_year_end else (energy / share).where(projectable)
    annual_kwh = basis_kwh.copy() if is_year_end else (basis_kwh / share).where(projectable)
    area_s = pd.Series(area[rpos], dtype="float64")
    completeness = pick(use.completeness_electricity, use.completeness_all)

    limit_value = pd.Series(rows.limit_value, dtype="float64")
    util = tiers.utilization(energy, limit_value)
    scope = tiers.in_scope(
        b["floor_area_m2"],
        b["public_use_share"],
        min_floor_area_m2=rules.min_floor_area_m2,
        min_public_use_share=rules.min_public_use_share,
    ).to_numpy(dtype=bool)
    status = tiers.status(
        in_scope=pd.Series(scope[rpos]),
        has_quota=limit_value.notna(),
        utilization_ratio=util,
        projected_ratio=tiers.utilization(projected, limit_value),
        completeness=completeness,
        previous_utilization_ratio=prev_util,
        is_year_end=is_year_end,
        over_ratio=rules.over_ratio,
        over_20_ratio=rules.over_20_ratio,
        min_completeness=rules.min_completeness,
    )
    result = pd.DataFrame(
        {
            "building_id": index.to_numpy()[rpos],
            "basis": rows.basis,
            "status": status,
            "energy_kwh": use.electricity_kwh[rpos],
            "energy_kgce": use.kgce[rpos],
            "limit_value": limit_value,
            "expected_share": share,
            "utilization": util,
            "projected": projected,
            "completeness": completeness,
            "excess": tiers.excess(energy, limit_value),
            "eui_kwh_per_m2": eui_kwh_per_m2(annual_kwh, area_s),
            "co2_kg": use.co2_kg[rpos],
            "profile_source": pick(*(previous.source[k] for k in BASES)),
            "curve_source": pick(*(previous.curve_source[k] for k in BASES)),
            "quota_source": rows.quota_source,
            "previous_utilization": prev_util,
            "building_type": b["building_type"].to_numpy()[rpos],
            "floor_area_m2": area_s,
            "energy_all_kwh": use.all_kwh[rpos],
            "electricity_eui_kwh_per_m2": electricity_eui[rpos],
            "quota_version_id": rows.quota_version_id,
            "previous_source": prev_source,
        }
    )
    building_rank = (
        np.arange(n) if index.is_monotonic_increasing else _sort_rank(index.to_numpy(dtype=object))
    )
    order = np.lexsort((basis_code, building_rank[rpos]))
    return result.take(order).reset_index(drop=True)


def previous_utilization(
    computed: pd.Series,
    building_ids: np.ndarray,
    basis: np.ndarray,
    determined: pd.DataFrame | None,
) -> tuple[pd.Series, pd.Series]:
    """Last year's utilisation per row [-] and where it comes from: the previous year's
    determination in force for the building and basis when there is one (``determined``),
    else the ``computed`` previous year (final use ÷ last year's quota). Returns
    (utilisation, source) with source ``determined``, ``computed`` or None (unknown)."""
    util = computed.astype("float64").to_numpy(copy=True)
    source = np.where(np.isnan(util), None, "computed").astype(object)
    if determined is not None and not determined.empty:
        keys = pd.MultiIndex.from_arrays([determined["building_id"], determined["basis"]])
        rows = pd.MultiIndex.from_arrays([building_ids, basis])
        pos = keys.get_indexer(rows)
        has = pos >= 0
        values = determined["utilization"].to_numpy(dtype="float64", na_value=np.nan)
        util[has] = values[pos[has]]
        source[has] = "determined"
    return (
        pd.Series(util, index=computed.index),
        pd.Series(source, index=computed.index, dtype=object),
    )


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


def month_split(cutoff: date) -> dict[str, date | int]:
    """How to read "1 January .. cutoff" from whole months plus the fewest daily rows.

    Either the whole months before the cutoff's month plus its days through the cutoff
    (``sign`` +1), or the whole months through the cutoff's month minus its days after the
    cutoff (``sign`` -1), whichever reads fewer days; on a month's last day no day is read.
    Returns ``months_end`` (first month not read), ``days_start``, ``days_end`` (inclusive;
    empty when start > end) and ``sign``.
    """
    month_start = cutoff.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    days_after = (next_month - cutoff).days - 1
    if cutoff.day <= days_after:
        return {"months_end": month_start, "days_start": month_start, "days_end": cutoff, "sign": 1}
    return {
        "months_end": next_month,
        "days_start": cutoff + timedelta(days=1),
        "days_end": next_month - timedelta(days=1),
        "sign": -1,
    }


def rollup_ranges(year: int, as_of: date) -> dict[str, date | int]:
    """:func:`as_of_cutoffs` plus the :func:`month_split` of the year to date (``months_end``,
    ``days_start``, ``days_end``, ``days_sign``) and of the previous year through the same
    calendar date (the same keys prefixed ``previous_``): the parameters of
    ``queries.ROLLUP_AGGREGATES``."""
    ranges: dict[str, date | int] = dict(as_of_cutoffs(year, as_of))
    current = month_split(as_of)
    previous = month_split(calendar.same_date_previous_year(as_of))
    for prefix, split in (("", current), ("previous_", previous)):
        ranges[f"{prefix}months_end"] = split["months_end"]
        ranges[f"{prefix}days_start"] = split["days_start"]
        ranges[f"{prefix}days_end"] = split["days_end"]
        ranges[f"{prefix}days_sign"] = split["sign"]
    return ranges
