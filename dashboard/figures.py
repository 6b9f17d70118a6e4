"""Pure figure builders: DataFrame/Series in, plotly Figure out. No database, no Dash.

Every axis carries its unit; every status uses the colour of :mod:`dashboard.palette`;
an empty input gives a figure that says why it is empty instead of blank axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.palette import ACCENT, LAST_YEAR, REFERENCE, STATUS_COLOURS, STATUS_ORDER
from dashboard.texts import status_label, t

FONT = "system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"


def _base_layout(fig: go.Figure, title: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        font={"family": FONT, "size": 12},
        plot_bgcolor="#FFFFFF",
        paper_bgcolor="#FFFFFF",
        legend={"orientation": "h", "y": -0.2, "x": 0},
    )
    fig.update_xaxes(showgrid=True, gridcolor="#EEEEEE", zeroline=False)
    fig.update_yaxes(showgrid=True, gridcolor="#EEEEEE", zeroline=False)
    return fig


def empty_figure(message: str, title: str = "", height: int = 340) -> go.Figure:
    """A figure without axes that states ``message`` (the empty state of a chart)."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
        font={"size": 14, "color": "#444444"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base_layout(fig, title, height)


def status_bars(counts: pd.DataFrame, title: str, lang: str, empty_message: str) -> go.Figure:
    """Horizontal stacked bars: buildings per group (rows of ``counts``) and status
    (columns), in the status order and colours."""
    if counts.empty:
        return empty_figure(empty_message, title)
    fig = go.Figure()
    groups = [str(g) for g in counts.index]
    for status in STATUS_ORDER:
        if status not in counts.columns:
            continue
        fig.add_bar(
            y=groups,
            x=counts[status].tolist(),
            name=status_label(status, lang),
            orientation="h",
            marker_color=STATUS_COLOURS[status],
            marker_line={"color": "#FFFFFF", "width": 0.5},
            hovertemplate="%{y}: %{x}<extra>" + status_label(status, lang) + "</extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text=t("axis_buildings", lang))
    fig.update_yaxes(autorange="reversed")
    height = max(300, 60 + 26 * len(groups))
    return _base_layout(fig, title, height)


def utilization_histogram(
    results: pd.DataFrame,
    lang: str,
    empty_message: str,
    tier_ratios: Sequence[float] = (1.0, 1.2),
) -> go.Figure:
    """Stacked histogram of quota utilization [%] coloured by status, with the tier limits
    (default 100 % and 120 %) as vertical lines."""
    title = t("chart_utilization", lang)
    data = results.dropna(subset=["utilization"]) if not results.empty else results
    if data.empty:
        return empty_figure(empty_message, title)
    fig = go.Figure()
    pct = data["utilization"].astype(float) * 100.0
    upper = float(min(max(pct.max(), 130.0), 300.0))
    bins = {"start": 0.0, "end": upper + 5.0, "size": 5.0}
    for status in STATUS_ORDER:
        values = pct[data["status"] == status].clip(upper=upper)
        if values.empty:
            continue
        fig.add_histogram(
            x=values.tolist(), name=status_label(status, lang), xbins=bins,
            marker_color=STATUS_COLOURS[status],
            marker_line={"color": "#FFFFFF", "width": 0.5},
        )
    for ratio in tier_ratios:
        fig.add_vline(x=ratio * 100.0, line_dash="dash", line_color=REFERENCE)
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text=t("axis_utilization_pct", lang))
    fig.update_yaxes(title_text=t("axis_buildings", lang))
    return _base_layout(fig, title)


def cumulative_figure(
    actual: pd.Series,
    trajectory: pd.Series | None,
    quota: float | None,
    projected: float | None,
    year: int,
    unit: str,
    lang: str,
    empty_message: str,
) -> go.Figure:
    """Cumulative use this year [unit] against the quota trajectory (expected share × quota),
    the annual quota, and a dashed line from the last day to the year-end projection."""
    title = t("chart_cumulative", lang)
    if actual.empty and trajectory is None:
        return empty_figure(empty_message, title)
    fig = go.Figure()
    if trajectory is not None and not trajectory.empty:
        fig.add_scatter(
            x=list(trajectory.index), y=trajectory.tolist(), mode="lines",
            name=t("series_trajectory", lang), line={"color": REFERENCE, "dash": "dot"},
        )
    if quota:
        fig.add_scatter(
            x=[date(year, 1, 1), date(year, 12, 31)], y=[quota, quota], mode="lines",
            name=t("series_quota", lang), line={"color": STATUS_COLOURS["over"], "width": 1.5},
        )
    if not actual.empty:
        fig.add_scatter(
            x=list(actual.index), y=actual.tolist(), mode="lines",
            name=t("series_actual", lang), line={"color": ACCENT, "width": 2.5},
        )
        if projected is not None and pd.notna(projected):
            fig.add_scatter(
                x=[actual.index[-1], date(year, 12, 31)], y=[actual.iloc[-1], projected],
                mode="lines+markers", name=t("series_projection", lang),
                line={"color": ACCENT, "dash": "dash"}, marker={"size": [0, 9]},
            )
    fig.update_xaxes(title_text=t("axis_date", lang), range=[date(year, 1, 1), date(year, 12, 31)])
    fig.update_yaxes(title_text=t("axis_energy", lang, unit=unit), rangemode="tozero")
    return _base_layout(fig, title, 380)


def monthly_figure(
    this_year: pd.Series, last_year: pd.Series, year: int, unit: str, lang: str,
    empty_message: str,
) -> go.Figure:
    """Grouped bars of use per month [unit]: ``year`` and ``year − 1`` (index 1..12)."""
    title = t("chart_monthly", lang)
    if this_year.empty and last_year.empty:
        return empty_figure(empty_message, title)
    months = list(range(1, 13))
    fig = go.Figure()
    fig.add_bar(x=months, y=[last_year.get(m) for m in months], name=str(year - 1),
                marker_color=LAST_YEAR)
    fig.add_bar(x=months, y=[this_year.get(m) for m in months], name=str(year),
                marker_color=ACCENT)
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text=t("axis_month", lang), tickmode="array", tickvals=months)
    fig.update_yaxes(title_text=t("axis_energy", lang, unit=unit))
    return _base_layout(fig, title)


