"""Notices and appeals on the building page, and the texts of the regulator's appeals page.

The building page calls :func:`building_section`: a button that downloads the building's
notice for a year (PDF, in the page's language), the building's appeals with their
decisions, and for its manager a form to appeal (reason, optional requested quota). Every
callback re-checks on the server that the viewer may see the building
(``queries.building_info`` answers 403 otherwise); ``quota.record.appeals`` checks that an appeal
comes from a manager of the building and a decision from a regulator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash
import psycopg
from dash import Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import ids, queries
from dashboard.services import Services, current_viewer
from dashboard.texts import normalise_lang, t
from dashboard.users import Viewer
from quota import calendar
from quota.record import appeals, determinations, notices, roles

BASES = ("electricity_kwh", "energy_kgce")

TEXTS: dict[str, tuple[str, str]] = {
    "notice_title": ("认定通知书与申诉", "Notice and appeals"),
    "notice_year": ("年度", "Year"),
    "notice_download": ("下载通知书（PDF）", "Download the notice (PDF)"),
    "notice_done": ("已生成 {year} 年通知书。", "Notice of {year} downloaded."),
    "appeal_title": ("提出申诉", "Appeal"),
    "appeal_reason": ("申诉理由（必填）", "Reason (required)"),
    "appeal_limit": ("申请的限额（可选）", "Requested quota (optional)"),
    "appeal_submit": ("提交申诉", "Submit the appeal"),
    "appeal_done": ("已提交申诉 {id}。", "Appeal {id} submitted."),
    "appeals_none": ("尚无申诉。", "No appeals."),
    "refused": ("未执行：{message}", "Not done: {message}"),
    "missing": ("请填写年度和理由。", "Fill in the year and the reason."),
    "col_appeal_id": ("编号", "No."),
    "col_building_id": ("建筑编号", "Building"),
    "col_year": ("年度", "Year"),
    "col_basis": ("口径", "Basis"),
    "col_reason": ("申诉理由", "Reason"),
    "col_requested_limit_value": ("申请限额", "Requested quota"),
    "col_submitted_by": ("提交人", "Submitted by"),
    "col_submitted_at": ("提交时间", "Submitted"),
    "col_status": ("状态", "Status"),
    "col_decided_by": ("决定人", "Decided by"),
    "col_decision_reason": ("决定理由", "Decision reason"),
    "status_open": ("待处理", "open"),
    "status_accepted": ("已接受", "accepted"),
    "status_rejected": ("已驳回", "rejected"),
    "appeals_page": ("申诉处理", "Appeals"),
    "appeals_forbidden": ("只有监管人员可以处理申诉。", "Only a regulator may decide appeals."),
    "decide_title": ("处理申诉", "Decide an appeal"),
    "decide_id": ("申诉编号", "Appeal No."),
    "decide_accept": ("接受（调整限额）", "Accept (adjust the quota)"),
    "decide_reject": ("驳回", "Reject"),
    "decide_reason": ("理由（必填）", "Reason (required)"),
    "decide_limit": ("新限额（可选，默认为申请限额）", "New limit (optional; default: requested)"),
    "decide_supersede": (
        "接受后重新认定该年度（取代原认定）",
        "On accepting, determine the year again (superseding its determination)",
    ),
    "decide_submit": ("提交决定", "Decide"),
    "decide_done": ("申诉 {id}：{status}", "Appeal {id}: {status}"),
    "decide_determined": ("；新认定编号 {id}", "; new determination {id}"),
}

LIST_COLUMNS = (
    "appeal_id",
    "year",
    "basis",
    "reason",
    "requested_limit_value",
    "submitted_by",
    "submitted_at",
    "status",
    "decided_by",
    "decision_reason",
)


def tr(key: str, lang: str | None, **values: object) -> str:
    """The text ``key`` of these components in ``lang``."""
    zh, en = TEXTS[key]
    return (en if normalise_lang(lang) == "en" else zh).format(**values)


def visible_appeals(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    building_id: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Appeals the viewer may see: a manager only their buildings', others every one."""
    if building_id is not None and not viewer.may_see(building_id):
        raise queries.AccessDeniedError(building_id)
    scope = None if viewer.sees_all else sorted(viewer.building_ids)
    return appeals.listing(conn, building_ids=scope, building_id=building_id, status=status)


def appeals_table(
    rows: list[dict[str, Any]], lang: str, columns: tuple[str, ...], tz: ZoneInfo
) -> Any:
    """An HTML table of appeals (newest first), instants in local time ``tz``, or an empty
    state."""
    if not rows:
        return ui.empty_state(tr("appeals_none", lang))

    def cell(row: dict[str, Any], column: str) -> str:
        value = row.get(column)
        if column == "status":
            return tr(f"status_{value}", lang)
        if column == "requested_limit_value":
            return "–" if value is None else ui.number_text(value)
        if column in ("submitted_at", "decided_at") and value:
            return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        if column == "basis":
            return t(f"basis_{value}", lang)
        return "" if value is None else str(value)

    return html.Table(
        [
            html.Thead(html.Tr([html.Th(tr(f"col_{c}", lang), scope="col") for c in columns])),
            html.Tbody(
                [
                    html.Tr(
                        [html.Td(cell(r, c)) for c in columns],
                        **{"data-appeal": str(r["appeal_id"]), "data-status": r["status"]},
                    )
                    for r in rows
                ]
            ),
        ],
        className="qw-table",
    )


