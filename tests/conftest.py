"""Shared fixtures: a real TimescaleDB for every test that needs one.

The server is the embedded cluster under QUOTAWATCH_HOME (created and started here if
needed) or the server of QUOTAWATCH_DATABASE_URL. A template database is created and
migrated once per session; each test that asks for ``db`` gets its own database cloned from
it and dropped afterwards. Fixtures whose data takes long to build fill a template of their
own once (``make_template``) and give each test a clone of it (``clone_db``). The `make run`
database is never touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from quota import db as qdb
from quota.db import migrations
from quota.db.cluster import Cluster
from quota.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()


def settings_for_database(base: Settings, dbname: str, **overrides: Any) -> Settings:
    """Settings that point at database ``dbname`` on the same server as ``base``."""
    if base.database_url:
        return dataclasses.replace(
            base, database_url=qdb.conninfo(base, dbname), database_name=dbname, **overrides
        )
    return dataclasses.replace(base, database_name=dbname, **overrides)


@dataclass
class TestDatabase:
    """One cloned, migrated database for one test."""

    name: str
    settings: Settings

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        return qdb.connect(self.settings, **kwargs)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a `quotawatch` subprocess that should use this database."""
        env = dict(os.environ)
        env["QUOTAWATCH_HOME"] = str(self.settings.home)
        env["QUOTAWATCH_TIMEZONE"] = self.settings.timezone_name
        if self.settings.database_url:
            env["QUOTAWATCH_DATABASE_URL"] = self.settings.database_url
        else:
            env.pop("QUOTAWATCH_DATABASE_URL", None)
            env["QUOTAWATCH_DATABASE_NAME"] = self.name
        env.update(extra)
        return env

    def cli(
        self, *args: str, input_text: str | None = None, check: bool = False, **extra_env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run `quotawatch ARGS` in a subprocess against this database."""
        proc = subprocess.run(
            [sys.executable, "-m", "quota.cli", *args],
            capture_output=True,
            text=True,
            env=self.env(**extra_env),
            input=input_text,
            cwd=ROOT,
            check=False,
            timeout=600,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"quotawatch {' '.join(args)} failed:\n{proc.stderr}")
        return proc

    def query(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        with self.connect() as conn:
            return conn.execute(query, params).fetchall()

    def scalar(self, query: str, params: Any = None) -> Any:
        rows = self.query(query, params)
        return next(iter(rows[0].values())) if rows else None


@pytest.fixture(scope="session")
def server_settings() -> Settings:
    """Settings of the test server (embedded cluster started if needed)."""
    settings = load_settings()
    if settings.is_embedded:
        cluster = Cluster.from_settings(settings)
        cluster.init()
        cluster.start()
    return settings


def _admin(settings: Settings) -> psycopg.Connection[Any]:
    return qdb.connect(settings, "postgres", autocommit=True)


@pytest.fixture(scope="session")
def template_db(server_settings: Settings) -> Iterator[str]:
    """A migrated template database, created once per test session."""
    name = f"qwtest_tmpl_{os.getpid()}"
    _drop_leftovers(server_settings)
    with _admin(server_settings) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with qdb.connect(settings_for_database(server_settings, name), autocommit=True) as conn:
        migrations.migrate(conn)
    with _admin(server_settings) as conn:
        # No session may be connected to a template while it is cloned; TimescaleDB's
        # background scheduler would otherwise connect to it at any moment.
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
    yield name
    with _admin(server_settings) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _drop_leftovers(settings: Settings) -> None:
    """Drop test databases left by test sessions that were killed (their pid is gone)."""
    with _admin(settings) as conn:
        names = [
            r["datname"]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'qwtest\\_%'"
            ).fetchall()
        ]
        for name in names:
            parts = name.split("_")
            pid_text = parts[2] if parts[1] == "tmpl" and len(parts) > 2 else parts[1]
            pid = int(pid_text) if pid_text.isdigit() else None
            if pid is None or pid == os.getpid() or Path(f"/proc/{pid}").exists():
                continue
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _clone(settings: Settings, template: str, name: str) -> None:
    """CREATE DATABASE name TEMPLATE template, clearing sessions left on the template."""
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    with _admin(settings) as conn:
        for attempt in range(20):
            try:
                conn.execute(create)
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 19:
                    raise
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (template,),
                )
                time.sleep(0.1)


def _drop(settings: Settings, name: str) -> None:
    with _admin(settings) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def make_template(
    server_settings: Settings, template_db: str
) -> Iterator[Callable[[str, Callable[[TestDatabase], None]], str]]:
    """``make_template(label, seed)``: a template database cloned from the migrated one and
    filled by ``seed(database)``, for fixtures whose data takes long to build (imports and
    ingests through the command line). Each test still gets its own clone (:func:`clone_db`);
    the templates are dropped at the end of the session."""
    made: list[str] = []

    def make(label: str, seed: Callable[[TestDatabase], None]) -> str:
        name = f"qwtest_tmpl_{os.getpid()}_{label}"
        _drop(server_settings, name)
        _clone(server_settings, template_db, name)
        made.append(name)
        seed(TestDatabase(name=name, settings=settings_for_database(server_settings, name)))
        with _admin(server_settings) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(
                    sql.Identifier(name)
                )
            )
        return name

    yield make
    for name in made:
        _drop(server_settings, name)


@contextlib.contextmanager
def _cloner(settings: Settings) -> Iterator[Callable[[str], TestDatabase]]:
    """A function that clones a template into a new database; all of them dropped on exit."""
    made: list[str] = []

    def clone(template: str) -> TestDatabase:
        name = f"qwtest_{os.getpid()}_{next(_counter)}"
        _clone(settings, template, name)
        made.append(name)
        return TestDatabase(name=name, settings=settings_for_database(settings, name))

    try:
        yield clone
    finally:
        for name in made:
            _drop(settings, name)


@pytest.fixture
def clone_db(server_settings: Settings) -> Iterator[Callable[[str], TestDatabase]]:
    """``clone_db(template)``: a fresh database cloned from ``template`` for this test, dropped
    afterwards."""
    with _cloner(server_settings) as clone:
        yield clone


@pytest.fixture(scope="module")
def module_clone_db(server_settings: Settings) -> Iterator[Callable[[str], TestDatabase]]:
    """Like :func:`clone_db`, for a module's fixtures that only read (one database shared by
    the tests of a module); dropped after the module."""
    with _cloner(server_settings) as clone:
        yield clone


@pytest.fixture
def db(template_db: str, clone_db: Callable[[str], TestDatabase]) -> TestDatabase:
    """A fresh migrated database for this test, dropped afterwards."""
    return clone_db(template_db)


@pytest.fixture
def empty_db(server_settings: Settings) -> Iterator[TestDatabase]:
    """An empty, unmigrated database (for migration tests), dropped afterwards."""
    name = f"qwtest_{os.getpid()}_{next(_counter)}_empty"
    with _admin(server_settings) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield TestDatabase(name=name, settings=settings_for_database(server_settings, name))
    finally:
        with _admin(server_settings) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
