"""The scheduled jobs: module-level functions with plain arguments, each run recorded in
``job_run`` (start, end, outcome, counts) for the dashboard's data page.

- ``inbox``: load every reading file in the inbox (catch-up after downtime comes from the
  data: whatever is still in the inbox is loaded), move it to ``archive/`` when loaded (or
  already loaded before) and to ``rejected/`` when it cannot be used or its load failed,
  with ``<name>.reason.txt`` saying why; a file in ``rejected/`` is not tried again until
  someone moves it back (or loads it with ``quotawatch ingest``). One file never stops the
  others. Only a lost database connection leaves a failed file in the inbox, for the next
  run. A file modified less than ``inbox_settle_seconds`` ago (it may still be being
  written), and a name ending ``.part``/``.tmp`` or starting with ``.`` (a transfer in
  progress), are left for a later run. After a load that touches the current local year,
  the quota engine re-evaluates the affected buildings.
- ``nightly_evaluation``: the quota engine's nightly evaluation.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from ingest import queries
from ingest.files import READING_SUFFIXES
from ingest.loader import ingest_paths
from quota import db as qdb
from quota import evaluation_job
from quota.settings import Settings

INBOX_JOB_ID = "inbox"
NIGHTLY_JOB_ID = "nightly_evaluation"
IN_PROGRESS_SUFFIXES = (".part", ".tmp")


@contextmanager
def recorded(settings: Settings, job_id: str) -> Iterator[dict[str, Any]]:
    """Record one run of ``job_id`` in ``job_run``; the body fills the yielded dict with
    counts and may set ``outcome`` (default ``succeeded``) and ``note``."""
    with qdb.connect(settings, autocommit=True) as conn:
        run_id = conn.execute(
            queries.START_JOB, (job_id, socket.gethostname(), os.getpid())
        ).fetchone()["job_run_id"]
        conn.execute(queries.SET_APPLICATION_NAME, (f"quotawatch-job-{run_id}",))
        conn.execute(queries.CLOSE_INTERRUPTED_JOBS)
        counts: dict[str, Any] = {}
        try:
            yield counts
        except Exception as exc:
            conn.execute(
                queries.FINISH_JOB,
                ("failed", Jsonb(counts), f"{type(exc).__name__}: {exc}", run_id),
            )
            raise
        outcome = counts.pop("outcome", "succeeded")
        note = counts.pop("note", None)
        conn.execute(queries.FINISH_JOB, (outcome, Jsonb(counts), note, run_id))


def is_settled_reading_file(name: str, age_seconds: float, settle_seconds: float) -> bool:
    """Whether an inbox file is a reading file ready to load: a ``.csv``/``.csv.gz`` name,
    not hidden (``.name``) nor a transfer in progress (``.part``, ``.tmp``), last modified
    at least ``settle_seconds`` ago [s]."""
    lowered = name.lower()
    return (
        lowered.endswith(READING_SUFFIXES)
        and not lowered.startswith(".")
        and not lowered.endswith(IN_PROGRESS_SUFFIXES)
        and age_seconds >= settle_seconds
    )


def inbox_files(inbox: Path, settle_seconds: float) -> list[Path]:
    """Reading files directly in ``inbox`` ready to load (:func:`is_settled_reading_file`),
    oldest first."""
    if not inbox.is_dir():
        return []
    now = time.time()
    found: list[tuple[float, str, Path]] = []
    for path in inbox.iterdir():
        try:
            if not path.is_file():
                continue
            modified = path.stat().st_mtime
        except OSError:  # gone meanwhile (moved by someone else)
            continue
        if is_settled_reading_file(path.name, now - modified, settle_seconds):
            found.append((modified, path.name, path))
    return [path for _, _, path in sorted(found)]


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{stamp}_{path.name}"
    shutil.move(str(path), target)
    return target


def lock_lost(conn: Any, lock_pid: int | None) -> bool:
    """True when a scheduler's session (backend ``lock_pid``) no longer holds the scheduler
    lock (e.g. the server restarted): its jobs must not run, another scheduler may."""
    if lock_pid is None:
        return False
    key = queries.SCHEDULER_LOCK_KEY
    row = conn.execute(
        queries.SCHEDULER_LOCK_HELD, {"pid": lock_pid, "high": key >> 32, "low": key & 0xFFFFFFFF}
    ).fetchone()
    return not row["held"]


LOCK_LOST_NOTE = "the scheduler lost its database lock (server restart?); job not run"


def run_inbox_job(
    settings: Settings, settle_seconds: float | None = None, lock_pid: int | None = None
) -> dict[str, Any]:
    """Load the inbox's files once; returns the counts recorded in ``job_run``.

    ``settle_seconds``: files modified less than this long ago are left for a later run
    (default ``settings.inbox_settle_seconds``) [s]. ``lock_pid``: backend pid of the
    scheduler session holding the scheduler lock (the scheduler passes it; the job is
    skipped if that lock is gone)."""
    if settle_seconds is None:
        settle_seconds = settings.inbox_settle_seconds
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    with recorded(settings, INBOX_JOB_ID) as counts:
        if _lock_lost(settings, lock_pid):
            counts.update(outcome="skipped", note=LOCK_LOST_NOTE)
            return {"skipped": LOCK_LOST_NOTE}
        files = inbox_files(inbox, settle_seconds)
        counts.update(
            files_seen=len(files), files_loaded=0, files_skipped=0, files_rejected=0, files_failed=0
        )
        if not files:
            return dict(counts)
        summary = ingest_paths(settings, files, trigger="scheduler")
        for result in summary.files:
            counts[f"files_{result.status}"] += 1
            try:
                if result.status in ("loaded", "skipped"):
                    _move(result.path, inbox / "archive")
                elif result.status == "rejected" or not result.connection_lost:
                    _reject(result.path, inbox / "rejected", result.status, result.error)
            except OSError as exc:  # moved or removed meanwhile: the others go on
                counts.setdefault("move_errors", []).append(f"{result.path.name}: {exc}")
        counts.update(
            run_id=summary.run_id,
            rows_read=summary.rows_read,
            rows_loaded=summary.rows_loaded,
            rows_duplicate=summary.rows_duplicate,
            rows_quarantined=summary.rows_quarantined,
            quarantine_by_reason=summary.quarantine_by_reason,
        )
        year = datetime.now(settings.tz).year
        if year in summary.affected:
            counts["reevaluated_buildings"] = len(summary.affected[year])
            evaluation_job.reevaluate(settings, sorted(summary.affected[year]), year)
        if counts["files_failed"]:
            counts["outcome"] = "failed"
            counts["note"] = "; ".join(
                f"{r.path.name}: {r.error}" for r in summary.files if r.status == "failed"
            )
        return dict(counts)


def _reject(path: Path, folder: Path, status: str, error: str | None) -> None:
    """Move ``path`` to ``folder`` with ``<name>.reason.txt`` beside it saying why."""
    moved = _move(path, folder)
    what = "could not be used" if status == "rejected" else "failed to load"
    moved.with_name(moved.name + ".reason.txt").write_text(
        f"{path.name} {what}: {error}\n"
        "Move the file back into the inbox (or run `quotawatch ingest` on it) to try again.\n",
        encoding="utf-8",
    )


def run_nightly_job(settings: Settings, lock_pid: int | None = None) -> dict[str, Any]:
    """The nightly quota evaluation (skipped with a note when the scheduler lost its lock)."""
    with recorded(settings, NIGHTLY_JOB_ID) as counts:
        if _lock_lost(settings, lock_pid):
            counts.update(outcome="skipped", note=LOCK_LOST_NOTE)
            return {"skipped": LOCK_LOST_NOTE}
        counts.update(evaluation_job.run_nightly(settings) or {})
        return dict(counts)


def _lock_lost(settings: Settings, lock_pid: int | None) -> bool:
    if lock_pid is None:
        return False
    with qdb.connect(settings, autocommit=True) as conn:
        return lock_lost(conn, lock_pid)
