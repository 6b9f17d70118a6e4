"""Schema migrations: ordered ``sql/NNNN_name.sql`` files, each applied once in its own
transaction and recorded with its SHA-256 checksum.

- Re-running applies nothing (a no-op).
- An already-applied migration whose file changed is refused with :class:`MigrationError`
  (add a new migration instead of editing an applied one).
- Concurrent runs are safe: a session-level advisory lock serialises them, and each run
  re-reads what is applied after taking the lock.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from quota.settings import SQL_DIR

MIGRATION_LOCK_KEY = 0x5157_4D49_4752  # "QWMIGR": advisory lock id for migrations
FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migration (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """A migration cannot be applied; the message names the file and the reason."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """The migration files in ``sql_dir``, in version order; duplicate versions are an error."""
    found: dict[int, Migration] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        match = FILE_PATTERN.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"{path.name}: version {version} is already used by {found[version].path.name}"
            )
        found[version] = Migration(version, match.group(2), path, path.read_text("utf-8"))
    return [found[v] for v in sorted(found)]


def applied(conn: psycopg.Connection[Any]) -> dict[int, dict[str, Any]]:
    """Applied migrations by version (empty when the ledger does not exist yet)."""
    exists = conn.execute(
        "SELECT to_regclass('schema_migration') IS NOT NULL AS present"
    ).fetchone()
    if not exists or not _first(exists):
        return {}
    rows = conn.execute(
        "SELECT version, name, checksum, applied_at FROM schema_migration ORDER BY version"
    ).fetchall()
    return {int(_get(row, "version", 0)): _as_dict(row) for row in rows}


def migrate(conn: psycopg.Connection[Any], sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Apply pending migrations; return those applied by this call.

    ``conn`` must be in autocommit mode (each migration gets its own transaction here).
    """
    if not conn.autocommit:
        raise MigrationError("migrate() needs an autocommit connection")
    migrations = discover(sql_dir)
    done: list[Migration] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        conn.execute(CREATE_LEDGER)
        already = applied(conn)
        known = {m.version for m in migrations}
        for version, record in already.items():
            if version not in known:
                raise MigrationError(
                    f"the database has migration {version} ({record['name']}) that is not "
                    f"in {sql_dir}: this checkout is older than the database"
                )
        for migration in migrations:
            record = already.get(migration.version)
            if record is not None and record["checksum"] != migration.checksum:
                raise MigrationError(
                    f"{migration.path.name} was edited after it was applied "
                    f"(applied checksum {record['checksum'][:12]}, file "
                    f"{migration.checksum[:12]}); add a new migration instead"
                )
        for migration in migrations:
            if migration.version in already:
                continue
            try:
                with conn.transaction():
                    conn.execute(migration.sql.encode("utf-8"))
                    conn.execute(
                        "INSERT INTO schema_migration (version, name, checksum) "
                        "VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
            except psycopg.Error as exc:
                raise MigrationError(f"{migration.path.name} failed: {exc}") from exc
            done.append(migration)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return done


def _first(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _get(row: Any, key: str, index: int) -> Any:
    return row[key] if isinstance(row, dict) else row[index]


def _as_dict(row: Any) -> dict[str, Any]:
    if isinstance(row, dict):
        return dict(row)
    return dict(zip(("version", "name", "checksum", "applied_at"), row, strict=True))
