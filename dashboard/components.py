"""Small layout helpers shared by the pages (no data access)."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
from dash import dcc, html

from dashboard.sizes import graph_style
from dashboard.texts import grid_locale

# Components whose element with the id is a labelable one (<input>, <textarea>, or the <button> that
# dcc.Dropdown renders): their label points at them with ``for``. A RadioItems group is named
# by ``aria-labelledby`` instead (set by assets/a11y.js from the label's id).
_LABELABLE = (dcc.Input, dcc.Textarea, dcc.Dropdown)


def label_id(component_id: str) -> str:
    """The id of a control's visible label; assets/a11y.js names Dropdowns and radio groups
    by it (``aria-labelledby``)."""
    return f"{component_id}-label"


def control(label: str, component: Any) -> html.Div:
    """A filter control with its visible label, which also gives the control its accessible
    name (``for`` an input, ``aria-labelledby`` for a Dropdown or RadioItems)."""
    component_id = getattr(component, "id", None)
    if not isinstance(component_id, str):
        return html.Div([html.Label(label), component], className="qw-control")
    label_kwargs: dict[str, Any] = {"id": label_id(component_id)}
    if isinstance(component, _LABELABLE):
        label_kwargs["htmlFor"] = component_id
    return html.Div([html.Label(label, **label_kwargs), component], className="qw-control")


def card(label: str, value: str, sub: str = "", card_id: str | None = None) -> html.Div:
    """A headline figure."""
    children = [html.Div(value, className="qw-value"), html.Div(label, className="qw-label")]
    if sub:
        children.append(html.Div(sub, className="qw-sub"))
    kwargs = {"id": card_id} if card_id else {}
    return html.Div(children, className="qw-card", **kwargs)


def empty_state(message: str, element_id: str | None = None) -> html.Div:
    """A visible explanation of why there is nothing to show."""
    kwargs = {"id": element_id} if element_id else {}
    return html.Div(message, className="qw-empty", **kwargs)


# Rows of a server-side (infinite) grid: room for two wrapped lines [px].
INFINITE_ROW_HEIGHT_PX = 52


def grid(
    grid_id: str,
    height: str = "460px",
    row_id: str | None = None,
    infinite: bool = False,
    lang: str | None = None,
) -> dag.AgGrid:
    """A sortable, filterable ag-grid; columns and rows come from a callback.

    No header or cell is ever cut off with "…": headers wrap and grow, and cells wrap onto
    as many lines as they need (the row grows with them). ``infinite``: the rows stay on
    the server, which answers the grid's block requests (``getRowsRequest`` →
    ``getRowsResponse``) with its filters and sort applied there; such rows have one fixed
    height (ag-grid measures no row it has not loaded), so their cells wrap onto at most
    two lines (:data:`INFINITE_ROW_HEIGHT_PX`) and their columns must be wide enough.
    """
    options: dict[str, Any] = {
        "animateRows": False,
        "enableCellTextSelection": True,
        # ag-grid's own words (empty grid, filter menus) in the page's language.
        "localeText": grid_locale(lang),
    }
    column_defaults: dict[str, Any] = {
        "sortable": True,
        "filter": True,
        "resizable": True,
        "wrapHeaderText": True,
        "autoHeaderHeight": True,
        "wrapText": True,
    }
    kwargs: dict[str, Any] = {}
    if row_id:
        kwargs["getRowId"] = f"params.data.{row_id}"
    if infinite:
        options.update(
            {
                "rowBuffer": 0,
                "cacheBlockSize": 100,
                "maxBlocksInCache": 20,
                "infiniteInitialRowCount": 1,
            }
        )
        kwargs["rowModelType"] = "infinite"
        options["rowHeight"] = INFINITE_ROW_HEIGHT_PX
    else:
        kwargs["rowData"] = []
        column_defaults["autoHeight"] = True
    return dag.AgGrid(
        id=grid_id,
        columnDefs=[],
        defaultColDef=column_defaults,
        dashGridOptions=options,
        style={"height": height, "width": "100%"},
        className="ag-theme-alpine",
        **kwargs,
    )


def graph(graph_id: str, figure: dict[str, Any] | None = None) -> dcc.Graph:
    """A chart in a box of explicit pixel height (:mod:`dashboard.sizes`) that Plotly fills;
    only its width follows the window. Its toolbar takes no keyboard focus and the chart
    carries an aria-label summary of its numbers (both added by assets/a11y.js)."""
    kwargs: dict[str, Any] = {"figure": figure} if figure is not None else {}
    return dcc.Graph(
        id=graph_id,
        config={"displaylogo": False, "responsive": True},
        responsive=True,
        style=graph_style(graph_id, figure_height(figure)),
        **kwargs,
    )


def figure_height(figure: dict[str, Any] | None) -> int | None:
    """The height a figure dict asks for [px], if any."""
    if not figure:
        return None
    height = figure.get("layout", {}).get("height")
    return int(height) if height else None


def number_text(value: float | None, digits: int = 0) -> str:
    """A number with thousands separators ("–" when missing)."""
    if value is None or value != value:
        return "–"
    return f"{value:,.{digits}f}"
