"""Quota proposals (history, benchmark, combined, 5 % rules) and retrofit ranking, on tiny
hand-built tables."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from quota import proposals, retrofit
from quota.rules import RulesError, unverified_labels
from quota.settings import load_settings

SETTINGS_RULES = load_settings().rules
P_RULES = dataclasses.replace(
    proposals.ProposalRules.from_rules(SETTINGS_RULES, "history"),
    reduction_rate=0.1,
    worst_extra_reduction_rate=0.05,
    min_peer_count=3,
)


def registry(n, area=1000.0, btype="office_commercial"):
    return pd.DataFrame(
        {
            "building_id": [f"B{i:02d}" for i in range(1, n + 1)],
            "building_type": btype,
            "floor_area_m2": area,
        }
    )


def annual(rows):
    return pd.DataFrame(rows, columns=["building_id", "year", "value", "is_complete"])


def test_history_mean_of_the_five_most_recent_complete_years():
    data = annual(
        [("B01", y, float(y - 2017) * 100, True) for y in range(2018, 2025)]
        + [("B01", 2023, 9999.0, False)]
    )  # an incomplete duplicate is ignored
    base = proposals.history_base(data[data["is_complete"]], 2025, 5, "mean")
    row = base.iloc[0]
    assert row["base_years"] == "2020;2021;2022;2023;2024"
    assert row["historical_base"] == pytest.approx((300 + 400 + 500 + 600 + 700) / 5)
    median = proposals.history_base(data[data["is_complete"]], 2025, 5, "median")
    assert median.iloc[0]["historical_base"] == 500.0


def test_history_with_fewer_years_and_fallback_to_benchmark():
    b = registry(2)
    data = annual([("B01", 2023, 1000.0, True), ("B01", 2024, 2000.0, False)])
    result = proposals.propose(2025, "electricity_kwh", b, data, P_RULES).set_index("building_id")
    assert result.loc["B01", "base_years"] == "2023"
    assert result.loc["B01", "limit_value"] == pytest.approx(1000 * 0.9)
    assert result.loc["B01", "method"] == "history"
    # B02 has no history: the configured table (fewer than 3 complete peers in 2024).
    assert result.loc["B02", "method"] == "benchmark"
    assert result.loc["B02", "benchmark_source"] == "table"
    assert result.loc["B02", "limit_value"] == pytest.approx(1000 * 90.0)  # table: 90 kWh/m²
    assert result.loc["B02", "reduction_applied"] == 0.0


def test_benchmark_citywide_pooled_intensity_and_combined_minimum():
    b = registry(3)
    b.loc[2, "floor_area_m2"] = 3000.0
    data = annual(
        [("B01", 2024, 50000.0, True), ("B02", 2024, 150000.0, True), ("B03", 2024, 200000.0, True)]
    )
    # pooled: 400,000 kWh / 5,000 m² = 80 kWh/m²
    rules = dataclasses.replace(P_RULES, method="combined")
    result = proposals.propose(2025, "electricity_kwh", b, data, rules).set_index("building_id")
    assert result["benchmark_intensity_per_m2"].tolist() == pytest.approx([80.0] * 3)
    assert result.loc["B01", "benchmark"] == pytest.approx(80000.0)
    assert result.loc["B01", "limit_value"] == pytest.approx(45000.0)  # history 50,000 x 0.9
    assert result.loc["B01", "method"] == "combined:history"
    assert result.loc["B02", "limit_value"] == pytest.approx(80000.0)  # benchmark < 135,000
    assert result.loc["B02", "method"] == "combined:benchmark"
    bench = proposals.propose(
        2025, "electricity_kwh", b, data, dataclasses.replace(P_RULES, method="benchmark")
    )
    assert bench["limit_value"].tolist() == pytest.approx([80000.0, 80000.0, 240000.0])


def test_best_five_percent_exempt_and_worst_five_percent_extra():
    b = registry(20)
    data = annual([(f"B{i:02d}", 2024, 1000.0 * i, True) for i in range(1, 21)])
    result = proposals.propose(2025, "electricity_kwh", b, data, P_RULES).set_index("building_id")
    assert result.loc["B01", "efficiency_group"] == "best"
    assert result.loc["B01", "limit_value"] == pytest.approx(1000.0)  # exempt: no reduction
    assert result.loc["B20", "efficiency_group"] == "worst"
    assert result.loc["B20", "limit_value"] == pytest.approx(20000.0 * (1 - 0.15))
    assert result.loc["B10", "limit_value"] == pytest.approx(10000.0 * 0.9)
    assert (result["efficiency_group"] != "").sum() == 2
    # With 19 buildings, 5 % is less than one building: nobody is singled out.
    small = proposals.propose(2025, "electricity_kwh", b.iloc[:19], data, P_RULES)
    assert (small["efficiency_group"] == "").all()


def test_proposal_rules_reject_unknown_method():
    with pytest.raises(RulesError, match="method"):
        proposals.ProposalRules.from_rules(SETTINGS_RULES, "magic")


R_RULES = dataclasses.replace(
    retrofit.RetrofitRules.from_rules(SETTINGS_RULES), min_peer_count=3, worst_share=0.2
)


def retrofit_inputs(euis, statuses=None, btype="office_commercial"):
    n = len(euis)
    ids = [f"R{i}" for i in range(1, n + 1)]
    buildings = pd.DataFrame(
        {
            "building_id": ids,
            "building_type": btype,
            "floor_area_m2": 1000.0,
            "operating_hours_per_year": math.nan,
            "area_per_person_m2": math.nan,
        }
    )
    results = pd.DataFrame(
        {
            "building_id": ids,
            "basis": "electricity_kwh",
            "status": statuses or ["within"] * n,
            "electricity_eui_kwh_per_m2": euis,
        }
    )
    return buildings, results


def test_retrofit_savings_against_peer_median_and_ranking():
    buildings, results = retrofit_inputs([50.0, 60.0, 70.0, 100.0, 75.0])
    screened = retrofit.screen(buildings, results, R_RULES, SETTINGS_RULES)
    ranked = retrofit.rank(screened)
    # median 70: R4 saves 30 x 1000, R5 saves 5 x 1000; R3 at the median saves nothing.
    assert ranked["building_id"].tolist() == ["R4", "R5"]
    assert ranked["rank"].tolist() == [1, 2]
    top = ranked.iloc[0]
    assert top["savings_kwh_per_year"] == pytest.approx(30000.0)
    assert top["savings_kgce_per_year"] == pytest.approx(30000 * 0.1229)
    assert top["savings_tco2_per_year"] == pytest.approx(30000 * 0.6776 / 1000)
    assert top["savings_cny_per_year"] == pytest.approx(30000 * 0.8)
    assert bool(top["worst_of_type"])  # worst 20 % of 5 = one building
    assert not bool(ranked.iloc[1]["worst_of_type"])
    assert bool(top["above_constraint"])  # 100 > 80 (commercial office constraint)


def test_retrofit_triggers_list_buildings_without_savings():
    buildings, results = retrofit_inputs(
        [50.0, 60.0, 70.0], statuses=["over_20_repeat", "within", "out_of_scope"]
    )
    ranked = retrofit.rank(retrofit.screen(buildings, results, R_RULES, SETTINGS_RULES))
    # Two in-scope peers only: no peer median, so only the trigger lists R1.
    assert ranked["building_id"].tolist() == ["R1"]
    assert bool(ranked.iloc[0]["over_20"]) and bool(ranked.iloc[0]["over_20_repeat"])
    assert ranked.iloc[0]["target_source"] == "none"


def test_retrofit_guide_target_and_gbt51161_correction():
    buildings, results = retrofit_inputs([100.0, 60.0, 60.0])
    buildings.loc[0, "operating_hours_per_year"] = 5000.0  # γ1 = 0.3 + 0.7 x 0.5 = 0.65
    buildings.loc[0, "area_per_person_m2"] = 20.0  # γ2 = 0.7 + 0.3 x 2 = 1.3
    rules = dataclasses.replace(R_RULES, target="guide")
    screened = retrofit.screen(buildings, results, rules, SETTINGS_RULES).set_index("building_id")
    assert screened.loc["R1", "corrected_eui_kwh_per_m2"] == pytest.approx(100 * 0.65 * 1.3)
    assert screened.loc["R1", "target_eui_kwh_per_m2"] == 60.0  # guide value, commercial
    assert screened.loc["R1", "target_source"] == "guide"
    assert screened.loc["R1", "savings_kwh_per_year"] == pytest.approx((84.5 - 60) * 1000)


def test_base_load_trigger():
    buildings, results = retrofit_inputs([50.0, 60.0, 70.0, 100.0])
    screened = retrofit.screen(buildings, results, R_RULES, SETTINGS_RULES)
    base = pd.DataFrame(
        {"building_id": ["R4", "R1"], "base_kw": [8.0, 2.0], "occupied_kw": [10.0, 10.0]}
    )
    out = retrofit.apply_base_load(screened, base, 0.5).set_index("building_id")
    assert out.loc["R4", "base_load_ratio"] == pytest.approx(0.8)
    assert bool(out.loc["R4", "high_base_load"])
    assert not bool(out.loc["R1", "high_base_load"])
    assert not bool(out.loc["R2", "high_base_load"])  # no hourly data: not triggered


def test_unverified_labels_name_the_groups():
    labels = unverified_labels(SETTINGS_RULES, ["tiers", "conversion", "standards.gb51161"])
    assert not any(label.startswith("[tiers]") for label in labels)  # verified
    assert any(label.startswith("[conversion]") for label in labels)
    assert any(label.startswith("[standards.gb51161]") for label in labels)


def test_retrofit_over_quota_saves_at_least_its_excess():
    # No peers (no target EUI) for R1, over 120 % with 40,000 kWh excess: its savings
    # potential is the excess, ranked by it, with the source saying so.
    buildings, results = retrofit_inputs([120.0, 50.0], statuses=["over_20", "within"])
    buildings.loc[1, "building_type"] = "mall"
    results["excess"] = [40_000.0, None]
    rules = dataclasses.replace(R_RULES, min_peer_count=5)
    ranked = retrofit.rank(retrofit.screen(buildings, results, rules, SETTINGS_RULES))
    row = ranked.set_index("building_id").loc["R1"]
    assert row["savings_kwh_per_year"] == 40_000.0 and row["savings_source"] == "excess"
    assert row["rank"] == 1 and "R2" not in ranked["building_id"].tolist()
    # Where the target-EUI savings are larger, they apply.
    results["excess"] = [10.0, None]
    screened = retrofit.screen(buildings, results, R_RULES, SETTINGS_RULES)
    assert set(screened["savings_source"]) <= {"target_eui", "excess", "none"}
