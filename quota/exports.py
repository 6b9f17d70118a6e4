"""Compliance and retrofit exports: CSV (UTF-8 with BOM, so Excel shows Chinese names) and
XLSX (openpyxl, units in the headers, frozen header row).

Both read the latest stored evaluation of the year (or compute one without storing it when
there is none). The retrofit export's base-load trigger reads raw interval readings for the
listed candidates only, over ``[retrofit] base_load_window_days`` up to the as-of date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg

from quota import calendar, labels, queries, retrofit, spreadsheets
from quota.evaluation import run_evaluation
from quota.retrofit_screening import ranked_candidates
from quota.rules import unverified_labels
from quota.settings import Settings


@dataclass(frozen=True)
class Column:
    """One export column: key in the rows, header in each language (with its unit), and
    its kind, which sets rounding, words and the XLSX number format:

    ``text``; ``status``, ``basis``, ``type``, ``bool`` (codes written as words); ``kwh``,
    ``kgce``, ``cny``, ``area`` (rounded to whole units, ``#,##0``); ``eui``, ``tco2``
    (one decimal, ``#,##0.0``); ``pct`` (a ratio written as per cent, one decimal);
    ``ratio`` (two decimals); ``int``.
    """

    key: str
    zh: str
    en: str
    kind: str = "text"

    def header(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


C = Column
# One row per building and basis; kWh and kgce never share a column (the basis's own
# columns are filled, the other basis's are empty).
COMPLIANCE_COLUMNS: tuple[Column, ...] = (
    C("building_id", "建筑编号", "Building ID"),
    C("name", "名称", "Name"),
    C("district", "区", "District"),
    C("building_type", "建筑类型", "Building type", "type"),
    C("floor_area_m2", "建筑面积（m²）", "Floor area (m²)", "area"),
    C("basis", "考核口径", "Basis", "basis"),
    C("status", "状态", "Status", "status"),
    C("utilization", "限额使用率（%）", "Utilization (%)", "pct"),
    C("limit_value_kwh", "限额（kWh）", "Quota (kWh)", "kwh"),
    C("use_kwh", "累计用电（kWh）", "Electricity to date (kWh)", "kwh"),
    C("projected_kwh", "年末预测（kWh）", "Projected year end (kWh)", "kwh"),
    C("excess_kwh", "超出量（kWh）", "Excess over quota (kWh)", "kwh"),
    C("limit_value_kgce", "限额（kgce）", "Quota (kgce)", "kgce"),
    C("use_kgce", "累计综合能耗（kgce）", "All energy to date (kgce)", "kgce"),
    C("projected_kgce", "年末预测（kgce）", "Projected year end (kgce)", "kgce"),
    C("excess_kgce", "超出量（kgce）", "Excess over quota (kgce)", "kgce"),
    C("expected_share", "预期用能占比（%）", "Expected share to date (%)", "pct"),
    C("completeness", "数据完整率（%）", "Completeness (%)", "pct"),
    C("eui_kwh_per_m2", "年化单位面积能耗（kWh/m²·a）", "EUI annualised (kWh/m²·a)", "eui"),
    C("co2_kg", "累计碳排放（kg CO₂）", "CO₂ to date (kg)", "kwh"),
    C("profile_source", "用能曲线来源", "Profile source"),
    C("previous_utilization", "去年使用率（%）", "Last year's utilization (%)", "pct"),
)

RETROFIT_COLUMNS: tuple[Column, ...] = (
    C("rank", "排名", "Rank", "int"),
    C("building_id", "建筑编号", "Building ID"),
    C("name", "名称", "Name"),
    C("district", "区", "District"),
    C("building_type", "建筑类型", "Building type", "type"),
    C("floor_area_m2", "建筑面积（m²）", "Floor area (m²)", "area"),
    C("savings_kwh_per_year", "节能潜力（kWh/年）", "Savings potential (kWh/a)", "kwh"),
    C("savings_kgce_per_year", "节能潜力（kgce/年）", "Savings potential (kgce/a)", "kgce"),
    C("savings_tco2_per_year", "减排潜力（t CO₂/年）", "Savings potential (t CO₂/a)", "tco2"),
    C("savings_cny_per_year", "节约费用（元/年）", "Savings potential (CNY/a)", "cny"),
    C("savings_source", "节能潜力依据", "Savings potential from"),
    C("eui_kwh_per_m2", "单位面积电耗（kWh/m²·a）", "Electricity EUI (kWh/m²·a)", "eui"),
    C(
        "corrected_eui_kwh_per_m2",
        "修正后能耗，GB/T 51161（kWh/m²·a）",
        "Corrected EUI, GB/T 51161 (kWh/m²·a)",
        "eui",
    ),
    C("target_eui_kwh_per_m2", "目标能耗（kWh/m²·a）", "Target EUI (kWh/m²·a)", "eui"),
    C("target_source", "目标来源", "Target source"),
    C("constraint_kwh_per_m2", "约束值（kWh/m²·a）", "Constraint value (kWh/m²·a)", "eui"),
    C(
        "base_load_ratio",
        "夜间与周末 ÷ 工作时段平均功率",
        "Night+weekend ÷ occupied mean power",
        "ratio",
    ),
    C("over_20", "触发：本年超 120 %", "Trigger: over 120 % this year", "bool"),
    C("over_20_repeat", "触发：连续两年超 120 %", "Trigger: over 120 % two years running", "bool"),
    C("worst_of_type", "触发：同类最差 5 %", "Trigger: worst 5 % of its type", "bool"),
    C("above_constraint", "触发：高于约束值", "Trigger: EUI above constraint value", "bool"),
    C(
        "high_base_load",
        "触发：夜间/周末基础负荷高",
        "Trigger: high night/weekend base load",
        "bool",
    ),
    C("status", "状态", "Status", "status"),
)
SAVINGS_SOURCE_NAMES: dict[object, tuple[str, str]] = {
    "target_eui": ("目标 EUI", "target EUI"),
    "excess": ("超出限额量", "excess over quota"),
    "none": ("—", "—"),
}
NUMBER_FORMATS = {
    "kwh": "#,##0",
    "kgce": "#,##0",
    "cny": "#,##0",
    "area": "#,##0",
    "int": "0",
    "eui": "#,##0.0",
    "tco2": "#,##0.0",
    "pct": "0.0",
    "ratio": "0.00",
}
DIGITS = {"kwh": 0, "kgce": 0, "cny": 0, "area": 0, "int": 0, "eui": 1, "tco2": 1, "ratio": 2}


@dataclass
class Table:
    """An export: ordered (key, header) columns and rows of plain values."""

    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    evaluation_id: int | None = None
    as_of: date | None = None
    notes: list[str] = field(default_factory=list)
    type_names: dict[object, tuple[str, str]] = field(default_factory=dict)


def _latest_results(
    conn: psycopg.Connection[Any], settings: Settings, year: int
) -> tuple[pd.DataFrame, int | None, date]:
    """(results with detail columns, evaluation_id or None, as_of) of ``year``."""
    evaluation_id = queries.latest_evaluation_id(conn, year)
    if evaluation_id is None:
        outcome = run_evaluation(conn, settings, year, save=False)
        registry = queries.buildings(conn).set_index("building_id")
        res = outcome.results.copy()
        for col in ("name", "district"):
            res[col] = res["building_id"].map(registry[col])
        return res, None, outcome.as_of
    run = queries.evaluation_run(conn, evaluation_id) or {}
    res = queries.evaluation_results(conn, evaluation_id)
    details = pd.DataFrame(list(res.pop("details").map(lambda d: d or {})), index=res.index)
    for col in (
        "profile_source",
        "quota_source",
        "previous_utilization",
        "electricity_eui_kwh_per_m2",
    ):
        res[col] = details.get(col, None)
    return res, evaluation_id, run.get("as_of") or calendar.year_end(year)


def compliance_table(conn: psycopg.Connection[Any], settings: Settings, year: int) -> Table:
    """Every building and basis of the latest evaluation of ``year``."""
    res, evaluation_id, as_of = _latest_results(conn, settings, year)
    res = res.copy()
    is_kwh = res["basis"] == "electricity_kwh"
    for name in ("limit_value", "projected", "excess"):
        res[f"{name}_kwh"] = res[name].where(is_kwh)
        res[f"{name}_kgce"] = res[name].where(~is_kwh)
    res["use_kwh"] = res["energy_kwh"]
    res["use_kgce"] = res["energy_kgce"]
    rows = _records(res, [c.key for c in COMPLIANCE_COLUMNS])
    return Table(
        title=f"compliance {year} as of {as_of}",
        columns=list(COMPLIANCE_COLUMNS),
        rows=rows,
        evaluation_id=evaluation_id,
        as_of=as_of,
        type_names=queries.building_type_names(conn),
    )


def retrofit_table(conn: psycopg.Connection[Any], settings: Settings, year: int) -> Table:
    """Retrofit candidates of ``year``, ranked by savings potential (the screening of
    :mod:`quota.retrofit_screening`, shared with the dashboard)."""
    res, evaluation_id, as_of = _latest_results(conn, settings, year)
    registry = queries.buildings(conn)
    ranked = ranked_candidates(conn, settings, registry, res, as_of)
    names = registry.set_index("building_id")
    ranked.insert(2, "name", ranked["building_id"].map(names["name"]))
    ranked.insert(3, "district", ranked["building_id"].map(names["district"]))
    return Table(
        title=f"retrofit candidates {year} as of {as_of}",
        columns=list(RETROFIT_COLUMNS),
        rows=_records(ranked, [c.key for c in RETROFIT_COLUMNS]),
        evaluation_id=evaluation_id,
        as_of=as_of,
        notes=unverified_labels(settings.rules, retrofit.RetrofitRules.RULE_GROUPS),
        type_names=queries.building_type_names(conn),
    )


def _records(frame: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    data = frame.reindex(columns=keys).astype(object)
    data = data.where(pd.notna(data), None)
    return data.to_dict(orient="records")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def cell_value(column: Column, value: Any, lang: str, table: Table) -> Any:
    """The value as written: codes as words in ``lang``, numbers rounded (ratios of the
    ``pct`` kind as per cent), None for missing."""
    value = _plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    kind = column.kind
    if kind == "status":
        return labels.word(labels.STATUS_NAMES, value, lang)  # type: ignore[arg-type]
    if kind == "basis":
        return labels.word(labels.BASIS_NAMES, value, lang)  # type: ignore[arg-type]
    if kind == "type":
        return labels.word(table.type_names, value, lang)
    if kind == "bool":
        return labels.word(labels.YES_NO, bool(value), lang)  # type: ignore[arg-type]
    if column.key == "savings_source":
        return labels.word(SAVINGS_SOURCE_NAMES, value, lang)
    if kind == "pct":
        return round(float(value) * 100.0, 1)
    if kind in DIGITS:
        digits = DIGITS[kind]
        return round(float(value)) if digits == 0 else round(float(value), digits)
    return value


def provenance(table: Table, lang: str) -> list[tuple[str, Any]]:
    """(header, value) of the columns every row carries: the evaluation it comes from."""
    return [
        ("评估截至日期" if lang == "zh" else "Evaluation as of", _iso(table.as_of)),
        ("评估编号" if lang == "zh" else "Evaluation id", table.evaluation_id),
    ]


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def write_table(table: Table, path: Path, fmt: str, lang: str = "en") -> None:
    """Write ``table`` as ``csv`` (UTF-8 with BOM) or ``xlsx``, headers and words in
    ``lang`` (``zh`` or ``en``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        write_csv(table, path, lang)
    elif fmt == "xlsx":
        write_xlsx(table, path, lang)
    else:
        raise ValueError(f"unknown export format {fmt!r} (csv or xlsx)")


def _header_and_rows(table: Table, lang: str) -> tuple[list[str], list[list[Any]]]:
    extra = provenance(table, lang)
    header = [c.header(lang) for c in table.columns] + [h for h, _ in extra]
    tail = [v for _, v in extra]
    rows = [
        [cell_value(c, row.get(c.key), lang, table) for c in table.columns] + tail
        for row in table.rows
    ]
    return header, rows


def write_csv(table: Table, path: Path, lang: str = "en") -> None:
    """CSV, UTF-8 with a byte-order mark, header row with units; text that a spreadsheet
    would run as a formula is written as text (:mod:`quota.spreadsheets`)."""
    header, rows = _header_and_rows(table, lang)
    path.write_bytes(spreadsheets.csv_bytes(header, rows))


def write_xlsx(table: Table, path: Path, lang: str = "en") -> None:
    """An XLSX workbook: one data sheet (bold, frozen and filterable header with units,
    number formats) and a notes sheet. Text cells are always text, never formulas
    (:mod:`quota.spreadsheets`)."""
    from openpyxl import Workbook

    header, rows = _header_and_rows(table, lang)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data"
    spreadsheets.append_row(sheet, header)
    for row in rows:
        spreadsheets.append_row(sheet, row)
    spreadsheets.format_sheet(sheet)
    for i, column in enumerate(table.columns, start=1):
        number_format = NUMBER_FORMATS.get(column.kind)
        if number_format:  # the column's own precision over the generic formats
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = number_format
    notes = workbook.create_sheet("notes")
    spreadsheets.append_row(notes, [table.title])
    spreadsheets.append_row(
        notes,
        [
            f"evaluation_id: {table.evaluation_id}"
            if table.evaluation_id
            else "computed for this export (no stored evaluation)"
        ],
    )
    for note in table.notes:
        spreadsheets.append_row(notes, [note])
    workbook.save(path)
