"""The demo city generator: a Beijing-like city's registry, quotas and meter readings as files.

``quotawatch demo generate`` writes, in the import formats (so the demo goes through the same
paths as real data)::

    buildings.csv        GBK-encoded, as Chinese spreadsheet tools export it
    meters.csv           UTF-8 with a byte-order mark
    quotas.csv           published quotas of the previous years (this year's are proposed
                         by the quota engine from the loaded history)
    readings/YYYY-MM.csv one file per local month, hourly electricity and daily gas and heat;
                         a few months in other accepted formats (ISO with +08:00 offset,
                         YYYY/MM/DD, semicolons, gzip); real-world faults at low rates
    readings/YYYY-MM.resend.csv  a gateway re-sending two days it had already sent
    city.json            what was generated: the spec, counts, the faults planted and where

Everything is a pure function of :class:`~quota.demo.city.DemoSpec` (seed, size, today):
the same spec gives the same bytes. The readings of any later time window (what the demo
gateway drops into the inbox while ``make run`` is running) come from the same model, see
:func:`readings_text`. The model and its sources are described in docs/demo.md.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from quota.demo.billing import (
    CityBills,
    history_months,
    metered_buildings,
    metered_meters,
)
from quota.demo.city import (
    BUILDING_COLUMNS,
    METER_COLUMNS,
    YEARLY_EFFICIENCY_GAIN,
    City,
    DemoSpec,
    build_city,
)
from quota.demo.load_shapes import (
    OPENING_HOURS,
    ElectricityShape,
    YearCalendar,
    electricity_shape,
    heating_degree_days,
    in_heating_season,
    occupancy,
    seasonal_temperature_c,
    year_calendar,
)
from quota.registry.parse import register_modulus

__all__ = [
    "City",
    "DemoSpec",
    "GeneratedCity",
    "build_city",
    "generate",
    "quotas_frame",
    "readings_text",
]

# Calorific-equivalent factors used for the published kgce quotas when the caller gives none
# (the same defaults as [conversion] in quota/rules_default.toml).
DEFAULT_CONVERSION = {
    "electricity_kgce_per_kwh": 0.1229,
    "natural_gas_kgce_per_m3": 1.2143,
    "district_heat_kgce_per_gj": 34.12,
}
QUOTA_SLACK = (1.03, 1.08)  # published quota ÷ expected use of a normal year [-]
KWH_PER_UNIT = {"Wh": 0.001, "kWh": 1.0, "MWh": 1000.0}
VALUE_DECIMALS = {"Wh": 0, "kWh": 3, "MWh": 6, "m3": 2, "GJ": 4, "MJ": 2}
REGISTER_DECIMALS = 2
BUILDINGS_PER_BLOCK = 400  # buildings synthesised at once (bounds memory at city scale)
DUPLICATE_RATE = 2e-4  # identical re-sent rows within a file [-]
BAD_ROWS_PER_REASON = 3

QUARANTINE_REASONS = (
    "malformed_row",
    "unknown_meter",
    "bad_timestamp",
    "future_timestamp",
    "bad_value",
    "negative_value",
    "bad_unit",
    "conflicting_duplicate",
    "register_decrease",
)


@dataclass(frozen=True)
class FileFormat:
    """How one readings file is written: timestamp style (``naive`` local
    ``YYYY-MM-DD HH:MM:SS``, ``iso_offset`` ``YYYY-MM-DDTHH:MM:SS+08:00`` or ``slash``
    ``YYYY/MM/DD HH:MM``), delimiter, whether a unit column is present, gzip."""

    timestamp_style: str = "naive"
    delimiter: str = ","
    with_unit: bool = False
    gzip: bool = False


@dataclass(frozen=True)
class MeterSeries:
    """One meter's values over one year.

    ``step``: ``hour`` (one value per hour of the calendar) or ``day`` (one per day, at local
    midnight). ``values``: in the meter's unit (the register reading for cumulative meters),
    NaN where the meter sent nothing.
    """

    meter_id: str
    unit: str
    step: str
    is_cumulative: bool
    values: np.ndarray


@dataclass
class GeneratedCity:
    """What :func:`generate` wrote: paths, counts and the faults planted."""

    out_dir: Path
    buildings_csv: Path
    meters_csv: Path
    quotas_csv: Path
    readings_files: list[Path]
    readings_rows: int = 0
    accounts_csv: Path | None = None
    bills_files: list[Path] = field(default_factory=list)
    bills_rows: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    fault_examples: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["readings_files"] = [p.name for p in self.readings_files]
        data["bills_files"] = [p.name for p in self.bills_files]
        return data


# ------------------------------------------------------------------------------------------
# Synthesis of values
# ------------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _reference_heating_degree_days(timezone_name: str) -> float:
    """Heating-season degree-days of a normal year (no weather anomaly) [K·d]."""
    days = [date(2001, 1, 1) + timedelta(days=i) for i in range(365)]
    normal = seasonal_temperature_c(days)
    return float((heating_degree_days(normal) * in_heating_season(days)).sum())


@lru_cache(maxsize=64)
def _occupancy(year: int, timezone_name: str, seed: int, building_type: str) -> np.ndarray:
    return occupancy(year_calendar(year, timezone_name, seed), OPENING_HOURS[building_type])


def _shape_of(b: Any, noisy: bool) -> ElectricityShape:
    return ElectricityShape(
        base_share=b.model_base_share,
        cooling_gain=b.model_cooling_gain,
        heating_gain=b.model_heating_gain,
        hourly_noise=0.05 if noisy else 0.0,
        daily_noise=0.04 if noisy else 0.0,
    )


def building_electricity_kwh(city: City, b: Any, year: int) -> np.ndarray:
    """Hourly electricity use of building row ``b`` in local ``year`` [kWh per hour].

    Scaled so that a normal first year uses ``model_eui_kwh_per_m2 × floor_area_m2``, then
    multiplied by the building's multiplier for ``year``; NaN before its data start.
    """
    spec = city.spec
    tz, seed = spec.timezone_name, spec.seed
    first = year_calendar(spec.first_year, tz, seed)
    reference = electricity_shape(
        first,
        _occupancy(spec.first_year, tz, seed, b.building_type),
        _shape_of(b, noisy=False),
        np.random.default_rng(0),
    )
    scale = b.model_eui_kwh_per_m2 * b.floor_area_m2 / reference.sum()
    calendar = year_calendar(year, tz, seed)
    rng = np.random.default_rng([seed, 1, int(b.building_id[2:]), year])
    shape = electricity_shape(
        calendar, _occupancy(year, tz, seed, b.building_type), _shape_of(b, noisy=True), rng
    )
    kwh = shape * scale * getattr(b, f"model_multiplier_{year}", 1.0)
    return _mask_before_start(kwh, calendar, b.model_data_start, step="hour")


def building_daily_fuel(city: City, b: Any, year: int) -> tuple[np.ndarray, np.ndarray]:
    """(natural gas [m³ per day], district heat [GJ per day]) of building row ``b``.

    Heating follows heating degree-days inside the heating season; kitchen and hot-water gas
    is steady, following the building's occupancy by day.
    """
    spec = city.spec
    calendar = year_calendar(year, spec.timezone_name, spec.seed)
    rng = np.random.default_rng([spec.seed, 2, int(b.building_id[2:]), year])
    multiplier = getattr(b, f"model_multiplier_{year}", 1.0)
    hdd = heating_degree_days(calendar.daily_mean_c) * in_heating_season(calendar.days)
    heating_share = hdd / _reference_heating_degree_days(spec.timezone_name)
    occ = _occupancy(year, spec.timezone_name, spec.seed, b.building_type)
    daily_occ = np.bincount(calendar.day_index, weights=occ) / np.bincount(calendar.day_index)
    kitchen_share = daily_occ / daily_occ.sum()
    noise = np.exp(rng.normal(0.0, 0.08, len(calendar.days)))
    area = b.floor_area_m2
    gas_m3 = (
        (
            b.model_boiler_gas_m3_per_m2 * area * heating_share
            + b.model_kitchen_gas_m3_per_m2 * area * kitchen_share
        )
        * multiplier
        * noise
    )
    heat_gj = b.model_district_heat_gj_per_m2 * area * heating_share * multiplier * noise
    # Outside the heating season the heat meter keeps reporting, zero.
    heat_gj = np.where(in_heating_season(calendar.days), heat_gj, 0.0)
    return (
        _mask_before_start(gas_m3, calendar, b.model_data_start, step="day"),
        _mask_before_start(heat_gj, calendar, b.model_data_start, step="day"),
    )


def _mask_before_start(
    values: np.ndarray, calendar: YearCalendar, start: date, step: str
) -> np.ndarray:
    if start <= calendar.days[0]:
        return values
    first_day = (start - calendar.days[0]).days
    cut = int(np.searchsorted(calendar.day_index, first_day)) if step == "hour" else first_day
    values = values.copy()
    values[:cut] = np.nan
    return values


def _apply_fault(values: np.ndarray, fault: str, meter_id: str, spec: DemoSpec, year: int) -> None:
    """Plant a meter fault in place: gaps (NaN), a long zero run, an offline period, a spike."""
    rng = np.random.default_rng([spec.seed, 3, sum(map(ord, meter_id)), year])
    n = len(values)
    if fault == "gaps":
        for _ in range(int(rng.integers(1, 4))):
            length = int(rng.integers(3, 73))
            start = int(rng.integers(0, max(1, n - length)))
            values[start : start + length] = np.nan
    fault_year = spec.current_year - 1 if spec.years >= 1 else spec.current_year
    if fault == "zero_run" and year == fault_year:
        start = int(0.28 * n)  # about 10 April
        values[start : start + 240] = 0.0  # ten days of zeros: a failed current transformer
        values[start + 24 * 30] *= 15.0  # and, a month later, one spike
    if fault == "offline" and year == spec.current_year:
        start = int(0.35 * n)
        values[start : start + 21 * 24] = np.nan  # three weeks without data


def year_series(
    city: City, year: int, buildings: pd.DataFrame, registers: dict[str, float]
) -> list[MeterSeries]:
    """Every meter's values of ``buildings`` over local ``year``.

    ``registers`` carries cumulative meters' register readings from one year to the next
    (meter id → reading at the start of ``year``); it is updated in place.
    """
    spec = city.spec
    meters = city.meters[city.meters["building_id"].isin(buildings["building_id"])]
    by_building = dict(list(meters.groupby("building_id", sort=False)))
    result: list[MeterSeries] = []
    for b in buildings.itertuples(index=False):
        group = by_building.get(b.building_id)
        if group is None:
            continue
        kwh = building_electricity_kwh(city, b, year)
        gas_m3, heat_gj = building_daily_fuel(city, b, year)
        for m in group.itertuples(index=False):
            if m.energy_type == "electricity":
                values = kwh * m.model_share
                step = "hour"
                per_unit = KWH_PER_UNIT[m.unit]
            elif m.energy_type == "natural_gas":
                values, step, per_unit = gas_m3.copy(), "day", 1.0
            else:
                values, step, per_unit = heat_gj.copy(), "day", 1.0
            if m.model_fault:
                values = values.copy()
                _apply_fault(values, m.model_fault, m.meter_id, spec, year)
            is_cumulative = m.reading_kind == "cumulative"
            if is_cumulative:
                values = _registers(values / m.multiplier, m, registers)
            else:
                values = values / per_unit
            result.append(MeterSeries(m.meter_id, m.unit, step, is_cumulative, values))
    return result


def monthly_use(city: City, b: Any, year: int) -> dict[str, np.ndarray]:
    """Use of building row ``b`` per carrier and calendar month of local ``year`` (12 values
    each: electricity [kWh], natural gas [m³], district heat [GJ]): what its bills say."""
    spec = city.spec
    hours = _time_keys(year, spec.timezone_name, spec.seed, "hour")[:, 0] - 1
    days = _time_keys(year, spec.timezone_name, spec.seed, "day")[:, 0] - 1
    kwh = np.nan_to_num(building_electricity_kwh(city, b, year))
    gas, heat = building_daily_fuel(city, b, year)
    return {
        "electricity": np.bincount(hours, weights=kwh, minlength=12),
        "natural_gas": np.bincount(days, weights=np.nan_to_num(gas), minlength=12),
        "district_heat": np.bincount(days, weights=np.nan_to_num(heat), minlength=12),
    }


def city_bills(city: City) -> CityBills:
    """The accounts and bills of the city's billed buildings (quota/demo/billing.py)."""
    return CityBills(city, lambda b, year: monthly_use(city, b, year))


