"""One building: cumulative use against the quota trajectory with the year-end projection,
monthly use this year vs last year, an hour-of-day × day heat map for a chosen month, its
meters, its status history and its position among peers of its type.

A building the viewer may not see gives the same empty state as an unknown one, and every
callback re-checks access (a crafted request naming another building gets 403)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import unquote

import dash
import pandas as pd
from dash import Input, Output, State, dcc, html

from dashboard import (
    appeals_view,
    bills_view,
    building_header,
    decisions,
    figures,
    frames,
    ids,
    live,
    queries,
    tables,
)
from dashboard import components as ui
from dashboard.services import Services, current_viewer
from dashboard.shell import home_link, page_title
from dashboard.texts import UNIT_BY_BASIS, normalise_lang, t
from quota import conversion
from quota.rules import EvaluationRules

BASES = ("electricity_kwh", "energy_kgce")


def layout(
    services: Services, building_id: str | None = None, lang: str | None = None, **_query: Any
) -> html.Div:
    lang = normalise_lang(lang)
    viewer = current_viewer()
    building_id = unquote(building_id or "")
    try:
        with services.connection() as conn:
            info = queries.building_info(conn, viewer, building_id)
            years = queries.evaluation_years(conn)
            determined = decisions.determined_history_panel(conn, viewer, lang, building_id)
            notices_panel = appeals_view.building_section(
                conn, viewer, building_id, years, lang, services.settings.tz
            )
    except queries.AccessDeniedError:
        return html.Div(
            [
                ui.empty_state(t("empty_building", lang), ids.BUILDING_NOTE),
                home_link(lang),
            ]
        )
    this_year = datetime.now(services.settings.tz).year
    year_values = sorted(set(years) | {this_year}, reverse=True)
    default_year = years[0] if years else this_year
    type_name = info["type_en"] if lang == "en" else info["type_zh"]
    return html.Div(
        [
            dcc.Store(id=ids.BUILDING_ID_STORE, data=building_id),
            html.H2(t("building_header", lang, name=info["name"], id=building_id)),
            html.P(
                t(
                    "building_facts",
                    lang,
                    district=info["district"],
                    type=type_name,
                    area=ui.number_text(info["floor_area_m2"]),
                )
            ),
            html.Div(
                [
                    ui.control(
                        t("year", lang),
                        dcc.Dropdown(
                            id=ids.BUILDING_YEAR,
                            clearable=False,
                            value=default_year,
                            options=[{"label": str(y), "value": y} for y in year_values],
                        ),
                    ),
                    ui.control(
                        t("basis", lang),
                        dcc.RadioItems(
                            id=ids.BUILDING_BASIS,
                            value="electricity_kwh",
                            inline=True,
                            options=[{"label": t(f"basis_{b}", lang), "value": b} for b in BASES],
                        ),
                    ),
                ],
                className="qw-controls",
            ),
            html.Div(id=ids.BUILDING_HEADER),
            html.Div(ui.graph(ids.BUILDING_CUMULATIVE), className="qw-panel"),
            html.Div(
                [
                    html.Div(ui.graph(ids.BUILDING_MONTHLY), className="qw-panel"),
                    html.Div(ui.graph(ids.BUILDING_HISTORY), className="qw-panel"),
                ],
                className="qw-row",
            ),
            html.Div(
                [
                    html.Div(
                        ui.control(
                            t("month", lang), dcc.Dropdown(id=ids.BUILDING_MONTH, clearable=False)
                        ),
                        className="qw-controls",
                    ),
                    ui.graph(ids.BUILDING_HEATMAP),
                ],
                className="qw-panel",
            ),
            html.Div(ui.graph(ids.BUILDING_PEERS), className="qw-panel"),
            html.Div(
                [html.H2(t("meters", lang)), meters_grid(lang)],
                className="qw-panel",
            ),
            determined,
            html.Div(id=ids.BUILDING_BILLS, className="qw-panel"),
            notices_panel,
        ]
    )


def meters_grid(lang: str) -> Any:
    """The building's meters; headers wrap instead of being clipped."""
    return ui.grid(ids.BUILDING_METERS, "260px", lang=lang)


def _month_end(day: date) -> bool:
    """True when ``day`` is the last day of its month."""
    return (day + timedelta(days=1)).month != day.month


