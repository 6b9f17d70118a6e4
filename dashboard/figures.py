"""Pure figure builders: DataFrame/Series in, a plotly figure as a plain dict out
(``{"data": [...], "layout": {...}}``). No database, no Dash.

The dicts are what ``go.Figure(...).to_plotly_json()`` would give, written directly: plotly's
graph objects validate every property on assignment, which cost more than the SQL behind a
chart (see docs/dashboard.md "Speed"). The tests pass every builder's output through
``go.Figure`` so an invalid property still fails there.

Every axis carries its unit; every status uses the colour of :mod:`dashboard.palette`;
an empty input gives a figure that says why it is empty instead of blank axes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from dashboard.palette import (
    ACCENT,
    LAST_YEAR,
    REFERENCE,
    STATUS_COLOURS,
    STATUS_ORDER,
    STATUS_SYMBOLS,
    status_bar_marker,
)
from dashboard.texts import status_label, t

FONT = "system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"
GRID_COLOUR = "#EEEEEE"
HISTOGRAM_BIN_PCT = 5.0

Figure = dict[str, Any]


def _axis(title: str | None = None, **extra: Any) -> dict[str, Any]:
    """An axis with the common grid style and an optional title."""
    axis: dict[str, Any] = {"showgrid": True, "gridcolor": GRID_COLOUR, "zeroline": False}
    if title is not None:
        axis["title"] = {"text": title}
    axis.update(extra)
    return axis


def _figure(
    data: list[dict[str, Any]],
    title: str,
    height: int = 340,
    xaxis: dict[str, Any] | None = None,
    yaxis: dict[str, Any] | None = None,
    **layout: Any,
) -> Figure:
    """A figure dict with the dashboard's common layout (title, size, fonts, legend)."""
    return {
        "data": data,
        "layout": {
            "title": {"text": title, "x": 0.01, "font": {"size": 15}},
            "height": height,
            "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
            "font": {"family": FONT, "size": 12},
            "plot_bgcolor": "#FFFFFF",
            "paper_bgcolor": "#FFFFFF",
            # Right of the plot: a legend never meets an axis title or the chart's title.
            "legend": {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
            "xaxis": {"automargin": True, **(xaxis or _axis())},
            "yaxis": {"automargin": True, **(yaxis or _axis())},
            **layout,
        },
    }


def _floats(values: Any) -> list[float | None]:
    """Plain floats for JSON (None for missing values)."""
    out: list[float | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        number = float(value)
        out.append(None if math.isnan(number) else number)
    return out


def _iso(values: Any) -> list[str]:
    """Dates (or timestamps) as ISO strings."""
    return [v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values]


def empty_figure(message: str, title: str = "", height: int = 340) -> Figure:
    """A figure without axes that states ``message`` (the empty state of a chart)."""
    return _figure(
        [],
        title,
        height,
        xaxis={**_axis(), "visible": False},
        yaxis={**_axis(), "visible": False},
        annotations=[
            {
                "text": message,
                "showarrow": False,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "font": {"size": 14, "color": "#444444"},
            }
        ],
    )


def status_bars(counts: pd.DataFrame, title: str, lang: str, empty_message: str) -> Figure:
    """Horizontal stacked bars: buildings per group (rows of ``counts``) and status
    (columns), in the status order and colours."""
    if counts.empty:
        return empty_figure(empty_message, title)
    counts = counts.sort_index()  # a stable order of districts and types
    groups = [str(g) for g in counts.index]
    most = int(counts.sum(axis=1).max()) if not counts.empty else 0
    data = []
    for status in STATUS_ORDER:
        if status not in counts.columns:
            continue
        label = status_label(status, lang)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "y": groups,
                "x": [int(v) for v in counts[status].tolist()],
                "name": label,
                "marker": status_bar_marker(status),
                "hovertemplate": "%{y}: %{x}<extra>" + label + "</extra>",
            }
        )
    return _figure(
        data,
        title,
        max(340, 110 + 26 * len(groups)),
        # Whole buildings only: integer ticks, at least one building apart.
        xaxis=_axis(
            t("axis_buildings", lang), tickformat=",d", rangemode="tozero", **_count_ticks(most)
        ),
        yaxis=_axis(
            autorange="reversed",
            type="category",
            categoryorder="array",
            categoryarray=groups,
            automargin=True,
        ),
        barmode="stack",
    )


