"""The drawn height of every chart, in CSS pixels, in one place.

Each ``dcc.Graph`` gets its height as an explicit pixel style (never ``height: 100%``
inside an auto-height panel, which collapses a responsive Plotly chart to 0 px on some
loads); Plotly then fills that box and follows only the width of the window. The layout
check in the browser tests reads the same table.
"""

from __future__ import annotations

from dashboard import ids

GRAPH_HEIGHT_PX: dict[str, int] = {
    ids.CITY_BY_DISTRICT: 340,
    ids.CITY_BY_TYPE: 340,
    ids.CITY_UTILIZATION: 340,
    ids.BUILDING_CUMULATIVE: 380,
    ids.BUILDING_MONTHLY: 340,
    ids.BUILDING_HISTORY: 340,
    ids.BUILDING_HEATMAP: 400,
    ids.BUILDING_PEERS: 240,
    ids.DQ_QUARANTINE_CHART: 240,
}
"""The least height of each chart [px]; bar charts with many groups grow taller."""


def graph_style(graph_id: str, figure_height_px: int | None = None) -> dict[str, str]:
    """The style of a chart: its explicit pixel height (the larger of its least height and
    the height its figure asks for) and the full width of its panel."""
    height_px = max(GRAPH_HEIGHT_PX[graph_id], int(figure_height_px or 0))
    return {"height": f"{height_px}px", "width": "100%"}
