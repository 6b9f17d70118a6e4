"""Utility accounts and bills on the dashboard.

- Building page: the building's accounts, their bills (period, value, estimated or actual,
  status, file) and, per month, the billed figure beside the meters' sum on the same days
  with their difference (a check on the meters), and the provisional days (meter figures
  counted until a bill covers them). Shown only for a building with accounts.
- Data-quality page: accounts without a bill for more than ``[rules.bills]
  stale_account_days`` days, and quarantined bills by reason.

The frame builders (``*_frame``) are pure; :func:`register_building` adds the building
page's callback and :func:`quality_panels` the data-quality panels.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, html

from dashboard import bills_queries, ids, tables
from dashboard import components as ui
from dashboard.services import Services, current_viewer
from dashboard.texts import normalise_lang, t

ACCOUNT_FIELDS = (
    ("account_id", "col_account_id", "text"),
    ("account_name", "col_account_name", "text"),
    ("utility", "col_utility", "text"),
    ("energy_type", "col_energy_type", "text"),
    ("unit", "col_unit", "text"),
    ("share_pct", "col_share", "text"),
)
BILL_FIELDS = (
    ("account_id", "col_account_id", "text"),
    ("period_start", "col_period_start", "text"),
    ("period_end", "col_period_end", "text"),
    ("value", "col_value", "number"),
    ("unit", "col_unit", "text"),
    ("kind", "col_bill_kind", "text"),
    ("status", "col_bill_status", "text"),
    ("file_name", "col_file_name", "text"),
    ("replaced_by_file", "col_replaced_by_file", "text"),
)
COMPARISON_FIELDS = (
    ("month", "col_month", "text"),
    ("energy_type", "col_energy_type", "text"),
    ("billed_kwh", "col_billed_kwh", "number"),
    ("metered_kwh", "col_metered_kwh", "number"),
    ("difference_kwh", "col_difference_kwh", "number"),
    ("difference_pct", "col_difference_pct", "text"),
    ("provisional_days", "col_provisional_days", "number"),
)
STALE_ACCOUNT_FIELDS = (
    ("account_id", "col_account_id", "text"),
    ("building_id", "col_building_id", "text"),
    ("name", "col_name", "text"),
    ("energy_type", "col_energy_type", "text"),
    ("last_end", "col_last_bill_end", "text"),
)
REASON_FIELDS = (
    ("reason_code", "col_reason", "word:reason"),
    ("row_count", "col_rows", "number"),
)
DEFAULT_STALE_ACCOUNT_DAYS = 45


# -- pure frame builders ----------------------------------------------------------------------
def _pct(value: float) -> str:
    """A percentage with one decimal ("–" when missing)."""
    return "–" if value != value else f"{value:.1f} %"


def accounts_frame(accounts: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = accounts.copy()
    out["share_pct"] = [_pct(float(s) * 100) for s in out["share"]]
    out["energy_type"] = [t(f"energy_{e}", lang) for e in out["energy_type"]]
    return out


def bills_frame(bills: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Bills with their estimated/actual and status labels and ISO dates."""
    out = bills.copy()
    out["kind"] = [t("bill_estimated" if e else "bill_actual", lang) for e in out["estimated"]]
    out["status"] = [t(f"bill_status_{s}", lang) for s in out["status"]]
    for column in ("period_start", "period_end"):
        out[column] = [d.isoformat() for d in out[column]]
    return out


