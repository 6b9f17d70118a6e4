"""A real database restart (`db down`, `db up`) under running processes, on a private
cluster of this module (the shared test server is never restarted)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.ops.support import ROOT, drop_file, start_scheduler, stop, wait_for

pytestmark = pytest.mark.slow

PASSWORD = "an-operator-password-1"
INTERVAL_MIN = 0.1  # 6 s between inbox runs
INTERVAL_S = INTERVAL_MIN * 60
SLACK_S = 30  # a loaded two-core machine: process start, reconnect back-off, the load itself


def _holder_pids(cluster) -> list[int]:
    return [
        r["pid"]
        for r in cluster.query(
            "SELECT a.pid FROM pg_stat_activity a WHERE a.datname = current_database() "
            "AND a.application_name = 'quotawatch-scheduler-lock'"
        )
    ]


def _holds(cluster) -> bool:
    try:
        return len(_holder_pids(cluster)) == 1
    except Exception:
        return False


def _loaded(cluster, name: str) -> int:
    try:
        return int(
            cluster.query("SELECT count(*) AS n FROM ingest_file WHERE file_name = %s", (name,))[0][
                "n"
            ]
        )
    except Exception:
        return 0


def _env(cluster, inbox) -> dict[str, str]:
    return {
        **cluster.env,
        "QUOTAWATCH_INBOX": str(inbox),
        "QUOTAWATCH_SCHEDULER_HEARTBEAT_SECONDS": "1",
        "QUOTAWATCH_SCHEDULER_RECONNECT_MAX_SECONDS": "2",
    }


def test_scheduler_loads_a_file_dropped_after_a_database_restart(private_cluster, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    log = tmp_path / "scheduler.log"
    proc = start_scheduler(
        _env(private_cluster, inbox), log, "--inbox-interval-minutes", str(INTERVAL_MIN)
    )
    try:
        assert wait_for(lambda: _holds(private_cluster), 60), log.read_text()
        private_cluster.down()
        assert wait_for(lambda: "attempt" in log.read_text(), 30), log.read_text()
        private_cluster.up()
        assert wait_for(lambda: _holds(private_cluster), SLACK_S), log.read_text()
        drop_file(inbox, "after_restart.csv", "E1,2024-05-01 00:00,7\n")
        assert wait_for(
            lambda: _loaded(private_cluster, "after_restart.csv") == 1, INTERVAL_S + SLACK_S
        ), log.read_text()
        assert proc.poll() is None
    finally:
        status = stop(proc)
    text = log.read_text()
    assert status == 0, text
    assert "database connection attempt 1 failed" in text
    assert "lock taken again" in text


def test_restart_with_a_second_scheduler_waiting_exactly_one_loads(private_cluster, tmp_path):
    """Defined behaviour: the standby keeps waiting while the first holds the lock; after the
    restart whichever reconnects first holds it. A first scheduler that finds the lock taken
    exits with status 3; a standby that finds it taken keeps waiting. Exactly one process
    loads each file."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = _env(private_cluster, inbox)
    first = start_scheduler(env, tmp_path / "a.log", "--inbox-interval-minutes", str(INTERVAL_MIN))
    second = None
    try:
        assert wait_for(lambda: _holds(private_cluster), 60)
        second = start_scheduler(
            env, tmp_path / "b.log", "--standby", "--inbox-interval-minutes", str(INTERVAL_MIN)
        )
        assert wait_for(lambda: "standing by" in (tmp_path / "b.log").read_text(), 60)
        private_cluster.down()
        private_cluster.up()
        assert wait_for(lambda: _holds(private_cluster), SLACK_S)
        drop_file(inbox, "with_standby.csv", "E1,2024-05-02 00:00,3\nE1,2024-05-02 01:00,4\n")
        assert wait_for(
            lambda: _loaded(private_cluster, "with_standby.csv") == 1, INTERVAL_S + SLACK_S
        )
        assert wait_for(lambda: (inbox / "archive" / "with_standby.csv").exists(), 30)
        # give the other one a full interval to misbehave
        wait_for(lambda: False, INTERVAL_S, step_s=1)
        first_status = first.poll()
        assert second.poll() is None, "a standby never exits on its own"
        assert first_status in (None, 3)
        assert len(_holder_pids(private_cluster)) == 1
        holder = private_cluster.query("SELECT pid FROM scheduler_heartbeat")[0]["pid"]
        if first_status == 3:
            assert holder == second.pid
            assert "another scheduler took the scheduler lock" in (tmp_path / "a.log").read_text()
        else:
            assert holder == first.pid
    finally:
        stop(first)
        if second is not None:
            stop(second)
    assert _loaded(private_cluster, "with_standby.csv") == 1
    rows = private_cluster.query(
        "SELECT count(*) AS n FROM reading "
        "WHERE reading_at >= '2024-05-01 12:00+00' AND reading_at < '2024-05-02 12:00+00'"
    )
    assert rows[0]["n"] == 2


def test_a_scheduler_started_while_the_database_is_down_waits_for_it(private_cluster, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    drop_file(inbox, "waiting.csv", "E1,2024-05-03 00:00,1\n")
    log = tmp_path / "scheduler.log"
    private_cluster.down()
    proc = None
    try:
        proc = start_scheduler(
            _env(private_cluster, inbox), log, "--inbox-interval-minutes", str(INTERVAL_MIN)
        )
        assert wait_for(lambda: "attempt 2 failed" in log.read_text(), 60), log.read_text()
        assert proc.poll() is None
    finally:
        private_cluster.up()
    try:
        assert wait_for(lambda: (inbox / "archive" / "waiting.csv").exists(), SLACK_S + 30), (
            log.read_text()
        )
        assert _loaded(private_cluster, "waiting.csv") == 1
    finally:
        assert stop(proc) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_healthz_of_a_running_server_while_the_database_is_down(private_cluster, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = _env(private_cluster, inbox)
    once = subprocess.run(
        [sys.executable, "-m", "quota.cli", "scheduler", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert once.returncode == 0, once.stderr
    add = subprocess.run(
        [
            sys.executable,
            "-m",
            "quota.cli",
            "users",
            "add",
            "ops",
            "--role",
            "regulator",
            "--password-stdin",
            "--replace",
        ],
        cwd=ROOT,
        env=env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert add.returncode == 0, add.stderr
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "quota.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/healthz"
    try:

        def answers() -> bool:
            try:
                _get(url)
                return True
            except OSError:
                return False

        assert wait_for(answers, 90)
        status, body = _get(url)
        assert (status, body["status"]) == (200, "healthy"), body
        private_cluster.down()
        status, body = _get(url)
        assert status == 503
        assert body["database"]["reachable"] is False
        private_cluster.up()
        status, body = _get(url)
        assert status == 200, body
        # signed-in pages use the pool: its connections died with the server, and the next
        # request gets a checked, fresh one (no failed request)
        page = _signed_in_page(f"http://127.0.0.1:{port}")
        assert page == 200
    finally:
        stop(server)


def _signed_in_page(base: str) -> int:
    """Sign in through the real form (with its CSRF token) and fetch the Dash layout."""
    import re

    import requests

    session = requests.Session()
    form = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "the sign-in form carries a CSRF token"
    response = session.post(
        f"{base}/login",
        data={"username": "ops", "password": PASSWORD, "csrf_token": token.group(1)},
        timeout=30,
    )
    assert response.status_code == 200  # redirected to the city page
    return int(session.get(f"{base}/_dash-layout", timeout=30).status_code)
