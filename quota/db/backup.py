"""`quotawatch db backup` and `quotawatch db restore`: pg_dump/pg_restore with the steps
TimescaleDB needs.

Backup: the database records the backup in ``backup_log`` (TimescaleDB and PostgreSQL
versions, migration level) and ``pg_dump -Fc`` writes the archive (a consistent snapshot;
the scheduler and the dashboard may keep running).

Restore (TimescaleDB's documented procedure):

1. refuse a database that holds any table, unless ``force`` (then it is dropped and created
   again, empty);
2. ``CREATE EXTENSION timescaledb VERSION <the archive's>`` (the versions must match; the
   server must have that version installed) and ``SELECT timescaledb_pre_restore()``;
3. ``pg_restore`` the archive (no owners, no privileges: the restoring role owns the result);
4. ``SELECT timescaledb_post_restore()`` and ``ANALYZE``.

The client programs come from the newest PostgreSQL installed that has TimescaleDB (the
embedded server's own), else from ``PATH``.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from quota import db as qdb
from quota.ops import queries as ops_queries
from quota.settings import Settings

MAINTENANCE_DB = "postgres"


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why and what to do."""


@dataclass
class BackupResult:
    file: str
    size_bytes: int
    seconds: float
    database: str
    timescaledb_version: str
    postgres_version: str
    migration_level: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestoreResult:
    file: str
    database: str
    seconds: float
    timescaledb_version: str
    migration_level: int | None
    replaced_existing: bool
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def client_program(name: str) -> str:
    """Path of ``pg_dump``/``pg_restore``: the embedded server's version when installed."""
    from quota.db.cluster import ClusterError, find_server_bin

    try:
        candidate = find_server_bin() / name
        if candidate.exists():
            return str(candidate)
    except ClusterError:
        pass
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    return found


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/")


