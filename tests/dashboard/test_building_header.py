"""The building page's header (pure): remaining allowance sentences, final figures of a
closed year, and every note explained."""

from __future__ import annotations

from datetime import date
from typing import Any

from dashboard import building_header as bh
from dashboard.components import empty_state
from quota.allowance import remaining_allowance

RULES: dict[str, Any] = {
    "scope": {"min_floor_area_m2": 3000.0, "min_public_use_share": 0.5},
    "tiers": {"over_20_ratio": 1.2, "consequences": {"over": "over quota: energy audit"}},
    "data": {"min_peer_count": 5},
}


def text_of(children: list[Any]) -> str:
    return " ".join(str(c.to_plotly_json()) for c in children)


def header(result: dict[str, Any] | None, **kw: Any) -> str:
    args: dict[str, Any] = {
        "result": result,
        "info": {"floor_area_m2": 12000.0, "public_use_share": 0.9},
        "peers": {},
        "year": 2025,
        "as_of": date(2025, 4, 10),
        "unit": "kWh",
        "lang": "en",
        "rules": RULES,
        "has_trajectory": True,
        "has_meters": True,
        "empty_message": empty_state("none"),
    }
    args.update(kw)
    return text_of(bh.header_children(**args))


RESULT = {
    "status": "at_risk",
    "basis": "electricity_kwh",
    "energy_kwh": 400_000.0,
    "limit_value": 1_000_000.0,
    "utilization": 0.4,
    "projected": 1_100_000.0,
    "excess": None,
    "details": {},
}


def test_open_year_shows_quota_use_remaining_and_daily_allowance() -> None:
    text = header(RESULT)
    assert "Quota 1,000,000 kWh; used 400,000 kWh to 2025-04-10; remaining 600,000 kWh" in text
    # 600,000 kWh over 265 days = 2,264 kWh a day, 43 % below the pace of 4,000 a day.
    assert "at most 2,264 kWh a day for the rest of the year (43 % below your pace so far)" in text
    # The 120 % line: 800,000 kWh over 265 days.
    assert "within 120 % of the quota: at most 3,019 kWh a day" in text
    assert "year-end projection 1,100,000 kWh" in text


def test_exceeded_limit_is_said_plainly() -> None:
    line = bh.allowance_line(remaining_allowance(100.0, 130.0, 2025, date(2025, 6, 1)), "kWh", "en")
    assert line == "Already 30 kWh over the quota: it cannot be met this year."


def test_closed_year_shows_final_figures_not_a_projection() -> None:
    final = {**RESULT, "status": "over", "energy_kwh": 1_050_000.0, "utilization": 1.05}
    final["excess"] = 50_000.0
    text = header(final, as_of=date(2025, 12, 31))
    assert "2025 final figures: Over quota, use 1,050,000 kWh of a quota of 1,000,000 kWh" in text
    assert "projection" not in text and "a day for the rest" not in text
    assert "The year ended 50,000 kWh over the quota." in text
    assert "Next: over quota: energy audit" in text


def test_notes_are_explained_with_a_link_to_the_method() -> None:
    unverified = {**RESULT, "details": {"unverified": ["[profiles] secondary source"]}}
    text = header(unverified, peers={"peer_count": 1, "eui_kwh_per_m2": 80.0, "percent_rank": 0})
    assert "have not yet been checked against their source" in text
    assert "(load profiles [profiles])" in text
    both = {**RESULT, "details": {"unverified": ["[data] a", "[conversion.x] b", "[data] c"]}}
    zh = header(both, lang="zh")
    assert "部分规则参数（数据充分性 [data]、折标系数 [conversion.x]）尚未与其来源核实" in zh
    assert "Only 0 other buildings of its type (fewer than 5), so no peer comparison." in text
    assert "percentile" not in text and bh.METHOD_HREF in text
    ranked = header(RESULT, peers={"peer_count": 11, "eui_kwh_per_m2": 80.0, "percent_rank": 0.7})
    assert "higher than that of 70 % of the 10 other buildings of its type" in ranked


def test_out_of_scope_building_is_told_why() -> None:
    text = header(
        {**RESULT, "status": "out_of_scope", "limit_value": None},
        info={"floor_area_m2": 2500.0, "public_use_share": 0.3},
    )
    assert "outside the quota scheme" in text
    assert "floor area of 2,500 m² is below 3,000 m²" in text
    assert "public-use share of 30 % is below 50 %" in text
    zh = header({**RESULT, "status": "out_of_scope"}, lang="zh", info={"floor_area_m2": 2500.0})
    assert "不在限额管理范围内" in zh


def test_a_billed_only_building_between_bills_says_its_figures_run_to_the_last_bill() -> None:
    # Figures through 31 March (as of 10 April): 400,000 kWh used in 90 days, 600,000 left
    # for the 275 days from 1 April: at most 2,182 kWh a day.
    text = header({**RESULT, "details": {"figures_through": "2025-03-31"}})
    assert "Billed only: the figures run through 2025-03-31, the last day billed" in text
    assert "used 400,000 kWh to 2025-03-31; remaining 600,000 kWh" in text
    assert "at most 2,182 kWh a day for the rest of the year" in text
    assert "Billed only" not in header(RESULT)
