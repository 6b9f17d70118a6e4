"""Live figures: every open page polls the id of the newest stored evaluation and, when a
new one appears, its figures are computed again (the main callbacks of the pages take
:data:`ids.LIVE_EVALUATION` as an input). Also the line that says when a page's figures
were computed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash
from dash import Input, Output, State, dcc
from dash.exceptions import PreventUpdate

from dashboard import ids, queries
from dashboard.services import Services
from dashboard.texts import t

POLL_INTERVAL_MS = 30_000


def components() -> list[Any]:
    """The poll timer and the newest evaluation id seen (part of the shell)."""
    return [
        dcc.Interval(id=ids.LIVE_POLL, interval=POLL_INTERVAL_MS, n_intervals=0),
        dcc.Store(id=ids.LIVE_EVALUATION, data=None),
    ]


def computed_line(run: dict[str, Any] | None, tz: ZoneInfo, lang: str) -> str:
    """ "Figures computed 2025-06-30 18:05 (Asia/Shanghai) by evaluation #12, data as of
    2025-06-30" in ``lang`` ("" without a run)."""
    if not run:
        return ""
    computed = run.get("computed_at")
    when = (
        computed.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        if isinstance(computed, datetime)
        else str(computed or "–")
    )
    as_of = run.get("as_of")
    return t(
        "computed_line",
        lang,
        when=when,
        tz=getattr(tz, "key", str(tz)),
        evaluation_id=run.get("evaluation_id"),
        as_of=as_of.isoformat() if hasattr(as_of, "isoformat") else str(as_of or "–"),
    )


def register_callbacks(app: dash.Dash, services: Services) -> None:
    @app.callback(
        Output(ids.LIVE_EVALUATION, "data"),
        Input(ids.LIVE_POLL, "n_intervals"),
        State(ids.LIVE_EVALUATION, "data"),
    )
    def poll(_ticks: int, seen: int | None) -> int | None:
        with services.connection() as conn:
            newest = queries.newest_evaluation_id(conn)
        if newest == seen:
            raise PreventUpdate  # nothing new: the pages keep their figures
        return newest
