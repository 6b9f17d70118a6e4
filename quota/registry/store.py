"""Applying parsed registry files to the database: checks that need the database, then an
upsert of every record — all or nothing, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from quota.record import quota_versions
from quota.registry.parse import ParsedFile, RowError, parse_registry, stored_columns
from quota.registry.textfiles import decode, read_bytes

COLUMNS: dict[str, tuple[str, ...]] = {
    # effective_from: optional, read when the file has the column (see quota.registry.parse)
    "buildings": (*stored_columns("buildings"), "effective_from"),
    "meters": stored_columns("meters"),
    "quotas": stored_columns("quotas"),
    "accounts": stored_columns("accounts"),
}
TABLES = {
    "buildings": "building",
    "meters": "meter",
    "accounts": "utility_account",
}
CONFLICT_KEYS = {
    "buildings": ("building_id",),
    "meters": ("meter_id",),
    "accounts": ("account_id", "building_id"),
}
# An accounts file describes each account it names whole: stored rows of those accounts for
# buildings the file does not list are removed (their shares would no longer add up to 1).
DELETE_ACCOUNT_ROWS_NOT_IN_FILE = """
DELETE FROM utility_account a
 WHERE a.account_id = ANY(%(accounts)s)
   AND NOT EXISTS (SELECT 1 FROM unnest(%(accounts_of_rows)s::text[], %(buildings)s::text[])
                          AS f (account_id, building_id)
                    WHERE f.account_id = a.account_id AND f.building_id = a.building_id)
RETURNING a.account_id, a.building_id, a.energy_type
"""
# Accounts already stored with another energy type or unit: their bills were converted with
# it, so it cannot change (register a new account).
ACCOUNTS_STORED_WITH_BILLS = """
SELECT DISTINCT a.account_id, a.energy_type, a.unit
  FROM utility_account a
 WHERE a.account_id = ANY(%s)
   AND EXISTS (SELECT 1 FROM bill b WHERE b.account_id = a.account_id)
