"""City compliance: headline figures, status by district and type, utilization distribution
and the table of buildings, for one evaluation run (year and as-of), scoped to the viewer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import components as ui
from dashboard import decisions, figures, frames, ids, live, queries, tables
from dashboard.cache import scope_key
from dashboard.services import Services, current_viewer
from dashboard.shell import page_title
from dashboard.sizes import graph_style
from dashboard.texts import UNIT_BY_BASIS, consequence, normalise_lang, t

BASES = ("electricity_kwh", "energy_kgce")
SIZES = ("small", "ordinary", "large")


def layout(services: Services, lang: str | None = None, **_query: Any) -> html.Div:
    lang = normalise_lang(lang)
    viewer = current_viewer()
    with services.connection() as conn:
        years = queries.evaluation_years(conn)
        options = queries.filter_options(conn, viewer)
        determined = decisions.determined_history_panel(conn, viewer, lang)
    if not viewer.sees_all and not viewer.building_ids:
        return html.Div(ui.empty_state(t("empty_no_buildings_visible", lang), ids.CITY_EMPTY))
    if not years:
        return html.Div(ui.empty_state(t("empty_no_years", lang), ids.CITY_EMPTY))
    type_options = [
        {"label": name_en if lang == "en" else name_zh, "value": code}
        for code, name_zh, name_en in options["types"]
    ]
    return html.Div(
        [
            html.H2(t("nav_city" if viewer.sees_all else "nav_my_buildings", lang)),
            html.Div(
                [
                    ui.control(
                        t("year", lang),
                        dcc.Dropdown(
                            id=ids.CITY_YEAR,
                            options=[{"label": str(y), "value": y} for y in years],
                            value=years[0],
                            clearable=False,
                        ),
                    ),
                    ui.control(t("as_of", lang), dcc.Dropdown(id=ids.CITY_AS_OF, clearable=False)),
                    ui.control(
                        t("basis", lang),
                        dcc.RadioItems(
                            id=ids.CITY_BASIS,
                            value="electricity_kwh",
                            inline=True,
                            options=[{"label": t(f"basis_{b}", lang), "value": b} for b in BASES],
                        ),
                    ),
                    ui.control(
                        t("district", lang),
                        dcc.Dropdown(
                            id=ids.CITY_DISTRICT,
                            multi=True,
                            placeholder=t("all", lang),
                            options=[{"label": d, "value": d} for d in options["districts"]],
                        ),
                    ),
                    ui.control(
                        t("building_type", lang),
                        dcc.Dropdown(
                            id=ids.CITY_TYPE,
                            multi=True,
                            placeholder=t("all", lang),
                            options=type_options,
                        ),
                    ),
                    ui.control(
                        t("size_class", lang),
                        dcc.Dropdown(
                            id=ids.CITY_SIZE,
                            multi=True,
                            placeholder=t("all", lang),
                            options=[{"label": t(f"size_{s}", lang), "value": s} for s in SIZES],
                        ),
                    ),
                ],
                className="qw-controls",
            ),
            html.Div(id=ids.CITY_EMPTY),
            html.Div(id=ids.CITY_HEADLINE, className="qw-cards"),
            html.P(id=ids.CITY_COMPUTED, className="qw-note"),
            html.Div(
                [
                    html.Div(ui.graph(ids.CITY_BY_DISTRICT), className="qw-panel"),
                    html.Div(ui.graph(ids.CITY_BY_TYPE), className="qw-panel"),
                ],
                className="qw-row",
            ),
            html.Div(ui.graph(ids.CITY_UTILIZATION), className="qw-panel"),
            dcc.Store(id=ids.CITY_SELECTION),
            html.Div(city_grid(lang), className="qw-panel"),
            determined,
        ]
    )


def city_grid(lang: str) -> Any:
    """The building table: headers wrap (never clipped), rows come from the server."""
    grid = ui.grid(ids.CITY_GRID, "520px", row_id="building_id", infinite=True, lang=lang)
    # Fourteen columns: render them all (a search of the page finds every value).
    grid.dashGridOptions = {**grid.dashGridOptions, "suppressColumnVirtualisation": True}
    return grid


def headline_cards(
    summary: dict[str, Any],
    basis: str,
    lang: str,
    rules: dict[str, Any] | None = None,
    own: bool = False,
) -> list[html.Div]:
    """The headline figures as cards (pure): the over-quota tiers with their excess to
    date, their projected excess at year end and what happens next; above 120 % counts
    every building over by more than 20 %, the two-years-running ones inside it. ``own``
    (a manager's few buildings): buildings within the quota as a count ("1 / 3"), not a
    city-style share."""
    unit = UNIT_BY_BASIS[basis]
    share = summary["share_within"]
    counts = summary["counts"]
    excess = summary["excess_by_tier"]
    projected = summary.get("projected_excess_by_tier", {})

    def amounts(*tiers: str) -> str:
        to_date = sum(excess.get(k, 0.0) for k in tiers)
        year_end = sum(projected.get(k, 0.0) for k in tiers)
        return " · ".join(
            [
                t("kpi_excess_to_date", lang, value=f"{ui.number_text(to_date)} {unit}"),
                t("kpi_projected_excess", lang, value=f"{ui.number_text(year_end)} {unit}"),
            ]
        )

    def tier_card(label: str, count: int, subs: list[str]) -> html.Div:
        return html.Div(
            [
                html.Div(ui.number_text(count), className="qw-value"),
                html.Div(label, className="qw-label"),
                *[html.Div(sub, className="qw-sub") for sub in subs if sub],
            ],
            className="qw-card qw-card-tier",
        )

    repeat = counts.get("over_20_repeat", 0)
    over_120 = counts.get("over_20", 0) + repeat
    return [
        ui.card(t("kpi_evaluated", lang), ui.number_text(summary["evaluated"])),
        ui.card(t("kpi_floor_area", lang), ui.number_text(summary["floor_area_m2"]) + " m²"),
        ui.card(
            t("kpi_within_own", lang),
            f"{ui.number_text(counts.get('within', 0))} / {ui.number_text(summary['judged'])}",
        )
        if own
        else ui.card(
            t("kpi_share_within", lang),
            "–" if share != share else f"{share * 100:.1f} %",
            t(
                "kpi_within_of",
                lang,
                within=ui.number_text(counts.get("within", 0)),
                judged=ui.number_text(summary["judged"]),
            ),
        ),
        tier_card(
            t("kpi_over_100", lang),
            counts.get("over", 0),
            [amounts("over"), t("next_step", lang, text=consequence("over", lang, rules))],
        ),
        tier_card(
            t("kpi_over_120", lang),
            over_120,
            [
                t("kpi_repeat_inside", lang, count=ui.number_text(repeat)),
                amounts("over_20", "over_20_repeat"),
                t("next_step", lang, text=consequence("over_20", lang, rules)),
                t("next_step", lang, text=consequence("over_20_repeat", lang, rules))
                if repeat
                else "",
            ],
        ),
        ui.card(t("kpi_at_risk", lang), ui.number_text(counts.get("at_risk", 0))),
        ui.card(t("kpi_insufficient", lang), ui.number_text(counts.get("insufficient_data", 0))),
    ]


@dataclass(frozen=True)
class CityPage:
    """Everything the city page shows for one selection and viewer, computed once (and
    cached until a new evaluation run): the outputs of the main callback and the building
    table's values by column, from which the grid's blocks are built on request."""

    empty: Any
    headline: list[Any]
    by_district: figures.Figure
    by_type: figures.Figure
    utilization: figures.Figure
    columns: list[tables.Column]
    table: tables.Table


def selection(
    year: Any, as_of: Any, basis: Any, districts: Any, types: Any, sizes: Any
) -> dict[str, Any]:
    """The page's filter values, normalised (JSON-safe; it also travels to the browser as
    the grid's selection, and is re-validated when it comes back)."""

    def names(values: Any) -> list[str]:
        return sorted({str(v) for v in values}) if isinstance(values, list) else []

    try:
        year_value = int(year) if year is not None else None
    except (TypeError, ValueError):
        year_value = None
    try:
        as_of_value = date.fromisoformat(str(as_of)).isoformat() if as_of else None
    except ValueError:
        as_of_value = None
    return {
        "year": year_value,
        "as_of": as_of_value,
        "basis": basis if basis in BASES else "electricity_kwh",
        "districts": names(districts),
        "types": names(types),
        "sizes": [s for s in names(sizes) if s in SIZES],
    }


def compute_city_page(
    conn: Any,
    services: Services,
    viewer: Any,
    chosen: dict[str, Any],
    evaluation_id: int | None,
    lang: str,
) -> CityPage:
    """Query the run for the viewer and build the page (the uncached path)."""
    year, basis = chosen["year"], chosen["basis"]
    results = (
        frames.filter_city(
            run_results(conn, services, viewer, evaluation_id, basis),
            chosen["districts"],
            chosen["types"],
            chosen["sizes"],
        )
        if evaluation_id is not None
        else None
    )
    if results is None or results.empty:
        message = (
            t("empty_no_evaluation", lang, year=year)
            if evaluation_id is None
            else t("empty_filters", lang)
        )
        empty = figures.empty_figure(message)
        return CityPage(
            ui.empty_state(message),
            [],
            empty,
            empty,
            empty,
            tables.city_columns(basis, lang),
            tables.city_table(pd.DataFrame(), lang),
        )
    type_col = "type_en" if lang == "en" else "type_zh"
    summary = frames.headline(results)
    by_district = figures.status_bars(
        frames.status_counts(results, "district"),
        t("chart_by_district", lang),
        lang,
        t("empty_filters", lang),
    )
    by_type = figures.status_bars(
        frames.status_counts(results, type_col),
        t("chart_by_type", lang),
        lang,
        t("empty_filters", lang),
    )
    no_util = (
        t("empty_no_quota_year", lang, year=year)
        if results["utilization"].isna().all()
        else t("empty_filters", lang)
    )
    tiers = services.settings.rules.get("tiers", {})
    utilization = figures.utilization_histogram(
        results,
        lang,
        no_util,
        (float(tiers.get("over_ratio", 1.0)), float(tiers.get("over_20_ratio", 1.2))),
    )
    return CityPage(
        None,
        headline_cards(summary, basis, lang, services.settings.rules, own=not viewer.sees_all),
        by_district,
        by_type,
        utilization,
        tables.city_columns(basis, lang),
        tables.city_table(results, lang),
    )


def run_results(
    conn: Any, services: Services, viewer: Any, evaluation_id: int, basis: str
) -> pd.DataFrame:
    """Every row of a run the viewer may see (scope applied in SQL), cached per viewer
    scope, run and basis: changing the district, type or size filters filters these rows
    instead of querying again."""
    key = ("city-results", scope_key(viewer), evaluation_id, basis)
    return services.cache.get_or_compute(
        services.cache.generation,
        key,
        lambda: queries.city_results(conn, viewer, services.settings, evaluation_id, basis),
    )


def city_page(services: Services, chosen: dict[str, Any], lang: str | None) -> CityPage:
    """The city page for the signed-in viewer and a normalised selection, from the cache
    when the same viewer scope asked for the same selection of the same run before."""
    lang = normalise_lang(lang)
    viewer = current_viewer()
    with services.connection() as conn:
        generation = queries.newest_evaluation_id(conn)
        year = chosen["year"]
        evaluation_id = (
            queries.resolve_evaluation_id(conn, year, chosen["as_of"]) if year is not None else None
        )
        key = (
            "city",
            scope_key(viewer),
            year,
            evaluation_id,
            chosen["basis"],
            tuple(chosen["districts"]),
            tuple(chosen["types"]),
            tuple(chosen["sizes"]),
            lang,
        )
        return services.cache.get_or_compute(
            generation,
            key,
            lambda: compute_city_page(conn, services, viewer, chosen, evaluation_id, lang),
        )


def city_view(
    services: Services,
    year: int | None,
    as_of: str | None,
    basis: str,
    districts: list[str] | None,
    types: list[str] | None,
    sizes: list[str] | None,
    lang: str | None,
) -> tuple[Any, ...]:
    """The outputs of the main callback: empty state, headline cards, the three charts, the
    heights of the two bar charts (they grow with their groups), the table's columns, and
    the selection the table's rows are then requested for."""
    chosen = selection(year, as_of, basis, districts, types, sizes)
    page = city_page(services, chosen, lang)
    return (
        page.empty,
        page.headline,
        page.by_district,
        page.by_type,
        page.utilization,
        graph_style(ids.CITY_BY_DISTRICT, ui.figure_height(page.by_district)),
        graph_style(ids.CITY_BY_TYPE, ui.figure_height(page.by_type)),
        page.columns,
        {**chosen, "lang": normalise_lang(lang)},
    )


def city_rows(services: Services, request: Any, chosen: Any) -> dict[str, Any]:
    """One block of the building table for the grid's row request (server-side filter,
    sort and paging over the cached rows of the selection)."""
    if not isinstance(chosen, dict):
        return {"rowData": [], "rowCount": 0}
    normalised = selection(
        chosen.get("year"),
        chosen.get("as_of"),
        chosen.get("basis"),
        chosen.get("districts"),
        chosen.get("types"),
        chosen.get("sizes"),
    )
    page = city_page(services, normalised, chosen.get("lang"))
    return tables.grid_page(page.table, request, tables.city_row, ROW_ALIASES)


# The building link column is filtered and sorted on the plain name.
ROW_ALIASES = {"building": "name"}

PURGE_GRID_JS = """
function(chosen, gridId) {
    if (chosen && window.dash_ag_grid) {
        window.dash_ag_grid.getApiAsync(gridId).then(function(api) {
            api.purgeInfiniteCache();
        });
    }
    return window.dash_clientside.no_update;
}
"""


def register(app: dash.Dash, services: Services) -> None:
    dash.register_page(
        __name__,
        path="/",
        name="city",
        title=page_title("nav_city"),
        layout=partial(layout, services),
    )

    @app.callback(
        Output(ids.CITY_AS_OF, "options"),
        Output(ids.CITY_AS_OF, "value"),
        Input(ids.CITY_YEAR, "value"),
        Input(ids.LIVE_EVALUATION, "data"),  # a new evaluation: its as-of date is chosen
    )
    def as_of_options(
        year: int | None, _newest: Any = None
    ) -> tuple[list[dict[str, str]], str | None]:
        if year is None:
            return [], None
        with services.connection() as conn:
            dates = queries.as_of_dates(conn, int(year))
        values = [d.isoformat() for d in dates]
        return [{"label": v, "value": v} for v in values], (values[0] if values else None)

    @app.callback(
        Output(ids.CITY_EMPTY, "children"),
        Output(ids.CITY_HEADLINE, "children"),
        Output(ids.CITY_BY_DISTRICT, "figure"),
        Output(ids.CITY_BY_TYPE, "figure"),
        Output(ids.CITY_UTILIZATION, "figure"),
        Output(ids.CITY_BY_DISTRICT, "style"),
        Output(ids.CITY_BY_TYPE, "style"),
        Output(ids.CITY_GRID, "columnDefs"),
        Output(ids.CITY_SELECTION, "data"),
        Input(ids.CITY_YEAR, "value"),
        Input(ids.CITY_AS_OF, "value"),
        Input(ids.CITY_BASIS, "value"),
        Input(ids.CITY_DISTRICT, "value"),
        Input(ids.CITY_TYPE, "value"),
        Input(ids.CITY_SIZE, "value"),
        State(ids.LANG_STORE, "data"),  # a language switch re-renders the page
    )
    def update_city(year, as_of, basis, districts, types, sizes, lang):  # type: ignore[no-untyped-def]
        return city_view(services, year, as_of, basis, districts, types, sizes, lang)

    @app.callback(
        Output(ids.CITY_COMPUTED, "children"),
        Input(ids.CITY_YEAR, "value"),
        Input(ids.CITY_AS_OF, "value"),
        State(ids.LANG_STORE, "data"),
    )
    def update_computed(year, as_of, lang):  # type: ignore[no-untyped-def]
        chosen = selection(year, as_of, None, None, None, None)
        if chosen["year"] is None:
            return ""
        with services.connection() as conn:
            evaluation_id = queries.resolve_evaluation_id(conn, chosen["year"], chosen["as_of"])
            run = queries.run_info(conn, evaluation_id) if evaluation_id is not None else None
        return live.computed_line(run, services.settings.tz, normalise_lang(lang))

    @app.callback(
        Output(ids.CITY_GRID, "getRowsResponse"),
        Input(ids.CITY_GRID, "getRowsRequest"),
        State(ids.CITY_SELECTION, "data"),
        prevent_initial_call=True,
    )
    def update_city_rows(request, chosen):  # type: ignore[no-untyped-def]
        if not chosen:
            raise PreventUpdate  # the selection is not known yet; the grid asks again
        return city_rows(services, request, chosen)

    # A new selection empties the grid's block cache, so it asks for its rows again.
    app.clientside_callback(
        PURGE_GRID_JS,
        Input(ids.CITY_SELECTION, "data"),
        State(ids.CITY_GRID, "id"),
        prevent_initial_call=True,
    )
