"""The regulator's page: the audit log with filters, a form to adjust a quota (with a
required reason) and a form to determine a year. Other roles get a refusal, and every
callback checks the role on the server again (quota.record.roles is the one home of the rule)."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard import appeals_view, decision_queries, ids
from dashboard import components as ui
from dashboard.decisions import ACTION_AREAS, tr
from dashboard.services import Services, current_viewer
from dashboard.texts import normalise_lang, t
from quota.record import audit, determinations, quota_versions, roles
from quota.rules import RulesError

BASES = ("electricity_kwh", "energy_kgce")


def layout(services: Services, lang: str | None = None, **_query: Any) -> html.Div:
    lang = normalise_lang(lang)
    viewer = current_viewer()
    if viewer.role != "regulator":
        return html.Div(ui.empty_state(tr("audit_forbidden", lang)), id=ids.AUDIT_BODY)
    this_year = date.today().year
    return html.Div(
        [
            html.H2(tr("audit_title", lang)),
            dcc.Link(appeals_view.tr("appeals_page", lang), href="/appeals"),
            html.Div(
                [
                    ui.control(
                        tr("audit_building", lang),
                        dcc.Input(id=ids.AUDIT_BUILDING, type="text", debounce=True),
                    ),
                    ui.control(
                        tr("audit_since", lang),
                        dcc.DatePickerSingle(
                            id=ids.AUDIT_SINCE,
                            display_format="YYYY-MM-DD",
                            placeholder=t("pick_date", lang),
                        ),
                    ),
                    ui.control(
                        tr("audit_action", lang),
                        dcc.Dropdown(
                            id=ids.AUDIT_ACTION,
                            placeholder=tr("audit_all", lang),
                            options=[
                                {"label": t(f"audit_area_{a}", lang), "value": a}
                                for a in ACTION_AREAS
                            ],
                        ),
                    ),
                ],
                className="qw-controls",
            ),
            html.Div(
                ui.grid(ids.AUDIT_GRID, "420px", row_id="entry_id", lang=lang), className="qw-panel"
            ),
            html.Div(
                [
                    html.H2(tr("adjust_title", lang)),
                    html.Div(
                        [
                            ui.control(
                                tr("audit_building", lang),
                                dcc.Input(id=ids.ADJUST_BUILDING, type="text"),
                            ),
                            ui.control(
                                t("year", lang),
                                dcc.Input(
                                    id=ids.ADJUST_YEAR, type="number", step=1, value=this_year
                                ),
                            ),
                            ui.control(
                                t("basis", lang),
                                dcc.RadioItems(
                                    id=ids.ADJUST_BASIS,
                                    value="electricity_kwh",
                                    inline=True,
                                    options=[
                                        {"label": t(f"basis_{b}", lang), "value": b} for b in BASES
                                    ],
                                ),
                            ),
                            ui.control(
                                tr("adjust_limit", lang),
                                dcc.Input(id=ids.ADJUST_LIMIT, type="number", min=0),
                            ),
                            ui.control(
                                tr("reason", lang),
                                dcc.Input(id=ids.ADJUST_REASON, type="text", required=True),
                            ),
                            html.Button(tr("adjust_submit", lang), id=ids.ADJUST_SUBMIT),
                        ],
                        className="qw-controls",
                    ),
                    html.Div(id=ids.ADJUST_MESSAGE, role="status"),
                ],
                className="qw-panel",
            ),
            html.Div(
                [
                    html.H2(tr("determine_title", lang)),
                    html.Div(
                        [
                            ui.control(
                                t("year", lang),
                                dcc.Input(
                                    id=ids.DETERMINE_YEAR,
                                    type="number",
                                    step=1,
                                    value=this_year - 1,
                                ),
                            ),
                            dcc.Checklist(
                                id=ids.DETERMINE_SUPERSEDE,
                                options=[
                                    {"label": tr("determine_supersede", lang), "value": "yes"}
                                ],
                                value=[],
                            ),
                            ui.control(
                                tr("reason", lang), dcc.Input(id=ids.DETERMINE_REASON, type="text")
                            ),
                            html.Button(tr("determine_submit", lang), id=ids.DETERMINE_SUBMIT),
                        ],
                        className="qw-controls",
                    ),
                    html.Div(id=ids.DETERMINE_MESSAGE, role="status"),
                ],
                className="qw-panel",
            ),
        ],
        id=ids.AUDIT_BODY,
    )


AUDIT_COLUMNS = ("at", "actor", "action", "building_id", "reason", "change")


def action_label(action: str, lang: str) -> str:
    """An audit action with its area in words ("限额 · quota.imported"); the action code
    itself stays, as the log's stable name of what happened."""
    area = action.split(".", 1)[0]
    try:
        return f"{t(f'audit_area_{area}', lang)} · {action}"
    except KeyError:
        return action


