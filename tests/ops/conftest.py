"""Fixtures of the operations tests: a test database with one building and its meters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from quota import db as qdb
from quota.db.cluster import Cluster
from quota.settings import Settings, load_settings
from tests.ingest.conftest import register_meters

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registered(db: Any) -> Any:
    """The test database with building B1 and the ingest tests' meters."""
    with db.connect() as conn:
        register_meters(conn)
        conn.commit()
    return db


@dataclass
class PrivateCluster:
    """A throwaway embedded cluster of its own (restarting it affects no other test)."""

    home: Path
    env: dict[str, str]
    settings: Settings

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "quota.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def down(self) -> None:
        proc = self.cli("db", "down")
        assert proc.returncode == 0, proc.stderr

    def up(self) -> None:
        proc = self.cli("db", "up")
        assert proc.returncode == 0, proc.stderr

    def query(self, text: str, params: Any = None) -> list[dict[str, Any]]:
        with qdb.connect(self.settings) as conn:
            return conn.execute(text, params).fetchall()


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[PrivateCluster]:
    """A cluster in a short temporary QUOTAWATCH_HOME (short socket path), migrated, with
    building B1 and its meters; stopped and removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="qwops", dir="/tmp"))
    home.chmod(0o755)  # the server user must reach it when tests run as root
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUOTAWATCH_")}
    env.update(QUOTAWATCH_HOME=str(home), QUOTAWATCH_TIMEZONE="Asia/Shanghai")
    settings = load_settings(env)
    cluster = PrivateCluster(home=home, env=env, settings=settings)
    try:
        cluster.up()
        with qdb.connect(settings) as conn:
            register_meters(conn)
            conn.commit()
        yield cluster
    finally:
        cluster.cli("db", "down")
        base = Cluster.from_settings(settings).base
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
