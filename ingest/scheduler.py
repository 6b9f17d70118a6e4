"""`quotawatch scheduler`: one APScheduler 3.x process running QuotaWatch's jobs.

- Explicit job ids (``inbox``, ``nightly_evaluation``) and job defaults: coalesce missed runs
  into one, at most one instance of a job at a time, and a misfire grace of 6 hours so a run
  due while the process was busy or briefly down still happens (APScheduler's default grace
  is 1 second).
- The inbox job runs at start (catch-up) and then every ``inbox_interval_minutes``; the
  nightly evaluation at ``nightly_evaluation_hour`` local time.
- One scheduler per database: a session advisory lock (:mod:`ingest.scheduler_lock`) is held
  on a connection of its own. A second process records a skipped ``scheduler`` run and exits
  with status 3, or with ``--standby`` waits and takes over when the first one stops.
- Recovery: every ``scheduler_heartbeat_seconds`` (and before every job) the process asks the
  server whether its session still holds the lock (a lost connection or a server restart
  drops it). When it does not, the jobs wait while the process reconnects with back-off
  (every attempt logged) and takes the lock again; the inbox job then runs at once, loading
  the backlog. If another scheduler took the lock meanwhile, it exits with status 3 and says
  so: it never stays alive skipping jobs. While it holds the lock it writes a heartbeat row
  (``scheduler_heartbeat``) for the dashboard and ``/healthz``.
- SIGTERM or SIGINT shut it down cleanly (a running job finishes its file transaction).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ingest import jobs
from ingest.scheduler_lock import LockTakenError, SchedulerLock, StopRequestedError
from quota.settings import Settings

MISFIRE_GRACE_SECONDS = 6 * 3600
EXIT_LOCKED = 3
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}


def _guarded(
    job: Callable[..., Any], lock: SchedulerLock | None, wake: threading.Event
) -> Callable[..., Any]:
    """``job`` run only while ``lock`` is held: when the lock is gone the job thread wakes
    the main loop (which reconnects) and waits until the lock is back or the process stops."""
    if lock is None:
        return job

    def run(settings: Settings) -> Any:
        while True:
            pid = lock.pid
            if pid is not None and lock.held():
                break
            wake.set()
            while not lock.ready.wait(1.0):
                if lock.stopping.is_set():
                    return None
        try:
            # the job checks again, on its own connection, that backend ``pid`` holds the lock
            return job(settings, lock_pid=pid)
        except Exception:
            wake.set()  # a database error in a job: the main loop checks the lock now
            raise

    run.__name__ = getattr(job, "__name__", "job")
    return run


def build_scheduler(
    settings: Settings, lock: SchedulerLock | None = None, wake: threading.Event | None = None
) -> BackgroundScheduler:
    """The scheduler with QuotaWatch's jobs (not started). With ``lock``, each job first
    checks that this process still holds the scheduler lock (and waits for it otherwise)."""
    wake = wake or threading.Event()
    scheduler = BackgroundScheduler(timezone=settings.tz, job_defaults=dict(JOB_DEFAULTS))
    scheduler.add_job(
        _guarded(jobs.run_inbox_job, lock, wake),
        IntervalTrigger(minutes=settings.inbox_interval_minutes, timezone=settings.tz),
        id=jobs.INBOX_JOB_ID,
        name="load new reading files from the inbox",
        args=[settings],
        next_run_time=datetime.now(settings.tz),
    )
    scheduler.add_job(
        _guarded(jobs.run_nightly_job, lock, wake),
        CronTrigger(hour=settings.nightly_evaluation_hour, minute=0, timezone=settings.tz),
        id=jobs.NIGHTLY_JOB_ID,
        name="nightly quota evaluation",
        args=[settings],
    )
    return scheduler


def _say(text: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sys.stderr.write(f"{stamp} quotawatch scheduler: {text}\n")
    sys.stderr.flush()


def _record_lock_refusal(settings: Settings, note: str) -> None:
    try:
        with jobs.recorded(settings, "scheduler") as counts:
            counts["outcome"] = "skipped"
            counts["note"] = note
    except Exception as exc:  # the refusal must be said even if it cannot be recorded
        _say(f"could not record the refusal: {exc}")


def run(settings: Settings, standby: bool = False) -> int:
    """Run the scheduler until SIGTERM/SIGINT; returns the exit status (3: another scheduler
    holds the lock)."""
    stopping = threading.Event()
    wake = threading.Event()

    def stop(signum: int, _frame: Any) -> None:
        _say(f"received {signal.Signals(signum).name}, shutting down")
        stopping.set()
        wake.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    lock = SchedulerLock(settings, _say, stopping)
    beat_s = settings.scheduler_heartbeat_seconds
    try:
        if not lock.acquire_at_start(standby, poll_s=beat_s):
            _record_lock_refusal(
                settings, "another scheduler process holds the lock; not running jobs"
            )
            _say("another scheduler is already running jobs for this database; exiting")
            return EXIT_LOCKED
    except StopRequestedError:
        _say("stopped before taking the scheduler lock")
        return 0
    started_at = datetime.now(UTC)
    scheduler = build_scheduler(settings, lock, wake)
    status = 0
    _say(
        f"running (inbox every {settings.inbox_interval_minutes:g} min from "
        f"{settings.inbox_dir}, nightly evaluation at {settings.nightly_evaluation_hour}:00 "
        f"{settings.timezone_name}; lock checked every {beat_s:g} s)"
    )
    lock.beat(started_at, settings.inbox_interval_minutes)
    scheduler.start()
    try:
        while not stopping.is_set():
            wake.wait(beat_s)
            wake.clear()
            if stopping.is_set():
                break
            if lock.held():
                lock.beat(started_at, settings.inbox_interval_minutes)
                continue
            _say("the scheduler lock is gone (lost connection or database restart); reconnecting")
            lock.regain()
            lock.beat(started_at, settings.inbox_interval_minutes)
            _say("lock taken again; loading the inbox backlog now")
            scheduler.modify_job(jobs.INBOX_JOB_ID, next_run_time=datetime.now(settings.tz))
    except LockTakenError as exc:
        _say(f"{exc}; exiting so that only one scheduler runs jobs")
        _record_lock_refusal(settings, f"{exc}; this scheduler exited")
        status = EXIT_LOCKED
    except StopRequestedError:
        pass
    finally:
        stopping.set()
        scheduler.shutdown(wait=True)
        lock.close()
    _say("stopped")
    return status
