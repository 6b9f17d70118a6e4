"""`quotawatch db up|status|down` on a cluster of its own: idempotent, and reachable by the
server user even when the home folder is private (as pytest's temp folders are)."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quota import db as qdb
from quota.db.cluster import Cluster
from quota.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def qw(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUOTAWATCH_")}
    env["QUOTAWATCH_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "quota.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


@pytest.fixture
def private_home(tmp_path: Path):
    home = tmp_path / "a-private-home"
    yield home
    cluster = Cluster.from_settings(load_settings({"QUOTAWATCH_HOME": str(home)}))
    cluster.stop()
    if cluster.base != cluster.home:
        shutil.rmtree(cluster.base, ignore_errors=True)


@pytest.mark.slow
def test_up_status_down_are_idempotent(private_home: Path) -> None:
    status = json.loads(qw(private_home, "db", "status", "--json").stdout)
    assert status["is_up"] is False and "db up" in status["error"]

    first = qw(private_home, "db", "up", "--json")
    assert first.returncode == 0, first.stderr
    up = json.loads(first.stdout)
    assert up["is_up"] is True
    assert {"created cluster", "started server"} <= set(up["actions"])
    assert up["timescaledb_version"]
    assert up["migrations_pending"] == []
    assert len(up["socket_dir"]) < 100

    again = json.loads(qw(private_home, "db", "up", "--json").stdout)
    assert again["is_up"] is True and again["actions"] == []

    # A cluster made by an older version (pglz WAL compression) is brought up to date.
    settings = load_settings({"QUOTAWATCH_HOME": str(private_home)})
    with qdb.connect(settings, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET wal_compression = 'pglz'")
        conn.execute("SELECT pg_reload_conf()")
    updated = json.loads(qw(private_home, "db", "up", "--json").stdout)
    assert updated["actions"] == ["set wal_compression = lz4"]
    with qdb.connect(settings, autocommit=True) as conn:
        deadline = time.monotonic() + 10  # the reload reaches new sessions shortly
        while conn.execute("SHOW wal_compression").fetchone()["wal_compression"] != "lz4":
            assert time.monotonic() < deadline
            time.sleep(0.1)

    status = qw(private_home, "db", "status")
    assert "state:    up" in status.stdout and "TimescaleDB" in status.stdout

    down = json.loads(qw(private_home, "db", "down", "--json").stdout)
    assert down["is_up"] is False and down["actions"] == ["stopped server"]
    assert json.loads(qw(private_home, "db", "down", "--json").stdout)["actions"] == []

    restarted = json.loads(qw(private_home, "db", "up", "--json").stdout)
    assert restarted["is_up"] is True and restarted["actions"] == ["started server"]


def test_external_server_is_only_checked_and_migrated(db, tmp_path: Path) -> None:
    from quota import db as qdb

    url = qdb.conninfo(db.settings)
    proc = db.cli(
        "db", "up", "--json", QUOTAWATCH_DATABASE_URL=url, QUOTAWATCH_HOME=str(tmp_path / "unused")
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["mode"] == "external" and result["is_up"] is True
    assert result["actions"] == []
    assert not (tmp_path / "unused" / "pg").exists()


def test_a_bulk_writer_connection_queues_more_in_the_kernel(db) -> None:
    import socket

    def send_buffer(conn) -> int:
        with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
            return sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)

    with db.connect() as conn:
        before = send_buffer(conn)
        qdb.widen_send_buffer(conn, 1 << 20)
        assert send_buffer(conn) > before
        # The connection is untouched otherwise: a COPY of a few MB goes through.
        conn.execute("CREATE TEMP TABLE t (x text)")
        with conn.cursor().copy("COPY t FROM STDIN") as copy:
            copy.write(("y" * 999 + "\n") * 5000)
        assert conn.execute("SELECT count(*) AS n FROM t").fetchone()["n"] == 5000