@dataclass
class _BuildingData:
    """What the building page reads for one year and basis (all scoped by the viewer)."""

    info: dict[str, Any]
    run: dict[str, Any] | None
    result: dict[str, Any] | None
    daily: pd.DataFrame
    share: pd.Series | None
    history: pd.DataFrame
    peers: dict[str, Any]
    meters: pd.DataFrame


def _read(
    services: Services, building_id: str, year: int, basis: str, year_end: date
) -> _BuildingData:
    """One connection, every query of the page."""
    viewer = current_viewer()
    with services.connection() as conn:
        info = queries.building_info(conn, viewer, building_id)
        evaluation_id = queries.resolve_evaluation_id(conn, year)
        run = queries.run_info(conn, evaluation_id) if evaluation_id is not None else None
        result = (
            queries.building_result(conn, viewer, building_id, evaluation_id, basis)
            if evaluation_id is not None
            else None
        )
        return _BuildingData(
            info=info,
            run=run,
            result=result,
            daily=queries.building_daily(
                conn, viewer, building_id, date(year - 1, 1, 1), date(year + 1, 1, 1)
            ),
            share=queries.trajectory_share(
                conn, viewer, services.settings, building_id, year, result
            ),
            history=queries.building_history(conn, viewer, building_id, basis),
            peers=(
                queries.peer_stats(conn, viewer, building_id, evaluation_id)
                if evaluation_id is not None
                else {}
            ),
            meters=queries.building_meters(conn, viewer, building_id, date(year, 1, 1), year_end),
        )


def _use_charts(
    data: _BuildingData, year: int, basis: str, unit: str, lang: str, rules: dict[str, Any]
) -> tuple[Any, Any, bool]:
    """The cumulative chart (use against the quota trajectory and the projection) and the
    monthly chart (this year against last year, the partial month marked), in the basis's
    unit; and whether a trajectory was drawn."""
    factors = EvaluationRules.from_rules(rules).factors
    per_day = conversion.daily_in_basis(data.daily, basis, factors)
    this_year = per_day[[d.year == year for d in per_day.index]] if not per_day.empty else per_day
    last_year = (
        per_day[[d.year == year - 1 for d in per_day.index]] if not per_day.empty else per_day
    )
    result = data.result
    limit_value = result["limit_value"] if result else None
    trajectory = (
        frames.trajectory_values(data.share, limit_value)
        if data.share is not None and limit_value
        else None
    )
    no_daily = t("empty_no_daily", lang, year=year)
    # A closed year has final figures: no projection to draw.
    closed = building_header.is_closed_year(year, data.run["as_of"] if data.run else None)
    cumulative = figures.cumulative_figure(
        frames.cumulative(this_year),
        trajectory,
        limit_value,
        result["projected"] if result and not closed else None,
        year,
        unit,
        lang,
        no_daily,
    )
    last_day = this_year.index.max() if not this_year.empty else None
    monthly = figures.monthly_figure(
        frames.monthly_totals(this_year),
        frames.monthly_totals(last_year),
        year,
        unit,
        lang,
        no_daily,
        partial_through=last_day if last_day is not None and not _month_end(last_day) else None,
    )
    return cumulative, monthly, trajectory is not None


def building_view(
    services: Services, building_id: str, year: int, basis: str, lang: str | None
) -> tuple[Any, ...]:
    """Everything the building page shows for one year and basis (main callback body)."""
    lang = normalise_lang(lang)
    basis = basis if basis in BASES else "electricity_kwh"
    unit = UNIT_BY_BASIS[basis]
    settings = services.settings
    year = int(year)
    today = datetime.now(settings.tz).date()
    year_end = min(date(year + 1, 1, 1), max(today, date(year, 1, 1)))
    data = _read(services, building_id, year, basis, year_end)
    cumulative, monthly, has_trajectory = _use_charts(data, year, basis, unit, lang, settings.rules)
    history = data.history
    if not history.empty:  # the chosen year's evaluations, on that year's axis
        history = history[history["year"] == year].reset_index(drop=True)
    history_fig = figures.history_figure(
        history, lang, t("empty_no_history_year", lang, year=year), year
    )
    min_peers = int(settings.rules.get("data", {}).get("min_peer_count", 5))
    # Too few other buildings of its type: no distribution either (the header says why).
    enough_peers = int(data.peers.get("peer_count") or 0) - 1 >= min_peers
    peer_fig = figures.peers_figure(
        data.peers if enough_peers else {},
        lang,
        t("empty_no_peers", lang, min=min_peers),
    )
    meter_columns, meter_rows = tables.meters_grid(data.meters, date(year, 1, 1), year_end, lang)
    header = building_header.header_children(
        result=data.result,
        info=data.info,
        peers=data.peers,
        year=year,
        as_of=data.run["as_of"] if data.run else None,
        unit=unit,
        lang=lang,
        rules=settings.rules,
        has_trajectory=has_trajectory,
        has_meters=not data.meters.empty,
        empty_message=ui.empty_state(t("empty_no_evaluation", lang, year=year)),
    )
    computed = live.computed_line(data.run, settings.tz, lang)
    if computed:
        header.append(html.P(computed, className="qw-note", id=ids.BUILDING_COMPUTED))
    return (header, cumulative, monthly, history_fig, peer_fig, meter_columns, meter_rows)


