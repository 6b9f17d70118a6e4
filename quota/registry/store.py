"""Applying parsed registry files to the database: checks that need the database, then an
upsert of every record — all or nothing, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from quota import quota_versions
from quota.registry.parse import ParsedFile, RowError, parse_registry, stored_columns
from quota.registry.textfiles import decode, read_bytes

COLUMNS: dict[str, tuple[str, ...]] = {
    # effective_from: optional, read when the file has the column (see quota.registry.parse)
    "buildings": (*stored_columns("buildings"), "effective_from"),
    "meters": stored_columns("meters"),
    # the file's `limit` column is stored as limit_value (limit is an SQL keyword)
    "quotas": ("building_id", "year", "basis", "limit_value"),
}
TABLES = {"buildings": "building", "meters": "meter"}
CONFLICT_KEYS = {"buildings": ("building_id",), "meters": ("meter_id",)}
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
    if parsed.kind in ("meters", "quotas") and parsed.records:
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
        result.rows_inserted, result.rows_updated = upsert(conn, kind, clean)
    return result
