"""Components of the regulator's decisions, called from the pages: each building's
determined history with its streak of years over 120 % (city and building pages), and the
texts of these components and of the audit page (Chinese and English)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import html

from dashboard import components as ui
from dashboard import decision_queries, ids
from dashboard.texts import normalise_lang, status_label
from dashboard.users import Viewer
from quota.record.determinations import history_summary

TEXTS: dict[str, tuple[str, str]] = {
    "determined_history": ("历年认定结果", "Determined results by year"),
    "determined_none": ("尚无年度认定。", "No year has been determined yet."),
    "over_20_streak": ("连续超 20% 年数", "Years over 120 % in a row"),
    "col_building_id": ("建筑编号", "Building ID"),
    "col_name": ("名称", "Name"),
    "col_basis": ("口径", "Basis"),
    "audit_title": ("审计日志", "Audit log"),
    "audit_link": ("审计日志与认定", "Audit log and determinations"),
    "audit_forbidden": (
        "只有监管人员可以查看审计日志。",
        "Only a regulator may view the audit log.",
    ),
    "audit_building": ("建筑编号", "Building ID"),
    "audit_since": ("起始日期", "Since"),
    "audit_action": ("操作类别", "Action"),
    "audit_all": ("全部", "All"),
    "audit_none": ("没有符合条件的记录。", "No entries match."),
    "col_at": ("时间", "At"),
    "col_actor": ("操作人", "Actor"),
    "col_action": ("操作", "Action"),
    "col_reason": ("理由", "Reason"),
    "col_change": ("变更", "Change"),
    "adjust_title": ("调整限额", "Adjust a quota"),
    "adjust_limit": ("新限额（kWh 或 kgce）", "New limit (kWh or kgce)"),
    "reason": ("理由（必填）", "Reason (required)"),
    "adjust_submit": ("调整", "Adjust"),
    "adjust_done": (
        "已调整：{building} {year} 年限额 {limit}（版本 {version}）",
        "Adjusted: {building} {year} limit {limit} (version {version})",
    ),
    "determine_title": ("年度认定", "Determine a year"),
    "determine_supersede": ("取代已有认定", "Supersede the determination in force"),
    "determine_submit": ("认定", "Determine"),
    "determine_done": (
        "已认定 {year} 年：认定编号 {id}",
        "Determined {year}: determination {id}",
    ),
    "refused": ("未执行：{message}", "Not done: {message}"),
    "missing_fields": ("请填写所有字段。", "Fill in every field."),
}

ACTION_AREAS = ("quota", "registry", "determination", "reading", "user", "appeal")


def tr(key: str, lang: str | None, **values: object) -> str:
    """The text ``key`` of these components in ``lang``."""
    zh, en = TEXTS[key]
    return (en if normalise_lang(lang) == "en" else zh).format(**values)


def history_rows(history: pd.DataFrame, lang: str) -> tuple[list[int], list[dict[str, Any]]]:
    """(years, grid rows): per building and basis its status label in each determined year
    and its current streak of years over 120 %, longest streaks first."""
    if history.empty:
        return [], []
    years = sorted({int(y) for y in history["year"]})
    names = dict(zip(history["building_id"], history["name"], strict=False))
    rows = []
    for item in history_summary(history).to_dict("records"):
        row: dict[str, Any] = {
            "building_id": item["building_id"],
            "name": names.get(item["building_id"], ""),
            "basis": item["basis"],
            "over_20_streak": item["over_20_streak"],
        }
        for year in years:
            status = item["statuses"].get(year)
            row[str(year)] = status_label(status, lang) if status else ""
        rows.append(row)
    rows.sort(key=lambda r: (-r["over_20_streak"], r["building_id"], r["basis"]))
    return years, rows


def determined_history_panel(
    conn: Any, viewer: Viewer, lang: str | None, building_id: str | None = None
) -> html.Div:
    """A panel with each (visible) building's determined history and streak; with
    ``building_id`` the history of that building only."""
    lang = normalise_lang(lang)
    history = decision_queries.determined_history(conn, viewer, building_id)
    years, rows = history_rows(history, lang)
    grid_id = ids.DETERMINED_BUILDING_GRID if building_id else ids.DETERMINED_CITY_GRID
    children: list[Any] = [html.H2(tr("determined_history", lang))]
    if not rows:
        children.append(ui.empty_state(tr("determined_none", lang)))
    else:
        grid = ui.grid(grid_id, "220px" if building_id else "360px", lang=lang)
        grid.columnDefs = [
            *(
                []
                if building_id
                else [
                    {"field": "building_id", "headerName": tr("col_building_id", lang)},
                    {"field": "name", "headerName": tr("col_name", lang)},
                ]
            ),
            {"field": "basis", "headerName": tr("col_basis", lang)},
            *({"field": str(y), "headerName": str(y)} for y in years),
            {"field": "over_20_streak", "headerName": tr("over_20_streak", lang)},
        ]
        grid.rowData = rows
        children.append(grid)
    if viewer.role == "regulator" and not building_id:
        children.append(html.A(tr("audit_link", lang), href="/audit"))
    return html.Div(children, className="qw-panel")
