"""The demo city's registry: buildings and meters of a Beijing-like city, drawn from a seed.

Pure and deterministic: :func:`build_city` turns a :class:`DemoSpec` into two DataFrames
(``buildings`` and ``meters``) holding the registry columns of the import formats plus the
model columns (``model_*``) that :mod:`quota.demo.generator` uses to synthesise readings.

Choices (documented in docs/demo.md):

- the 16 districts of Beijing, each with at least one building once there are 16 or more;
- building-type shares of a Beijing-like public-building stock (offices about a third);
- floor areas log-normal by type, at least 3,000 m², a long tail with one building above
  100,000 m² once there are 20 or more buildings;
- annual electricity intensities [kWh/m²] per type within the ranges of ../shared/DOMAIN.md;
- a few mixed-use buildings whose public-use share is below 50 % (out of scope).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from quota.registry.parse import file_columns, register_modulus, stored_columns

DEMO_TIMEZONE = "Asia/Shanghai"

# District, administrative code, approximate centre (latitude, longitude), share of buildings.
DISTRICTS: tuple[tuple[str, str, float, float, float], ...] = (
    ("东城区", "110101", 39.929, 116.416, 0.07),
    ("西城区", "110102", 39.912, 116.366, 0.09),
    ("朝阳区", "110105", 39.948, 116.486, 0.21),
    ("丰台区", "110106", 39.858, 116.287, 0.08),
    ("石景山区", "110107", 39.906, 116.223, 0.03),
    ("海淀区", "110108", 39.960, 116.298, 0.17),
    ("门头沟区", "110109", 39.940, 116.102, 0.02),
    ("房山区", "110111", 39.749, 116.143, 0.03),
    ("通州区", "110112", 39.909, 116.657, 0.06),
    ("顺义区", "110113", 40.130, 116.654, 0.04),
    ("昌平区", "110114", 40.221, 116.231, 0.05),
    ("大兴区", "110115", 39.727, 116.341, 0.05),
    ("怀柔区", "110116", 40.316, 116.632, 0.02),
    ("平谷区", "110117", 40.141, 117.121, 0.02),
    ("密云区", "110118", 40.377, 116.843, 0.03),
    ("延庆区", "110119", 40.457, 115.975, 0.04),
)
DISTRICT_NAMES = tuple(d[0] for d in DISTRICTS)


@dataclass(frozen=True)
class TypeProfile:
    """How one building type looks in the demo city.

    ``share``: share of buildings [-]; ``eui_kwh_per_m2``: range of annual electricity
    intensity [kWh/m²]; ``median_area_m2``: median floor area [m²]; ``base_share``: always-on
    load share [-]; ``cooling_gain``: weight of cooling load [-]; ``kitchen_gas_share``: share
    of buildings with a kitchen/hot-water gas supply [-]; ``kitchen_gas_m3_per_m2``: their
    annual kitchen gas intensity [m³/m²]; ``operating_hours``: annual operating hours [h];
    ``area_per_person_m2``: floor area per occupant [m²]; ``name_suffixes``: Chinese names.
    """

    share: float
    eui_kwh_per_m2: tuple[float, float]
    median_area_m2: float
    base_share: float
    cooling_gain: float
    kitchen_gas_share: float
    kitchen_gas_m3_per_m2: tuple[float, float]
    operating_hours: tuple[float, float]
    area_per_person_m2: tuple[float, float]
    name_suffixes: tuple[str, ...] = field(default_factory=tuple)


TYPE_PROFILES: dict[str, TypeProfile] = {
    "office_government": TypeProfile(
        0.10,
        (60, 110),
        12_000,
        0.25,
        0.8,
        0.3,
        (0.3, 0.8),
        (2400, 2800),
        (10, 20),
        ("政务服务中心", "行政办公楼", "机关办公楼"),
    ),
    "office_commercial": TypeProfile(
        0.26,
        (80, 150),
        30_000,
        0.30,
        0.9,
        0.1,
        (0.3, 0.8),
        (2800, 3600),
        (8, 14),
        ("大厦", "国际中心", "商务中心", "金融中心", "科技大厦"),
    ),
    "mall": TypeProfile(
        0.12,
        (150, 300),
        45_000,
        0.25,
        1.0,
        0.6,
        (1.0, 3.0),
        (4200, 4600),
        (3, 6),
        ("购物中心", "商场", "百货大楼", "广场"),
    ),
    "hotel": TypeProfile(
        0.14,
        (100, 200),
        25_000,
        0.45,
        0.7,
        0.9,
        (2.0, 4.0),
        (8760, 8760),
        (40, 80),
        ("大酒店", "宾馆", "饭店", "国际酒店"),
    ),
    "hospital": TypeProfile(
        0.08,
        (120, 250),
        40_000,
        0.55,
        0.6,
        0.9,
        (1.5, 3.0),
        (8760, 8760),
        (15, 30),
        ("医院门诊楼", "人民医院", "中医医院", "妇幼保健院"),
    ),
    "school": TypeProfile(
        0.11,
        (30, 60),
        9_000,
        0.15,
        0.3,
        0.5,
        (0.5, 1.0),
        (1800, 2200),
        (6, 10),
        ("中学", "实验学校", "小学"),
    ),
    "university": TypeProfile(
        0.07,
        (50, 100),
        20_000,
        0.25,
        0.5,
        0.6,
        (1.0, 2.0),
        (2800, 3500),
        (10, 20),
        ("大学教学楼", "学院综合楼", "大学图书馆"),
    ),
    "culture": TypeProfile(
        0.06,
        (60, 120),
        12_000,
        0.25,
        0.8,
        0.1,
        (0.2, 0.5),
        (2500, 3000),
        (15, 30),
        ("图书馆", "博物馆", "文化馆", "美术馆"),
    ),
    "sports": TypeProfile(
        0.04,
        (60, 130),
        15_000,
        0.25,
        0.8,
        0.1,
        (0.2, 0.5),
        (3500, 4400),
        (15, 40),
        ("体育馆", "体育中心", "游泳馆"),
    ),
    "transport": TypeProfile(
        0.02,
        (100, 200),
        60_000,
        0.40,
        0.7,
        0.2,
        (0.3, 0.8),
        (6500, 6600),
        (5, 10),
        ("交通枢纽", "长途汽车站"),
    ),
}

# Well-known neighbourhoods of each district, for building names.
DISTRICT_PLACES: dict[str, tuple[str, ...]] = {
    "东城区": ("王府井", "东直门", "和平里", "崇文门", "天坛", "东四"),
    "西城区": ("金融街", "西单", "西直门", "德胜", "月坛", "广安门"),
    "朝阳区": ("望京", "国贸", "三里屯", "双井", "亮马桥", "大望路", "酒仙桥", "奥体"),
    "丰台区": ("丽泽", "方庄", "宋家庄", "马家堡", "科技园", "卢沟桥"),
    "石景山区": ("苹果园", "鲁谷", "古城", "八角"),
    "海淀区": ("中关村", "五道口", "上地", "西二旗", "清河", "公主坟", "学院路"),
    "门头沟区": ("龙泉", "永定", "大峪"),
    "房山区": ("良乡", "长阳", "燕山"),
    "通州区": ("梨园", "运河", "副中心", "宋庄"),
    "顺义区": ("后沙峪", "空港", "马坡"),
    "昌平区": ("回龙观", "天通苑", "沙河", "南邵"),
    "大兴区": ("黄村", "亦庄", "旧宫", "西红门"),
    "怀柔区": ("雁栖", "怀柔新城", "庙城"),
    "平谷区": ("滨河", "兴谷", "马坊"),
    "密云区": ("檀州", "果园", "溪翁庄"),
    "延庆区": ("妫水", "康庄", "八达岭"),
}

# Heating source shares: the municipal district-heating network, an own gas boiler, or
# electric heating (heat pumps, split units).
HEATING_SOURCES = (("district_heat", 0.55), ("gas", 0.25), ("electric", 0.20))
DISTRICT_HEAT_GJ_PER_M2 = (0.30, 0.45)  # annual district heat use [GJ/m²]
BOILER_GAS_M3_PER_M2 = (7.0, 11.0)  # annual heating gas of a gas-heated building [m³/m²]

# Shares of buildings with an unusual year (see docs/demo.md).
GROWER_SHARE = 0.12  # use up 12–30 % this year
REPEAT_SHARE = 0.05  # up 32–42 % last year and 30–45 % this year
IMPROVER_SHARE = 0.08  # retrofitted: down 10–20 % this year
WASTEFUL_BASE_SHARE = 0.10  # high night and weekend base load
MIXED_USE_SHARE = 0.03  # public-use share below 50 %
YEARLY_EFFICIENCY_GAIN = 0.04  # city-wide saving per year under the quota regime [-]
LARGE_AREA_M2 = 100_000.0
MIN_AREA_M2 = 3_000.0
MAX_AREA_M2 = 350_000.0
SECOND_METER_AREA_M2 = 40_000.0  # buildings this large get a second electricity meter
ROLLOVER_REGISTER_MAX = 99_999.0  # a five-digit register: wraps to 0 after 99999
ROLLOVER_MULTIPLIER = 80.0  # current-transformer ratio of the cumulative meter


@dataclass(frozen=True)
class DemoSpec:
    """What city to generate.

    ``buildings``: number of buildings; ``years``: previous full years of history;
    ``today``: local date the history leads up to; ``history_end``: first local day *not*
    in the history (default ``today − lag_days``; the demo gateway sends the rest later);
    ``mess``: add real-world faults (gaps, duplicates, bad rows).
    """

    buildings: int = 60
    years: int = 2
    seed: int = 2024
    today: date = field(default_factory=lambda: datetime.now(ZoneInfo(DEMO_TIMEZONE)).date())
    timezone_name: str = DEMO_TIMEZONE
    lag_days: int = 3
    history_end: date | None = None
    mess: bool = True

    def __post_init__(self) -> None:
        if self.buildings < 1:
            raise ValueError("buildings must be at least 1")
        if self.years < 0:
            raise ValueError("years must be 0 or more")

    @property
    def current_year(self) -> int:
        return self.today.year

    @property
    def first_year(self) -> int:
        return self.current_year - self.years

    @property
    def data_years(self) -> list[int]:
        """Calendar years with history, oldest first."""
        last = (self.end_date - timedelta(days=1)).year
        return list(range(self.first_year, last + 1))

    @property
    def end_date(self) -> date:
        """First local day not in the history."""
        if self.history_end is not None:
            return self.history_end
        return max(self.today - timedelta(days=self.lag_days), date(self.current_year, 1, 2))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)


@dataclass(frozen=True)
class City:
    """The registry of a demo city plus the model columns behind its readings.

    ``buildings``: one row per building, import columns then ``model_*`` columns;
    ``meters``: one row per meter, import columns then ``model_*`` columns.
    """

    spec: DemoSpec
    buildings: pd.DataFrame
    meters: pd.DataFrame


BUILDING_COLUMNS = list(file_columns("buildings"))
# The demo's meters use the default power ceiling (no max_power_kw column).
METER_COLUMNS = [c for c in stored_columns("meters") if c != "max_power_kw"]


def allocate_counts(total: int, shares: list[float]) -> list[int]:
    """Integer counts summing to ``total`` closest to ``shares`` (largest remainder)."""
    raw = np.array(shares, dtype=float) / sum(shares) * total
    counts = np.floor(raw).astype(int)
    remainder = total - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts.tolist()


def _role_count(n: int, share: float, minimum: int = 1, min_buildings: int = 10) -> int:
    return max(minimum, round(share * n)) if n >= min_buildings else 0


def _draw_types(n: int, rng: np.random.Generator) -> np.ndarray:
    names = list(TYPE_PROFILES)
    counts = allocate_counts(n, [TYPE_PROFILES[t].share for t in names])
    types = np.repeat(np.array(names, dtype=object), counts)
    return rng.permutation(types)


def _draw_districts(n: int, rng: np.random.Generator) -> np.ndarray:
    weights = np.array([d[4] for d in DISTRICTS])
    idx = rng.choice(len(DISTRICTS), size=n, p=weights / weights.sum())
    first = rng.permutation(len(DISTRICTS))[: min(n, len(DISTRICTS))]
    idx[: len(first)] = first
    return rng.permutation(idx)


def _draw_areas(types: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    medians = np.array([TYPE_PROFILES[t].median_area_m2 for t in types])
    areas = medians * np.exp(rng.normal(0.0, 0.75, len(types)))
    areas = np.clip(areas, MIN_AREA_M2 + rng.uniform(0, 500, len(types)), MAX_AREA_M2)
    if len(types) >= 20 and areas.max() <= LARGE_AREA_M2:
        areas[int(np.argmax(areas))] = LARGE_AREA_M2 + rng.uniform(20_000, 120_000)
    return np.round(areas, -1)


def _names(types: np.ndarray, districts: np.ndarray, rng: np.random.Generator) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for building_type, district_idx in zip(types, districts, strict=True):
        district = DISTRICTS[district_idx][0]
        suffix = rng.choice(TYPE_PROFILES[building_type].name_suffixes)
        if building_type in ("office_government", "school") or suffix.startswith("人民"):
            stem = district.removesuffix("区")
        else:
            stem = str(rng.choice(DISTRICT_PLACES[district]))
        name = f"{stem}{suffix}"
        number = 2
        while name in seen:
            name = (
                f"{stem}第{number}{suffix}"
                if building_type == "school"
                else f"{stem}{suffix}{number}号楼"
            )
            number += 1
        seen.add(name)
        names.append(name)
    return names


def _uniform(rng: np.random.Generator, ranges: list[tuple[float, float]]) -> np.ndarray:
    lo = np.array([r[0] for r in ranges])
    hi = np.array([r[1] for r in ranges])
    return lo + (hi - lo) * rng.random(len(ranges))


def _assign_roles(
    n: int, rng: np.random.Generator, eligible: np.ndarray, relative_eui: np.ndarray
) -> np.ndarray:
    """Trend role of each building: normal, grower, repeat, improver (only ``eligible``).

    Repeat offenders are drawn first among the inefficient buildings (intensity above their
    type's average), as in practice; the other roles at random.
    """
    roles = np.full(n, "normal", dtype=object)
    shuffled = rng.permutation(np.flatnonzero(eligible))
    inefficient_first = shuffled[np.argsort(~(relative_eui[shuffled] > 1.05), kind="stable")]
    repeat_count = _role_count(n, REPEAT_SHARE)
    roles[inefficient_first[:repeat_count]] = "repeat"
    rest = [i for i in shuffled if roles[i] == "normal"]
    start = 0
    for role, count in (
        ("grower", _role_count(n, GROWER_SHARE)),
        ("improver", _role_count(n, IMPROVER_SHARE)),
    ):
        roles[rest[start : start + count]] = role
        start += count
    return roles


def year_multipliers(
    spec: DemoSpec, roles: np.ndarray, relative_eui: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Use multiplier of each building (rows) and data year (columns) relative to its first
    year's level [-].

    Buildings under a quota regime save: a city-wide drift of :data:`YEARLY_EFFICIENCY_GAIN`
    per year with ±2 % noise; this year, buildings above their type's average intensity
    (``relative_eui`` > 1, the ones the benchmark rule targets) have cut most of the gap.
    On top come the roles: growers use 12–30 % more this year, repeat offenders 32–42 % more
    last year and 30–45 % more this year, improvers (retrofitted) 10–20 % less this year.
    """
    years = np.array(spec.data_years)
    span = years - spec.first_year
    multipliers = (1 - YEARLY_EFFICIENCY_GAIN) ** span[None, :] * np.exp(
        rng.normal(0.0, 0.02, (len(roles), len(years)))
    )
    current = years == spec.current_year
    previous = years == spec.current_year - 1
    change_now = np.ones(len(roles))
    change_before = np.ones(len(roles))
    is_grower = roles == "grower"
    is_repeat = roles == "repeat"
    is_improver = roles == "improver"
    converging = np.isin(roles, ("normal", "improver")) & (relative_eui > 1.0)
    target = rng.uniform(0.94, 1.03, len(roles)) / np.maximum(relative_eui, 1e-9)
    change_now[converging] = np.clip(target[converging], 0.75, 1.0)
    change_now[is_grower] = rng.uniform(1.12, 1.30, is_grower.sum())
    change_now[is_repeat] = rng.uniform(1.30, 1.45, is_repeat.sum())
    change_before[is_repeat] = rng.uniform(1.32, 1.42, is_repeat.sum())
    change_now[is_improver] *= rng.uniform(0.80, 0.90, is_improver.sum())
    multipliers[:, current] *= change_now[:, None]
    multipliers[:, previous] *= change_before[:, None]
    return multipliers


def relative_intensity(types: np.ndarray, eui: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Each building's intensity ÷ its type's floor-area-weighted mean intensity [-]."""
    result = np.ones(len(types))
    for building_type in set(types.tolist()):
        mask = types == building_type
        pooled = (eui[mask] * areas[mask]).sum() / areas[mask].sum()
        result[mask] = eui[mask] / pooled
    return result


def build_city(spec: DemoSpec) -> City:
    """Draw the registry and model parameters of a demo city (pure, deterministic)."""
    rng = np.random.default_rng([spec.seed, 0])
    n = spec.buildings
    types = _draw_types(n, rng)
    districts = _draw_districts(n, rng)
    areas = _draw_areas(types, rng)
    profiles = [TYPE_PROFILES[t] for t in types]
    ids = [f"BJ{i + 1:05d}" for i in range(n)]

    public_share = np.where(rng.random(n) < 0.7, 1.0, np.round(rng.uniform(0.6, 1.0, n), 2))
    n_mixed = _role_count(n, MIXED_USE_SHARE, minimum=2) if n >= 10 else int(n >= 3)
    mixed = rng.choice(n, size=n_mixed, replace=False) if n_mixed else np.array([], dtype=int)
    public_share[mixed] = np.round(rng.uniform(0.25, 0.45, n_mixed), 2)

    commissioned = rng.integers(1980, spec.first_year, n) if spec.first_year > 1981 else None
    commissioned_year = (
        commissioned if commissioned is not None else np.full(n, spec.first_year - 1)
    ).astype(int)
    is_new = np.zeros(n, dtype=bool)
    if n >= 20 and spec.years >= 1:
        candidates = np.setdiff1d(np.arange(n), mixed)
        new_idx = int(rng.choice(candidates))
        is_new[new_idx] = True
        commissioned_year[new_idx] = spec.current_year
    data_start = [
        date(spec.current_year, 2, 1) if new else date(spec.first_year, 1, 1) for new in is_new
    ]

    eui = np.array(
        [
            p.eui_kwh_per_m2[0] + (p.eui_kwh_per_m2[1] - p.eui_kwh_per_m2[0]) * b
            for p, b in zip(profiles, rng.beta(2.0, 3.0, n), strict=True)
        ]
    )
    base_share = np.array([p.base_share for p in profiles]) * rng.uniform(0.8, 1.2, n)
    wasteful = rng.random(n) < WASTEFUL_BASE_SHARE
    base_share = np.where(wasteful, np.minimum(base_share * 1.8, 0.8), base_share)
    cooling_gain = np.array([p.cooling_gain for p in profiles]) * rng.uniform(0.8, 1.2, n)

    source_names = [s[0] for s in HEATING_SOURCES]
    heating = rng.choice(source_names, size=n, p=[s[1] for s in HEATING_SOURCES])
    heating_gain = np.where(heating == "electric", rng.uniform(0.4, 0.7, n), 0.03)
    kitchen = rng.random(n) < np.array([p.kitchen_gas_share for p in profiles])
    if n >= 3 and not (kitchen | (heating == "gas")).any():
        kitchen[0] = True
    kitchen_gas = np.where(kitchen, _uniform(rng, [p.kitchen_gas_m3_per_m2 for p in profiles]), 0)
    boiler_gas = np.where(heating == "gas", rng.uniform(*BOILER_GAS_M3_PER_M2, n), 0.0)
    heat_gj = np.where(heating == "district_heat", rng.uniform(*DISTRICT_HEAT_GJ_PER_M2, n), 0.0)

    eligible = ~is_new & ~np.isin(np.arange(n), mixed)
    relative_eui = relative_intensity(types, eui, areas)
    roles = _assign_roles(n, rng, eligible, relative_eui)
    multipliers = year_multipliers(spec, roles, relative_eui, rng)

    district_rows = [DISTRICTS[i] for i in districts]
    buildings = pd.DataFrame(
        {
            "building_id": ids,
            "name": _names(types, districts, rng),
            "district": [d[0] for d in district_rows],
            "building_type": types.astype(str),
            "floor_area_m2": areas,
            "public_use_share": public_share,
            "commissioned_year": commissioned_year,
            "latitude": np.round([d[2] for d in district_rows] + rng.normal(0, 0.02, n), 5),
            "longitude": np.round([d[3] for d in district_rows] + rng.normal(0, 0.025, n), 5),
            "operating_hours_per_year": np.round(
                _uniform(rng, [p.operating_hours for p in profiles]), -1
            ),
            "area_per_person_m2": np.round(
                _uniform(rng, [p.area_per_person_m2 for p in profiles]), 1
            ),
            "model_eui_kwh_per_m2": eui,
            "model_base_share": base_share,
            "model_cooling_gain": cooling_gain,
            "model_heating_gain": heating_gain,
            "model_heating_source": heating,
            "model_kitchen_gas_m3_per_m2": kitchen_gas,
            "model_boiler_gas_m3_per_m2": boiler_gas,
            "model_district_heat_gj_per_m2": heat_gj,
            "model_role": roles.astype(str),
            "model_is_wasteful": wasteful,
            "model_data_start": data_start,
        }
    )
    for j, year in enumerate(spec.data_years):
        buildings[f"model_multiplier_{year}"] = multipliers[:, j]
    return City(spec=spec, buildings=buildings, meters=_meters(spec, buildings, rng))


def _meters(spec: DemoSpec, buildings: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    n = len(buildings)
    # One medium building's main meter is a cumulative register behind a current transformer.
    medium = np.flatnonzero(
        (buildings["floor_area_m2"] < SECOND_METER_AREA_M2).to_numpy()
        & (buildings["model_role"] == "normal").to_numpy()
        & (buildings["public_use_share"] >= 0.5).to_numpy()
    )
    cumulative_idx = int(medium[0]) if n >= 5 and len(medium) else -1
    mwh_idx = set(rng.choice(n, size=n // 15, replace=False).tolist()) - {cumulative_idx}
    for i, b in enumerate(buildings.itertuples(index=False)):
        two = b.floor_area_m2 >= SECOND_METER_AREA_M2
        shares = (0.6, 0.4) if two else (1.0,)
        for k, share in enumerate(shares, start=1):
            row: dict[str, object] = {
                "meter_id": f"{b.building_id}-E{k}",
                "building_id": b.building_id,
                "energy_type": "electricity",
                "unit": "MWh" if (i in mwh_idx and k == 1) else "kWh",
                "reading_kind": "interval",
                "multiplier": 1.0,
                "register_max": None,
                "interval_minutes": 60,
                "model_share": share,
                "model_register_start": 0.0,
            }
            if i == cumulative_idx and k == 1:
                annual_kwh = b.model_eui_kwh_per_m2 * b.floor_area_m2
                row.update(
                    reading_kind="cumulative",
                    multiplier=ROLLOVER_MULTIPLIER,
                    register_max=ROLLOVER_REGISTER_MAX,
                    # Half a year's use below the maximum: the register wraps inside the data.
                    model_register_start=(
                        register_modulus(ROLLOVER_REGISTER_MAX)
                        - 0.5 * annual_kwh / ROLLOVER_MULTIPLIER
                    )
                    % register_modulus(ROLLOVER_REGISTER_MAX),
                )
            rows.append(row)
        if b.model_kitchen_gas_m3_per_m2 > 0 or b.model_boiler_gas_m3_per_m2 > 0:
            rows.append(
                {
                    "meter_id": f"{b.building_id}-G1",
                    "building_id": b.building_id,
                    "energy_type": "natural_gas",
                    "unit": "m3",
                    "reading_kind": "cumulative",
                    "multiplier": 1.0,
                    "register_max": None,
                    "interval_minutes": 1440,
                    "model_share": 1.0,
                    "model_register_start": float(np.round(rng.uniform(10_000, 500_000), 1)),
                }
            )
        if b.model_district_heat_gj_per_m2 > 0:
            rows.append(
                {
                    "meter_id": f"{b.building_id}-H1",
                    "building_id": b.building_id,
                    "energy_type": "district_heat",
                    "unit": "GJ",
                    "reading_kind": "interval",
                    "multiplier": 1.0,
                    "register_max": None,
                    "interval_minutes": 1440,
                    "model_share": 1.0,
                    "model_register_start": 0.0,
                }
            )
    meters = pd.DataFrame(rows)
    electric = np.flatnonzero(
        (meters["energy_type"] == "electricity").to_numpy()
        & (meters["reading_kind"] == "interval").to_numpy()
    )
    flags = np.full(len(meters), "", dtype=object)
    if spec.mess and len(electric) >= 4:
        picks = rng.permutation(electric)
        flags[picks[0]] = "zero_run"
        flags[picks[1]] = "offline"
        gap_count = max(1, round(0.1 * len(electric)))
        flags[picks[2 : 2 + gap_count]] = "gaps"
    meters["model_fault"] = flags
    return meters
