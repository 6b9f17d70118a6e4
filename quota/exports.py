"""Compliance and retrofit exports: CSV (UTF-8 with BOM, so Excel shows Chinese names) and
XLSX (openpyxl, units in the headers, frozen header row).

Both read the latest stored evaluation of the year (or compute one without storing it when
there is none). The retrofit export's base-load trigger reads raw interval readings for the
listed candidates only, over ``[retrofit] base_load_window_days`` up to the as-of date.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg

from quota import calendar, queries, retrofit
from quota.evaluation import run_evaluation
from quota.retrofit_screening import ranked_candidates
from quota.rules import unverified_labels
from quota.settings import Settings

COMPLIANCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("building_id", "building_id"),
    ("name", "name 名称"),
    ("district", "district 区"),
    ("building_type", "building_type"),
    ("floor_area_m2", "floor area (m²)"),
    ("basis", "basis"),
    ("status", "status"),
    ("quota", "quota (basis unit: kWh or kgce)"),
    ("use_to_date", "use to date (basis unit)"),
    ("utilization", "utilization (use ÷ quota)"),
    ("expected_share", "expected share (0-1)"),
    ("projected", "projected year end (basis unit)"),
    ("excess", "excess over quota (basis unit)"),
    ("completeness", "completeness (0-1)"),
    ("energy_kwh", "electricity to date (kWh)"),
    ("energy_kgce", "all energy to date (kgce)"),
    ("eui_kwh_per_m2", "EUI annualised (kWh/m²·a)"),
    ("co2_kg", "CO₂ to date (kg)"),
    ("profile_source", "profile source"),
    ("previous_utilization", "last year utilization (use ÷ quota)"),
)

RETROFIT_HEADERS: dict[str, str] = {
    "rank": "rank",
    "building_id": "building_id",
    "name": "name 名称",
    "district": "district 区",
    "building_type": "building_type",
    "floor_area_m2": "floor area (m²)",
    "eui_kwh_per_m2": "electricity EUI (kWh/m²·a)",
    "corrected_eui_kwh_per_m2": "corrected EUI, GB/T 51161 (kWh/m²·a)",
    "target_eui_kwh_per_m2": "target EUI (kWh/m²·a)",
    "target_source": "target source",
    "constraint_kwh_per_m2": "constraint value (kWh/m²·a)",
    "savings_kwh_per_year": "savings potential (kWh/a)",
    "savings_kgce_per_year": "savings potential (kgce/a)",
    "savings_tco2_per_year": "savings potential (t CO₂/a)",
    "savings_cny_per_year": "savings potential (CNY/a)",
    "savings_source": "savings potential from (target_eui | excess | none)",
    "base_load_ratio": "night+weekend ÷ occupied power (-)",
    "over_20": "trigger: over 120 % this year",
    "over_20_repeat": "trigger: over 120 % two years running",
    "worst_of_type": "trigger: worst 5 % of type",
    "above_constraint": "trigger: EUI above constraint value",
    "high_base_load": "trigger: high night/weekend base load",
    "status": "status",
}


@dataclass
class Table:
    """An export: ordered (key, header) columns and rows of plain values."""

    title: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    evaluation_id: int | None = None
    notes: list[str] = field(default_factory=list)


def _latest_results(
    conn: psycopg.Connection[Any], settings: Settings, year: int
) -> tuple[pd.DataFrame, int | None, date]:
    """(results with detail columns, evaluation_id or None, as_of) of ``year``."""
    evaluation_id = queries.latest_evaluation_id(conn, year)
    if evaluation_id is None:
        outcome = run_evaluation(conn, settings, year, save=False)
        registry = queries.buildings(conn).set_index("building_id")
        res = outcome.results.copy()
        for col in ("name", "district"):
            res[col] = res["building_id"].map(registry[col])
        return res, None, outcome.as_of
    run = queries.evaluation_run(conn, evaluation_id) or {}
    res = queries.evaluation_results(conn, evaluation_id)
    details = pd.DataFrame(list(res.pop("details").map(lambda d: d or {})), index=res.index)
    for col in (
        "profile_source",
        "quota_source",
        "previous_utilization",
        "electricity_eui_kwh_per_m2",
    ):
        res[col] = details.get(col, None)
    return res, evaluation_id, run.get("as_of") or calendar.year_end(year)


def compliance_table(conn: psycopg.Connection[Any], settings: Settings, year: int) -> Table:
    """Every building and basis of the latest evaluation of ``year``."""
    res, evaluation_id, as_of = _latest_results(conn, settings, year)
    res = res.copy()
    res["use_to_date"] = res["energy_kwh"].where(
        res["basis"] == "electricity_kwh", res["energy_kgce"]
    )
    rows = _records(res, [k for k, _ in COMPLIANCE_COLUMNS])
    return Table(
        title=f"compliance {year} as of {as_of}",
        columns=list(COMPLIANCE_COLUMNS),
        rows=rows,
        evaluation_id=evaluation_id,
    )


def retrofit_table(conn: psycopg.Connection[Any], settings: Settings, year: int) -> Table:
    """Retrofit candidates of ``year``, ranked by savings potential."""
    res, evaluation_id, as_of = _latest_results(conn, settings, year)
    registry = queries.buildings(conn)
    ranked = ranked_candidates(conn, settings, registry, res, as_of)
    names = registry.set_index("building_id")
    ranked.insert(2, "name", ranked["building_id"].map(names["name"]))
    ranked.insert(3, "district", ranked["building_id"].map(names["district"]))
    columns = [(k, RETROFIT_HEADERS[k]) for k in ranked.columns]
    return Table(
        title=f"retrofit candidates {year} as of {as_of}",
        columns=columns,
        rows=_records(ranked, list(ranked.columns)),
        evaluation_id=evaluation_id,
        notes=unverified_labels(settings.rules, retrofit.RetrofitRules.RULE_GROUPS),
    )


def _records(frame: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    data = frame.reindex(columns=keys).astype(object)
    data = data.where(pd.notna(data), None)
    return data.to_dict(orient="records")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def write_table(table: Table, path: Path, fmt: str) -> None:
    """Write ``table`` as ``csv`` (UTF-8 with BOM) or ``xlsx``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        write_csv(table, path)
    elif fmt == "xlsx":
        write_xlsx(table, path)
    else:
        raise ValueError(f"unknown export format {fmt!r} (csv or xlsx)")


def write_csv(table: Table, path: Path) -> None:
    """CSV, UTF-8 with a byte-order mark, header row with units."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([header for _, header in table.columns])
        for row in table.rows:
            writer.writerow(
                ["" if row.get(k) is None else _plain(row.get(k)) for k, _ in table.columns]
            )


def write_xlsx(table: Table, path: Path) -> None:
    """An XLSX workbook: one data sheet (bold, frozen header with units) and a notes sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data"
    sheet.append([header for _, header in table.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([_plain(row.get(k)) for k, _ in table.columns])
    sheet.freeze_panes = "A2"
    for i, (_, header) in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(max(len(header) + 2, 10), 40)
    notes = workbook.create_sheet("notes")
    notes.append([table.title])
    notes.append(
        [
            f"evaluation_id: {table.evaluation_id}"
            if table.evaluation_id
            else "computed for this export (no stored evaluation)"
        ]
    )
    for note in table.notes:
        notes.append([note])
    workbook.save(path)
