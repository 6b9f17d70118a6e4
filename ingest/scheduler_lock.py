"""The scheduler's database lock: one session-level advisory lock, held on a connection of
its own for as long as the scheduler runs jobs.

A session-level advisory lock disappears with its session: a lost connection or a server
restart drops it silently. :class:`SchedulerLock` therefore never assumes it still holds the
lock: :meth:`SchedulerLock.held` asks the server, on the lock's own connection, whether this
backend still holds the key (a dead connection answers no). :meth:`SchedulerLock.regain`
reconnects with exponential back-off, logging every attempt, until it has the lock again,
raises :class:`LockTakenError` when another scheduler took the lock meanwhile, or
:class:`StopRequestedError` when the process is asked to stop.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ingest import queries
from quota import db as qdb
from quota.ops import queries as ops_queries
from quota.settings import Settings

LOCK_APPLICATION_NAME = "quotawatch-scheduler-lock"
# A half-open TCP connection (a server gone without a word) must not hang the lock check:
# TCP keepalives declare it dead after about 10 + 3 × 5 s (ignored on Unix sockets, where
# the kernel reports a closed server at once).
LOCK_CONNECTION_OPTIONS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # ms
}


class LockTakenError(RuntimeError):
    """Another scheduler holds the lock: this one must not run jobs."""


class StopRequestedError(Exception):
    """SIGTERM/SIGINT arrived while waiting (for the database or for the lock)."""


@dataclass(frozen=True)
class Backoff:
    """Waits [s] between reconnection attempts: ``first_s``, doubling, at most ``max_s``."""

    first_s: float = 1.0
    max_s: float = 60.0
    factor: float = 2.0

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield min(delay, self.max_s)
            delay = min(delay * self.factor, self.max_s)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class SchedulerLock:
    """The scheduler lock of one process. Thread-safe: the main loop and job threads share it.

    ``ready`` is set while the lock is known to be held; job threads wait on it.
    """

    def __init__(
        self,
        settings: Settings,
        say: Callable[[str], None],
        stopping: threading.Event,
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self.say = say
        self.stopping = stopping
        self.backoff = backoff or Backoff(max_s=settings.scheduler_reconnect_max_seconds)
        self.conn: psycopg.Connection[Any] | None = None
        self.pid: int | None = None
        self.reconnects = 0
        self.ready = threading.Event()
        self._mutex = threading.RLock()
        self._key = ops_queries.lock_key_halves(queries.SCHEDULER_LOCK_KEY)

    # -- taking and checking ---------------------------------------------------------------
    def take(self) -> bool:
        """Connect (raises :class:`quota.db.DatabaseError` when the server is unreachable) and
        try the lock once. True when this process now holds it."""
        with self._mutex:
            self._drop_connection()
            conn = qdb.connect(self.settings, autocommit=True, **LOCK_CONNECTION_OPTIONS)
            try:
                conn.execute(ops_queries.SET_APPLICATION_NAME, (LOCK_APPLICATION_NAME,))
                locked = conn.execute(
                    queries.TRY_LOCK_SCHEDULER, (queries.SCHEDULER_LOCK_KEY,)
                ).fetchone()["locked"]
                if not locked:
                    conn.close()
                    return False
                self.pid = conn.execute(queries.BACKEND_PID).fetchone()["pid"]
            except psycopg.Error as exc:
                conn.close()
                raise qdb.DatabaseError(_first_line(exc)) from exc
            self.conn = conn
            self.ready.set()
            return True

    def held(self) -> bool:
        """Ask the server whether this process still holds the lock (False when the lock's
        connection is gone); clears :attr:`ready` when not."""
        with self._mutex:
            if self.conn is None or self.conn.closed:
                self.ready.clear()
                return False
            try:
                row = self.conn.execute(ops_queries.LOCK_HELD_BY_ME, self._key).fetchone()
                held = bool(row and row["held"])
            except psycopg.Error:
                held = False
            if not held:
                self._drop_connection()
            return held

    def acquire_at_start(self, standby: bool, poll_s: float) -> bool:
        """The first acquisition. Waits (with back-off) while the database is unreachable.
        Returns False when another scheduler holds the lock, unless ``standby``: then it waits
        for that one to stop, checking every ``poll_s`` seconds."""
        announced = False
        while True:
            self._connect_with_backoff(initial=True)
            if self.ready.is_set():
                return True
            if not standby:
                return False
            if not announced:
                self.say(
                    "standing by: another scheduler holds the lock; this one takes over when "
                    "it stops"
                )
                announced = True
            if self.stopping.wait(poll_s):
                raise StopRequestedError

    def regain(self) -> None:
        """After the lock was lost: reconnect with back-off and take the lock again.
        Raises :class:`LockTakenError` when another scheduler holds it now."""
        self._connect_with_backoff(initial=False)
        if not self.ready.is_set():
            raise LockTakenError(
                "another scheduler took the scheduler lock while this one was disconnected"
            )
        self.reconnects += 1

    def _connect_with_backoff(self, initial: bool) -> None:
        """Try :meth:`take` until the server answers; afterwards :attr:`ready` tells whether
        the lock was obtained."""
        for attempt, delay in enumerate(self.backoff.delays(), start=1):
            if self.stopping.is_set():
                raise StopRequestedError
            try:
                got = self.take()
            except qdb.DatabaseError as exc:
                self.say(
                    f"database connection attempt {attempt} failed ({_first_line(exc)}); "
                    f"next attempt in {delay:g} s"
                )
                if self.stopping.wait(delay):
                    raise StopRequestedError from None
                continue
            if not initial or attempt > 1:
                self.say(
                    f"database connection attempt {attempt} succeeded; "
                    + ("scheduler lock taken" if got else "the scheduler lock is held elsewhere")
                )
            return

    # -- heartbeat and shutdown ------------------------------------------------------------
    def beat(self, started_at: datetime, interval_minutes: float) -> None:
        """Write the heartbeat row on the lock's connection (best effort: a failure shows
        at the next :meth:`held`)."""
        with self._mutex:
            if self.conn is None or self.conn.closed:
                return
            try:
                self.conn.execute(
                    ops_queries.HEARTBEAT,
                    {
                        "hostname": socket.gethostname(),
                        "pid": os.getpid(),
                        "started_at": started_at,
                        "interval": interval_minutes,
                        "reconnects": self.reconnects,
                    },
                )
            except psycopg.Error as exc:
                self.say(f"heartbeat not written: {_first_line(exc)}")

    def close(self) -> None:
        with self._mutex:
            if self.conn is not None and not self.conn.closed:
                with contextlib.suppress(psycopg.Error):
                    self.conn.execute(queries.UNLOCK_SCHEDULER, (queries.SCHEDULER_LOCK_KEY,))
            self._drop_connection()

    def _drop_connection(self) -> None:
        self.ready.clear()
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):
                self.conn.close()
        self.conn = None
        self.pid = None
