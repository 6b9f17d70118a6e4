"""`quotawatch scheduler`: one APScheduler 3.x process running QuotaWatch's jobs.

- Explicit job ids (``inbox``, ``nightly_evaluation``) and job defaults: coalesce missed runs
  into one, at most one instance of a job at a time, and a misfire grace of 6 hours so a run
  due while the process was busy or briefly down still happens (APScheduler's default grace
  is 1 second).
- The inbox job runs at start (catch-up) and then every ``inbox_interval_minutes``; the
  nightly evaluation at ``nightly_evaluation_hour`` local time.
- One scheduler per database: a session advisory lock is held for the process lifetime; a
  second process records a skipped ``scheduler`` run and exits with status 3. Each job
  first checks that the lock is still held by this process's session (a server restart
  drops it) and is recorded as skipped otherwise.
- SIGTERM or SIGINT shut it down cleanly (a running job finishes its file transaction).
"""

from __future__ import annotations

import signal
import sys
from datetime import datetime
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ingest import jobs, queries
from quota import db as qdb
from quota.settings import Settings

MISFIRE_GRACE_SECONDS = 6 * 3600
EXIT_LOCKED = 3
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}


def build_scheduler(settings: Settings, lock_pid: int | None = None) -> BlockingScheduler:
    """The scheduler with QuotaWatch's jobs (not started); ``lock_pid`` is the backend pid
    of the session holding the scheduler lock, checked by each job before it works."""
    scheduler = BlockingScheduler(timezone=settings.tz, job_defaults=dict(JOB_DEFAULTS))
    scheduler.add_job(
        jobs.run_inbox_job,
        IntervalTrigger(minutes=settings.inbox_interval_minutes, timezone=settings.tz),
        id=jobs.INBOX_JOB_ID,
        name="load new reading files from the inbox",
        args=[settings],
        kwargs={"lock_pid": lock_pid},
        next_run_time=datetime.now(settings.tz),
    )
    scheduler.add_job(
        jobs.run_nightly_job,
        CronTrigger(hour=settings.nightly_evaluation_hour, minute=0, timezone=settings.tz),
        id=jobs.NIGHTLY_JOB_ID,
        name="nightly quota evaluation",
        args=[settings],
        kwargs={"lock_pid": lock_pid},
    )
    return scheduler


def _say(text: str) -> None:
    sys.stderr.write(f"quotawatch scheduler: {text}\n")
    sys.stderr.flush()


def run(settings: Settings) -> int:
    """Run the scheduler until SIGTERM/SIGINT; returns the exit status."""
    lock_conn = qdb.connect(settings, autocommit=True)
    try:
        locked = lock_conn.execute(
            queries.TRY_LOCK_SCHEDULER, (queries.SCHEDULER_LOCK_KEY,)
        ).fetchone()["locked"]
        if not locked:
            with jobs.recorded(settings, "scheduler") as counts:
                counts["outcome"] = "skipped"
                counts["note"] = "another scheduler process holds the lock; not running jobs"
            _say("another scheduler is already running jobs for this database; exiting")
            return EXIT_LOCKED
        lock_pid = lock_conn.execute(queries.BACKEND_PID).fetchone()["pid"]
        scheduler = build_scheduler(settings, lock_pid)

        def stop(signum: int, _frame: Any) -> None:
            _say(f"received {signal.Signals(signum).name}, shutting down")
            scheduler.shutdown(wait=True)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        _say(
            f"running (inbox every {settings.inbox_interval_minutes:g} min from "
            f"{settings.inbox_dir}, nightly evaluation at {settings.nightly_evaluation_hour}:00 "
            f"{settings.timezone_name})"
        )
        scheduler.start()
        _say("stopped")
        return 0
    finally:
        lock_conn.close()
