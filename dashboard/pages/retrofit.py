"""Retrofit candidates: the ranked list with filters and totals of savings potential, and
downloads (CSV, XLSX) of exactly the rows and columns on screen. Analysts export;
regulators may view; managers have no access."""

from __future__ import annotations

from functools import partial
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import frames, ids, queries, tables
from dashboard.services import Services, current_viewer
from dashboard.shell import page_title
from dashboard.texts import normalise_lang, t
from dashboard.users import Viewer


def layout(services: Services, lang: str | None = None, **_query: Any) -> html.Div:
    lang = normalise_lang(lang)
    viewer = current_viewer()
    if not viewer.may_view_retrofit:
        return html.Div(ui.empty_state(t("forbidden_page", lang), ids.RETRO_NOTE))
    with services.connection() as conn:
        years = queries.evaluation_years(conn)
        options = queries.filter_options(conn, viewer)
    if not years:
        return html.Div(ui.empty_state(t("empty_no_years", lang), ids.RETRO_NOTE))
    downloads: list[Any] = (
        [
            html.Button(t("download_csv", lang), id=ids.RETRO_CSV, n_clicks=0),
            html.Button(t("download_xlsx", lang), id=ids.RETRO_XLSX, n_clicks=0),
            dcc.Download(id=ids.RETRO_DOWNLOAD),
        ]
        if viewer.can_export
        else [html.Span(t("export_analyst_only", lang), className="qw-note")]
    )
    return html.Div(
        [
            html.Div(
                [
                    ui.control(
                        t("year", lang),
                        dcc.Dropdown(
                            id=ids.RETRO_YEAR,
                            options=[{"label": str(y), "value": y} for y in years],
                            value=years[0],
                            clearable=False,
                        ),
                    ),
                    ui.control(
                        t("district", lang),
                        dcc.Dropdown(
                            id=ids.RETRO_DISTRICT,
                            multi=True,
                            placeholder=t("all", lang),
                            options=[{"label": d, "value": d} for d in options["districts"]],
                        ),
                    ),
                    ui.control(
                        t("building_type", lang),
                        dcc.Dropdown(
                            id=ids.RETRO_TYPE,
                            multi=True,
                            placeholder=t("all", lang),
                            options=[
                                {"label": en if lang == "en" else zh, "value": code}
                                for code, zh, en in options["types"]
                            ],
                        ),
                    ),
                    ui.control(
                        t("min_area", lang),
                        dcc.Input(
                            id=ids.RETRO_MIN_AREA,
                            type="number",
                            min=0,
                            step=1000,
                            value=0,
                            debounce=True,
                        ),
                    ),
                    ui.control(
                        t("trigger", lang),
                        dcc.Dropdown(
                            id=ids.RETRO_TRIGGER,
                            multi=True,
                            placeholder=t("all", lang),
                            options=[
                                {"label": t(f"trigger_{c}", lang), "value": c}
                                for c in frames.RETROFIT_TRIGGERS
                            ],
                        ),
                    ),
                    *downloads,
                ],
                className="qw-controls",
            ),
            html.Div(id=ids.RETRO_TOTALS),
            html.Div(ui.grid(ids.RETRO_GRID, "560px", row_id="building_id"), className="qw-panel"),
            html.P(id=ids.RETRO_NOTE, className="qw-note"),
        ]
    )


def ranked_candidates(
    services: Services,
    viewer: Viewer,
    year: int | None,
    districts: list[str] | None,
    types: list[str] | None,
    min_area_m2: float | None,
    triggers: list[str] | None,
) -> pd.DataFrame | None:
    """The engine's ranked list for the filters, or None when ``year`` has no evaluation."""
    if year is None:
        return None
    with services.connection() as conn:
        evaluation_id = queries.resolve_evaluation_id(conn, int(year))
        if evaluation_id is None:
            return None
        registry, results = queries.retrofit_inputs(conn, viewer, evaluation_id)
    return frames.retrofit_list(
        registry,
        results,
        services.settings.rules,
        districts or (),
        types or (),
        float(min_area_m2 or 0),
        triggers or (),
    )