def write_bills(city: City, bills: CityBills, bills_dir: Path) -> tuple[list[Path], int]:
    """Write the bill deliveries of the history (``bills/YYYY-MM.csv``); returns (paths,
    bills written)."""
    paths: list[Path] = []
    rows = 0
    for month in history_months(city.spec):
        text, n = bills.delivery_text(month)
        path = bills_dir / f"{month[0]:04d}-{month[1]:02d}.csv"
        path.write_text(text, "utf-8")
        paths.append(path)
        rows += n
    return paths, rows


def _registers(use: np.ndarray, meter: Any, registers: dict[str, float]) -> np.ndarray:
    """Register readings at the start of each step, given the use in each step [unit]."""
    start = registers.get(meter.meter_id, meter.model_register_start)
    filled = np.nan_to_num(use, nan=0.0)
    before = np.concatenate(([0.0], np.cumsum(filled)[:-1]))
    reading = start + before
    registers[meter.meter_id] = float(start + filled.sum())
    if meter.register_max and not pd.isna(meter.register_max):
        modulus = register_modulus(float(meter.register_max))
        reading = np.mod(reading, modulus)
        registers[meter.meter_id] = registers[meter.meter_id] % modulus
    return np.where(np.isnan(use), np.nan, reading)


# ------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------
def _offset_text(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_timestamp(moment: datetime, style: str) -> str:
    """``moment`` (local, zone-aware) in one of the accepted timestamp styles."""
    if style == "naive":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if style == "iso_offset":
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + _offset_text(moment)
    if style == "slash":
        return moment.strftime("%Y/%m/%d %H:%M")
    raise ValueError(f"unknown timestamp style {style!r}")


@lru_cache(maxsize=32)
def _times(year: int, timezone_name: str, seed: int, step: str) -> list[datetime]:
    calendar = year_calendar(year, timezone_name, seed)
    if step == "hour":
        return calendar.hour_starts
    tz = calendar.hour_starts[0].tzinfo
    return [datetime(d.year, d.month, d.day, tzinfo=tz) for d in calendar.days]


@lru_cache(maxsize=64)
def _time_texts(year: int, timezone_name: str, seed: int, step: str, style: str) -> list[str]:
    return [format_timestamp(t, style) for t in _times(year, timezone_name, seed, step)]


@lru_cache(maxsize=32)
def _time_keys(year: int, timezone_name: str, seed: int, step: str) -> np.ndarray:
    """(local month, POSIX seconds) of each step start, for slicing by file and window."""
    times = _times(year, timezone_name, seed, step)
    return np.array([(t.month, int(t.timestamp())) for t in times], dtype=np.int64)


def series_lines(
    series: MeterSeries, spec: DemoSpec, year: int, fmt: FileFormat, lo: int, hi: int
) -> list[str]:
    """CSV lines (with newline) of ``series`` over steps ``lo``..``hi`` (missing skipped)."""
    texts = _time_texts(year, spec.timezone_name, spec.seed, series.step, fmt.timestamp_style)
    decimals = REGISTER_DECIMALS if series.is_cumulative else VALUE_DECIMALS[series.unit]
    values = series.values[lo:hi]
    keep = np.flatnonzero(~np.isnan(values))
    d = fmt.delimiter
    prefix = series.meter_id + d
    suffix = f"{d}{series.unit}\n" if fmt.with_unit else "\n"
    rounded = np.round(values[keep], decimals).tolist()
    return [
        f"{prefix}{texts[lo + i]}{d}{v:.{decimals}f}{suffix}"
        for i, v in zip(keep.tolist(), rounded, strict=True)
    ]


def header_line(fmt: FileFormat) -> str:
    columns = ["meter_id", "timestamp", "value"] + (["unit"] if fmt.with_unit else [])
    return fmt.delimiter.join(columns) + "\n"


# ------------------------------------------------------------------------------------------
# Registry and quota files
# ------------------------------------------------------------------------------------------
def _registry_text(frame: pd.DataFrame, columns: list[str]) -> str:
    out = frame[columns].copy()
    return out.to_csv(index=False, lineterminator="\n", float_format="%.6g")


def buildings_csv_bytes(city: City) -> bytes:
    """The buildings file, encoded in GBK as Chinese spreadsheet tools export it."""
    return _registry_text(city.buildings, BUILDING_COLUMNS).encode("gbk")


def meters_csv_bytes(city: City) -> bytes:
    """The meters file, UTF-8 with a byte-order mark (an Excel export)."""
    frame = metered_meters(city).copy()
    frame["register_max"] = frame["register_max"].astype(object)
    return _registry_text(frame, METER_COLUMNS).encode("utf-8-sig")


def quotas_frame(city: City, conversion: dict[str, float] | None = None) -> pd.DataFrame:
    """Published quotas of the previous years (``building_id, year, basis, limit_value``).

    For each in-scope building with history and each previous year: an ``electricity_kwh``
    quota of its normal use with a little slack (:data:`QUOTA_SLACK`), and for buildings that
    also burn gas or buy heat an ``energy_kgce`` quota of all carriers (calorific equivalent,
    ``conversion`` factors, default :data:`DEFAULT_CONVERSION`). This year's quotas are not
    here: the quota engine proposes them from the loaded history.
    """
    factors = {**DEFAULT_CONVERSION, **(conversion or {})}
    spec = city.spec
    rng = np.random.default_rng([spec.seed, 4])
    rows: list[dict[str, Any]] = []
    in_scope = city.buildings[
        (city.buildings["public_use_share"] >= 0.5)
        & (city.buildings["commissioned_year"] < spec.first_year)
    ]
    for year in range(spec.first_year, spec.current_year):
        drift = (1 - YEARLY_EFFICIENCY_GAIN) ** (year - spec.first_year)
        slack = rng.uniform(*QUOTA_SLACK, len(in_scope)) * drift
        for b, factor in zip(in_scope.itertuples(index=False), slack, strict=True):
            area = b.floor_area_m2
            kwh = b.model_eui_kwh_per_m2 * area * factor
            rows.append(
                {
                    "building_id": b.building_id,
                    "year": year,
                    "basis": "electricity_kwh",
                    "limit_value": int(round(kwh, -2)),
                }
            )
            gas_m3 = (b.model_kitchen_gas_m3_per_m2 + b.model_boiler_gas_m3_per_m2) * area
            heat_gj = b.model_district_heat_gj_per_m2 * area
            if gas_m3 > 0 or heat_gj > 0:
                kgce = (
                    kwh * factors["electricity_kgce_per_kwh"]
                    + gas_m3 * factor * factors["natural_gas_kgce_per_m3"]
                    + heat_gj * factor * factors["district_heat_kgce_per_gj"]
                )
                rows.append(
                    {
                        "building_id": b.building_id,
                        "year": year,
                        "basis": "energy_kgce",
                        "limit_value": int(round(kgce, -1)),
                    }
                )
    return pd.DataFrame(rows, columns=["building_id", "year", "basis", "limit_value"])


# ------------------------------------------------------------------------------------------
# Readings files
# ------------------------------------------------------------------------------------------
def month_formats(
    months: list[tuple[int, int]], current_year: int
) -> dict[tuple[int, int], FileFormat]:
    """The format of each month's file: mostly naive local times; one month each with ISO
    offsets, slashes, semicolons and gzip; this year's files carry a unit column."""
    formats = {m: FileFormat(with_unit=m[0] == current_year) for m in months}
    older = [m for m in months if m[0] < current_year] or months
    if len(older) >= 4:
        picks = {
            "iso_offset": older[len(older) // 6],
            "slash": older[len(older) // 3],
            "semicolon": older[len(older) // 2],
            "gzip": older[(2 * len(older)) // 3],
        }
        formats[picks["iso_offset"]] = FileFormat(timestamp_style="iso_offset")
        formats[picks["slash"]] = FileFormat(timestamp_style="slash")
        formats[picks["semicolon"]] = FileFormat(delimiter=";")
        formats[picks["gzip"]] = FileFormat(gzip=True)
    return formats


def _month_file_name(month: tuple[int, int], fmt: FileFormat) -> str:
    return f"{month[0]:04d}-{month[1]:02d}.csv" + (".gz" if fmt.gzip else "")


def _history_months(spec: DemoSpec) -> list[tuple[int, int]]:
    months: list[tuple[int, int]] = []
    last = spec.end_date - timedelta(days=1)
    for year in spec.data_years:
        for month in range(1, 13):
            if (year, month) <= (last.year, last.month):
                months.append((year, month))
    return months


def _step_range(keys: np.ndarray, month: int, end_ts: int) -> tuple[int, int]:
    in_month = np.flatnonzero((keys[:, 0] == month) & (keys[:, 1] < end_ts))
    if len(in_month) == 0:
        return 0, 0
    return int(in_month[0]), int(in_month[-1]) + 1


class _MessPlanter:
    """Builds the faulty rows planted in this year's files (one list per reason code)."""

    def __init__(self, spec: DemoSpec, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.rows: dict[str, list[str]] = {reason: [] for reason in QUARANTINE_REASONS}
        self.duplicates = 0
        self.count = 0

    def plant(
        self,
        lines: list[str],
        series: list[MeterSeries],
        year: int,
        bounds: dict[str, tuple[int, int]],
        fmt: FileFormat,
        share: int,
    ) -> list[str]:
        """``lines`` of one file with ``share`` bad rows of each reason and some identical
        duplicates inserted at random places."""
        if not lines:
            return lines
        spec = self.spec
        rng = self.rng
        d = fmt.delimiter
        hourly = [
            s
            for s in series
            if s.step == "hour"
            and not s.is_cumulative
            and s.unit == "kWh"
            and bounds[s.meter_id][1] > bounds[s.meter_id][0]
        ]
        gas = [s for s in series if s.step == "day" and s.is_cumulative]
        texts = _time_texts(year, spec.timezone_name, spec.seed, "hour", fmt.timestamp_style)
        day_texts = _time_texts(year, spec.timezone_name, spec.seed, "day", fmt.timestamp_style)
        tz = spec.tz
        bad: list[tuple[str, str]] = []

        def row(meter_id: str, ts: str, value: str, unit: str = "kWh") -> str:
            fields = [meter_id, ts, value] + ([unit] if fmt.with_unit else [])
            return d.join(fields) + "\n"

        def sample_hour() -> tuple[MeterSeries, int, float]:
            for _ in range(1000):
                s = hourly[int(rng.integers(len(hourly)))]
                lo, hi = bounds[s.meter_id]
                i = int(rng.integers(lo, hi))
                if not np.isnan(s.values[i]):
                    return s, i, float(s.values[i])
            raise RuntimeError("no reading to copy")  # pragma: no cover

        for _ in range(share):
            k = self.count
            self.count += 1
            s, i, v = sample_hour()
            ts, value = texts[i], f"{v:.3f}"
            future = datetime.combine(spec.today + timedelta(days=400 + k), time(10), tzinfo=tz)
            s2, i2, v2 = sample_hour()
            malformed = (
                f"{s.meter_id}{d}{ts}\n",  # the value is missing
                "--- gateway restart ---\n",  # a log line in the data
                f"{s.meter_id}|{ts}|{value}\n",  # the wrong separator
            )
            bad_times = (f"{year}-02-30 10:00:00", f"{year}-13-01 00:00:00", "yesterday")
            bad.extend(
                [
                    ("malformed_row", malformed[k % 3]),
                    ("unknown_meter", row(f"BJ9{k:04d}-E1", ts, value)),
                    ("bad_timestamp", row(s.meter_id, bad_times[k % 3], value)),
                    (
                        "future_timestamp",
                        row(s.meter_id, format_timestamp(future, fmt.timestamp_style), value),
                    ),
                    ("bad_value", row(s.meter_id, ts, ("NaN", "abc", "inf")[k % 3])),
                    ("negative_value", row(s.meter_id, ts, f"-{v + 1:.3f}")),
                    ("bad_unit", row(s.meter_id, ts, value, ("m3", "kg", "GJ")[k % 3])),
                    ("conflicting_duplicate", row(s2.meter_id, texts[i2], f"{v2 * 1.5 + 1:.3f}")),
                ]
            )
            if gas:
                g = gas[int(rng.integers(len(gas)))]
                lo, hi = bounds[g.meter_id]
                valid = [j for j in range(lo, hi - 1) if not np.isnan(g.values[j])]
                if valid:
                    j = valid[int(rng.integers(len(valid)))]
                    noon = day_texts[j].replace(" 00:00", " 12:00").replace("T00:00", "T12:00")
                    # A reading below the one of that midnight, on a meter without a
                    # register maximum: no rollover explains it.
                    decreased = f"{g.values[j] - 37.5:.2f}"
                    bad.append(("register_decrease", row(g.meter_id, noon, decreased, "m3")))
        duplicates = max(1, int(len(lines) * DUPLICATE_RATE))
        extra = [lines[int(j)] for j in rng.integers(0, len(lines), duplicates)]
        self.duplicates += duplicates
        for reason, text in bad:
            self.rows[reason].append(text)
        inserted = [text for _, text in bad] + extra
        positions = np.sort(rng.integers(1, len(lines) + 1, len(inserted)))
        out: list[str] = []
        previous = 0
        for pos, text in zip(positions.tolist(), inserted, strict=True):
            out.extend(lines[previous:pos])
            out.append(text)
            previous = pos
        out.extend(lines[previous:])
        return out


def _open_text(path: Path, fmt: FileFormat) -> TextIO:
    if fmt.gzip:
        # mtime=0: the same city gives the same bytes.
        raw = gzip.GzipFile(path, "wb", compresslevel=6, mtime=0)
        return io.TextIOWrapper(raw, encoding="utf-8", newline="")
    return path.open("w", encoding="utf-8", newline="")


def _blocks(buildings: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(buildings), size):
        yield buildings.iloc[start : start + size]


def write_history(city: City, readings_dir: Path) -> tuple[list[Path], int, _MessPlanter | None]:
    """Write the month files of the history; returns (paths, rows written, mess planted)."""
    spec = city.spec
    months = _history_months(spec)
    formats = month_formats(months, spec.current_year)
    end_ts = int(datetime.combine(spec.end_date, time(0), tzinfo=spec.tz).timestamp())
    plain = [
        m
        for m in months
        if formats[m].timestamp_style == "naive"
        and formats[m].delimiter == ","
        and not formats[m].gzip
    ]
    mess_list = (plain[-4:-1] or plain[-1:]) if spec.mess else []
    for month in mess_list:
        formats[month] = FileFormat(with_unit=True)
    mess_months = set(mess_list)
    planter = _MessPlanter(spec, np.random.default_rng([spec.seed, 5])) if spec.mess else None
    resend_month = mess_list[0] if mess_list else None
    handles: dict[tuple[int, int], TextIO] = {}
    paths: list[Path] = []
    rows = 0
    registers: dict[str, float] = {}
    blocks = list(_blocks(metered_buildings(city), BUILDINGS_PER_BLOCK))
    resend_lines: list[str] = []
    try:
        for block_no, block in enumerate(blocks):
            is_last_block = block_no == len(blocks) - 1
            for year in spec.data_years:
                series = year_series(city, year, block, registers)
                keys = {
                    step: _time_keys(year, spec.timezone_name, spec.seed, step)
                    for step in ("hour", "day")
                }
                for month in (m for m in months if m[0] == year):
                    fmt = formats[month]
                    if month not in handles:
                        path = readings_dir / _month_file_name(month, fmt)
                        handles[month] = _open_text(path, fmt)
                        handles[month].write(header_line(fmt))
                        paths.append(path)
                    bounds = {
                        s.meter_id: _step_range(keys[s.step], month[1], end_ts) for s in series
                    }
                    lines: list[str] = []
                    for s in series:
                        lines.extend(series_lines(s, spec, year, fmt, *bounds[s.meter_id]))
                    rows += len(lines)
                    if planter is not None and is_last_block and month in mess_months:
                        lines = planter.plant(
                            lines, series, year, bounds, fmt, _share(month, mess_months)
                        )
                    if month == resend_month and is_last_block:
                        resend_lines = _resend(series, spec, year, bounds, fmt, planter)
                    handles[month].writelines(lines)
    finally:
        for handle in handles.values():
            handle.close()
    if resend_month is not None and resend_lines:
        path = readings_dir / f"{resend_month[0]:04d}-{resend_month[1]:02d}.resend.csv"
        path.write_text(header_line(formats[resend_month]) + "".join(resend_lines), "utf-8")
        paths.append(path)
    return sorted(paths), rows, planter


def _share(month: tuple[int, int], mess_months: set[tuple[int, int]]) -> int:
    """Bad rows per reason planted in ``month``: BAD_ROWS_PER_REASON spread over the months."""
    ordered = sorted(mess_months)
    base, extra = divmod(BAD_ROWS_PER_REASON, len(ordered))
    return base + (1 if ordered.index(month) < extra else 0)


def _resend(
    series: list[MeterSeries],
    spec: DemoSpec,
    year: int,
    bounds: dict[str, tuple[int, int]],
    fmt: FileFormat,
    planter: _MessPlanter | None,
) -> list[str]:
    """A gateway re-sending the last two days of a month for a few hourly meters: identical
    rows (duplicates) and one changed value (a conflicting duplicate)."""
    hourly = [s for s in series if s.step == "hour" and not s.is_cumulative and s.unit == "kWh"]
    lines: list[str] = []
    for s in hourly[:5]:
        lo, hi = bounds[s.meter_id]
        lines.extend(series_lines(s, spec, year, fmt, max(lo, hi - 48), hi))
    if lines and planter is not None:
        # The gateway's second copy of one reading disagrees with the first.
        fields = lines[0].rstrip("\n").split(fmt.delimiter)
        fields[2] = f"{float(fields[2]) * 1.5 + 1:.3f}"
        changed = fmt.delimiter.join(fields) + "\n"
        planter.rows["conflicting_duplicate"].append(changed)
        lines[0] = changed
        planter.duplicates += len(lines) - 1
    return lines


# ------------------------------------------------------------------------------------------
# Entry points
# ------------------------------------------------------------------------------------------
def generate(
    spec: DemoSpec, out_dir: Path, conversion: dict[str, float] | None = None
) -> GeneratedCity:
    """Write the demo city described by ``spec`` into ``out_dir`` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    readings_dir = out_dir / "readings"
    readings_dir.mkdir(exist_ok=True)
    bills_dir = out_dir / "bills"
    bills_dir.mkdir(exist_ok=True)
    for stale in [*readings_dir.glob("*.csv*"), *bills_dir.glob("*.csv")]:
        stale.unlink()
    city = build_city(spec)
    buildings_csv = out_dir / "buildings.csv"
    meters_csv = out_dir / "meters.csv"
    quotas_csv = out_dir / "quotas.csv"
    buildings_csv.write_bytes(buildings_csv_bytes(city))
    meters_csv.write_bytes(meters_csv_bytes(city))
    quotas_csv.write_text(
        quotas_frame(city, conversion).to_csv(index=False, lineterminator="\n"), "utf-8"
    )
    paths, rows, planter = write_history(city, readings_dir)
    bills = city_bills(city)
    accounts_csv = out_dir / "accounts.csv"
    accounts_csv.write_bytes(bills.accounts_csv_bytes())
    bills_files, bills_rows = write_bills(city, bills, bills_dir)
    result = GeneratedCity(
        out_dir=out_dir,
        buildings_csv=buildings_csv,
        meters_csv=meters_csv,
        quotas_csv=quotas_csv,
        readings_files=paths,
        readings_rows=rows,
        accounts_csv=accounts_csv,
        bills_files=bills_files,
        bills_rows=bills_rows,
    )
    if planter is not None:
        result.faults = {reason: len(v) for reason, v in planter.rows.items()}
        result.faults["duplicate"] = planter.duplicates
        result.fault_examples = {reason: v[:3] for reason, v in planter.rows.items()}
    registered = metered_meters(city)
    manifest = {
        "spec": {
            "buildings": spec.buildings,
            "years": spec.years,
            "seed": spec.seed,
            "today": spec.today.isoformat(),
            "timezone_name": spec.timezone_name,
            "lag_days": spec.lag_days,
            "history_end": spec.end_date.isoformat(),
            "mess": spec.mess,
        },
        "counts": {
            "buildings": len(city.buildings),
            "meters": len(registered),
            "meters_by_type": registered["energy_type"].value_counts().sort_index().to_dict(),
            "readings_rows": rows,
            "billed_buildings": len({b for a in bills.accounts for b, _ in a.shares}),
            "accounts": len(bills.accounts),
            "bills_rows": bills_rows,
            "quotas": sum(1 for _ in quotas_csv.open(encoding="utf-8")) - 1,
        },
        "faults": result.faults,
        "files": [p.name for p in paths],
        "bills_files": [p.name for p in bills_files],
    }
    (out_dir / "city.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    return result


def spec_from_manifest(path: Path) -> DemoSpec:
    """The :class:`DemoSpec` recorded in a ``city.json`` written by :func:`generate`."""
    data = json.loads(path.read_text("utf-8"))["spec"]
    return DemoSpec(
        buildings=int(data["buildings"]),
        years=int(data["years"]),
        seed=int(data["seed"]),
        today=date.fromisoformat(data["today"]),
        timezone_name=data["timezone_name"],
        lag_days=int(data["lag_days"]),
        history_end=date.fromisoformat(data["history_end"]),
        mess=bool(data["mess"]),
    )


def readings_text(city: City, start: datetime, end: datetime) -> tuple[str, int]:
    """(CSV text, rows) of every meter's readings in ``[start, end)`` — what a gateway sends.

    Times are written ISO 8601 with the offset; the same model as the history (cumulative
    registers continue from it), without planted faults other than the meters' own gaps.
    A daily meter's reading is sent once its day is over (its day ends inside the window),
    so back-to-back windows send every reading exactly once.
    """
    spec = city.spec
    fmt = FileFormat(timestamp_style="iso_offset", with_unit=True)
    lo_ts, hi_ts = int(start.timestamp()), int(end.timestamp())
    registers: dict[str, float] = {}
    lines: list[str] = []
    last_year = (end - timedelta(seconds=1)).astimezone(spec.tz).year
    for year in range(spec.first_year, last_year + 1):
        series = year_series(city, year, metered_buildings(city), registers)
        if year < start.astimezone(spec.tz).year:
            continue
        for s in series:
            keys = _time_keys(year, spec.timezone_name, spec.seed, s.step)
            ends = keys[:, 1] + (3600 if s.step == "hour" else 86400)
            inside = np.flatnonzero((ends > lo_ts) & (ends <= hi_ts))
            if len(inside):
                lines.extend(series_lines(s, spec, year, fmt, int(inside[0]), int(inside[-1]) + 1))
    return header_line(fmt) + "".join(lines), len(lines)
