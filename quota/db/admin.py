"""`quotawatch db up|status|down|migrate`: bring the database to a usable, migrated state.

Embedded default: create (first time) and start the local cluster, create the database,
migrate. With ``QUOTAWATCH_DATABASE_URL``: only check the server (reachable, TimescaleDB
available, versions) and migrate. All operations are idempotent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from quota import db
from quota.db import migrations
from quota.db.cluster import RELOADABLE_SETTINGS, Cluster
from quota.settings import Settings


@dataclass
class DatabaseStatus:
    """What `db status` reports."""

    mode: str  # "embedded" or "external"
    location: str  # human description of where the database is
    is_up: bool
    database: str
    data_dir: str | None = None
    socket_dir: str | None = None
    port: int | None = None
    postgres_version: str | None = None
    timescaledb_version: str | None = None
    migrations_applied: list[int] = field(default_factory=list)
    migrations_pending: list[int] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_database(settings: Settings, dbname: str) -> bool:
    """Create database ``dbname`` on the server if missing. Returns True when created."""
    with db.connect(settings, "postgres", autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if row:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        return True


def check_server(conn: psycopg.Connection[Any]) -> tuple[str, str]:
    """(PostgreSQL version, available TimescaleDB version); raises when TimescaleDB is missing."""
    pg_version = conn.execute("SHOW server_version").fetchone()
    ext = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if not ext:
        raise db.DatabaseError(
            "the server has no TimescaleDB extension; install it (Debian 13: "
            "postgresql-17-timescaledb) and add timescaledb to shared_preload_libraries"
        )
    return str(next(iter(pg_version.values()))), str(ext["default_version"])


def up(settings: Settings) -> DatabaseStatus:
    """Start (embedded) or check (external) the server, create the database and migrate."""
    actions: list[str] = []
    if settings.is_embedded:
        cluster = Cluster.from_settings(settings)
        if cluster.init():
            actions.append("created cluster")
        if cluster.start():
            actions.append("started server")
        if ensure_database(settings, settings.database_name):
            actions.append(f"created database {settings.database_name}")
    with db.connect(settings, autocommit=True) as conn:
        check_server(conn)
        if settings.is_embedded:
            actions.extend(apply_cluster_settings(conn))
        done = migrations.migrate(conn)
        if done:
            actions.append("applied migrations " + ", ".join(f"{m.version:04d}" for m in done))
    result = status(settings)
    result.actions = actions
    return result


def apply_cluster_settings(conn: psycopg.Connection[Any]) -> list[str]:
    """Bring the embedded cluster's reloadable settings to this version's values
    (``ALTER SYSTEM`` and a reload); returns what was changed."""
    changed = []
    for name, value in RELOADABLE_SETTINGS.items():
        current = conn.execute("SELECT current_setting(%s) AS v", (name,)).fetchone()["v"]
        if current != value:
            conn.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
            changed.append(f"set {name} = {value}")
    if changed:
        conn.execute("SELECT pg_reload_conf()")
    return changed


def down(settings: Settings) -> DatabaseStatus:
    """Stop the embedded server (an external server is left alone)."""
    actions: list[str] = []
    if settings.is_embedded:
        cluster = Cluster.from_settings(settings)
        if cluster.stop():
            actions.append("stopped server")
    else:
        actions.append("external database: nothing to stop")
    result = status(settings)
    result.actions = actions
    return result


def status(settings: Settings) -> DatabaseStatus:
    """Where the database is and whether it is up, without changing anything."""
    if settings.is_embedded:
        cluster = Cluster.from_settings(settings)
        result = DatabaseStatus(
            mode="embedded",
            location=f"embedded cluster in {cluster.data_dir}",
            is_up=cluster.is_running() if cluster.exists() else False,
            database=settings.database_name,
            data_dir=str(cluster.data_dir),
            socket_dir=str(cluster.socket_dir),
            port=cluster.port(),
        )
        if not cluster.exists():
            result.error = "the cluster does not exist yet; `quotawatch db up` creates it"
            return result
        if not result.is_up:
            return result
    else:
        result = DatabaseStatus(
            mode="external",
            location=db.describe(settings),
            is_up=False,
            database=settings.database_name,
        )
    try:
        with db.connect(settings, autocommit=True, connect_timeout=5) as conn:
            result.is_up = True
            result.postgres_version, _available = check_server(conn)
            installed = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
            result.timescaledb_version = installed["extversion"] if installed else None
            done = migrations.applied(conn)
            result.migrations_applied = sorted(done)
            result.migrations_pending = [
                m.version for m in migrations.discover() if m.version not in done
            ]
    except db.DatabaseError as exc:
        result.error = str(exc)
        if not settings.is_embedded:
            result.is_up = False
    return result


def migrate(settings: Settings) -> list[migrations.Migration]:
    """Apply pending migrations to the configured database."""
    with db.connect(settings, autocommit=True) as conn:
        check_server(conn)
        return migrations.migrate(conn)