def retrofit_view(
    services: Services,
    year,
    districts,
    types,
    min_area,
    triggers,  # type: ignore[no-untyped-def]
    lang,
) -> tuple[Any, ...]:
    lang = normalise_lang(lang)
    viewer = current_viewer()
    if not viewer.may_view_retrofit:
        raise queries.AccessDeniedError("retrofit")
    ranked = ranked_candidates(services, viewer, year, districts, types, min_area, triggers)
    if ranked is None:
        return (ui.empty_state(t("empty_no_evaluation", lang, year=year)), [], [], "")
    columns, rows = tables.retrofit_grid(ranked, lang)
    note = t("retro_source_engine", lang)
    if ranked.empty:
        return (ui.empty_state(t("empty_no_candidates", lang, year=year)), columns, rows, note)
    totals = (
        ranked[
            [
                "savings_kwh_per_year",
                "savings_kgce_per_year",
                "savings_tco2_per_year",
                "savings_cny_per_year",
            ]
        ]
        .astype(float)
        .sum()
    )
    text = t(
        "retro_totals",
        lang,
        count=len(ranked),
        kwh=ui.number_text(totals["savings_kwh_per_year"]),
        kgce=ui.number_text(totals["savings_kgce_per_year"]),
        tco2=ui.number_text(totals["savings_tco2_per_year"], 1),
        cny=ui.number_text(totals["savings_cny_per_year"]),
    )
    return (html.Div(ui.card(t("nav_retrofit", lang), text)), columns, rows, note)


def register(app: dash.Dash, services: Services) -> None:
    dash.register_page(
        __name__,
        path="/retrofit",
        name="retrofit",
        title=page_title("nav_retrofit"),
        layout=partial(layout, services),
    )
    filters = [
        Input(ids.RETRO_YEAR, "value"),
        Input(ids.RETRO_DISTRICT, "value"),
        Input(ids.RETRO_TYPE, "value"),
        Input(ids.RETRO_MIN_AREA, "value"),
        Input(ids.RETRO_TRIGGER, "value"),
        State(ids.LANG_STORE, "data"),  # a language switch re-renders the page
    ]

    @app.callback(
        Output(ids.RETRO_TOTALS, "children"),
        Output(ids.RETRO_GRID, "columnDefs"),
        Output(ids.RETRO_GRID, "rowData"),
        Output(ids.RETRO_NOTE, "children"),
        *filters,
    )
    def update_retrofit(year, districts, types, min_area, triggers, lang):  # type: ignore[no-untyped-def]
        return retrofit_view(services, year, districts, types, min_area, triggers, lang)

    @app.callback(
        Output(ids.RETRO_DOWNLOAD, "data"),
        Input(ids.RETRO_CSV, "n_clicks"),
        Input(ids.RETRO_XLSX, "n_clicks"),
        *[State(i.component_id, i.component_property) for i in filters],
        State(ids.RETRO_GRID, "virtualRowData"),
        prevent_initial_call=True,
    )
    def download(_csv, _xlsx, year, districts, types, min_area, triggers, lang, shown):  # type: ignore[no-untyped-def]
        viewer = current_viewer()
        if not viewer.can_export:
            raise queries.AccessDeniedError("export")
        lang = normalise_lang(lang)
        ranked = ranked_candidates(services, viewer, year, districts, types, min_area, triggers)
        if ranked is None:
            return dash.no_update
        columns, rows = tables.retrofit_grid(ranked, lang)
        table = tables.export_frame(columns, tables.visible_rows(rows, shown, "building_id"))
        stem = f"retrofit_candidates_{year}"
        if dash.ctx.triggered_id == ids.RETRO_XLSX:
            return dcc.send_bytes(tables.to_xlsx_bytes(table), f"{stem}.xlsx")
        return dcc.send_bytes(tables.to_csv_bytes(table), f"{stem}.csv")