def backup(settings: Settings, output: Path) -> BackupResult:
    """Write a ``pg_dump -Fc`` archive of the configured database to ``output``."""
    output = output.expanduser().resolve()
    if output.is_dir():
        raise BackupError(f"{output} is a folder; give a file name (e.g. quotawatch.dump)")
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with qdb.connect(settings, autocommit=True) as conn:
        ext = conn.execute(ops_queries.TIMESCALEDB_INSTALLED).fetchone()
        if not ext:
            raise BackupError("this database has no TimescaleDB extension: not a QuotaWatch one")
        level = int(conn.execute(ops_queries.MIGRATION_LEVEL).fetchone()["level"])
        pg_version = str(conn.execute(ops_queries.SERVER_VERSION).fetchone()["version"])
        conn.execute(
            ops_queries.RECORD_BACKUP,
            {
                "timescaledb_version": ext["extversion"],
                "postgres_version": pg_version,
                "migration_level": level,
                "hostname": socket.gethostname(),
                "file_name": output.name,
            },
        )
    partial = output.with_name(output.name + ".partial")
    proc = _run(
        [
            client_program("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={partial}",
            f"--dbname={qdb.conninfo(settings)}",
        ]
    )
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {_errors(proc.stderr) or proc.returncode}")
    partial.replace(output)
    return BackupResult(
        file=str(output),
        size_bytes=output.stat().st_size,
        seconds=round(time.monotonic() - started, 2),
        database=settings.database_name if settings.is_embedded else qdb.describe(settings),
        timescaledb_version=str(ext["extversion"]),
        postgres_version=pg_version,
        migration_level=level,
    )


_COPY_LINE = re.compile(r"^COPY public\.backup_log \(([^)]*)\) FROM stdin;$")


def archive_versions(archive: Path) -> dict[str, str]:
    """The versions recorded by the newest ``backup_log`` row inside ``archive``."""
    proc = _run(
        [
            client_program("pg_restore"),
            "--data-only",
            "--table=backup_log",
            "--file=-",
            str(archive),
        ]
    )
    if proc.returncode != 0:
        raise BackupError(
            f"{archive} is not a QuotaWatch backup archive (pg_restore: "
            f"{_errors(proc.stderr) or proc.returncode})"
        )
    columns: list[str] | None = None
    newest: dict[str, str] | None = None
    for line in proc.stdout.splitlines():
        match = _COPY_LINE.match(line)
        if match:
            columns = [c.strip() for c in match.group(1).split(",")]
            continue
        if columns is not None:
            if line == "\\.":
                break
            row = dict(zip(columns, line.split("\t"), strict=False))
            if newest is None or int(row["backup_id"]) > int(newest["backup_id"]):
                newest = row
    if newest is None:
        raise BackupError(
            f"{archive} has no backup record: it was not written by `quotawatch db backup`"
        )
    return newest


def _errors(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return "; ".join(lines[:5])


def _database_has_tables(settings: Settings) -> bool | None:
    """True/False, or None when the database does not exist."""
    try:
        with qdb.connect(settings, autocommit=True) as conn:
            return int(conn.execute(ops_queries.USER_TABLE_COUNT).fetchone()["n"]) > 0
    except qdb.DatabaseError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _target_name(settings: Settings) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(qdb.conninfo(settings)).get("dbname") or settings.database_name)


def _recreate(settings: Settings, name: str, drop: bool) -> None:
    try:
        with qdb.connect(settings, MAINTENANCE_DB, autocommit=True) as conn:
            if drop:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except (psycopg.Error, qdb.DatabaseError) as exc:
        raise BackupError(
            f"cannot {'drop and ' if drop else ''}create database {name} "
            f"(the role needs CREATEDB and access to the '{MAINTENANCE_DB}' database): {exc}"
        ) from exc


def restore(settings: Settings, archive: Path, force: bool = False) -> RestoreResult:
    """Restore ``archive`` into the configured database (created when missing)."""
    archive = archive.expanduser().resolve()
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    started = time.monotonic()
    versions = archive_versions(archive)
    wanted = versions["timescaledb_version"]
    name = _target_name(settings)
    has_tables = _database_has_tables(settings)
    if has_tables and not force:
        raise BackupError(
            f"database {name} is not empty; restore into an empty database, or give --force "
            "to drop it and replace it with the backup"
        )
    if has_tables is None or has_tables:
        _recreate(settings, name, drop=bool(has_tables))
    with qdb.connect(settings, autocommit=True) as conn:
        available = {r["version"] for r in conn.execute(ops_queries.TIMESCALEDB_AVAILABLE)}
        installed = conn.execute(ops_queries.TIMESCALEDB_INSTALLED).fetchone()
        if installed and installed["extversion"] != wanted:
            raise BackupError(
                f"database {name} has TimescaleDB {installed['extversion']}, the backup "
                f"{wanted}: restore into a database without the extension"
            )
        if wanted not in available:
            raise BackupError(
                f"the backup was taken with TimescaleDB {wanted}, which this server does not "
                f"have (available: {', '.join(sorted(available)) or 'none'}); install that "
                "version, restore, then upgrade with ALTER EXTENSION timescaledb UPDATE"
            )
        if not installed:
            conn.execute(
                sql.SQL("CREATE EXTENSION timescaledb VERSION {}").format(sql.Literal(wanted))
            )
        conn.execute("SELECT timescaledb_pre_restore()")
    proc = _run(
        [
            client_program("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={qdb.conninfo(settings)}",
            str(archive),
        ]
    )
    with qdb.connect(settings, autocommit=True) as conn:
        conn.execute("SELECT timescaledb_post_restore()")
        if proc.returncode != 0:
            raise BackupError(
                f"pg_restore failed: {_errors(proc.stderr) or proc.returncode}; the database "
                f"{name} is incomplete: restore again with --force"
            )
        conn.execute("ANALYZE")
        level = int(conn.execute(ops_queries.MIGRATION_LEVEL).fetchone()["level"])
    return RestoreResult(
        file=str(archive),
        database=name,
        seconds=round(time.monotonic() - started, 2),
        timescaledb_version=wanted,
        migration_level=level,
        replaced_existing=bool(has_tables),
        warnings=[ln for ln in proc.stderr.splitlines() if ln.strip()][:20],
    )
