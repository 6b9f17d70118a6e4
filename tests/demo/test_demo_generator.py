"""The demo city generator: deterministic, realistic, and as messy as real meter data."""

from __future__ import annotations

import gzip
import itertools
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from quota.demo.city import DISTRICT_NAMES, MIN_AREA_M2, TYPE_PROFILES
from quota.demo.generator import (
    QUARANTINE_REASONS,
    DemoSpec,
    build_city,
    building_daily_fuel,
    building_electricity_kwh,
    generate,
    quotas_frame,
    readings_text,
)
from quota.demo.load_shapes import year_calendar
from quota.registry.parse import register_modulus
from quota.registry.textfiles import decode, read_bytes

TODAY = date(2026, 3, 20)
SMALL = DemoSpec(buildings=24, years=1, seed=11, today=TODAY)
# Annual electricity intensity ranges per type [kWh/m²] (docs/demo.md, ../shared/DOMAIN.md).
EUI_RANGES = {t: p.eui_kwh_per_m2 for t, p in TYPE_PROFILES.items()}


@pytest.fixture(scope="module")
def small_city(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("city")
    return generate(SMALL, out)


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_the_same_bytes(small_city, tmp_path: Path) -> None:
    again = generate(SMALL, tmp_path / "again")
    first, second = _files(small_city.out_dir), _files(again.out_dir)
    assert list(first) == list(second)
    assert first == second


def test_another_seed_gives_another_city(small_city, tmp_path: Path) -> None:
    other = generate(DemoSpec(buildings=24, years=1, seed=12, today=TODAY), tmp_path / "o")
    assert other.buildings_csv.read_bytes() != small_city.buildings_csv.read_bytes()


def test_registry_is_beijing_like() -> None:
    city = build_city(DemoSpec(buildings=400, years=1, seed=3, today=TODAY))
    b = city.buildings
    assert set(b["district"]) == set(DISTRICT_NAMES)
    assert len(DISTRICT_NAMES) == 16
    shares = b["building_type"].value_counts(normalize=True)
    for building_type, profile in TYPE_PROFILES.items():
        assert shares.get(building_type, 0.0) == pytest.approx(profile.share, abs=0.005)
    assert shares[["office_government", "office_commercial"]].sum() > 0.3
    assert (b["floor_area_m2"] >= MIN_AREA_M2).all()
    assert b["floor_area_m2"].max() > 100_000
    assert (b["floor_area_m2"] > 20_000).mean() > 0.2  # "large" public buildings are common
    mixed = b[b["public_use_share"] < 0.5]
    assert len(mixed) >= 2
    assert (mixed["public_use_share"] > 0).all()
    assert b["building_id"].is_unique and b["name"].is_unique


def test_sixteen_buildings_cover_the_sixteen_districts() -> None:
    city = build_city(DemoSpec(buildings=16, years=1, seed=5, today=TODAY))
    assert sorted(city.buildings["district"]) == sorted(DISTRICT_NAMES)


def test_small_city_still_has_a_large_and_a_mixed_use_building() -> None:
    b = build_city(DemoSpec(buildings=60, years=2, seed=1, today=TODAY)).buildings
    assert b["floor_area_m2"].max() > 100_000
    assert (b["public_use_share"] < 0.5).sum() >= 2


@pytest.fixture(scope="module")
def city_2025():
    return build_city(DemoSpec(buildings=120, years=1, seed=9, today=date(2026, 6, 1)))


def _year_kwh(city, building, year: int = 2025) -> np.ndarray:
    return building_electricity_kwh(city, building, year)


def test_annual_intensity_within_the_type_range(city_2025) -> None:
    existing = city_2025.buildings[city_2025.buildings["commissioned_year"] < 2026]
    assert len(existing) == len(city_2025.buildings) - 1  # one is new this year
    for b in existing.itertuples(index=False):
        eui = np.nansum(_year_kwh(city_2025, b)) / b.floor_area_m2
        low, high = EUI_RANGES[b.building_type]
        assert low * 0.85 <= eui <= high * 1.15, (b.building_id, b.building_type, eui)


def test_cooling_peak_in_july_and_august(city_2025) -> None:
    calendar = year_calendar(2025, "Asia/Shanghai", city_2025.spec.seed)
    month = np.array([t.month for t in calendar.hour_starts])
    totals = np.zeros(13)
    for b in city_2025.buildings.itertuples(index=False):
        if b.building_type not in ("school", "university"):  # summer vacation
            kwh = np.nan_to_num(_year_kwh(city_2025, b))
            totals += np.bincount(month, weights=kwh, minlength=13)
    hours = np.bincount(month, minlength=13)
    per_hour = totals[1:] / hours[1:]
    summer = per_hour[[6, 7]].mean()  # July, August
    shoulder = per_hour[[3, 4, 8, 9]].mean()  # April, May, September, October
    assert summer > 1.15 * shoulder
    assert per_hour.argmax() in (6, 7)


def test_offices_use_less_on_weekends_and_holidays(city_2025) -> None:
    calendar = year_calendar(2025, "Asia/Shanghai", city_2025.spec.seed)
    days = np.array(calendar.days)
    offices = city_2025.buildings[city_2025.buildings["building_type"] == "office_commercial"]
    for b in offices.itertuples(index=False):
        daily = np.bincount(calendar.day_index, weights=_year_kwh(city_2025, b))
        working = calendar.is_working_day[np.searchsorted(calendar.day_index, range(len(days)))]
        # Buildings with a wasteful base load (a retrofit trigger) differ less.
        factor = 1.1 if b.model_is_wasteful else 1.3
        assert daily[working].mean() > factor * daily[~working].mean()
        national_day = daily[(days >= date(2025, 10, 1)) & (days <= date(2025, 10, 3))]
        assert national_day.mean() < 0.85 * daily[working].mean()
    # 26 January 2025 is a Sunday made a working day (调休): offices are in.
    assert calendar.is_working_day[
        calendar.day_index == days.tolist().index(date(2025, 1, 26))
    ].all()


def test_hospitals_and_hotels_run_all_night_offices_do_not(city_2025) -> None:
    calendar = year_calendar(2025, "Asia/Shanghai", city_2025.spec.seed)
    hour = calendar.hour_of_day
    night, day = hour < 5, (hour >= 9) & (hour < 17)
    existing = city_2025.buildings[city_2025.buildings["commissioned_year"] < 2026]
    for b in existing.itertuples(index=False):
        kwh = _year_kwh(city_2025, b)
        ratio = kwh[night].mean() / kwh[day].mean()
        if b.building_type == "hospital":
            by_hour = np.array([kwh[hour == h].mean() for h in range(5)])
            assert ratio > 0.65
            assert by_hour.std() / by_hour.mean() < 0.05  # flat through the night
        elif b.building_type == "hotel":
            assert ratio > 0.6
        elif b.building_type.startswith("office") and not b.model_is_wasteful:
            assert ratio < 0.55


def test_heat_and_gas_for_heating_come_in_winter(city_2025) -> None:
    calendar = year_calendar(2025, "Asia/Shanghai", city_2025.spec.seed)
    days = np.array(calendar.days)
    january = (days >= date(2025, 1, 1)) & (days < date(2025, 2, 1))
    july = (days >= date(2025, 7, 1)) & (days < date(2025, 8, 1))
    b = city_2025.buildings
    heat_buildings = b[b["model_district_heat_gj_per_m2"] > 0]
    gas_heated = b[b["model_boiler_gas_m3_per_m2"] > 0]
    assert len(heat_buildings) and len(gas_heated)
    for row in heat_buildings.itertuples(index=False):
        _, heat_gj = building_daily_fuel(city_2025, row, 2025)
        assert (heat_gj[july] == 0).all() and (heat_gj[january] > 0).all()
    for row in gas_heated.itertuples(index=False):
        gas_m3, _ = building_daily_fuel(city_2025, row, 2025)
        assert gas_m3[january].sum() > 3 * gas_m3[july].sum()


def _rows(path: Path) -> list[str]:
    text, _ = decode(read_bytes(path))
    return text.splitlines()


def test_every_kind_of_mess_is_planted(small_city) -> None:
    faults = small_city.faults
    for reason in QUARANTINE_REASONS:
        assert faults[reason] >= 1, reason
    assert faults["duplicate"] >= 5
    all_lines: list[str] = []
    for path in small_city.readings_files:
        all_lines.extend(_rows(path)[1:])
    line_set = set(all_lines)
    for reason, examples in small_city.fault_examples.items():
        for example in examples:
            assert example.rstrip("\n") in line_set, (reason, example)
    repeated = [line for line, n in Counter(all_lines).items() if n > 1]
    assert len(repeated) >= 5  # identical re-sent rows
    assert any(p.name.endswith(".resend.csv") for p in small_city.readings_files)


def _meter_values(files: list[Path], meter_id: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for path in files:
        lines = _rows(path)
        delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
        for line in lines[1:]:
            fields = line.split(delimiter)
            if fields[0] == meter_id and len(fields) >= 3 and not path.name.endswith("resend.csv"):
                values.setdefault(fields[1], float(fields[2]))
    return values


def test_cumulative_meter_rolls_over_and_a_meter_has_a_long_zero_run(tmp_path: Path) -> None:
    generated = generate(DemoSpec(buildings=12, years=2, seed=4, today=TODAY), tmp_path)
    meters = build_city(
        generated_spec := DemoSpec(buildings=12, years=2, seed=4, today=TODAY)
    ).meters
    assert generated_spec.buildings == 12
    rolling = meters[meters["register_max"].notna()].iloc[0]
    series = list(_meter_values(generated.readings_files, rolling["meter_id"]).values())
    assert any(b < a for a, b in itertools.pairwise(series))  # wrapped
    assert max(series) < register_modulus(rolling["register_max"])
    zero_meter = meters[meters["model_fault"] == "zero_run"].iloc[0]["meter_id"]
    zero_values = np.array(list(_meter_values(generated.readings_files, zero_meter).values()))
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate(([1], zero_values != 0, [1])))))
    assert runs.max() >= 240  # ten days of hourly zeros
    gap_meter = meters[meters["model_fault"] == "gaps"].iloc[0]["meter_id"]
    stamps = sorted(_meter_values(generated.readings_files, gap_meter))
    first, last = stamps[0], stamps[-1]
    assert len(stamps) < (
        datetime.fromisoformat(last.replace("/", "-")[:16])
        - datetime.fromisoformat(first.replace("/", "-")[:16])
    ) / timedelta(hours=1)


