"""Data quality: recent ingest and job runs (regulators, analysts), quarantined rows by
reason with the rows of a chosen reason (downloadable by analysts), and meters with stale or
missing data. Managers see only quarantined rows and meters of their own buildings."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard import bills_view, figures, heartbeat, ids, queries, tables
from dashboard import components as ui
from dashboard.quarantine_text import quarantine_message
from dashboard.services import Services, current_viewer
from dashboard.shell import page_title
from dashboard.texts import normalise_lang, t

INGEST_FIELDS = (
    ("run_id", "col_run_id", "number"),
    ("trigger", "col_trigger", "word:run_trigger"),
    ("started_at", "col_started_at", "time"),
    ("finished_at", "col_finished_at", "time"),
    ("outcome", "col_outcome", "word:outcome"),
    ("files_seen", "col_files", "number"),
    ("rows_read", "col_rows_read", "number"),
    ("rows_loaded", "col_rows_loaded", "number"),
    ("rows_duplicate", "col_rows_duplicate", "number"),
    ("rows_quarantined", "col_rows_quarantined", "number"),
    ("error", "col_error", "text"),
)
JOB_FIELDS = (
    ("job_id", "col_job_id", "word:job"),
    ("detail", "col_job_detail", "text"),
    ("started_at", "col_started_at", "time"),
    ("finished_at", "col_finished_at", "time"),
    ("outcome", "col_outcome", "word:outcome"),
    ("error", "col_error", "text"),
)
QUARANTINE_FIELDS = (
    ("quarantine_id", "col_quarantine_id", "number"),
    ("file_name", "col_file_name", "text"),
    ("line_number", "col_line_number", "number"),
    ("meter_id", "col_meter_id", "text"),
    ("reason", "col_reason", "word:reason"),
    ("message", "col_message", "text"),
    ("raw_row", "col_raw_row", "text"),
)
STALE_FIELDS = (
    ("meter_id", "col_meter_id", "text"),
    ("building_id", "col_building_id", "text"),
    ("name", "col_name", "text"),
    ("energy_type", "col_energy_type", "text"),
    ("last_day", "col_last_day", "text"),
)
QUARANTINE_SHOWN = 1000


def _grid_with(
    grid_id: str,
    frame: Any,
    fields: Any,
    lang: str,
    empty_key: str,
    height: str = "300px",
    tz: Any = None,
    fit_rows: bool = False,
) -> list[Any]:
    """The grid of ``frame``, or the empty state. ``fit_rows`` (a short list, at most a few
    dozen rows): the grid is as high as its rows, with no empty space below them."""
    grid = ui.grid(grid_id, height, lang=lang)
    columns, rows = tables.simple_grid(frame, fields, lang, tz)
    grid.columnDefs, grid.rowData = columns, rows
    if fit_rows:
        grid.dashGridOptions = {**grid.dashGridOptions, "domLayout": "autoHeight"}
        grid.style = {"width": "100%"}
        grid.className = "ag-theme-alpine qw-fit-rows"
    return [ui.empty_state(t(empty_key, lang))] if frame.empty else [grid]


def layout(services: Services, lang: str | None = None, **_query: Any) -> html.Div:
    lang = normalise_lang(lang)
    viewer = current_viewer()
    sections: list[Any] = []
    with services.connection() as conn:
        if viewer.may_view_operations:
            runs = queries.ingest_runs(conn, viewer)
            jobs = queries.job_runs(conn, viewer)
            sections += [
                heartbeat.panel(conn, services.settings, lang),
                html.Div(
                    [
                        html.H2(t("dq_ingest_runs", lang)),
                        *_grid_with(
                            ids.DQ_INGEST_GRID,
                            runs,
                            INGEST_FIELDS,
                            lang,
                            "empty_no_ingest",
                            tz=services.settings.tz,
                            fit_rows=True,
                        ),
                    ],
                    className="qw-panel",
                ),
                html.Div(
                    [
                        html.H2(t("dq_job_runs", lang)),
                        *_grid_with(
                            ids.DQ_JOB_GRID,
                            jobs,
                            JOB_FIELDS,
                            lang,
                            "empty_no_jobs",
                            tz=services.settings.tz,
                            fit_rows=True,
                        ),
                    ],
                    className="qw-panel",
                ),
            ]
        reasons = queries.quarantine_by_reason(conn, viewer)
    chart = figures.bar_counts(
        [tables.word("reason", r, lang) for r in reasons["reason_code"]],
        [int(n) for n in reasons["row_count"]],
        t("dq_quarantine", lang),
        t("col_rows", lang),
        t("empty_no_quarantine", lang),
    )
    downloads: list[Any] = (
        [
            html.Button(t("download_csv", lang), id=ids.DQ_QUARANTINE_CSV, n_clicks=0),
            html.Button(t("download_xlsx", lang), id=ids.DQ_QUARANTINE_XLSX, n_clicks=0),
            dcc.Download(id=ids.DQ_DOWNLOAD),
        ]
        if viewer.can_export
        # Regulators are told who exports; managers have nothing to export here.
        else (
            [html.Span(t("export_analyst_only", lang), className="qw-note")]
            if viewer.sees_all
            else []
        )
    )
    reason_values = [str(r) for r in reasons["reason_code"]]
    if not reason_values:  # the chart says there are none; no empty picker and table
        sections.append(html.Div(ui.graph(ids.DQ_QUARANTINE_CHART, chart), className="qw-panel"))
    sections.append(
        html.Div(
            [
                ui.graph(ids.DQ_QUARANTINE_CHART, chart),
                html.Div(
                    [
                        ui.control(
                            t("dq_reason", lang),
                            dcc.Dropdown(
                                id=ids.DQ_REASON,
                                options=[
                                    {"label": tables.word("reason", r, lang), "value": r}
                                    for r in reason_values
                                ],
                                value=reason_values[0] if reason_values else None,
                                clearable=False,
                            ),
                        ),
                        *downloads,
                    ],
                    className="qw-controls",
                ),
                quarantine_grid(lang),
            ],
            className="qw-panel",
        )
        if reason_values
        else None
    )
    sections.append(
        html.Div(
            [
                html.H2(t("dq_stale", lang)),
                html.Div(
                    ui.control(
                        t("dq_stale_days", lang),
                        dcc.Input(
                            id=ids.DQ_STALE_DAYS,
                            type="number",
                            min=1,
                            step=1,
                            value=2,
                            debounce=True,
                        ),
                    ),
                    className="qw-controls",
                ),
                html.P(t("dq_stale_days_help", lang), className="qw-note"),
                html.Div(id=ids.DQ_STALE_GRID),
            ],
            className="qw-panel",
        )
    )
    sections += bills_view.quality_panels(services, lang)
    return html.Div([s for s in sections if s is not None], id=ids.DQ_BODY)


def quarantine_grid(lang: str) -> Any:
    """The quarantined rows. ag-grid numbers the rows itself: no row id (a numeric one
    draws its warning #25, and a row id with rows of growing height left the first row
    undrawn after the rows changed); exports match rows on ``quarantine_id``."""
    return ui.grid(ids.DQ_QUARANTINE_GRID, "320px", lang=lang)


def quarantine_table(
    services: Services, reason: str | None, lang: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with services.connection() as conn:
        rows = queries.quarantine_rows(conn, current_viewer(), reason, QUARANTINE_SHOWN)
    rows["reason"] = rows["reason_code"]
    rows["message"] = quarantine_messages(rows, lang, services.settings.tz)
    return tables.simple_grid(rows, QUARANTINE_FIELDS, lang, services.settings.tz)


def quarantine_messages(rows: Any, lang: str, tz: Any) -> list[str]:
    """Each quarantined row's message in ``lang``, from its reason code and details."""
    return [
        quarantine_message(
            str(code), details if isinstance(details, dict) else None, str(text), lang, tz
        )
        for code, details, text in zip(
            rows["reason_code"], rows["details"], rows["message"], strict=True
        )
    ]


