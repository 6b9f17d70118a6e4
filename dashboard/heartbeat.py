"""The scheduler's heartbeat panel of the data-quality page: when the scheduler last beat,
where it runs, and a warning when the beat is stale (no scheduler is running jobs)."""

from __future__ import annotations

from typing import Any

import psycopg
from dash import html

from dashboard import ids
from dashboard.texts import t
from quota.ops import queries as ops_queries
from quota.ops.health import heartbeat_is_stale
from quota.settings import Settings


def _age_text(age_s: float) -> str:
    """A short age: seconds, minutes, hours or days (unit letters are language-neutral)."""
    if age_s < 120:
        return f"{age_s:.0f} s"
    if age_s < 7200:
        return f"{age_s / 60:.0f} min"
    if age_s < 172800:
        return f"{age_s / 3600:.0f} h"
    return f"{age_s / 86400:.0f} d"


def panel(conn: psycopg.Connection[Any], settings: Settings, lang: str) -> html.Div:
    """The panel (operations viewers only: the caller checks the role)."""
    row = conn.execute(ops_queries.LAST_HEARTBEAT).fetchone()
    beat = dict(row) if row else None
    children: list[Any] = [html.H2(t("hb_title", lang))]
    if beat is None:
        children.append(html.P(t("hb_never", lang)))
    else:
        children.append(
            html.P(
                t(
                    "hb_line",
                    lang,
                    beat=beat["beat_at"].astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S"),
                    age=_age_text(float(beat["age_s"])),
                    host=beat["hostname"],
                    pid=beat["pid"],
                    interval=f"{float(beat['inbox_interval_minutes']):g}",
                    reconnects=beat["reconnects"],
                )
            )
        )
    if heartbeat_is_stale(beat, settings.scheduler_heartbeat_seconds):
        children.append(
            html.P(
                t("hb_stale", lang),
                id=ids.DQ_HEARTBEAT_STALE,
                role="alert",
                className="qw-warning",
            )
        )
    return html.Div(children, id=ids.DQ_HEARTBEAT, className="qw-panel")