def test_file_formats_cover_what_gateways_send(small_city) -> None:
    names = [p.name for p in small_city.readings_files]
    assert any(n.endswith(".csv.gz") for n in names)
    headers = {}
    for path in small_city.readings_files:
        lines = _rows(path)
        headers[path.name] = (lines[0], lines[1])
    firsts = [row for _, row in headers.values()]
    assert any("+08:00" in row for row in firsts)
    assert any("/" in row.split(",")[1] for row in firsts if "," in row)
    assert any(header.startswith("meter_id;") for header, _ in headers.values())
    assert any(header.endswith(",unit") for header, _ in headers.values())
    gz = next(p for p in small_city.readings_files if p.name.endswith(".gz"))
    assert gzip.decompress(gz.read_bytes()).startswith(b"meter_id,")


def test_buildings_file_is_gbk(small_city) -> None:
    data = small_city.buildings_csv.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text, encoding = decode(data)
    assert encoding == "gb18030"
    assert "区" in text and text.startswith("building_id,name,district,building_type")
    assert small_city.meters_csv.read_bytes().startswith(b"\xef\xbb\xbf")


def test_quotas_cover_previous_years_and_leave_this_year_to_the_engine(small_city) -> None:
    lines = small_city.quotas_csv.read_text("utf-8").splitlines()
    assert lines[0] == "building_id,year,basis,limit_value"
    years = {int(line.split(",")[1]) for line in lines[1:]}
    assert years == {TODAY.year - 1}
    assert {line.split(",")[2] for line in lines[1:]} == {"electricity_kwh", "energy_kgce"}