def _count_ticks(most: int) -> dict[str, Any]:
    """Tick spacing of a count axis: whole numbers only (``dtick`` ≥ 1)."""
    if most <= 10:
        return {"dtick": 1, "tick0": 0}
    step = 10 ** math.floor(math.log10(most / 5))
    for factor in (1, 2, 5, 10):
        if most / (step * factor) <= 8:
            return {"dtick": step * factor, "tick0": 0}
    return {"dtick": step * 10, "tick0": 0}


def histogram_bins(
    pct: np.ndarray, upper_pct: float, bin_pct: float = HISTOGRAM_BIN_PCT
) -> tuple[list[float], list[int]]:
    """Counts of ``pct`` values in bins of ``bin_pct`` from 0 (values clipped to
    ``upper_pct``; negatives into the first bin). Returns (bin centres [%], counts)."""
    edges = np.arange(0.0, upper_pct + bin_pct + 1e-9, bin_pct)
    if len(edges) < 2:
        edges = np.array([0.0, bin_pct])
    clipped = np.clip(pct, 0.0, upper_pct)
    counts, _ = np.histogram(clipped, bins=edges)
    centres = ((edges[:-1] + edges[1:]) / 2.0).tolist()
    return centres, [int(c) for c in counts]


def utilization_histogram(
    results: pd.DataFrame,
    lang: str,
    empty_message: str,
    tier_ratios: Sequence[float] = (1.0, 1.2),
) -> Figure:
    """Stacked histogram of quota utilization [%] coloured by status (bins of 5 %, counted
    here so only the bins travel to the browser), with the tier limits (default 100 % and
    120 %) as vertical dashed lines. Values above the upper end (at least 130 %, at most
    300 %) fall into the last bin."""
    title = t("chart_utilization", lang)
    if results.empty:
        return empty_figure(empty_message, title)
    pct_all = (
        pd.to_numeric(results["utilization"], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        * 100.0
    )
    known = ~np.isnan(pct_all)
    if not known.any():
        return empty_figure(empty_message, title)
    statuses = results["status"].to_numpy(dtype=object)
    upper = float(min(max(float(pct_all[known].max()), 130.0), 300.0))
    lowest = float(np.floor(max(float(pct_all[known].min()), 0.0) / HISTOGRAM_BIN_PCT))
    lower = max(0.0, (lowest - 1.0) * HISTOGRAM_BIN_PCT)
    most = 0
    data = []
    for status in STATUS_ORDER:
        chosen = known & (statuses == status)
        if not chosen.any():
            continue
        centres, counts = histogram_bins(pct_all[chosen], upper)
        most += max(counts) if counts else 0
        data.append(
            {
                "type": "bar",
                "x": centres,
                "y": counts,
                "width": HISTOGRAM_BIN_PCT,
                "name": status_label(status, lang),
                "marker": status_bar_marker(status),
                "hovertemplate": "%{x}% ± 2.5: %{y}<extra>"
                + status_label(status, lang)
                + "</extra>",
            }
        )
    shapes = [
        {
            "type": "line",
            "x0": ratio * 100.0,
            "x1": ratio * 100.0,
            "xref": "x",
            "y0": 0,
            "y1": 1,
            "yref": "y domain",
            "line": {"dash": "dash", "color": REFERENCE},
        }
        for ratio in tier_ratios
    ]
    annotations = [
        {
            "x": ratio * 100.0,
            "xref": "x",
            "y": 1.0,
            "yref": "y domain",
            "yanchor": "bottom",
            "text": f"{ratio * 100:.0f} %",
            "showarrow": False,
            "font": {"size": 11, "color": REFERENCE},
        }
        for ratio in tier_ratios
    ]
    return _figure(
        data,
        title,
        xaxis=_axis(
            t("axis_utilization_pct", lang),
            range=[lower, upper + HISTOGRAM_BIN_PCT],
            ticksuffix=" %",
        ),
        yaxis=_axis(t("axis_buildings", lang), tickformat=",d", **_count_ticks(most)),
        barmode="stack",
        bargap=0,
        shapes=shapes,
        annotations=annotations,
    )


def cumulative_figure(
    actual: pd.Series,
    trajectory: pd.Series | None,
    limit_value: float | None,
    projected: float | None,
    year: int,
    unit: str,
    lang: str,
    empty_message: str,
) -> Figure:
    """Cumulative use in ``year`` [unit] against the quota trajectory (expected share ×
    limit_value), the annual limit_value [unit], and a dashed line from the last day to the
    year-end projection (none for a closed year: pass ``projected`` None)."""
    title = t("chart_cumulative", lang, year=year)
    if actual.empty and trajectory is None:
        return empty_figure(empty_message, title)
    first, last = date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat()
    data: list[dict[str, Any]] = []
    if trajectory is not None and not trajectory.empty:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": _iso(trajectory.index),
                "y": _floats(trajectory.to_numpy()),
                "name": t("series_trajectory", lang),
                "line": {"color": REFERENCE, "dash": "dot"},
            }
        )
    if limit_value:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [first, last],
                "y": [float(limit_value), float(limit_value)],
                "name": t("series_quota", lang),
                "line": {"color": STATUS_COLOURS["over"], "width": 1.5},
            }
        )
    if not actual.empty:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": _iso(actual.index),
                "y": _floats(actual.to_numpy()),
                "name": t("series_actual", lang),
                "line": {"color": ACCENT, "width": 2.5},
            }
        )
        if projected is not None and pd.notna(projected):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": [_iso(actual.index[-1:])[0], last],
                    "y": [float(actual.iloc[-1]), float(projected)],
                    "name": t("series_projection", lang),
                    "line": {"color": ACCENT, "dash": "dash"},
                    "marker": {"size": [0, 9]},
                }
            )
    return _figure(
        data,
        title,
        380,
        xaxis=_axis(t("axis_date", lang), range=[first, last]),
        yaxis=_axis(t("axis_energy", lang, unit=unit), rangemode="tozero"),
    )


