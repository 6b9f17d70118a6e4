"""The regulator's appeals page (/appeals): the open appeals and a form to accept one
(recording a quota adjustment whose reason is the appeal) or reject it, with a reason.
Other roles get a refusal, and the callbacks check the role on the server again
(``quota.record.appeals.decide`` through ``quota.record.roles``). Registers the building
page's notice and appeal callbacks too (``dashboard.appeals_view``)."""

from __future__ import annotations

from functools import partial
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard import appeals_view, ids, queries
from dashboard import components as ui
from dashboard.appeals_view import tr
from dashboard.services import Services, current_viewer
from dashboard.texts import normalise_lang
from quota.record import appeals, determinations, roles
from quota.rules import RulesError

OPEN_COLUMNS = (
    "appeal_id",
    "building_id",
    "year",
    "basis",
    "reason",
    "requested_limit_value",
    "submitted_by",
    "submitted_at",
    "status",
)


def layout(services: Services, lang: str | None = None, **_query: Any) -> html.Div:
    lang = normalise_lang(lang)
    viewer = current_viewer()
    if not roles.may(viewer.role, roles.DECIDE_APPEAL):
        return html.Div(ui.empty_state(tr("appeals_forbidden", lang)), id=ids.APPEALS_BODY)
    return html.Div(
        [
            html.H2(tr("appeals_page", lang)),
            html.Div(open_appeals(services, lang), id=ids.APPEALS_OPEN, className="qw-panel"),
            html.Div(
                [
                    html.H2(tr("decide_title", lang)),
                    html.Div(
                        [
                            ui.control(
                                tr("decide_id", lang),
                                dcc.Input(id=ids.DECIDE_APPEAL_ID, type="number", min=1, step=1),
                            ),
                            ui.control(
                                tr("decide_title", lang),
                                dcc.RadioItems(
                                    id=ids.DECIDE_DECISION,
                                    value="reject",
                                    options=[
                                        {"label": tr("decide_accept", lang), "value": "accept"},
                                        {"label": tr("decide_reject", lang), "value": "reject"},
                                    ],
                                ),
                            ),
                            ui.control(
                                tr("decide_reason", lang),
                                dcc.Input(id=ids.DECIDE_REASON, type="text", maxLength=500),
                            ),
                            ui.control(
                                tr("decide_limit", lang),
                                dcc.Input(id=ids.DECIDE_LIMIT, type="number", min=0),
                            ),
                            dcc.Checklist(
                                id=ids.DECIDE_SUPERSEDE,
                                options=[{"label": tr("decide_supersede", lang), "value": "yes"}],
                                value=[],
                            ),
                            html.Button(tr("decide_submit", lang), id=ids.DECIDE_SUBMIT),
                        ],
                        className="qw-controls",
                    ),
                    html.Div(id=ids.DECIDE_MESSAGE, role="status"),
                ],
                className="qw-panel",
            ),
        ],
        id=ids.APPEALS_BODY,
    )


def open_appeals(services: Services, lang: str) -> Any:
    """The table of open appeals (every building: only a regulator reaches this)."""
    viewer = current_viewer()
    if not roles.may(viewer.role, roles.DECIDE_APPEAL):
        raise queries.AccessDeniedError("appeals")
    with services.connection() as conn:
        rows = appeals_view.visible_appeals(conn, viewer, status="open")
    return appeals_view.appeals_table(rows, lang, OPEN_COLUMNS, services.settings.tz)


def decide_appeal(
    services: Services,
    appeal_id: int | None,
    decision: str | None,
    reason: str | None,
    limit: float | None,
    supersede: bool,
    lang: str,
) -> tuple[str, Any]:
    """Decide as the signed-in viewer (role checked in quota.record.appeals); message and the
    refreshed table of open appeals."""
    viewer = current_viewer()
    if appeal_id is None or decision is None:
        message = tr("missing", lang)
    else:
        try:
            with services.connection() as conn, conn.transaction():
                appeal = appeals.decide(
                    conn,
                    int(appeal_id),
                    decision,
                    reason,
                    actor=viewer.username,
                    role=viewer.role,
                    limit_value=None if limit is None else float(limit),
                    supersede=supersede,
                    settings=services.settings,
                )
            message = tr(
                "decide_done",
                lang,
                id=appeal["appeal_id"],
                status=tr(f"status_{appeal['status']}", lang),
            )
            if appeal["determination_after_id"]:
                message += tr("decide_determined", lang, id=appeal["determination_after_id"])
        except (
            roles.NotAllowedError,
            appeals.AppealError,
            determinations.DeterminationError,
            RulesError,
        ) as exc:
            return tr("refused", lang, message=str(exc)), dash.no_update
    return message, open_appeals(services, lang)


def register(app: dash.Dash, services: Services) -> None:
    dash.register_page(
        __name__,
        path="/appeals",
        name="appeals",
        title="QuotaWatch",
        layout=partial(layout, services),
    )
    appeals_view.register(app, services)

    @app.callback(
        Output(ids.DECIDE_MESSAGE, "children"),
        Output(ids.APPEALS_OPEN, "children"),
        Input(ids.DECIDE_SUBMIT, "n_clicks"),
        State(ids.DECIDE_APPEAL_ID, "value"),
        State(ids.DECIDE_DECISION, "value"),
        State(ids.DECIDE_REASON, "value"),
        State(ids.DECIDE_LIMIT, "value"),
        State(ids.DECIDE_SUPERSEDE, "value"),
        State(ids.LANG_STORE, "data"),
        prevent_initial_call=True,
    )
    def decide(_clicks, appeal_id, decision, reason, limit, supersede, lang):  # type: ignore[no-untyped-def]
        return decide_appeal(
            services,
            appeal_id,
            decision,
            reason,
            limit,
            "yes" in (supersede or []),
            normalise_lang(lang),
        )
