"""The scheduler survives a lost lock connection: it reconnects, takes the lock again and
loads what arrived meanwhile (deterministic stand-in for a server restart on the shared test
server: the scheduler's connections are terminated with pg_terminate_backend)."""

from __future__ import annotations

import pytest

from ingest.scheduler_lock import LOCK_APPLICATION_NAME
from tests.ops.support import drop_file, start_scheduler, stop, wait_for

pytestmark = pytest.mark.slow

INTERVAL_MIN = 0.1  # 6 s between inbox runs
FILE_ROWS = "E1,2024-03-01 00:00,1\nE1,2024-03-01 01:00,2\n"


def _terminate_scheduler_sessions(db) -> int:
    """Kill every session of the scheduler on the test database; returns how many."""
    rows = db.query(
        "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND application_name LIKE 'quotawatch-%%'"
    )
    return len(rows)


def _lock_sessions(db) -> list[int]:
    return [
        r["pid"]
        for r in db.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s",
            (LOCK_APPLICATION_NAME,),
        )
    ]


def test_scheduler_takes_its_lock_again_after_its_connection_is_killed(registered, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = registered.env(QUOTAWATCH_INBOX=str(inbox), QUOTAWATCH_SCHEDULER_HEARTBEAT_SECONDS="0.5")
    log = tmp_path / "scheduler.log"
    proc = start_scheduler(env, log, "--inbox-interval-minutes", str(INTERVAL_MIN))
    try:
        drop_file(inbox, "before.csv", FILE_ROWS)
        assert wait_for(lambda: (inbox / "archive" / "before.csv").exists(), 60)
        first_pid = _lock_sessions(registered)
        assert len(first_pid) == 1

        assert _terminate_scheduler_sessions(registered) >= 1
        assert wait_for(lambda: _lock_sessions(registered) not in ([], first_pid), 30)
        drop_file(inbox, "after.csv", "E1,2024-03-02 00:00,5\n")
        # one interval (6 s) plus the settle check; generous for a loaded machine
        assert wait_for(lambda: (inbox / "archive" / "after.csv").exists(), 30)
        assert proc.poll() is None, "the scheduler must keep running"
    finally:
        status = stop(proc)
    text = log.read_text()
    assert status == 0, text
    assert "the scheduler lock is gone" in text
    assert "lock taken again" in text
    assert registered.scalar("SELECT count(*) FROM reading") == 3
    outcomes = [
        r["outcome"] for r in registered.query("SELECT outcome FROM job_run WHERE job_id='inbox'")
    ]
    assert "skipped" not in outcomes
    beat = registered.query("SELECT pid, reconnects FROM scheduler_heartbeat")[0]
    assert beat["pid"] == proc.pid
    assert beat["reconnects"] >= 1


def test_second_scheduler_exits_or_stands_by(registered, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = registered.env(QUOTAWATCH_INBOX=str(inbox), QUOTAWATCH_SCHEDULER_HEARTBEAT_SECONDS="0.5")
    first = start_scheduler(env, tmp_path / "a.log", "--inbox-interval-minutes", "0.1")
    standby = None
    try:
        assert wait_for(lambda: len(_lock_sessions(registered)) == 1, 60)
        standby = start_scheduler(
            env, tmp_path / "b.log", "--standby", "--inbox-interval-minutes", "0.1"
        )
        assert wait_for(lambda: "standing by" in (tmp_path / "b.log").read_text(), 60)
        assert stop(first) == 0
        # the standby takes over and loads what arrives
        drop_file(inbox, "x.csv", FILE_ROWS)
        assert wait_for(lambda: (inbox / "archive" / "x.csv").exists(), 60)
        assert standby.poll() is None
        assert registered.query("SELECT pid FROM scheduler_heartbeat")[0]["pid"] == standby.pid
    finally:
        stop(first)
        if standby is not None:
            assert stop(standby) == 0
