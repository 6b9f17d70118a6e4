"""`quotawatch quota propose`: load annual totals from the rollups, propose (pure), store the
proposals as ``source='proposed'`` quotas and write the import-format CSV with explanations.

Imported (published) quotas always win: ``quota_effective`` prefers them, and buildings that
already have an imported quota for the year and basis are left out of the CSV (so importing
the file never replaces a published quota).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg

from quota import calendar, conversion, queries, tiers
from quota.proposals import PROPOSAL_COLUMNS, ProposalRules, propose
from quota.rules import EvaluationRules, unverified_labels
from quota.settings import Settings

IMPORT_COLUMNS = ("building_id", "year", "basis", "limit_value")
EXPLANATION_COLUMNS = tuple(c for c in PROPOSAL_COLUMNS if c not in IMPORT_COLUMNS)


def annual_values(
    totals: pd.DataFrame, basis: str, rules: EvaluationRules, min_year_completeness: float
) -> pd.DataFrame:
    """Per building and year: value in the basis unit and whether the year is complete.

    ``totals``: building_id, energy_type, year, energy_kwh, day_count. A year is complete
    when every carrier counted has data on ≥ ``min_year_completeness`` of its days
    (electricity only for ``electricity_kwh``).
    """
    if totals.empty:
        return pd.DataFrame(columns=["building_id", "year", "value", "is_complete"])
    t = totals.copy()
    if basis == "electricity_kwh":
        t = t[t["energy_type"] == "electricity"]
        t["value"] = t["energy_kwh"].astype("float64")
    else:
        t["value"] = conversion.kgce_from_kwh(
            t["energy_kwh"].astype("float64"), t["energy_type"], rules.factors
        )
    days = t["year"].map(calendar.days_in_year)
    t["complete"] = t["day_count"] / days >= min_year_completeness
    out = t.groupby(["building_id", "year"]).agg(
        value=("value", "sum"), is_complete=("complete", "all")
    )
    return out.reset_index()


def propose_quotas(
    conn: psycopg.Connection[Any],
    settings: Settings,
    year: int,
    output: Path,
    *,
    method: str | None = None,
    basis: str = "both",
    save: bool = True,
) -> dict[str, Any]:
    """Propose quotas for ``year``, write ``output`` (CSV, UTF-8 with BOM) and, with ``save``,
    store them as proposed quotas. Returns a summary."""
    rules = ProposalRules.from_rules(settings.rules, method)
    eval_rules = EvaluationRules.from_rules(settings.rules)
    registry = queries.buildings(conn)
    scope = tiers.in_scope(
        registry["floor_area_m2"],
        registry["public_use_share"],
        min_floor_area_m2=eval_rules.min_floor_area_m2,
        min_public_use_share=eval_rules.min_public_use_share,
    )
    buildings = registry.loc[scope, ["building_id", "building_type", "floor_area_m2"]]
    totals = queries.annual_totals(conn, year - rules.history_years, year - 1)
    imported = queries.imported_quotas(conn, year)
    imported_keys = set(
        zip(imported.get("building_id", []), imported.get("basis", []), strict=True)
    )
    bases = ["electricity_kwh", "energy_kgce"] if basis == "both" else [basis]
    frames = []
    for b in bases:
        annual = annual_values(totals, b, eval_rules, rules.min_year_completeness)
        frames.append(propose(year, b, buildings, annual, rules))
    proposals = pd.concat(frames, ignore_index=True)
    has_limit = proposals["limit_value"].notna()
    is_imported = pd.Series(
        [
            (bid, bs) in imported_keys
            for bid, bs in zip(proposals["building_id"], proposals["basis"], strict=True)
        ],
        index=proposals.index,
        dtype=bool,
    )
    to_write = proposals[has_limit & ~is_imported].sort_values(["building_id", "basis"])
    write_csv(to_write, output)
    stored = 0
    if save:
        stored = queries.upsert_proposed(
            conn,
            [
                {
                    "building_id": r["building_id"],
                    "year": year,
                    "basis": r["basis"],
                    "limit_value": float(r["limit_value"]),
                    "method": r["method"],
                    "explanation": json.dumps(_explanation(r), ensure_ascii=False),
                }
                for r in proposals[has_limit].to_dict("records")
            ],
        )
    return {
        "year": year,
        "method": rules.method,
        "bases": bases,
        "path": str(output),
        "rows_written": len(to_write),
        "stored": stored,
        "skipped_imported": int((has_limit & is_imported).sum()),
        "no_basis": int((~has_limit).sum()),
        "out_of_scope": int((~scope).sum()),
        "unverified_parameters": unverified_labels(settings.rules, ProposalRules.RULE_GROUPS),
    }


def _explanation(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in EXPLANATION_COLUMNS:
        value = row[key]
        out[key] = None if isinstance(value, float) and value != value else value
    return out


def write_csv(proposals: pd.DataFrame, path: Path) -> None:
    """The quotas import format (building_id,year,basis,limit_value) plus explanation columns,
    UTF-8 with BOM so spreadsheet programs show Chinese text correctly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*IMPORT_COLUMNS, *EXPLANATION_COLUMNS])
        for row in proposals.to_dict("records"):
            writer.writerow([_cell(row[c]) for c in (*IMPORT_COLUMNS, *EXPLANATION_COLUMNS)])


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1 else f"{round(value, 1):.1f}"
    return str(value)
