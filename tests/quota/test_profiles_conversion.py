"""Expected share from profiles, and kgce / CO₂ conversion, on tiny hand-built data."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from quota import conversion, profiles
from quota.rules import Factors
from quota.settings import load_settings


@pytest.fixture(scope="module")
def factors() -> Factors:
    return Factors.from_rules(load_settings().rules)


def test_share_to_date():
    share = profiles.share_to_date(pd.Series([25.0, 5.0, 1.0]), pd.Series([100.0, 0.0, 1.0]))
    assert share.iloc[0] == 0.25
    assert math.isnan(share.iloc[1])
    assert share.iloc[2] == 1.0


def test_type_profile_pools_complete_peers_only():
    result = profiles.type_profile_shares(
        building_type=pd.Series(["office", "office", "office", "mall"]),
        to_date=pd.Series([10.0, 30.0, 99.0, 5.0]),
        full=pd.Series([100.0, 100.0, 100.0, 10.0]),
        is_complete=pd.Series([True, True, False, True]),
    )
    assert result.loc["office", "share"] == pytest.approx(40 / 200)
    assert result.loc["office", "peer_count"] == 2
    assert result.loc["mall", "share"] == 0.5


def test_choose_expected_share_prefers_own_then_type_then_elapsed():
    share, source = profiles.choose_expected_share(
        own_share=pd.Series([0.3, 0.3, math.nan, 0.3]),
        own_is_complete=pd.Series([True, False, True, False]),
        type_share=pd.Series([0.4, 0.4, 0.4, 0.4]),
        type_peer_count=pd.Series([5.0, 5.0, 5.0, 4.0]),
        elapsed_share=0.5,
        min_peer_count=5,
    )
    assert share.tolist() == [0.3, 0.4, 0.4, 0.5]
    assert source.tolist() == ["own", "type", "type", "elapsed"]


def test_cumulative_share_from_a_leap_source_year():
    days = pd.date_range("2024-01-01", "2024-12-31", freq="D").date
    daily = pd.Series(1.0, index=days)  # flat over 366 days
    curve = profiles.cumulative_share_from_daily(daily, 2025)
    assert len(curve) == 365
    assert curve[date(2025, 1, 1)] == pytest.approx(1 / 366)
    # 1 March 2025 includes the source's 29 February: 61 of 366 days.
    assert curve[date(2025, 2, 28)] == pytest.approx(59 / 366)
    assert curve[date(2025, 3, 1)] == pytest.approx(61 / 366)
    assert curve[date(2025, 12, 31)] == 1.0


def test_cumulative_share_into_a_leap_target_year():
    days = pd.date_range("2023-01-01", "2023-12-31", freq="D").date
    daily = pd.Series([2.0 if d.month <= 6 else 1.0 for d in days], index=days)
    curve = profiles.cumulative_share_from_daily(daily, 2024)
    assert len(curve) == 366
    total = 181 * 2.0 + 184 * 1.0
    assert curve[date(2024, 6, 30)] == pytest.approx(181 * 2.0 / total)
    assert curve[date(2024, 2, 29)] == curve[date(2024, 2, 28)]  # repeats 28 February
    assert curve.is_monotonic_increasing
    assert curve.iloc[-1] == 1.0


def test_linear_share_and_empty_profile_fallback():
    curve = profiles.linear_cumulative_share(2024)
    assert curve[date(2024, 1, 1)] == pytest.approx(1 / 366)
    assert curve[date(2024, 12, 31)] == 1.0
    empty = profiles.cumulative_share_from_daily(pd.Series(dtype="float64"), 2024)
    assert empty.equals(curve)


def test_kgce_conversion_by_carrier(factors):
    kwh = pd.Series([1000.0, 997.0, 1e9 / 3.6e6])
    types = pd.Series(["electricity", "natural_gas", "district_heat"])
    kgce = conversion.kgce_from_kwh(kwh, types, factors)
    assert kgce.iloc[0] == pytest.approx(1000 * 0.1229)  # 0.1229 kgce/kWh
    assert kgce.iloc[1] == pytest.approx(997 / 9.97 * 1.2143)  # 100 m3 x 1.2143 kgce/m3
    assert kgce.iloc[2] == pytest.approx(34.12)  # 1 GJ x 34.12 kgce/GJ


def test_co2_conversion_by_carrier(factors):
    kwh = pd.Series([1000.0, 997.0, 1e9 / 3.6e6])
    types = pd.Series(["electricity", "natural_gas", "district_heat"])
    co2 = conversion.co2_kg_from_kwh(kwh, types, factors)
    assert co2.tolist() == pytest.approx([677.6, 199.7, 110.0])


def test_factors_follow_the_rules_not_literals():
    rules = load_settings().rules
    rules = {**rules, "conversion": {**rules["conversion"], "electricity_kgce_per_kwh": 0.3}}
    f = Factors.from_rules(rules)
    kgce = conversion.kgce_from_kwh(pd.Series([10.0]), pd.Series(["electricity"]), f)
    assert kgce.iloc[0] == pytest.approx(3.0)


def test_daily_in_basis_converts_to_kgce(factors) -> None:
    daily = pd.DataFrame(
        {
            "day": [date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 2)],
            "energy_type": ["electricity", "natural_gas", "electricity"],
            "energy_kwh": [100.0, 997.0, 50.0],
        }
    )
    electricity = conversion.daily_in_basis(daily, "electricity_kwh", factors)
    assert electricity.tolist() == [100.0, 50.0]
    kgce = conversion.daily_in_basis(daily, "energy_kgce", factors)
    gas_m3 = 997.0 / factors.natural_gas_kwh_per_m3
    assert kgce.iloc[0] == pytest.approx(
        100 * factors.electricity_kgce_per_kwh + gas_m3 * factors.natural_gas_kgce_per_m3
    )