def monthly_figure(
    this_year: pd.Series,
    last_year: pd.Series,
    year: int,
    unit: str,
    lang: str,
    empty_message: str,
    partial_through: date | None = None,
) -> Figure:
    """Grouped bars of use per month [unit]: ``year`` (blue) and ``year − 1`` (grey), index
    1..12. With ``partial_through`` (the last day counted, not a month end) that month's
    bar is hatched and labelled as partial."""
    title = t("chart_monthly", lang)
    if this_year.empty and last_year.empty:
        return empty_figure(empty_message, title)
    months = list(range(1, 13))
    partial_month = partial_through.month if partial_through is not None else None
    this_values = _floats(this_year.get(m) for m in months)
    data = [
        {
            "type": "bar",
            "x": months,
            "y": _floats(last_year.get(m) for m in months),
            "name": str(year - 1),
            "marker": {"color": LAST_YEAR},
        },
        {
            "type": "bar",
            "x": months,
            "y": [
                None if m == partial_month else v for m, v in zip(months, this_values, strict=True)
            ],
            "name": str(year),
            "marker": {"color": ACCENT},
            "offsetgroup": "this_year",
        },
    ]
    data[0]["offsetgroup"] = "last_year"
    annotations: list[dict[str, Any]] = []
    if partial_month is not None and partial_through is not None:
        label = t("series_partial_month", lang, day=partial_through.isoformat())
        data.append(
            {
                "type": "bar",
                "x": [partial_month],
                "y": [this_values[partial_month - 1]],
                "name": label,
                "offsetgroup": "this_year",  # in the slot of this year's bars
                "marker": {
                    "color": "#FFFFFF",
                    "line": {"color": ACCENT, "width": 2},
                    "pattern": {"shape": "/", "fgcolor": ACCENT, "solidity": 0.35},
                },
            }
        )
    return _figure(
        data,
        title,
        xaxis=_axis(t("axis_month", lang), tickmode="array", tickvals=months),
        yaxis=_axis(t("axis_energy", lang, unit=unit)),
        barmode="group",
        annotations=annotations,
    )


def heatmap_figure(matrix: pd.DataFrame, month_label: str, lang: str, empty_message: str) -> Figure:
    """Hour of day (y, local time) × day (x) heat map of electricity use [kWh]."""
    title = t("chart_heatmap", lang, month=month_label)
    if matrix.empty or matrix.columns.empty or matrix.isna().all().all():
        return empty_figure(empty_message, title)
    values = matrix.to_numpy(dtype=float)
    data = [
        {
            "type": "heatmap",
            "z": [_floats(row) for row in values],
            "x": [str(c) for c in matrix.columns],
            "y": [int(h) for h in matrix.index],
            "colorscale": "Viridis",
            "colorbar": {"title": {"text": t("colorbar_kwh", lang)}},
            "hovertemplate": "%{x} %{y}:00 — %{z:.1f} kWh<extra></extra>",
        }
    ]
    return _figure(
        data,
        title,
        400,
        xaxis=_axis(t("axis_day", lang), type="category", tickangle=-45, nticks=16),
        yaxis=_axis(t("axis_hour", lang), dtick=3),
    )


