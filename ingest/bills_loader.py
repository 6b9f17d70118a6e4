"""Loading a bills file inside the transaction :func:`ingest.loader.load_file` opened for it.

The file is already claimed in ``ingest_file`` (exactly once per file by checksum, with the
same bookkeeping as readings); here its rows are parsed and validated
(:mod:`ingest.bills_parse`, :mod:`ingest.bills_validate`, pure), checked against the stored
bills of their accounts, and then in the same transaction

1. new bills are COPYed into ``bill``; estimates an actual bill replaces are marked
   ``superseded`` and bills a corrections file replaces ``corrected``, each with the
   replacing bill and file (corrections also in the audit table ``bill_correction``);
2. rejected rows go to ``quarantine`` with their line, raw text and reason code;
3. the building-days of the accounts' buildings are rewritten over the bills' periods
   (:mod:`ingest.bills_rollups`).

Accounting: rows_read = rows_loaded + rows_duplicate + rows_quarantined.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from ingest import bills_queries as q
from ingest import codes, copybin, queries
from ingest.bills_parse import BillRows, read_bills_file
from ingest.bills_rollups import recompute
from ingest.bills_validate import Account, StoredBill, resolve, validate_bills
from ingest.plausibility import plausibility
from quota.rules import Factors
from quota.settings import Settings

if TYPE_CHECKING:
    from ingest.loader import FileResult

DEFAULT_MAX_BILL_DAYS = 100


def max_bill_days(settings: Settings) -> int:
    """``[bills] max_bill_days`` of the rules (default 100)."""
    return int(settings.rules.get("bills", {}).get("max_bill_days", DEFAULT_MAX_BILL_DAYS))


def load_accounts(conn: psycopg.Connection[Any]) -> dict[str, Account]:
    return {
        r["account_id"]: Account(r["account_id"], r["energy_type"], r["unit"])
        for r in conn.execute(q.ACCOUNTS).fetchall()
    }


def load_bills(
    conn: psycopg.Connection[Any],
    settings: Settings,
    path: Path,
    result: FileResult,
    corrections: bool,
) -> None:
    """Load the bills file ``path`` (claimed as ``result.file_id``) and fill ``result``.
    Raises ``FileFormatError`` when the file cannot be used at all."""
    file_id = int(result.file_id or 0)
    conn.execute(q.MARK_FILE_BILLS, (file_id,))
    rows = read_bills_file(path)
    result.rows_read = len(rows)
    gas = Factors.from_rules(settings.rules).natural_gas_kwh_per_m3
    limits = plausibility(settings.rules, settings.tz)
    good, rejects = validate_bills(
        rows,
        load_accounts(conn),
        gas,
        max_bill_days(settings),
        earliest=limits.earliest_date,
        max_power_kw=limits.max_power_kw,
    )
    stored = _stored_bills(conn, good)
    decision = resolve(good, stored, corrections)
    all_rejects = list(rejects.itertuples(index=False, name=None)) + decision.rejects
    _write_quarantine(conn, file_id, rows, all_rejects)
    result.rows_quarantined = len(all_rejects)
    result.quarantine_by_reason.update(r[1] for r in all_rejects)
    result.rows_duplicate = len(decision.duplicates)
    result.rows_corrected = len({row for _old, row in decision.corrected})
    loaded = good.set_index("row").loc[decision.loaded] if decision.loaded else good.iloc[:0]
    result.rows_loaded = len(loaded)
    if not len(loaded):
        return
    _copy_bills(conn, file_id, loaded)
    replaced = decision.superseded + decision.corrected
    lo = int(loaded["period_start"].min())
    hi = int(loaded["period_end"].max())
    if replaced:
        ids = {
            r["line_number"]: r["bill_id"]
            for r in conn.execute(q.BILL_IDS_OF_FILE, (file_id,)).fetchall()
        }
        line_of_row = dict(zip(good["row"].tolist(), good["line_number"].tolist(), strict=True))

        def bill_id(ref: int) -> int:
            return ref if ref > 0 else ids[line_of_row[-ref - 1]]

        old = [bill_id(o) for o, _ in replaced]
        new = [ids[line_of_row[n]] for _, n in replaced]
        status = ["superseded"] * len(decision.superseded) + ["corrected"] * len(decision.corrected)
        for r in conn.execute(q.BILLS_BY_ID, (old,)).fetchall():
            lo = min(lo, r["period_start"].toordinal())
            hi = max(hi, r["period_end"].toordinal())
        params = {"file_id": file_id, "old": old, "new": new, "status": status}
        if decision.corrected:
            n = len(decision.superseded)
            conn.execute(
                q.INSERT_BILL_CORRECTIONS, {"file_id": file_id, "old": old[n:], "new": new[n:]}
            )
        conn.execute(q.REPLACE_BILLS, params)
    groups = {
        (r["building_id"], r["energy_type"])
        for r in conn.execute(
            q.GROUPS_OF_ACCOUNTS, (sorted(set(loaded["account_id"].tolist())),)
        ).fetchall()
    }
    result.affected = recompute(
        conn, settings.tz, groups, date.fromordinal(lo), date.fromordinal(hi)
    )


def _stored_bills(conn: psycopg.Connection[Any], good: Any) -> list[StoredBill]:
    if good.empty:
        return []
    rows = conn.execute(
        q.STORED_BILLS,
        {
            "accounts": sorted(set(good["account_id"].tolist())),
            "lo": date.fromordinal(int(good["period_start"].min())),
            "hi": date.fromordinal(int(good["period_end"].max())),
        },
    ).fetchall()
    return [
        StoredBill(
            bill_id=r["bill_id"],
            account_id=r["account_id"],
            period_start=r["period_start"].toordinal(),
            period_end=r["period_end"].toordinal(),
            value=r["value"],
            estimated=r["estimated"],
            active=r["status"] == "active",
        )
        for r in rows
    ]


def _copy_bills(conn: psycopg.Connection[Any], file_id: int, loaded: Any) -> None:
    n = len(loaded)
    data = copybin.payload(
        [
            copybin.Column("text", loaded["account_id"].to_numpy(dtype=object)),
            copybin.Column("date", loaded["period_start"].to_numpy(dtype=np.int64)),
            copybin.Column("date", loaded["period_end"].to_numpy(dtype=np.int64)),
            copybin.Column("float8", loaded["value"].to_numpy(dtype=np.float64)),
            copybin.Column("text", loaded["unit"].to_numpy(dtype=object)),
            copybin.Column("float8", loaded["energy_kwh"].to_numpy(dtype=np.float64)),
            copybin.Column("bool", loaded["estimated"].to_numpy(dtype=bool)),
            copybin.Column("int8", np.full(n, file_id, dtype=np.int64)),
            copybin.Column("int4", loaded["line_number"].to_numpy(dtype=np.int64)),
        ]
    )
    with conn.cursor().copy(q.COPY_BILLS) as copy:
        copy.write(data)


def _write_quarantine(
    conn: psycopg.Connection[Any],
    file_id: int,
    rows: BillRows,
    rejects: list[tuple[int, str, str, dict[str, Any]]],
) -> None:
    if not rejects:
        return
    with conn.cursor().copy(queries.COPY_QUARANTINE) as copy:
        for row, code, message, details in sorted(rejects, key=lambda r: r[0]):
            info = {
                "code": codes.dotted_bill(code),
                "account_id": str(rows.account_id[row]) or None,
                **(details or {}),
            }
            copy.write_row(
                (
                    file_id,
                    int(rows.line_number[row]),
                    rows.raw[row].replace("\x00", ""),
                    code,
                    message,
                    None,
                    json.dumps(info, ensure_ascii=False),
                )
            )