def audit_table(
    services: Services, building_id: str | None, since: str | None, action: str | None, lang: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(columnDefs, rowData) of the filtered log; refuses anyone but a regulator."""
    since_at = audit.since_start(date.fromisoformat(since), services.settings.tz) if since else None
    with services.connection() as conn:
        entries = decision_queries.audit_entries(
            conn,
            current_viewer(),
            building_id=(building_id or "").strip() or None,
            since=since_at,
            action_prefix=f"{action}." if action else None,
        )
    rows = [
        {
            "entry_id": e["entry_id"],
            "at": e["at"][:19].replace("T", " "),
            "actor": e["actor"],
            "action": action_label(e["action"], lang),
            "building_id": e["building_id"] or "",
            "reason": e["reason"] or "",
            "change": audit.describe_change(e["before"], e["after"]),
        }
        for e in reversed(entries)
    ]
    columns = [{"field": c, "headerName": tr(f"col_{c}", lang)} for c in AUDIT_COLUMNS]
    return columns, rows


def adjust_quota(
    services: Services,
    building_id: str | None,
    year: int | None,
    basis: str | None,
    limit: float | None,
    reason: str | None,
    lang: str,
) -> str:
    """Adjust as the signed-in viewer (their role is checked); the message to show."""
    viewer = current_viewer()
    if not building_id or year is None or limit is None or not basis:
        return tr("missing_fields", lang)
    try:
        with services.connection() as conn, conn.transaction():
            version = quota_versions.adjust(
                conn,
                building_id.strip(),
                int(year),
                basis,
                float(limit),
                reason or "",
                actor=viewer.username,
                role=viewer.role,
            )
    except (roles.NotAllowedError, quota_versions.VersionError) as exc:
        return tr("refused", lang, message=str(exc))
    return tr(
        "adjust_done",
        lang,
        building=version["building_id"],
        year=version["year"],
        limit=ui.number_text(version["limit_value"]),
        version=version["version_id"],
    )


def determine_year(
    services: Services, year: int | None, supersede: bool, reason: str | None, lang: str
) -> str:
    """Determine as the signed-in viewer (their role is checked); the message to show."""
    viewer = current_viewer()
    if year is None:
        return tr("missing_fields", lang)
    try:
        with services.connection() as conn, conn.transaction():
            outcome = determinations.determine(
                conn,
                services.settings,
                int(year),
                actor=viewer.username,
                role=viewer.role,
                supersede=supersede,
                reason=reason,
            )
    except (roles.NotAllowedError, determinations.DeterminationError, RulesError) as exc:
        return tr("refused", lang, message=str(exc))
    return tr("determine_done", lang, year=year, id=outcome.determination_id)


def register(app: dash.Dash, services: Services) -> None:
    dash.register_page(
        __name__,
        path="/audit",
        name="audit",
        title="QuotaWatch",
        layout=partial(layout, services),
    )

    @app.callback(
        Output(ids.AUDIT_GRID, "columnDefs"),
        Output(ids.AUDIT_GRID, "rowData"),
        Input(ids.AUDIT_BUILDING, "value"),
        Input(ids.AUDIT_SINCE, "date"),
        Input(ids.AUDIT_ACTION, "value"),
        Input(ids.ADJUST_MESSAGE, "children"),
        Input(ids.DETERMINE_MESSAGE, "children"),
        State(ids.LANG_STORE, "data"),
    )
    def update_log(building_id, since, action, _adjusted, _determined, lang):  # type: ignore[no-untyped-def]
        return audit_table(services, building_id, since, action, normalise_lang(lang))

    @app.callback(
        Output(ids.ADJUST_MESSAGE, "children"),
        Input(ids.ADJUST_SUBMIT, "n_clicks"),
        State(ids.ADJUST_BUILDING, "value"),
        State(ids.ADJUST_YEAR, "value"),
        State(ids.ADJUST_BASIS, "value"),
        State(ids.ADJUST_LIMIT, "value"),
        State(ids.ADJUST_REASON, "value"),
        State(ids.LANG_STORE, "data"),
        prevent_initial_call=True,
    )
    def submit_adjustment(_clicks, building_id, year, basis, limit, reason, lang):  # type: ignore[no-untyped-def]
        return adjust_quota(services, building_id, year, basis, limit, reason, normalise_lang(lang))

    @app.callback(
        Output(ids.DETERMINE_MESSAGE, "children"),
        Input(ids.DETERMINE_SUBMIT, "n_clicks"),
        State(ids.DETERMINE_YEAR, "value"),
        State(ids.DETERMINE_SUPERSEDE, "value"),
        State(ids.DETERMINE_REASON, "value"),
        State(ids.LANG_STORE, "data"),
        prevent_initial_call=True,
    )
    def submit_determination(_clicks, year, supersede, reason, lang):  # type: ignore[no-untyped-def]
        return determine_year(
            services, year, "yes" in (supersede or []), reason, normalise_lang(lang)
        )