def stale_days(value: Any) -> int | None:
    """The stale-days input as a whole number of days ≥ 1, or None when it is not one."""
    try:
        days = float(value)
    except (TypeError, ValueError):
        return None
    return int(days) if days >= 1 and days == int(days) else None


def register(app: dash.Dash, services: Services) -> None:
    dash.register_page(
        __name__,
        path="/quality",
        name="quality",
        title=page_title("nav_quality"),
        layout=partial(layout, services),
    )

    @app.callback(
        Output(ids.DQ_QUARANTINE_GRID, "columnDefs"),
        Output(ids.DQ_QUARANTINE_GRID, "rowData"),
        Input(ids.DQ_REASON, "value"),
        State(ids.LANG_STORE, "data"),  # a language switch re-renders the page
    )
    def update_quarantine(reason, lang):  # type: ignore[no-untyped-def]
        return quarantine_table(services, reason, normalise_lang(lang))

    @app.callback(
        Output(ids.DQ_STALE_GRID, "children"),
        Input(ids.DQ_STALE_DAYS, "value"),
        State(ids.LANG_STORE, "data"),  # a language switch re-renders the page
    )
    def update_stale(days, lang):  # type: ignore[no-untyped-def]
        lang = normalise_lang(lang)
        wanted = stale_days(days)
        if wanted is None:  # the browser marks the field; say why
            return ui.empty_state(t("dq_stale_days_invalid", lang))
        today = datetime.now(services.settings.tz).date()
        with services.connection() as conn:
            stale = queries.stale_meters(conn, current_viewer(), today, wanted)
        stale["last_day"] = stale["last_day"].map(
            lambda d: t("never", lang) if d is None or d != d else d.isoformat()
        )
        stale["energy_type"] = stale["energy_type"].map(lambda e: t(f"energy_{e}", lang))
        return _grid_with(
            ids.DQ_STALE_GRID + "-table", stale, STALE_FIELDS, lang, "empty_no_stale", "360px"
        )

    @app.callback(
        Output(ids.DQ_DOWNLOAD, "data"),
        Input(ids.DQ_QUARANTINE_CSV, "n_clicks"),
        Input(ids.DQ_QUARANTINE_XLSX, "n_clicks"),
        State(ids.DQ_REASON, "value"),
        State(ids.LANG_STORE, "data"),
        State(ids.DQ_QUARANTINE_GRID, "virtualRowData"),
        prevent_initial_call=True,
    )
    def download(_csv, _xlsx, reason, lang, shown):  # type: ignore[no-untyped-def]
        if not current_viewer().can_export:
            raise queries.AccessDeniedError("export")
        columns, rows = quarantine_table(services, reason, normalise_lang(lang))
        table = tables.export_frame(columns, tables.visible_rows(rows, shown, "quarantine_id"))
        stem = f"quarantine_{reason or 'all'}"
        if dash.ctx.triggered_id == ids.DQ_QUARANTINE_XLSX:
            return dcc.send_bytes(tables.to_xlsx_bytes(table), f"{stem}.xlsx")
        return dcc.send_bytes(tables.to_csv_bytes(table), f"{stem}.csv")