def heatmap_figure(matrix: pd.DataFrame, month_label: str, lang: str,
                   empty_message: str) -> go.Figure:
    """Hour of day (y, local time) × day (x) heat map of electricity use [kWh]."""
    title = t("chart_heatmap", lang, month=month_label)
    if matrix.empty or matrix.columns.empty or matrix.isna().all().all():
        return empty_figure(empty_message, title)
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy().tolist(),
            x=[str(c) for c in matrix.columns],
            y=list(matrix.index),
            colorscale="Viridis",
            colorbar={"title": {"text": t("colorbar_kwh", lang)}},
            hovertemplate="%{x} %{y}:00 — %{z:.1f} kWh<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=t("axis_day", lang), type="category")
    fig.update_yaxes(title_text=t("axis_hour", lang), dtick=3)
    return _base_layout(fig, title, 380)


def history_figure(history: pd.DataFrame, lang: str, empty_message: str) -> go.Figure:
    """Utilization [%] of every evaluation of a building over its as-of dates, markers in
    status colours."""
    title = t("chart_history", lang)
    if history.empty:
        return empty_figure(empty_message, title)
    fig = go.Figure()
    pct = pd.to_numeric(history["utilization"], errors="coerce") * 100.0
    fig.add_scatter(
        x=list(history["as_of"]), y=pct.tolist(), mode="lines",
        line={"color": "#BBBBBB"}, showlegend=False, hoverinfo="skip",
    )
    for status in STATUS_ORDER:
        rows = history["status"] == status
        if not rows.any():
            continue
        fig.add_scatter(
            x=list(history.loc[rows, "as_of"]), y=pct[rows].tolist(), mode="markers",
            name=status_label(status, lang),
            marker={"color": STATUS_COLOURS[status], "size": 10,
                    "line": {"color": "#333333", "width": 0.5}},
        )
    fig.add_hline(y=100.0, line_dash="dash", line_color=REFERENCE)
    fig.update_xaxes(title_text=t("axis_as_of", lang))
    fig.update_yaxes(title_text=t("axis_utilization_pct", lang), rangemode="tozero")
    return _base_layout(fig, title)


def peers_figure(stats: Mapping[str, Any], lang: str, empty_message: str) -> go.Figure:
    """The building's EUI [kWh/m²] on the peer distribution (P10–P90 and P25–P75 bands and
    the median of its type)."""
    title = t("chart_peers", lang)
    needed = ("p10", "p25", "p50", "p75", "p90", "eui_kwh_per_m2")
    if not stats or any(stats.get(k) is None for k in needed):
        return empty_figure(empty_message, title, 220)
    fig = go.Figure()
    fig.add_bar(y=[""], x=[stats["p90"] - stats["p10"]], base=[stats["p10"]], orientation="h",
                marker_color="#DDDDDD", name=t("peer_range", lang), width=0.5)
    fig.add_bar(y=[""], x=[stats["p75"] - stats["p25"]], base=[stats["p25"]], orientation="h",
                marker_color="#AAAAAA", name=t("peer_iqr", lang), width=0.5)
    fig.add_scatter(y=[""], x=[stats["p50"]], mode="markers", name=t("peer_median", lang),
                    marker={"symbol": "line-ns", "size": 30, "line": {"width": 3,
                                                                     "color": REFERENCE}})
    fig.add_scatter(y=[""], x=[stats["eui_kwh_per_m2"]], mode="markers",
                    name=t("this_building", lang),
                    marker={"symbol": "diamond", "size": 16, "color": ACCENT})
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text=t("axis_eui", lang), rangemode="tozero")
    fig.update_yaxes(showgrid=False)
    return _base_layout(fig, title, 240)


def bar_counts(labels: Sequence[str], counts: Sequence[int], title: str, x_title: str,
               empty_message: str) -> go.Figure:
    """Simple horizontal bars of counts (quarantined rows by reason)."""
    if not labels:
        return empty_figure(empty_message, title, 240)
    fig = go.Figure(go.Bar(y=list(labels), x=list(counts), orientation="h",
                           marker_color=ACCENT))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(autorange="reversed")
    return _base_layout(fig, title, max(240, 60 + 26 * len(labels)))
