"""Quota versions: every change to a building's quota for a year and basis is a new version.

Sources: ``imported`` (a quotas file; with the file's name and SHA-256), ``proposed``
(QuotaWatch's proposal) and ``adjusted`` (a regulator's change, with a required reason). The
version in force is the latest published (imported or adjusted) version, or the latest
proposal when none was published; ``sql/0070_quota_versions.sql`` defines it once, as the
view ``quota_effective``. Limits are in the basis's unit (kWh or kgce).

Functions take a connection and never commit; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

from quota.record import audit, roles
from quota.record import decision_queries as q

BASES = ("electricity_kwh", "energy_kgce")
# Quota years the schema accepts (quota_version.year CHECK).
FIRST_YEAR, LAST_YEAR = 1990, 2200


class VersionError(ValueError):
    """An adjustment that cannot be made (unknown building, no reason, bad limit)."""


def version_record(row: dict[str, Any]) -> dict[str, Any]:
    """One version as printed by ``quota history --json``."""
    record = {
        "version_id": row["version_id"],
        "building_id": row["building_id"],
        "year": row["year"],
        "basis": row["basis"],
        "limit_value": row["limit_value"],
        "source": row["source"],
        "reason": row["reason"],
        "by": row["actor"],
        "at": row["created_at"].isoformat(),
    }
    if row["source"] == "imported":
        record["file"] = row["file_name"]
        record["checksum"] = row["file_sha256"]
    if row.get("method"):
        record["method"] = row["method"]
    if "in_force" in row:
        record["in_force"] = bool(row["in_force"])
    return record


def history(
    conn: psycopg.Connection[Any], building_id: str, year: int, basis: str | None = None
) -> list[dict[str, Any]]:
    """Versions oldest first (in order of writing), each with ``in_force``."""
    rows = conn.execute(
        q.VERSIONS, {"building_id": building_id, "year": year, "basis": basis}
    ).fetchall()
    return [version_record(r) for r in rows]


def in_force(
    conn: psycopg.Connection[Any], building_id: str, year: int, basis: str
) -> dict[str, Any] | None:
    """The version in force, or None."""
    row = conn.execute(
        q.VERSION_IN_FORCE, {"building_id": building_id, "year": year, "basis": basis}
    ).fetchone()
    return None if row is None else version_record(row)


def adjust(
    conn: psycopg.Connection[Any],
    building_id: str,
    year: int,
    basis: str,
    limit_value: float,
    reason: str,
    *,
    actor: str,
    role: str | None,
) -> dict[str, Any]:
    """Add an ``adjusted`` version (the new version in force); only a regulator may.

    ``limit_value`` in the basis's unit. Raises :class:`roles.NotAllowedError` for another
    role, :class:`VersionError` without a reason, for an unknown building or basis or a
    limit that is not positive. The audit trigger records the change.
    """
    roles.require(role, roles.ADJUST, actor)
    reason = (reason or "").strip()
    if not reason:
        raise VersionError("an adjustment needs a reason (--reason TEXT)")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise VersionError(f"year {year}: a quota year lies in {FIRST_YEAR}..{LAST_YEAR}")
    if basis not in BASES:
        raise VersionError(f"basis must be one of {', '.join(BASES)}")
    if not limit_value > 0:
        raise VersionError("the limit must be a positive number")
    if conn.execute(q.BUILDING_EXISTS, {"building_id": building_id}).fetchone() is None:
        raise VersionError(f"building {building_id!r} is not in the registry")
    audit.act_as(conn, actor, reason)
    row = conn.execute(
        q.INSERT_VERSION,
        {
            "building_id": building_id,
            "year": year,
            "basis": basis,
            "limit_value": float(limit_value),
            "source": "adjusted",
            "method": None,
            "explanation": None,
            "reason": reason,
            "file_name": None,
            "file_sha256": None,
        },
    ).fetchone()
    return version_record(row)


def file_sha256(data: bytes) -> str:
    """Hex SHA-256 of a file's bytes (stored with the versions it imported)."""
    return hashlib.sha256(data).hexdigest()


def import_staged(conn: psycopg.Connection[Any], file_name: str, sha256: str) -> dict[str, int]:
    """Add ``imported`` versions from the temporary table ``stage_quota`` (building_id, year,
    basis, limit_value): only where the limit differs from the latest imported version.
    Returns counts ``inserted`` (new keys), ``updated`` (changed limits), ``unchanged``."""
    row = conn.execute(
        q.IMPORT_VERSIONS, {"file_name": file_name, "file_sha256": sha256}
    ).fetchone()
    return {k: int(row[k]) for k in ("inserted", "updated", "unchanged")}
