"""How QuotaWatch is doing, for operators: read from the database (and the inbox folder),
never any building's data.

:func:`snapshot` reads everything ``/healthz`` and ``/metrics`` report into an
:class:`OpsSnapshot`; :func:`assess` is the pure rule that turns it into healthy or not:

- unhealthy when the database is unreachable;
- unhealthy when the last successful inbox run is older than three inbox intervals (or there
  was none yet). The interval is the running scheduler's (from its heartbeat), else the
  setting ``inbox_interval_minutes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from quota import db as qdb
from quota.ops import queries as ops_queries
from quota.settings import Settings

STALE_INTERVALS = 3  # the last successful inbox run may be at most this many intervals old
CONNECT_TIMEOUT_S = 3
INBOX_JOB_ID = "inbox"


@dataclass
class OpsSnapshot:
    """What the operations endpoints report. Ages are in seconds, times are aware datetimes."""

    database_reachable: bool
    database_error: str | None = None
    migration_level: int | None = None
    inbox_interval_minutes: float = 5.0
    last_inbox_run: dict[str, Any] | None = None
    inbox_success_age_s: float | None = None
    lock_held: bool | None = None
    heartbeat: dict[str, Any] | None = None
    inbox_backlog_files: int | None = None
    latest_evaluation_at: datetime | None = None
    job_success_ages_s: dict[str, float] = field(default_factory=dict)
    evaluation_durations_s: list[float] = field(default_factory=list)
    rows_by_outcome: dict[str, int] = field(default_factory=dict)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Assessment:
    healthy: bool
    problems: list[str]


def assess(snap: OpsSnapshot) -> Assessment:
    """Healthy or not, with the reasons (pure)."""
    problems: list[str] = []
    if not snap.database_reachable:
        problems.append(f"database unreachable: {snap.database_error or 'no answer'}")
        return Assessment(False, problems)
    limit_s = STALE_INTERVALS * snap.inbox_interval_minutes * 60
    if snap.inbox_success_age_s is None:
        problems.append("no successful inbox run yet")
    elif snap.inbox_success_age_s > limit_s:
        problems.append(
            f"last successful inbox run {snap.inbox_success_age_s:.0f} s ago, more than "
            f"{STALE_INTERVALS} intervals ({limit_s:.0f} s)"
        )
    return Assessment(not problems, problems)


def heartbeat_is_stale(heartbeat: dict[str, Any] | None, heartbeat_seconds: float) -> bool:
    """True when no scheduler beat within three inbox intervals or three heartbeat periods,
    whichever is longer (pure; ``heartbeat`` is a row of ``scheduler_heartbeat``)."""
    if heartbeat is None or heartbeat.get("age_s") is None:
        return True
    limit_s = STALE_INTERVALS * max(
        float(heartbeat.get("inbox_interval_minutes") or 0) * 60, heartbeat_seconds
    )
    return float(heartbeat["age_s"]) > limit_s


def inbox_backlog(inbox: Path) -> int | None:
    """Reading files waiting directly in the inbox (None when this process cannot see it)."""
    try:
        return sum(
            1
            for p in inbox.iterdir()
            if p.is_file() and p.name.lower().endswith(ops_queries.INBOX_SUFFIXES)
        )
    except OSError:
        return None


def _read(conn: psycopg.Connection[Any], snap: OpsSnapshot) -> None:
    snap.migration_level = int(conn.execute(ops_queries.MIGRATION_LEVEL).fetchone()["level"])
    beat = conn.execute(ops_queries.LAST_HEARTBEAT).fetchone()
    snap.heartbeat = dict(beat) if beat else None
    if beat and beat["inbox_interval_minutes"]:
        snap.inbox_interval_minutes = float(beat["inbox_interval_minutes"])
    key = ops_queries.lock_key_halves(ops_queries.SCHEDULER_LOCK_KEY)
    snap.lock_held = conn.execute(ops_queries.LOCK_HOLDER, key).fetchone() is not None
    state = conn.execute(ops_queries.JOB_STATE, {"job_id": INBOX_JOB_ID}).fetchone()
    if state:
        snap.last_inbox_run = {
            "started_at": state["started_at"],
            "finished_at": state["finished_at"],
            "outcome": state["outcome"],
            "age_s": state["age_s"],
            "last_success_at": state["last_success_at"],
        }
        snap.inbox_success_age_s = state["success_age_s"]
    snap.job_success_ages_s = {
        r["job_id"]: float(r["age_s"]) for r in conn.execute(ops_queries.JOB_SUCCESS_AGES)
    }
    snap.latest_evaluation_at = conn.execute(ops_queries.LATEST_EVALUATION).fetchone()["latest"]
    snap.evaluation_durations_s = [
        float(r["seconds"]) for r in conn.execute(ops_queries.EVALUATION_DURATIONS, {"limit": 1000})
    ]
    rows = conn.execute(ops_queries.ROWS_BY_OUTCOME).fetchone()
    snap.rows_by_outcome = {k: int(v) for k, v in rows.items()}
    snap.quarantined_by_reason = {
        r["reason_code"]: int(r["row_count"])
        for r in conn.execute(ops_queries.QUARANTINE_BY_REASON)
    }


def snapshot(settings: Settings) -> OpsSnapshot:
    """Read the operational state on a connection of its own (a short connect timeout, so
    that a down database is reported quickly instead of waiting for a pool)."""
    snap = OpsSnapshot(
        database_reachable=False,
        inbox_interval_minutes=settings.inbox_interval_minutes,
        inbox_backlog_files=inbox_backlog(settings.inbox_dir),
    )
    try:
        with qdb.connect(settings, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            snap.database_reachable = True
            _read(conn, snap)
    except (qdb.DatabaseError, psycopg.Error) as exc:
        if not snap.database_reachable:
            snap.database_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        else:
            snap.database_reachable = False
            snap.database_error = f"query failed: {type(exc).__name__}"
    return snap


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def health_document(snap: OpsSnapshot, assessment: Assessment) -> dict[str, Any]:
    """The JSON body of ``/healthz`` (pure)."""
    run = snap.last_inbox_run
    beat = snap.heartbeat
    return {
        "status": "healthy" if assessment.healthy else "unhealthy",
        "problems": assessment.problems,
        "database": {
            "reachable": snap.database_reachable,
            "migration_level": snap.migration_level,
            "error": snap.database_error,
        },
        "scheduler": {
            "lock_held": snap.lock_held,
            "inbox_interval_minutes": snap.inbox_interval_minutes,
            "last_inbox_run": {k: _iso(v) for k, v in run.items()} if run else None,
            "last_inbox_success_age_s": snap.inbox_success_age_s,
            "heartbeat": (
                {
                    "beat_at": _iso(beat["beat_at"]),
                    "age_s": beat["age_s"],
                    "hostname": beat["hostname"],
                    "pid": beat["pid"],
                    "started_at": _iso(beat["started_at"]),
                    "reconnects": beat["reconnects"],
                }
                if beat
                else None
            ),
        },
        "inbox_backlog_files": snap.inbox_backlog_files,
        "latest_evaluation_at": _iso(snap.latest_evaluation_at),
    }