def history_figure(
    history: pd.DataFrame, lang: str, empty_message: str, year: int | None = None
) -> Figure:
    """Utilization [%] of every evaluation of a building over its as-of dates, markers in
    status colours; with ``year`` the axis spans that year."""
    title = t("chart_history", lang)
    if history.empty:
        return empty_figure(empty_message, title)
    as_of = _iso(history["as_of"])
    pct = _floats(pd.to_numeric(history["utilization"], errors="coerce").to_numpy() * 100.0)
    statuses = history["status"].tolist()
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": as_of,
            "y": pct,
            "line": {"color": "#BBBBBB"},
            "showlegend": False,
            "hoverinfo": "skip",
        }
    ]
    for status in STATUS_ORDER:
        picked = [i for i, s in enumerate(statuses) if s == status]
        if not picked:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [as_of[i] for i in picked],
                "y": [pct[i] for i in picked],
                "name": status_label(status, lang),
                "marker": {
                    "color": STATUS_COLOURS[status],
                    "symbol": STATUS_SYMBOLS[status],
                    "size": 10,
                    "line": {"color": "#333333", "width": 0.5},
                },
            }
        )
    return _figure(
        data,
        title,
        xaxis=_axis(
            t("axis_as_of", lang),
            **(
                # A week beyond each end: a marker of 1 January or 31 December is drawn
                # whole, not cut in half by the plot's edge.
                {
                    "range": [
                        (date(year, 1, 1) - timedelta(days=7)).isoformat(),
                        (date(year, 12, 31) + timedelta(days=7)).isoformat(),
                    ]
                }
                if year is not None
                else {}
            ),
        ),
        yaxis=_axis(t("axis_utilization_pct", lang), rangemode="tozero"),
        shapes=[
            {
                "type": "line",
                "y0": 100.0,
                "y1": 100.0,
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "xref": "x domain",
                "line": {"dash": "dash", "color": REFERENCE},
            }
        ],
    )


def peers_figure(stats: Mapping[str, Any], lang: str, empty_message: str) -> Figure:
    """The building's EUI [kWh/m²] on the peer distribution (P10–P90 and P25–P75 bands and
    the median of its type)."""
    title = t("chart_peers", lang)
    needed = ("p10", "p25", "p50", "p75", "p90", "eui_kwh_per_m2")
    if not stats or any(stats.get(k) is None for k in needed):
        return empty_figure(empty_message, title, 220)
    p10, p25, p50, p75, p90, eui = (float(stats[k]) for k in needed)
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": [""],
            "x": [p90 - p10],
            "base": [p10],
            "marker": {"color": "#DDDDDD"},
            "name": t("peer_range", lang),
            "width": 0.5,
        },
        {
            "type": "bar",
            "orientation": "h",
            "y": [""],
            "x": [p75 - p25],
            "base": [p25],
            "marker": {"color": "#AAAAAA"},
            "name": t("peer_iqr", lang),
            "width": 0.5,
        },
        {
            "type": "scatter",
            "mode": "markers",
            "y": [""],
            "x": [p50],
            "name": t("peer_median", lang),
            "marker": {"symbol": "line-ns", "size": 30, "line": {"width": 3, "color": REFERENCE}},
        },
        {
            "type": "scatter",
            "mode": "markers",
            "y": [""],
            "x": [eui],
            "name": t("this_building", lang),
            "marker": {"symbol": "diamond", "size": 16, "color": ACCENT},
        },
    ]
    return _figure(
        data,
        title,
        240,
        xaxis=_axis(t("axis_eui", lang), rangemode="tozero"),
        yaxis=_axis(showgrid=False),
        barmode="overlay",
    )


def bar_counts(
    labels: Sequence[str], counts: Sequence[int], title: str, x_title: str, empty_message: str
) -> Figure:
    """Simple horizontal bars of counts (quarantined rows by reason)."""
    if not labels:
        return empty_figure(empty_message, title, 240)
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": [str(v) for v in labels],
            "x": [int(c) for c in counts],
            "marker": {"color": ACCENT},
        }
    ]
    return _figure(
        data,
        title,
        max(240, 60 + 26 * len(labels)),
        xaxis=_axis(
            x_title, tickformat=",d", rangemode="tozero", **_count_ticks(max(counts, default=0))
        ),
        yaxis=_axis(autorange="reversed"),
    )