def comparison_frame(rows: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Months where bills and meters both exist (difference = meters − bills [kWh] and in %
    of the bills), and months with provisional days."""
    if rows.empty:
        return rows.assign(difference_kwh=[], difference_pct=[])
    out = rows.copy()
    billed = pd.to_numeric(out["billed_kwh"], errors="coerce").astype("float64")
    metered = pd.to_numeric(out["metered_kwh"], errors="coerce").astype("float64")
    out["difference_kwh"] = metered - billed
    with np.errstate(divide="ignore", invalid="ignore"):
        out["difference_pct"] = np.where(billed > 0, (metered - billed) / billed * 100, np.nan)
    out["difference_pct"] = [_pct(v) for v in out["difference_pct"]]
    keep = metered.notna() | (out["provisional_days"].astype(int) > 0)
    out = out[keep].reset_index(drop=True)
    out["month"] = [m.strftime("%Y-%m") for m in out["month"]]
    out["energy_type"] = [t(f"energy_{e}", lang) for e in out["energy_type"]]
    return out


def _grid(grid_id: str, frame: pd.DataFrame, fields: Any, lang: str, height: str) -> Any:
    grid = ui.grid(grid_id, height, lang=lang)
    grid.columnDefs, grid.rowData = tables.simple_grid(frame, fields, lang)
    return grid


# -- building page ---------------------------------------------------------------------------
def building_section(services: Services, building_id: str, year: int, lang: str) -> list[Any]:
    """The accounts-and-bills panel of a building for ``year`` (nothing without accounts)."""
    viewer = current_viewer()
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    with services.connection() as conn:
        accounts = bills_queries.building_accounts(conn, viewer, building_id)
        if accounts.empty:
            return []
        bills = bills_queries.building_bills(conn, viewer, building_id, start, end)
        comparison = bills_queries.bills_vs_meters(conn, viewer, building_id, start, end)
    children: list[Any] = [
        html.H2(t("accounts_bills", lang)),
        _grid(
            ids.BUILDING_ACCOUNTS_GRID,
            accounts_frame(accounts, lang),
            ACCOUNT_FIELDS,
            lang,
            "160px",
        ),
        html.H3(t("bills_list", lang)),
        _grid(ids.BUILDING_BILLS_GRID, bills_frame(bills, lang), BILL_FIELDS, lang, "300px"),
    ]
    side_by_side = comparison_frame(comparison, lang)
    if not side_by_side.empty:
        provisional = int(side_by_side["provisional_days"].astype(int).sum())
        children += [
            html.H3(t("bills_vs_meters", lang)),
            html.P(t("bills_vs_meters_note", lang), className="qw-note"),
            _grid(
                ids.BUILDING_BILLS_VS_METERS_GRID, side_by_side, COMPARISON_FIELDS, lang, "260px"
            ),
        ]
        if provisional:
            children.append(
                html.P(t("provisional_note", lang, days=provisional), className="qw-note")
            )
    return children


def register_building(app: dash.Dash, services: Services) -> None:
    """The building page's accounts-and-bills callback (the page holds ``ids.BUILDING_BILLS``)."""

    @app.callback(
        Output(ids.BUILDING_BILLS, "children"),
        Input(ids.BUILDING_ID_STORE, "data"),
        Input(ids.BUILDING_YEAR, "value"),
        State(ids.LANG_STORE, "data"),  # a language switch re-renders the page
    )
    def update_bills(building_id, year, lang):  # type: ignore[no-untyped-def]
        return building_section(services, building_id, int(year), normalise_lang(lang))


# -- data-quality page ---------------------------------------------------------------------
def stale_account_days(services: Services) -> int:
    bills = services.settings.rules.get("bills", {})
    return int(bills.get("stale_account_days", DEFAULT_STALE_ACCOUNT_DAYS))


def quality_panels(services: Services, lang: str) -> list[Any]:
    """The data-quality page's accounts panels: stale accounts, quarantined bills."""
    viewer = current_viewer()
    days = stale_account_days(services)
    today = datetime.now(services.settings.tz).date()
    with services.connection() as conn:
        stale = bills_queries.stale_accounts(conn, viewer, today, days)
        reasons = bills_queries.bill_quarantine_by_reason(conn, viewer)
    stale["last_end"] = [
        t("never", lang) if d is None or d != d else d.isoformat() for d in stale["last_end"]
    ]
    stale["energy_type"] = [t(f"energy_{e}", lang) for e in stale["energy_type"]]
    stale_body = (
        _grid(ids.DQ_STALE_ACCOUNTS_GRID, stale, STALE_ACCOUNT_FIELDS, lang, "300px")
        if not stale.empty
        else ui.empty_state(t("empty_no_stale_accounts", lang))
    )
    reason_body = (
        _grid(ids.DQ_BILL_QUARANTINE_GRID, reasons, REASON_FIELDS, lang, "220px")
        if not reasons.empty
        else ui.empty_state(t("empty_no_bill_quarantine", lang))
    )
    return [
        html.Div(
            [html.H2(t("dq_stale_accounts", lang, days=days)), stale_body],
            className="qw-panel",
            id=ids.DQ_BILLS,
        ),
        html.Div([html.H2(t("dq_bill_quarantine", lang)), reason_body], className="qw-panel"),
    ]