def building_section(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    building_id: str,
    years: list[int],
    lang: str,
    tz: ZoneInfo,
) -> html.Div:
    """The building page's panel: notice download, the building's appeals, and for its
    manager the appeal form."""
    rows = visible_appeals(conn, viewer, building_id)
    determined = {int(d["year"]) for d in determinations.listing(conn)}
    years = sorted(set(years) | determined, reverse=True)
    default_year = max(determined) if determined else (years[0] if years else None)
    children: list[Any] = [
        html.H2(tr("notice_title", lang)),
        html.Div(
            [
                ui.control(
                    tr("notice_year", lang),
                    dcc.Dropdown(
                        id=ids.NOTICE_YEAR,
                        clearable=False,
                        value=default_year,
                        options=[{"label": str(y), "value": y} for y in years],
                    ),
                ),
                html.Button(tr("notice_download", lang), id=ids.NOTICE_BUTTON),
                dcc.Download(id=ids.NOTICE_DOWNLOAD),
            ],
            className="qw-controls",
        ),
        html.Div(id=ids.NOTICE_MESSAGE, role="status"),
        html.Div(appeals_table(rows, lang, LIST_COLUMNS, tz), id=ids.APPEAL_LIST),
    ]
    if roles.may(viewer.role, roles.APPEAL) and viewer.may_see(building_id):
        children += [
            html.H3(tr("appeal_title", lang)),
            html.Div(
                [
                    ui.control(
                        t("basis", lang),
                        dcc.RadioItems(
                            id=ids.APPEAL_BASIS,
                            value="electricity_kwh",
                            inline=True,
                            options=[{"label": t(f"basis_{b}", lang), "value": b} for b in BASES],
                        ),
                    ),
                    ui.control(
                        tr("appeal_reason", lang),
                        dcc.Textarea(id=ids.APPEAL_REASON, maxLength=500, required=True),
                    ),
                    ui.control(
                        tr("appeal_limit", lang),
                        dcc.Input(id=ids.APPEAL_LIMIT, type="number", min=0),
                    ),
                    html.Button(tr("appeal_submit", lang), id=ids.APPEAL_SUBMIT),
                ],
                className="qw-controls",
            ),
            html.Div(id=ids.APPEAL_MESSAGE, role="status"),
        ]
    return html.Div(children, className="qw-panel")


def notice_download(
    services: Services, building_id: str, year: int | None, lang: str
) -> tuple[dict[str, Any] | None, str]:
    """The notice PDF as a dcc.Download value (building scope checked), and a message."""
    viewer = current_viewer()
    if year is None:
        return None, tr("missing", lang)
    settings = services.settings
    with services.connection() as conn:
        queries.building_info(conn, viewer, building_id)  # 403 when not visible
        data, _summary = notices.notice_pdf(
            conn,
            building_id,
            int(year),
            tz=settings.tz,
            rules=settings.rules,
            lang=lang,
            issued=calendar.local_today(settings.tz),
        )
    name = f"NOTICE-{building_id}-{int(year)}.pdf"
    return dcc.send_bytes(data, name, type="application/pdf"), tr(
        "notice_done", lang, year=int(year)
    )


def submit_appeal(
    services: Services,
    building_id: str,
    year: int | None,
    basis: str | None,
    reason: str | None,
    limit: float | None,
    lang: str,
) -> tuple[str, Any]:
    """Submit as the signed-in viewer; the message and the refreshed list."""
    viewer = current_viewer()
    with services.connection() as conn:
        queries.building_info(conn, viewer, building_id)  # 403 when not visible
    if year is None or not (reason or "").strip():
        message = tr("missing", lang)
    else:
        try:
            with services.connection() as conn, conn.transaction():
                appeal = appeals.submit(
                    conn,
                    building_id,
                    int(year),
                    basis or "electricity_kwh",
                    reason,
                    None if limit is None else float(limit),
                    actor=viewer.username,
                    role=viewer.role,
                )
            message = tr("appeal_done", lang, id=appeal["appeal_id"])
        except (roles.NotAllowedError, appeals.AppealError) as exc:
            message = tr("refused", lang, message=str(exc))
    with services.connection() as conn:
        rows = visible_appeals(conn, viewer, building_id)
    return message, appeals_table(rows, lang, LIST_COLUMNS, services.settings.tz)


def register(app: dash.Dash, services: Services) -> None:
    """The building page's notice and appeal callbacks."""

    @app.callback(
        Output(ids.NOTICE_DOWNLOAD, "data"),
        Output(ids.NOTICE_MESSAGE, "children"),
        Input(ids.NOTICE_BUTTON, "n_clicks"),
        State(ids.BUILDING_ID_STORE, "data"),
        State(ids.NOTICE_YEAR, "value"),
        State(ids.LANG_STORE, "data"),
        prevent_initial_call=True,
    )
    def download_notice(_clicks, building_id, year, lang):  # type: ignore[no-untyped-def]
        return notice_download(services, building_id or "", year, normalise_lang(lang))

    @app.callback(
        Output(ids.APPEAL_MESSAGE, "children"),
        Output(ids.APPEAL_LIST, "children"),
        Input(ids.APPEAL_SUBMIT, "n_clicks"),
        State(ids.BUILDING_ID_STORE, "data"),
        State(ids.NOTICE_YEAR, "value"),
        State(ids.APPEAL_BASIS, "value"),
        State(ids.APPEAL_REASON, "value"),
        State(ids.APPEAL_LIMIT, "value"),
        State(ids.LANG_STORE, "data"),
        prevent_initial_call=True,
    )
    def appeal(_clicks, building_id, year, basis, reason, limit, lang):  # type: ignore[no-untyped-def]
        return submit_appeal(
            services, building_id or "", year, basis, reason, limit, normalise_lang(lang)
        )
