"""Load shapes of the demo city: Beijing's climate, the Chinese working calendar, opening hours.

Pure numpy functions used by :mod:`quota.demo.generator` to synthesise hourly electricity and
daily gas and district-heat use. Nothing here touches files, the database or the environment.

Sources of the shapes (approximate, for a realistic demo, not for engineering use):

- Beijing daily mean air temperature: about −3 °C in mid-January and 27 °C in late July
  (China Meteorological Administration 1991–2020 normals), a ±5 °C daily swing peaking at 15:00,
  and a day-to-day anomaly (AR(1), standard deviation ≈ 2.5 °C).
- Working days: Chinese public holidays and the weekend days made working days in exchange
  (调休) from the ``holidays`` package (country ``CN``).
- Heating season of the municipal district-heating network: 15 November to 15 March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np

HEATING_SEASON_START = (11, 15)  # (month, day), first day of district heating
HEATING_SEASON_END = (3, 15)  # last day of district heating
ANNUAL_MEAN_C = 12.3  # Beijing annual mean air temperature [°C]
ANNUAL_AMPLITUDE_C = 14.9  # half the July–January difference [°C]
COLDEST_DAY_OF_YEAR = 20  # about 20 January
DAILY_SWING_C = 5.0  # half the day–night difference [°C]
ANOMALY_SD_C = 2.5  # day-to-day weather anomaly [°C]
ANOMALY_PERSISTENCE = 0.7  # AR(1) coefficient of the daily anomaly
COOLING_BALANCE_C = 22.0  # air temperature above which cooling load starts [°C]
HEATING_BALANCE_C = 12.0  # air temperature below which electric heating starts [°C]
HEATING_DEGREE_BASE_C = 18.0  # base of heating degree-days for gas/heat demand [°C]


@dataclass(frozen=True)
class OpeningHours:
    """When a building type is in use.

    ``open_h``/``close_h``: local hours of the occupied period (close exclusive); equal values
    mean round the clock. ``night_level``: occupancy share outside the period (24 h types).
    ``non_working_level``: occupancy on weekends and holidays relative to a working day.
    ``vacation_level``: relative occupancy in school vacations (schools, universities).
    ``closed_weekday``: a weekday (0 = Monday) the building is closed, if any.
    """

    open_h: int
    close_h: int
    night_level: float = 0.0
    non_working_level: float = 1.0
    vacation_level: float = 1.0
    closed_weekday: int | None = None


OPENING_HOURS: dict[str, OpeningHours] = {
    "office_government": OpeningHours(8, 18, non_working_level=0.10),
    "office_commercial": OpeningHours(8, 20, non_working_level=0.30),
    "mall": OpeningHours(10, 22, non_working_level=1.15),
    "hotel": OpeningHours(7, 23, night_level=0.70, non_working_level=1.05),
    "hospital": OpeningHours(8, 18, night_level=0.75, non_working_level=0.85),
    "school": OpeningHours(7, 17, non_working_level=0.05, vacation_level=0.10),
    "university": OpeningHours(7, 22, non_working_level=0.50, vacation_level=0.35),
    "culture": OpeningHours(9, 17, non_working_level=1.10, closed_weekday=0),
    "sports": OpeningHours(9, 21, non_working_level=1.20),
    "transport": OpeningHours(5, 23, night_level=0.15, non_working_level=1.10),
    "other": OpeningHours(8, 18, non_working_level=0.40),
}

# School vacations, as (month, day) ranges inclusive: winter (around the Spring Festival)
# and summer.
VACATIONS = (((1, 15), (2, 25)), ((7, 10), (8, 31)))


@dataclass(frozen=True)
class YearCalendar:
    """Hour-by-hour calendar of one local year (or part of it).

    ``hour_starts``: local, zone-aware start of each hour. Arrays have one entry per hour:
    ``hour_of_day`` 0–23, ``day_index`` (0 = first day), ``weekday`` (0 = Monday),
    ``is_working_day`` (Chinese working calendar), ``is_vacation`` (school vacation),
    ``air_temperature_c`` [°C]. ``days`` lists the local dates, ``daily_mean_c`` [°C] per day.
    """

    year: int
    hour_starts: list[datetime]
    hour_of_day: np.ndarray
    day_index: np.ndarray
    weekday: np.ndarray
    is_working_day: np.ndarray
    is_vacation: np.ndarray
    air_temperature_c: np.ndarray
    days: list[date]
    daily_mean_c: np.ndarray


def chinese_working_days(days: list[date]) -> np.ndarray:
    """True for each day that is a working day in China (weekends and public holidays off,
    exchanged weekend working days 调休 on), from the ``holidays`` package."""
    years = sorted({d.year for d in days})
    calendar = holidays.country_holidays("CN", years=years)
    return np.array([calendar.is_working_day(d) for d in days], dtype=bool)


def in_vacation(days: list[date]) -> np.ndarray:
    """True for each day inside a school vacation (:data:`VACATIONS`)."""
    keys = np.array([d.month * 100 + d.day for d in days])
    result = np.zeros(len(days), dtype=bool)
    for (m0, d0), (m1, d1) in VACATIONS:
        result |= (keys >= m0 * 100 + d0) & (keys <= m1 * 100 + d1)
    return result


def in_heating_season(days: list[date]) -> np.ndarray:
    """True for each day inside the district-heating season (15 Nov – 15 Mar)."""
    keys = np.array([d.month * 100 + d.day for d in days])
    start = HEATING_SEASON_START[0] * 100 + HEATING_SEASON_START[1]
    end = HEATING_SEASON_END[0] * 100 + HEATING_SEASON_END[1]
    return (keys >= start) | (keys <= end)


def seasonal_temperature_c(days: list[date]) -> np.ndarray:
    """Normal daily mean air temperature in Beijing [°C] (the seasonal cycle only)."""
    day_of_year = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    return ANNUAL_MEAN_C - ANNUAL_AMPLITUDE_C * np.cos(
        2 * np.pi * (day_of_year - COLDEST_DAY_OF_YEAR) / 365.25
    )


def daily_mean_temperature_c(days: list[date], rng: np.random.Generator) -> np.ndarray:
    """Daily mean air temperature in Beijing [°C]: a seasonal cycle plus an AR(1) anomaly."""
    seasonal = seasonal_temperature_c(days)
    shocks = rng.normal(0.0, ANOMALY_SD_C * np.sqrt(1 - ANOMALY_PERSISTENCE**2), len(days))
    anomaly = np.empty(len(days))
    previous = 0.0
    for i, shock in enumerate(shocks):
        previous = ANOMALY_PERSISTENCE * previous + shock
        anomaly[i] = previous
    return seasonal + anomaly


@lru_cache(maxsize=16)
def year_calendar(year: int, timezone_name: str, weather_seed: int) -> YearCalendar:
    """The hourly calendar and weather of local ``year`` (cached; the weather is the same
    for every building of the city and depends only on ``weather_seed`` and the year)."""
    tz = ZoneInfo(timezone_name)
    first = date(year, 1, 1)
    days = [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]
    hour_starts: list[datetime] = []
    day_index: list[int] = []
    for i, day in enumerate(days):
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        end = start + timedelta(days=1)
        # Step in absolute time so that a zone with daylight saving gets 23 or 25 hours.
        instant = start.astimezone(ZoneInfo("UTC"))
        while instant < end.astimezone(ZoneInfo("UTC")):
            hour_starts.append(instant.astimezone(tz))
            day_index.append(i)
            instant += timedelta(hours=1)
    days_idx = np.array(day_index)
    hour_of_day = np.array([h.hour for h in hour_starts])
    rng = np.random.default_rng([weather_seed, year, 1])
    daily_mean = daily_mean_temperature_c(days, rng)
    swing = DAILY_SWING_C * np.cos(2 * np.pi * (hour_of_day - 15) / 24)
    return YearCalendar(
        year=year,
        hour_starts=hour_starts,
        hour_of_day=hour_of_day,
        day_index=days_idx,
        weekday=np.array([d.weekday() for d in days])[days_idx],
        is_working_day=chinese_working_days(days)[days_idx],
        is_vacation=in_vacation(days)[days_idx],
        air_temperature_c=daily_mean[days_idx] + swing,
        days=days,
        daily_mean_c=daily_mean,
    )


def occupancy(calendar: YearCalendar, hours: OpeningHours) -> np.ndarray:
    """Occupancy share 0..~1.2 of each hour for a building type's opening hours.

    Inside the occupied period 1.0 (0.5 in the first and last hour, a ramp), outside it the
    ``night_level``; scaled on non-working days, school vacations and a closing weekday.
    """
    h = calendar.hour_of_day
    if hours.open_h == hours.close_h:
        inside = np.ones(h.shape)
    else:
        inside = ((h >= hours.open_h) & (h < hours.close_h)).astype(float)
        inside[(h == hours.open_h) | (h == hours.close_h - 1)] = 0.5
    level = hours.night_level + (1.0 - hours.night_level) * inside
    day_factor = np.where(calendar.is_working_day, 1.0, hours.non_working_level)
    day_factor = np.where(calendar.is_vacation, day_factor * hours.vacation_level, day_factor)
    if hours.closed_weekday is not None:
        day_factor = np.where(calendar.weekday == hours.closed_weekday, 0.05, day_factor)
    return level * day_factor


def cooling_load_index(air_temperature_c: np.ndarray) -> np.ndarray:
    """Relative cooling demand: 0 at or below 22 °C, 1.0 at 32 °C, linear [-]."""
    return np.clip(air_temperature_c - COOLING_BALANCE_C, 0.0, None) / 10.0


def electric_heating_index(air_temperature_c: np.ndarray) -> np.ndarray:
    """Relative electric-heating demand (heat pumps, split units): 0 at or above 12 °C,
    1.0 at −8 °C, linear [-]."""
    return np.clip(HEATING_BALANCE_C - air_temperature_c, 0.0, None) / 20.0


def heating_degree_days(daily_mean_c: np.ndarray) -> np.ndarray:
    """Heating degree-days of each day on an 18 °C base [K·d]."""
    return np.clip(HEATING_DEGREE_BASE_C - daily_mean_c, 0.0, None)


@dataclass(frozen=True)
class ElectricityShape:
    """A building's electricity behaviour, all relative (the absolute level comes later).

    ``base_share``: always-on load as a share of the occupied load [-]; ``cooling_gain``:
    extra occupied load per unit of :func:`cooling_load_index` [-]; ``heating_gain``: the same
    for :func:`electric_heating_index` [-]; ``hourly_noise`` and ``daily_noise``: standard
    deviations of the log of multiplicative noise [-].
    """

    base_share: float
    cooling_gain: float
    heating_gain: float
    hourly_noise: float = 0.05
    daily_noise: float = 0.04


def electricity_shape(
    calendar: YearCalendar,
    occupancy_share: np.ndarray,
    shape: ElectricityShape,
    rng: np.random.Generator,
) -> np.ndarray:
    """Relative hourly electricity use (arbitrary unit) of one building over ``calendar``.

    load = base × (1 + 0.3·cooling) + (1 − base) × occupancy × (1 + gains), times noise: the
    always-on part (servers, refrigeration, ventilation) follows the weather a little, the
    occupied part much more.
    """
    cooling = cooling_load_index(calendar.air_temperature_c)
    heating = electric_heating_index(calendar.air_temperature_c)
    base = shape.base_share * (1.0 + 0.3 * cooling)
    occupied = (1.0 - shape.base_share) * occupancy_share
    load = base + occupied * (1.0 + shape.cooling_gain * cooling + shape.heating_gain * heating)
    daily = rng.normal(0.0, shape.daily_noise, len(calendar.days))[calendar.day_index]
    hourly = rng.normal(0.0, shape.hourly_noise, len(load))
    return load * np.exp(daily + hourly)
