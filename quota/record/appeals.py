"""Appeals: a building's manager contests a year's quota or determination; a regulator
accepts or rejects it with a reason.

- :func:`submit`: only a manager assigned to the building (``user_building``) may appeal, with
  a reason and optionally a requested quota [basis unit]; one open appeal per building, year
  and basis. The year's determination in force (if any) is recorded with the appeal.
- :func:`decide`: only a regulator (or the operator). Accepting records an ``adjusted`` quota
  version (``quota.record.quota_versions.adjust``) whose reason names the appeal; its limit is the
  regulator's, else the requested one. With ``supersede`` (and the year over) the year is
  determined again in the same transaction, superseding the determination in force, with
  the reason ``appeal N accepted: ...`` (``quota.record.determinations.determine``). Rejecting
  needs a reason.
- Every step is appended to the audit log (``appeal.submitted``, ``appeal.accepted``,
  ``appeal.rejected``; the adjustment itself also as ``quota.adjusted``).

Functions take a connection and never commit; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from quota.record import appeal_queries as q
from quota.record import audit, determinations, quota_versions, roles
from quota.settings import Settings

STATUSES = ("open", "accepted", "rejected")
DECISIONS = ("accept", "reject")
MAX_REASON_CHARS = 2000


class AppealError(ValueError):
    """An appeal or decision that cannot be made (no reason, decided already, ...)."""


def appeal_record(row: dict[str, Any]) -> dict[str, Any]:
    """One appeal as plain data (instants as ISO 8601 text)."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _reason(text: str | None, what: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise AppealError(f"{what} needs a reason")
    if len(reason) > MAX_REASON_CHARS:
        raise AppealError(f"a reason has at most {MAX_REASON_CHARS} characters")
    return reason


def submit(
    conn: psycopg.Connection[Any],
    building_id: str,
    year: int,
    basis: str,
    reason: str | None,
    requested_limit_value: float | None,
    *,
    actor: str,
    role: str | None,
) -> dict[str, Any]:
    """Store an open appeal by manager ``actor`` for their building; returns it.

    Raises :class:`roles.NotAllowedError` unless ``actor`` is a manager of ``building_id``,
    :class:`AppealError` without a reason, for a bad year, basis or requested limit, or when
    an appeal of the building, year and basis is already open.
    """
    roles.require(role, roles.APPEAL, actor)
    if conn.execute(q.MANAGES, {"username": actor, "building_id": building_id}).fetchone() is None:
        raise roles.NotAllowedError(f"{actor} does not manage building {building_id!r}")
    reason = _reason(reason, "an appeal")
    if not quota_versions.FIRST_YEAR <= year <= quota_versions.LAST_YEAR:
        raise AppealError(f"year {year}: a quota year lies in 1990..2200")
    if basis not in quota_versions.BASES:
        raise AppealError(f"basis must be one of {', '.join(quota_versions.BASES)}")
    if requested_limit_value is not None and not requested_limit_value > 0:
        raise AppealError("a requested quota must be a positive number")
    params = {"building_id": building_id, "year": year, "basis": basis}
    if conn.execute(q.OPEN_APPEAL_EXISTS, params).fetchone() is not None:
        raise AppealError(f"an appeal of {building_id} {year} {basis} is already open")
    det = conn.execute(q.DETERMINATION_IN_FORCE, {"year": year}).fetchone()
    row = conn.execute(
        q.INSERT_APPEAL,
        {
            **params,
            "reason": reason,
            "requested_limit_value": None
            if requested_limit_value is None
            else float(requested_limit_value),
            "submitted_by": actor,
            "determination_id": None if det is None else det["determination_id"],
        },
    ).fetchone()
    appeal = appeal_record(row)
    audit.record(
        conn,
        "appeal.submitted",
        actor=actor,
        building_id=building_id,
        reason=reason,
        after=_summary(appeal),
    )
    return appeal


def decide(
    conn: psycopg.Connection[Any],
    appeal_id: int,
    decision: str,
    reason: str | None,
    *,
    actor: str,
    role: str | None,
    limit_value: float | None = None,
    supersede: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Accept or reject open appeal ``appeal_id`` as regulator ``actor``; returns it.

    Accepting adds an adjusted quota version (``limit_value``, else the requested limit)
    whose reason is ``appeal N: <the appeal's reason> (<decision reason>)``; with
    ``supersede`` a new determination of the year (``settings`` needed) supersedes the one in
    force. Raises :class:`roles.NotAllowedError`, :class:`AppealError`, and
    :class:`quota.record.determinations.DeterminationError` when the year cannot be determined.
    """
    roles.require(role, roles.DECIDE_APPEAL, actor)
    if decision not in DECISIONS:
        raise AppealError(f"decision must be one of {', '.join(DECISIONS)}")
    reason = _reason(reason, "accepting" if decision == "accept" else "rejecting")
    row = conn.execute(q.APPEAL_FOR_UPDATE, {"appeal_id": appeal_id}).fetchone()
    if row is None:
        raise AppealError(f"no appeal {appeal_id}")
    if row["status"] != "open":
        raise AppealError(f"appeal {appeal_id} was already {row['status']}")
    version_id = None
    determination_after = None
    if decision == "accept":
        limit = limit_value if limit_value is not None else row["requested_limit_value"]
        if limit is None:
            raise AppealError(
                f"appeal {appeal_id} requests no quota: accepting needs the new limit"
            )
        version = quota_versions.adjust(
            conn,
            row["building_id"],
            row["year"],
            row["basis"],
            float(limit),
            f"appeal {appeal_id}: {row['reason']} ({reason})",
            actor=actor,
            role=role,
        )
        version_id = version["version_id"]
        if supersede:
            if settings is None:
                raise AppealError("a superseding determination needs the settings")
            outcome = determinations.determine(
                conn,
                settings,
                row["year"],
                actor=actor,
                role=role,
                supersede=True,
                reason=f"appeal {appeal_id} accepted: {reason}",
            )
            determination_after = outcome.determination_id
    elif supersede:
        raise AppealError("only an accepted appeal leads to a superseding determination")
    decided = conn.execute(
        q.DECIDE,
        {
            "appeal_id": appeal_id,
            "status": "accepted" if decision == "accept" else "rejected",
            "decided_by": actor,
            "decision_reason": reason,
            "quota_version_id": version_id,
            "determination_after_id": determination_after,
        },
    ).fetchone()
    appeal = appeal_record(decided)
    audit.record(
        conn,
        f"appeal.{appeal['status']}",
        actor=actor,
        building_id=appeal["building_id"],
        reason=reason,
        before=_summary(appeal_record(row)),
        after=_summary(appeal),
    )
    return appeal


def _summary(appeal: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "appeal_id",
        "year",
        "basis",
        "requested_limit_value",
        "status",
        "quota_version_id",
        "determination_after_id",
    )
    return {k: appeal[k] for k in keys}


def listing(
    conn: psycopg.Connection[Any],
    *,
    building_ids: list[str] | None = None,
    building_id: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Appeals newest first; ``building_ids`` limits them to those buildings (a manager's),
    None shows every building's."""
    rows = conn.execute(
        q.APPEALS,
        {"building_ids": building_ids, "building_id": building_id, "status": status},
    ).fetchall()
    return [appeal_record(r) for r in rows]
