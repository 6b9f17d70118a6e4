"""Pure builders of the dashboard: texts, frames, figures, tables (no database)."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import plotly.graph_objects as go
import pytest
from openpyxl import load_workbook

from dashboard import figures, frames, tables
from dashboard.palette import STATUS_COLOURS, STATUS_ORDER
from dashboard.texts import TEXTS, normalise_lang, status_label, t


def test_every_text_has_both_languages_and_same_placeholders() -> None:
    import string

    for key, (zh, en) in TEXTS.items():
        assert zh and en, key
        fields = {f for _, f, _, _ in string.Formatter().parse(zh) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(en) if f}, key


def test_every_status_has_label_and_colour() -> None:
    for status in STATUS_ORDER:
        assert status in STATUS_COLOURS
        assert status_label(status, "zh") != status_label(status, "en")
    assert len(set(STATUS_COLOURS.values())) == len(STATUS_COLOURS)


@pytest.mark.parametrize(
    ("stored", "expected"), [("en", "en"), ("zh", "zh"), (None, "zh"), ("fr", "zh")]
)
def test_language_defaults_to_chinese(stored: object, expected: str) -> None:
    assert normalise_lang(stored) == expected
    assert t("nav_city", None) == "全市达标情况"


def _results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "building_id": ["A", "B", "C", "D"],
            "name": ["甲", "乙", "丙 [x]", "丁"],
            "district": ["东城", "东城", "西城", "西城"],
            "type_zh": ["办公", "办公", "商场", "商场"],
            "type_en": ["Office", "Office", "Mall", "Mall"],
            "floor_area_m2": [1000.0, 2000.0, 3000.0, 4000.0],
            "status": ["within", "over", "over_20", "insufficient_data"],
            "energy": [50.0, 110.0, 130.0, None],
            "limit_value": [100.0, 100.0, 100.0, 100.0],
            "utilization": [0.5, 1.1, 1.3, None],
            "projected": [90.0, 200.0, 260.0, None],
            "excess": [None, 10.0, 30.0, None],
            "eui_kwh_per_m2": [50.0, 55.5, 43.33, None],
        }
    )


def test_headline_counts_and_share() -> None:
    summary = frames.headline(_results())
    assert summary["evaluated"] == 4
    assert summary["floor_area_m2"] == 10000.0
    assert summary["judged"] == 3
    assert summary["share_within"] == pytest.approx(1 / 3)
    assert summary["excess_by_tier"] == {"over": 10.0, "over_20": 30.0, "over_20_repeat": 0.0}
    assert summary["projected_excess_by_tier"] == {
        "over": 100.0,
        "over_20": 160.0,
        "over_20_repeat": 0.0,
    }


def test_binding_basis_named_only_with_both_bases() -> None:
    assert tables.binding_basis_label("energy_kgce", 2) == "kgce"
    assert tables.binding_basis_label("electricity_kwh", 2) == "kWh"
    assert tables.binding_basis_label("electricity_kwh", 1) == ""
    assert tables.binding_basis_label(None, None) == ""


def test_headline_cards_total_above_120_with_repeat_inside_and_consequences() -> None:
    from dashboard.pages.city import headline_cards

    results = _results()
    results.loc[3, "status"] = "over_20_repeat"
    results.loc[3, ["projected", "excess"]] = [150.0, 20.0]
    rules = {"tiers": {"consequences": {"over_20_repeat": "fine of CNY 30,000-100,000"}}}
    cards = headline_cards(frames.headline(results), "electricity_kwh", "en", rules)
    texts = [str(card.to_plotly_json()) for card in cards]
    above_120 = next(text for text in texts if "Over quota by > 20 % (> 120 %)" in text)
    assert "'2'" in above_120 and "of which two years running: 1" in above_120
    assert "excess to date 50 kWh" in above_120 and "projected at year end 210 kWh" in above_120
    assert "fine of CNY 30,000-100,000" in above_120
    zh = [
        str(card.to_plotly_json())
        for card in headline_cards(frames.headline(results), "electricity_kwh", "zh")
    ]
    assert any("罚款" in text for text in zh)
    # A manager's few buildings: a count within the quota, not a city-style share.
    own = str(headline_cards(frames.headline(results), "electricity_kwh", "en", own=True)[2])
    assert "Buildings within quota (of those judged)" in own and "Share" not in own
    # The Chinese words come from the rules too ([tiers.consequences_zh]), as on the notices.
    rules_zh = {"tiers": {"consequences_zh": {"over_20_repeat": "处 3 万元以上罚款"}}}
    zh_rules = [
        str(card.to_plotly_json())
        for card in headline_cards(frames.headline(results), "electricity_kwh", "zh", rules_zh)
    ]
    assert any("后果：处 3 万元以上罚款" in text for text in zh_rules)


def test_cumulative_and_monthly_totals() -> None:
    electricity = pd.Series([100.0, 50.0], index=[date(2025, 1, 1), date(2025, 1, 2)])
    assert frames.cumulative(electricity).tolist() == [100.0, 150.0]
    assert frames.monthly_totals(electricity).to_dict() == {1: 150.0}


def test_heatmap_matrix_and_completeness() -> None:
    hourly = pd.DataFrame(
        {"day": [date(2025, 6, 1)] * 2, "hour": [0, 23], "energy_kwh": [1.0, 2.0]}
    )
    matrix = frames.heatmap_matrix(hourly)
    assert matrix.shape == (24, 1)
    assert matrix.loc[23].iloc[0] == 2.0 and pd.isna(matrix.loc[5].iloc[0])
    assert frames.completeness_share(36.0, date(2025, 1, 1), date(2025, 1, 3)) == 0.75


def test_city_grid_links_rounds_and_localises() -> None:
    columns, rows = tables.city_grid(_results(), "electricity_kwh", "en")
    # The decisive columns first: status, utilization, limit_value, use, projection, excesses.
    assert [c["field"] for c in columns][:8] == [
        "building",
        "status",
        "utilization_pct",
        "limit_value",
        "energy",
        "projected",
        "excess",
        "projected_excess",
    ]
    assert all("kWh" in c["headerName"] for c in columns[3:8])
    assert "d3.format(',.0f')" in columns[3]["valueFormatter"]["function"]
    # Projected excess at year end: max(0, projected − limit_value).
    assert [r["projected_excess"] for r in rows] == [0, 100, 160, None]
    assert rows[2]["building"] == r"[丙 \[x\]](/building/C)"
    assert rows[1]["status"] == "Over quota" and rows[1]["utilization_pct"] == 110.0
    assert rows[3]["utilization_pct"] is None
    _, rows_zh = tables.city_grid(_results(), "electricity_kwh", "zh")
    assert rows_zh[0]["status"] == "限额内" and rows_zh[0]["type"] == "办公"


def test_export_is_exactly_the_rows_shown() -> None:
    columns, rows = tables.city_grid(_results(), "electricity_kwh", "zh")
    shown = [{"building_id": "C"}, {"building_id": "A"}, {"building_id": "NOT-MINE"}]
    visible = tables.visible_rows(rows, shown, "building_id")
    table = tables.export_frame(columns, visible)
    assert table.columns.tolist() == [c["headerName"] for c in columns]
    assert table["建筑编号"].tolist() == ["C", "A"]
    csv = tables.to_csv_bytes(table)
    assert csv.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
    assert back["建筑编号"].tolist() == ["C", "A"]
    xlsx = pd.read_excel(io.BytesIO(tables.to_xlsx_bytes(table)))
    assert xlsx["建筑编号"].tolist() == ["C", "A"]
    # Read back with openpyxl: frozen, filterable header; number formats; words for statuses.
    sheet = load_workbook(io.BytesIO(tables.to_xlsx_bytes(table))).active
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    quota = sheet.cell(row=2, column=header.index("限额（kWh）") + 1)
    assert quota.value == 100 and quota.number_format == "#,##0"
    util = sheet.cell(row=2, column=header.index("使用率（%）") + 1)
    assert util.value == 130.0 and util.number_format == "#,##0.0"
    assert sheet.cell(row=2, column=header.index("状态") + 1).value == "超限额 20% 以上"
    assert tables.visible_rows(rows, None, "building_id") == rows


def checked(figure: dict) -> go.Figure:
    """The builder's plain dict through plotly's validation (raises on a bad property)."""
    assert set(figure) == {"data", "layout"}
    return go.Figure(figure)


def test_figures_have_units_and_status_colours() -> None:
    results = _results()
    hist = checked(figures.utilization_histogram(results, "en", "empty"))
    assert hist.layout.xaxis.title.text == "Quota utilization (%)"
    colours = {trace.name: trace.marker.color for trace in hist.data}
    assert colours["Over quota"] == STATUS_COLOURS["over"]
    # Binned on the server: every building with a utilization is counted once, in its bin.
    assert sum(sum(trace.y) for trace in hist.data) == 3
    over_20 = next(t for t in hist.data if t.name == status_label("over_20", "en"))
    assert [x for x, y in zip(over_20.x, over_20.y, strict=True) if y] == [132.5]
    assert [shape.x0 for shape in hist.layout.shapes] == [100.0, 120.0]
    bars = checked(
        figures.status_bars(frames.status_counts(results, "district"), "x", "zh", "empty")
    )
    assert bars.layout.xaxis.title.text == "建筑数（栋）"
    assert {trace.marker.color for trace in bars.data} <= set(STATUS_COLOURS.values())


def test_empty_inputs_explain_themselves() -> None:
    empty = checked(
        figures.utilization_histogram(_results().iloc[0:0], "en", "No quota imported for 2025")
    )
    assert empty.layout.annotations[0].text == "No quota imported for 2025"
    assert not empty.data


def test_cumulative_figure_draws_trajectory_quota_and_projection() -> None:
    days = pd.date_range("2025-01-01", "2025-12-31").date
    share = pd.Series([(i + 1) / len(days) for i in range(len(days))], index=days)
    actual = pd.Series([10.0, 25.0], index=[date(2025, 1, 1), date(2025, 1, 2)])
    fig = checked(
        figures.cumulative_figure(
            actual,
            frames.trajectory_values(share, 1000.0),
            1000.0,
            3000.0,
            2025,
            "kWh",
            "en",
            "empty",
        )
    )
    names = [trace.name for trace in fig.data]
    assert names == [
        "Quota trajectory (expected share × quota)",
        "Annual quota",
        "Actual cumulative",
        "Year-end projection",
    ]
    assert fig.data[0].y[-1] == pytest.approx(1000.0)
    assert fig.data[3].y[-1] == 3000.0
    assert fig.layout.yaxis.title.text == "Energy (kWh)"
    assert fig.layout.title.text == "Cumulative use in 2025 vs quota trajectory"
    # A closed year (no projection passed): final figures only.
    closed = checked(
        figures.cumulative_figure(actual, None, 1000.0, None, 2025, "kWh", "zh", "empty")
    )
    assert [trace.name for trace in closed.data] == ["年度限额", "实际累计"]
    assert closed.layout.title.text == "2025 年累计用能与限额轨迹"


def test_peers_figure_needs_statistics() -> None:
    empty = checked(figures.peers_figure({}, "en", "too few"))
    assert empty.layout.annotations[0].text == "too few"
    stats = {
        "p10": 10.0,
        "p25": 20.0,
        "p50": 30.0,
        "p75": 40.0,
        "p90": 50.0,
        "eui_kwh_per_m2": 45.0,
    }
    fig = checked(figures.peers_figure(stats, "en", "too few"))
    assert fig.data[-1].x[0] == 45.0
    assert fig.layout.xaxis.title.text == "Energy-use intensity (kWh/m²)"


def test_every_builder_gives_a_valid_plotly_figure() -> None:
    months = pd.Series({1: 10.0, 2: 12.5})
    hourly = pd.DataFrame(
        {"day": [date(2025, 6, 1), date(2025, 6, 2)], "hour": [0, 13], "energy_kwh": [1.0, 2.0]}
    )
    history = pd.DataFrame(
        {
            "as_of": [date(2024, 12, 31), date(2025, 6, 30)],
            "status": ["within", "over"],
            "utilization": [0.9, 1.1],
        }
    )
    monthly = checked(
        figures.monthly_figure(months, pd.Series(dtype=float), 2025, "kWh", "en", "empty")
    )
    assert list(monthly.data[1].y[:3]) == [10.0, 12.5, None]
    heat = checked(figures.heatmap_figure(frames.heatmap_matrix(hourly), "2025-06", "en", "empty"))
    assert heat.data[0].z[13][1] == 2.0 and heat.data[0].z[13][0] is None
    hist = checked(figures.history_figure(history, "en", "empty"))
    assert [trace.name for trace in hist.data[1:]] == [
        status_label("within", "en"),
        status_label("over", "en"),
    ]
    assert list(hist.data[0].y) == pytest.approx([90.0, 110.0])
    # A closed year's axis: the whole year, with room for a marker on 31 December.
    year_axis = checked(figures.history_figure(history, "en", "empty", 2024)).layout.xaxis
    assert list(year_axis.range) == ["2023-12-25", "2025-01-07"]
    bars = checked(figures.bar_counts(["a", "b"], [3, 1], "t", "rows", "empty"))
    assert list(bars.data[0].x) == [3, 1]
    assert checked(figures.bar_counts([], [], "t", "rows", "none")).layout.annotations


def test_city_table_keeps_columns_and_builds_rows_on_request() -> None:
    table = tables.city_table(_results(), "en")
    assert table["utilization_pct"] == [50.0, 110.0, 130.0, None]
    assert table["floor_area_m2"][0] == 1000 and isinstance(table["floor_area_m2"][0], int)
    row = tables.city_row(table, 2)
    assert row["building"] == r"[丙 \[x\]](/building/C)" and row["name"] == "丙 [x]"
    assert row["status"] == status_label("over_20", "en") and row["status_code"] == "over_20"
    assert tables.city_table(_results().iloc[0:0], "en")["building_id"] == []


def test_grid_page_filters_sorts_and_pages_like_the_grid() -> None:
    table = tables.city_table(_results(), "en")
    ids = lambda page: [row["building_id"] for row in page["rowData"]]  # noqa: E731

    def page(**request: object) -> dict:
        return tables.grid_page(table, request, tables.city_row, {"building": "name"})

    assert ids(page()) == ["A", "B", "C", "D"] and page()["rowCount"] == 4
    number = {"filterType": "number", "type": "greaterThan", "filter": 100}
    assert ids(page(filterModel={"utilization_pct": number})) == ["B", "C"]
    either = {
        "filterType": "text",
        "operator": "OR",
        "conditions": [
            {"filterType": "text", "type": "startsWith", "filter": "丙"},
            {"filterType": "text", "type": "equals", "filter": "甲"},
        ],
    }
    assert ids(page(filterModel={"building": either})) == ["A", "C"]
    blank = {"filterType": "number", "type": "blank"}
    assert ids(page(filterModel={"excess": blank})) == ["A", "D"]
    assert ids(
        page(filterModel={"district": {"filterType": "text", "type": "contains", "filter": "西"}})
    ) == ["C", "D"]
    # Missing values last in both directions; a second key breaks ties.
    assert ids(page(sortModel=[{"colId": "utilization_pct", "sort": "asc"}])) == [
        "A",
        "B",
        "C",
        "D",
    ]
    assert ids(page(sortModel=[{"colId": "utilization_pct", "sort": "desc"}])) == [
        "C",
        "B",
        "A",
        "D",
    ]
    assert ids(
        page(
            sortModel=[{"colId": "type", "sort": "asc"}, {"colId": "floor_area_m2", "sort": "desc"}]
        )
    ) == ["D", "C", "B", "A"]
    second = page(startRow=1, endRow=3)
    assert ids(second) == ["B", "C"] and second["rowCount"] == 4
    assert ids(page(filterModel={"no_such_column": number}, startRow=0, endRow=2)) == ["A", "B"]


def test_filter_city_by_district_type_and_size() -> None:
    results = _results().assign(
        building_type=["office", "office", "mall", "mall"],
        size_class=["small", "small", "ordinary", "large"],
    )
    assert frames.filter_city(results) is results
    assert frames.filter_city(results, districts=["西城"])["building_id"].tolist() == ["C", "D"]
    assert frames.filter_city(results, types=["office"], sizes=["small", "large"])[
        "building_id"
    ].tolist() == ["A", "B"]


def test_page_cache_is_per_key_lru_and_dropped_by_a_new_run() -> None:
    from dashboard.cache import PageCache, scope_key
    from dashboard.users import Viewer

    cache = PageCache(max_entries=2)
    calls: list[str] = []

    def compute(value: str):  # type: ignore[no-untyped-def]
        return lambda: calls.append(value) or value

    manager = Viewer("m", "manager", frozenset({"B2", "B1"}))
    assert scope_key(manager) == ("B1", "B2")
    assert scope_key(Viewer("r", "regulator")) != scope_key(manager)
    assert cache.get_or_compute(5, "a", compute("a1")) == "a1"
    assert cache.get_or_compute(5, "a", compute("a2")) == "a1"  # cached
    cache.get_or_compute(5, "b", compute("b1"))
    cache.get_or_compute(5, "c", compute("c1"))  # evicts "a", the least recently used
    assert cache.get_or_compute(5, "a", compute("a3")) == "a3"
    assert cache.get_or_compute(6, "a", compute("a4")) == "a4"  # a new run: recomputed
    assert len(cache) == 1
    # A request that still carries the older run is answered but not stored.
    assert cache.get_or_compute(5, "z", compute("z1")) == "z1"
    assert cache.get_or_compute(6, "z", compute("z2")) == "z2"
    assert calls == ["a1", "b1", "c1", "a3", "a4", "z1", "z2"]


def test_retrofit_download_is_named_by_filters_and_language() -> None:
    from dashboard.pages.retrofit import download_name

    assert (
        download_name(2025, None, None, 0, None, "zh", "csv") == "retrofit_candidates_2025_zh.csv"
    )
    name = download_name(2025, ["西城区", "东城区"], ["mall"], 5000, ["over_20"], "en", "xlsx")
    assert name == "retrofit_candidates_2025_东城区_西城区_mall_min5000m2_over_20_en.xlsx"
    assert "/" not in download_name(2025, ["a/b"], None, None, None, "en", "csv")


def test_quality_words_times_and_stale_days() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from dashboard.pages.quality import JOB_FIELDS, stale_days

    assert tables.word("reason", "reading.negative_value", "zh") == "读数为负"
    assert tables.word("reason", "negative_value", "en") == "Negative value"
    assert tables.word("reason", "meter.unknown", "zh") == "meter.unknown"  # no text: the code
    jobs = pd.DataFrame(
        {
            "job_id": ["evaluation", "inbox"],
            "detail": ["2025 / 2025-06-30 / #7", None],
            "started_at": [datetime(2025, 6, 30, 16, 5, tzinfo=UTC)] * 2,
            "finished_at": [None, None],
            "outcome": ["succeeded", "failed"],
            "error": [None, "boom"],
        }
    )
    columns, rows = tables.simple_grid(jobs, JOB_FIELDS, "zh", ZoneInfo("Asia/Shanghai"))
    assert rows[0]["job_id"] == "评估" and rows[1]["outcome"] == "失败"
    assert rows[0]["started_at"] == "2025-07-01 00:05"  # 16:05 UTC is 00:05 in Shanghai
    assert any(c["headerName"] == "开始时间 (Asia/Shanghai)" for c in columns)
    assert [stale_days(v) for v in (2, "3", 0, -1, 1.5, None, "x")] == [
        2,
        3,
        None,
        None,
        None,
        None,
        None,
    ]


def test_grids_wrap_instead_of_clipping_and_speak_the_page_language() -> None:
    from dashboard import components as ui

    plain = ui.grid("g", lang="zh")
    defaults = plain.defaultColDef
    assert defaults["wrapText"] and defaults["autoHeight"] and defaults["wrapHeaderText"]
    assert plain.dashGridOptions["localeText"]["noRowsToShow"] == "没有可显示的行"
    assert plain.dashGridOptions["localeText"]["contains"] == "包含"
    # Rows on the server have one height: room for two wrapped lines.
    infinite = ui.grid("g", infinite=True, lang="en")
    assert "autoHeight" not in infinite.defaultColDef and infinite.defaultColDef["wrapText"]
    assert infinite.dashGridOptions["rowHeight"] == ui.INFINITE_ROW_HEIGHT_PX
    assert infinite.dashGridOptions["localeText"] == {}  # ag-grid's own English
