"""The audit log: who changed what, when and why.

Most entries are written by database triggers (sql/0071_audit_log.sql): quota versions,
registry rows (buildings, meters) and reading corrections, with the actor and reason that
:func:`act_as` set for the transaction. Determinations and user changes are written here
with :func:`record`. The log is append-only in the database (UPDATE, DELETE and TRUNCATE of
``audit_entry`` raise).

Functions take a connection and never commit; the caller owns the transaction.
"""

from __future__ import annotations

import getpass
import json
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from quota.record import decision_queries as q

ENTRY_FIELDS = ("entry_id", "at", "actor", "action", "building_id", "reason", "before", "after")


def operator_name() -> str:
    """The actor of a command run without ``--by``: the operating-system user, as
    ``cli:NAME`` (someone with access to the database's configuration)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def act_as(conn: psycopg.Connection[Any], actor: str, reason: str | None = None) -> None:
    """Name the actor (and reason) of the changes of the current transaction; the audit
    triggers and the defaults of ``quota_version.actor`` read them."""
    conn.execute(q.SET_ACTOR, {"actor": actor})
    conn.execute(q.SET_REASON, {"reason": reason or ""})


def record(
    conn: psycopg.Connection[Any],
    action: str,
    *,
    actor: str,
    building_id: str | None = None,
    reason: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry (``action`` as ``area.verb``, e.g. ``determination.made``)."""
    conn.execute(
        q.INSERT_ENTRY,
        {
            "actor": actor,
            "action": action,
            "building_id": building_id,
            "reason": reason,
            "before": None if before is None else json.dumps(before, default=str),
            "after": None if after is None else json.dumps(after, default=str),
        },
    )


def since_start(day: date, tz: ZoneInfo) -> datetime:
    """The start of local day ``day`` (the ``--since`` of the audit listing)."""
    return datetime.combine(day, time.min, tzinfo=tz)


def entries(
    conn: psycopg.Connection[Any],
    *,
    building_id: str | None = None,
    since: datetime | None = None,
    action_prefix: str | None = None,
    actor: str | None = None,
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """Entries oldest first, filtered; ``at`` as ISO 8601 text."""
    rows = conn.execute(
        q.ENTRIES,
        {
            "building_id": building_id,
            "since": since,
            "action_prefix": action_prefix,
            "actor": actor,
            "limit": limit,
        },
    ).fetchall()
    return [
        {
            k: (
                row[k].isoformat()
                if k == "at"
                else with_limit_value(row[k])
                if k in ("before", "after") and str(row["action"]).startswith("quota.")
                else row[k]
            )
            for k in ENTRY_FIELDS
        }
        for row in rows
    ]


def with_limit_value(payload: Any) -> Any:
    """A quota-version entry's before/after with the limit under its one name,
    ``limit_value`` [basis unit]: entries written before migration 0120 call it ``limit``."""
    if not isinstance(payload, dict) or "limit" not in payload or "limit_value" in payload:
        return payload
    return {("limit_value" if k == "limit" else k): v for k, v in payload.items()}


def current_actor(conn: psycopg.Connection[Any]) -> str:
    """The actor set for this transaction with :func:`act_as`, else the operator."""
    row = conn.execute(q.CURRENT_ACTOR).fetchone()
    value = next(iter(row.values())) if isinstance(row, dict) else row[0]
    return value or operator_name()


def user_snapshot(conn: psycopg.Connection[Any], username: str) -> dict[str, Any] | None:
    """A dashboard user's role, buildings and a digest of the password hash (None when the
    user does not exist); compared by :func:`record_user_change`."""
    row = conn.execute(q.USER_SNAPSHOT, {"username": username}).fetchone()
    return None if row is None else dict(row)


def record_user_change(
    conn: psycopg.Connection[Any], username: str, before: dict[str, Any] | None
) -> None:
    """Append ``user.added``, ``user.changed`` or ``user.removed`` when the user differs from
    ``before`` (a :func:`user_snapshot`); the password itself is never logged, only that it
    changed."""
    after = user_snapshot(conn, username)
    if before == after:
        return
    action = "user.added" if before is None else "user.removed" if after is None else "user.changed"

    def shown(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
        if snapshot is None:
            return None
        return {k: v for k, v in snapshot.items() if k != "password_digest"}

    shown_after = shown(after)
    if before is not None and after is not None:
        shown_after["password_changed"] = before["password_digest"] != after["password_digest"]
    record(
        conn,
        action,
        actor=current_actor(conn),
        reason=None,
        before=shown(before),
        after=shown_after,
    )


def describe_change(before: Any, after: Any) -> str:
    """A short text of what changed (``key: old → new`` for the keys that differ)."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    if not old and not new:
        return ""
    if not old:
        return "added " + ", ".join(f"{k}={v}" for k, v in new.items() if v is not None)
    if not new:
        return "removed"
    keys = [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]
    return "; ".join(f"{k}: {old.get(k)} → {new.get(k)}" for k in keys)
