"""Retrofit candidates: the ranked list with filters and totals of savings potential, and
downloads (CSV, XLSX) of exactly the rows and columns on screen. Analysts export;
regulators may view; managers have no access."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboard import components as ui
from dashboard import frames, ids, live, queries, tables
from dashboard.services import Services, current_viewer
from dashboard.shell import page_title
from dashboard.texts import normalise_lang, t
from dashboard.users import Viewer
from quota.retrofit_screening import ranked_candidates


def layout(services: Services, lang: str | None = None, **_query: Any) -> html.Div:
    lang = normalise_lang(lang)
    viewer = current_viewer()
    if not viewer.may_view_retrofit:
        # Its own id: no output of the page's callbacks is present, so none fires here.
        return html.Div(ui.empty_state(t("forbidden_page", lang), ids.RETRO_FORBIDDEN))
    with services.connection() as conn:
        years = queries.evaluation_years(conn)
        options = queries.filter_options(conn, viewer)
    if not years:
        return html.Div(ui.empty_state(t("empty_no_years", lang), ids.RETRO_FORBIDDEN))
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
            html.Div(retrofit_grid(lang), className="qw-panel"),
            html.P(id=ids.RETRO_NOTE, className="qw-note"),
        ]
    )


def retrofit_grid(lang: str) -> Any:
    """The candidate table: headers wrap (never clipped), every column rendered."""
    grid = ui.grid(ids.RETRO_GRID, "560px", row_id="building_id", lang=lang)
    grid.dashGridOptions = {**grid.dashGridOptions, "suppressColumnVirtualisation": True}
    return grid


@dataclass(frozen=True)
class Screening:
    """The screened list of one evaluation run (every candidate, before the page's filters)
    with what the downloads name: the run's id and as-of date."""

    evaluation_id: int
    as_of: date
    ranked: pd.DataFrame
    registry: pd.DataFrame
    results: pd.DataFrame


def screening(services: Services, viewer: Viewer, year: int | None) -> Screening | None:
    """The shared screening (``quota.retrofit_screening``, as ``quotawatch export retrofit``)
    of the latest run of ``year``, cached until a new run; None without a run."""
    if year is None:
        return None
    with services.connection() as conn:
        evaluation_id = queries.resolve_evaluation_id(conn, int(year))
        if evaluation_id is None:
            return None
        registry, results = queries.retrofit_inputs(conn, viewer, evaluation_id)
        run = queries.run_info(conn, evaluation_id) or {}
        as_of = run.get("as_of") or date(int(year), 12, 31)

        def compute() -> pd.DataFrame:
            return ranked_candidates(conn, services.settings, registry, results, as_of)

        ranked = services.cache.get_or_compute(
            queries.newest_evaluation_id(conn), ("retrofit-screening", evaluation_id), compute
        )
    return Screening(evaluation_id, as_of, ranked, registry, results)


def ranked_for_filters(
    screened: Screening,
    districts: list[str] | None,
    types: list[str] | None,
    min_area_m2: float | None,
    triggers: list[str] | None,
) -> pd.DataFrame:
    """The screened list with the page's filters applied (rank stays the city-wide rank)."""
    return frames.retrofit_list(
        screened.ranked,
        screened.registry,
        screened.results,
        districts or (),
        types or (),
        float(min_area_m2 or 0),
        triggers or (),
    )


def download_name(
    year: Any,
    districts: list[str] | None,
    types: list[str] | None,
    min_area_m2: float | None,
    triggers: list[str] | None,
    lang: str,
    extension: str,
) -> str:
    """The download's file name: year, the filters in force and the language, e.g.
    ``retrofit_candidates_2025_东城区_office_min5000m2_over_20_en.csv``."""
    parts = ["retrofit_candidates", str(year)]
    parts += sorted(str(d) for d in districts or [])
    parts += sorted(str(x) for x in types or [])
    if min_area_m2:
        parts.append(f"min{float(min_area_m2):.0f}m2")
    parts += sorted(str(x) for x in triggers or [])
    parts.append(lang)
    safe = [re.sub(r"[^\w.-]+", "-", p).strip("-") for p in parts]
    return "_".join(p for p in safe if p) + "." + extension


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
    screened = screening(services, viewer, year)
    if screened is None:
        return (ui.empty_state(t("empty_no_evaluation", lang, year=year)), [], [], "")
    ranked = ranked_for_filters(screened, districts, types, min_area, triggers)
    columns, rows = tables.retrofit_grid(ranked, lang)
    with services.connection() as conn:
        run = queries.run_info(conn, screened.evaluation_id)
    computed = live.computed_line(run, services.settings.tz, lang)
    note = [
        t(
            "retro_source_engine",
            lang,
            evaluation_id=screened.evaluation_id,
            as_of=screened.as_of.isoformat(),
        ),
        " ",
        t("retro_excess_note", lang),
    ]
    if ranked.empty:
        empty = ui.empty_state(f"{t('empty_no_candidates', lang, year=year)} {computed}")
        return (empty, columns, rows, note)
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
    # When the figures were computed, on the first screen as on the other pages.
    return (html.Div(ui.card(t("nav_retrofit", lang), text, computed)), columns, rows, note)


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
        *filters[:-1],
        Input(ids.LIVE_EVALUATION, "data"),  # a new evaluation: the list is screened again
        filters[-1],
    )
    def update_retrofit(year, districts, types, min_area, triggers, _newest, lang):  # type: ignore[no-untyped-def]
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
        screened = screening(services, viewer, year)
        if screened is None:
            return dash.no_update
        ranked = ranked_for_filters(screened, districts, types, min_area, triggers)
        columns, rows = tables.retrofit_grid(ranked, lang)
        columns = [c for c in columns if c["field"] != "building"]  # the name is its own column
        table = tables.export_frame(columns, tables.visible_rows(rows, shown, "building_id"))
        # Every row names the evaluation it comes from.
        table[t("col_as_of", lang)] = screened.as_of.isoformat()
        table[t("col_evaluation_id", lang)] = screened.evaluation_id
        xlsx = dash.ctx.triggered_id == ids.RETRO_XLSX
        name = download_name(
            year, districts, types, min_area, triggers, lang, "xlsx" if xlsx else "csv"
        )
        if xlsx:
            return dcc.send_bytes(tables.to_xlsx_bytes(table), name)
        return dcc.send_bytes(tables.to_csv_bytes(table), name)