def month_options(
    year: int, today: date, last_day: date | None = None
) -> tuple[list[dict[str, str]], str]:
    """Month choices of ``year`` (value = first day, ISO) and the default: the month of the
    last day with data, else this month in the current year, else December."""
    values = [date(year, m, 1) for m in range(1, 13)]
    if last_day is not None and last_day.year == year:
        default = last_day.replace(day=1)
    elif year == today.year:
        default = date(year, today.month, 1)
    else:
        default = date(year, 12, 1)
    return (
        [{"label": v.strftime("%Y-%m"), "value": v.isoformat()} for v in values],
        default.isoformat(),
    )


def heatmap_view(services: Services, building_id: str, month: str | None, lang: str | None) -> Any:
    lang = normalise_lang(lang)
    month_start = date.fromisoformat(month) if month else date.today().replace(day=1)
    with services.connection() as conn:
        hourly = queries.building_hourly(
            conn, current_viewer(), services.settings, building_id, month_start
        )
    label = month_start.strftime("%Y-%m")
    return figures.heatmap_figure(
        frames.heatmap_matrix(hourly), label, lang, t("empty_no_readings_month", lang, month=label)
    )


def register(app: dash.Dash, services: Services) -> None:
    dash.register_page(
        __name__,
        path_template="/building/<building_id>",
        name="building",
        title=page_title("title_building"),
        layout=partial(layout, services),
    )

    @app.callback(
        Output(ids.BUILDING_HEADER, "children"),
        Output(ids.BUILDING_CUMULATIVE, "figure"),
        Output(ids.BUILDING_MONTHLY, "figure"),
        Output(ids.BUILDING_HISTORY, "figure"),
        Output(ids.BUILDING_PEERS, "figure"),
        Output(ids.BUILDING_METERS, "columnDefs"),
        Output(ids.BUILDING_METERS, "rowData"),
        Input(ids.BUILDING_ID_STORE, "data"),
        Input(ids.BUILDING_YEAR, "value"),
        Input(ids.BUILDING_BASIS, "value"),
        Input(ids.LIVE_EVALUATION, "data"),  # a new evaluation: the figures are recomputed
        State(ids.LANG_STORE, "data"),  # a language switch re-renders the page
    )
    def update_building(building_id, year, basis, _newest, lang):  # type: ignore[no-untyped-def]
        return building_view(services, building_id, year, basis, lang)

    @app.callback(
        Output(ids.BUILDING_MONTH, "options"),
        Output(ids.BUILDING_MONTH, "value"),
        Input(ids.BUILDING_YEAR, "value"),
        State(ids.BUILDING_ID_STORE, "data"),
    )
    def update_months(year, building_id):  # type: ignore[no-untyped-def]
        with services.connection() as conn:
            last_day = queries.last_data_day(conn, current_viewer(), building_id, int(year))
        return month_options(int(year), datetime.now(services.settings.tz).date(), last_day)

    @app.callback(
        Output(ids.BUILDING_HEATMAP, "figure"),
        Input(ids.BUILDING_ID_STORE, "data"),
        Input(ids.BUILDING_MONTH, "value"),
        State(ids.LANG_STORE, "data"),  # a language switch re-renders the page
    )
    def update_heatmap(building_id, month, lang):  # type: ignore[no-untyped-def]
        return heatmap_view(services, building_id, month, lang)

    bills_view.register_building(app, services)