def test_gateway_window_continues_the_history(small_city) -> None:
    city = build_city(SMALL)
    end = datetime.combine(SMALL.end_date, datetime.min.time(), tzinfo=SMALL.tz)
    text, rows = readings_text(city, end - timedelta(days=1), end)
    lines = text.splitlines()
    assert lines[0] == "meter_id,timestamp,value,unit"
    assert rows == len(lines) - 1 > 0
    history = _meter_values(small_city.readings_files, "BJ00003-E1")
    sent = {
        line.split(",")[1].replace("T", " ")[:19]: float(line.split(",")[2])
        for line in lines[1:]
        if line.startswith("BJ00003-E1,")
    }
    assert len(sent) == 24
    for stamp, value in sent.items():
        assert history[stamp] == pytest.approx(value)


def test_last_year_a_minority_is_over_its_published_quota_and_some_far_over() -> None:
    spec = DemoSpec(buildings=60, years=2, seed=2024, today=date(2026, 11, 25))
    city = build_city(spec)
    quotas = quotas_frame(city)
    limits = quotas[quotas["basis"] == "electricity_kwh"].set_index(["building_id", "year"])
    ratios = []
    for b in city.buildings.itertuples(index=False):
        if (b.building_id, 2025) in limits.index:
            use_kwh = np.nansum(building_electricity_kwh(city, b, 2025))
            ratios.append(use_kwh / limits.loc[(b.building_id, 2025), "limit_value"])
    ratios = np.array(ratios)
    assert len(ratios) >= 50  # mixed-use and new buildings have no quota
    assert 0.02 <= (ratios > 1.0).mean() <= 0.3
    repeat = (city.buildings["model_role"] == "repeat").sum()
    assert (ratios > 1.2).sum() == repeat >= 2