"""
# Meter attributes that give stored readings their meaning: not changed once readings exist.
METER_FROZEN_WITH_READINGS = ("energy_type", "unit", "reading_kind", "multiplier")


@dataclass
class ImportResult:
    """Summary of one registry file import (``--json`` prints ``to_dict()``)."""

    file: str
    kind: str
    encoding: str = ""
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Accounts files: (building_id, energy_type) whose accounts changed (their daily figures
    # from bills are recomputed by the caller).
    changed_groups: set[tuple[str, str]] = field(default_factory=set)

    @property
    def applied(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "encoding": self.encoding,
            "applied": self.applied,
            "rows_read": self.rows_read,
            "rows_inserted": self.rows_inserted,
            "rows_updated": self.rows_updated,
            "rows_invalid": len({e.line for e in self.errors}),
            "errors": [
                {"line": e.line, "reason": e.reason, "message": e.message, "raw": e.raw}
                for e in self.errors
            ],
        }


def _existing(conn: psycopg.Connection[Any], query: str, values: list[Any]) -> set[Any]:
    rows = conn.execute(query, (values,)).fetchall()
    return {next(iter(r.values())) if isinstance(r, dict) else r[0] for r in rows}


def database_checks(conn: psycopg.Connection[Any], parsed: ParsedFile) -> list[RowError]:
    """Errors only the database can tell: unknown buildings, meters whose readings would be
    reinterpreted. Line numbers are matched back through the record order."""
    errors: list[RowError] = []
    if parsed.kind in ("meters", "quotas", "accounts") and parsed.records:
        ids = sorted({r["building_id"] for r in parsed.records})
        known = _existing(conn, "SELECT building_id FROM building WHERE building_id = ANY(%s)", ids)
        for record in parsed.records:
            if record["building_id"] not in known:
                errors.append(
                    RowError(
                        record["_line"],
                        "unknown_building",
                        f"building {record['building_id']!r} is not in the registry "
                        "(import it with `quotawatch import buildings` first)",
                    )
                )
    if parsed.kind == "meters" and parsed.records:
        ids = [r["meter_id"] for r in parsed.records]
        rows = conn.execute(
            """
            SELECT m.meter_id, m.energy_type, m.unit, m.reading_kind, m.multiplier
              FROM meter m
             WHERE m.meter_id = ANY(%s)
               AND EXISTS (SELECT 1 FROM reading r WHERE r.meter_key = m.meter_key)
            """,
            (ids,),
        ).fetchall()
        stored = {r["meter_id"]: r for r in rows}
        for record in parsed.records:
            old = stored.get(record["meter_id"])
            if old is None:
                continue
            changed = [k for k in METER_FROZEN_WITH_READINGS if old[k] != record[k]]
            if changed:
                errors.append(
                    RowError(
                        record["_line"],
                        "meter_has_readings",
                        f"meter {record['meter_id']!r} already has readings; changing "
                        f"{', '.join(changed)} would reinterpret them (register a new meter)",
                    )
                )
    if parsed.kind == "accounts" and parsed.records:
        ids = sorted({r["account_id"] for r in parsed.records})
        stored = {
            r["account_id"]: (r["energy_type"], r["unit"])
            for r in conn.execute(ACCOUNTS_STORED_WITH_BILLS, (ids,)).fetchall()
        }
        for record in parsed.records:
            old = stored.get(record["account_id"])
            if old is not None and old != (record["energy_type"], record["unit"]):
                errors.append(
                    RowError(
                        record["_line"],
                        "account_has_bills",
                        f"account {record['account_id']!r} already has bills in {old[0]} "
                        f"{old[1]}; changing its energy type or unit would reinterpret them "
                        "(register a new account)",
                    )
                )
    return errors


def import_quotas(
    conn: psycopg.Connection[Any], records: list[dict[str, Any]], file_name: str, sha256: str
) -> tuple[int, int]:
    """Add an ``imported`` quota version for each record whose limit differs from the latest
    imported one (a re-import that changes nothing adds nothing); returns (new keys, changed
    limits)."""
    if not records:
        return 0, 0
    columns = list(COLUMNS["quotas"])
    col_list = ", ".join(columns)
    conn.execute(
        "CREATE TEMP TABLE stage_quota (building_id text, year integer, basis text, "
        "limit_value double precision) ON COMMIT DROP"
    )
    with conn.cursor().copy(f"COPY stage_quota ({col_list}) FROM STDIN") as copy:
        for record in records:
            copy.write_row([record[c] for c in columns])
    counts = quota_versions.import_staged(conn, file_name, sha256)
    conn.execute("DROP TABLE stage_quota")
    return counts["inserted"], counts["updated"]


def replace_accounts(
    conn: psycopg.Connection[Any], records: list[dict[str, Any]]
) -> set[tuple[str, str]]:
    """Remove stored rows of the accounts in ``records`` for buildings they no longer list;
    returns the (building_id, energy_type) groups affected (removed and listed)."""
    removed = conn.execute(
        DELETE_ACCOUNT_ROWS_NOT_IN_FILE,
        {
            "accounts": sorted({r["account_id"] for r in records}),
            "accounts_of_rows": [r["account_id"] for r in records],
            "buildings": [r["building_id"] for r in records],
        },
    ).fetchall()
    groups = {(r["building_id"], r["energy_type"]) for r in removed}
    groups.update((r["building_id"], r["energy_type"]) for r in records)
    return groups


def upsert(
    conn: psycopg.Connection[Any], kind: str, records: list[dict[str, Any]]
) -> tuple[int, int]:
    """Insert or update ``records`` (buildings or meters); returns (inserted, updated)."""
    if not records:
        return 0, 0
    columns = list(COLUMNS[kind])
    table = TABLES[kind]
    keys = CONFLICT_KEYS[kind]
    stage = f"stage_{table}"
    col_list = ", ".join(columns)
    conn.execute(
        f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {col_list} FROM {table} WITH NO DATA"
    )
    with conn.cursor().copy(f"COPY {stage} ({col_list}) FROM STDIN") as copy:
        for record in records:
            copy.write_row([record[c] for c in columns])
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
    rows = conn.execute(
        f"""
        INSERT INTO {table} ({col_list})
        SELECT {col_list} FROM {stage}
        ON CONFLICT ({", ".join(keys)}) DO UPDATE SET {updates}, updated_at = now()
        RETURNING (xmax = 0) AS inserted
        """
    ).fetchall()
    conn.execute(f"DROP TABLE {stage}")
    inserted = sum(1 for r in rows if r["inserted"])
    return inserted, len(rows) - inserted


def import_file(conn: psycopg.Connection[Any], kind: str, path: Path) -> ImportResult:
    """Parse, check and apply one registry file inside the caller's transaction.

    Nothing is written when any row is invalid. Raises ``FileFormatError`` when the file
    cannot be used at all (undecodable, no header, missing required columns).
    """
    data = read_bytes(path)
    text, encoding = decode(data, path.name)
    parsed = parse_registry(kind, text)
    result = ImportResult(file=str(path), kind=kind, encoding=encoding, rows_read=parsed.rows_read)
    result.errors = list(parsed.errors)
    if not result.errors:
        result.errors = database_checks(conn, parsed)
    if result.errors:
        result.errors.sort(key=lambda e: e.line)
        return result
    clean = [{k: v for k, v in r.items() if k != "_line"} for r in parsed.records]
    if kind == "quotas":
        result.rows_inserted, result.rows_updated = import_quotas(
            conn, clean, path.name, quota_versions.file_sha256(data)
        )
    else:
        if kind == "accounts":
            result.changed_groups = replace_accounts(conn, clean)
        result.rows_inserted, result.rows_updated = upsert(conn, kind, clean)
    return result
