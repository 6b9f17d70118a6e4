"""`quotawatch db up|status|down|migrate|backup|restore`."""

from __future__ import annotations

import argparse
from pathlib import Path

from quota.cli.common import add_json_flag, emit
from quota.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "db",
        help="start, stop, inspect and migrate the database",
        description=(
            "Manage QuotaWatch's database. Without QUOTAWATCH_DATABASE_URL QuotaWatch runs its "
            "own PostgreSQL + TimescaleDB cluster under QUOTAWATCH_HOME (the embedded "
            "default); with it, these commands check and migrate that server."
        ),
    )
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for name, text in (
        (
            "up",
            "create (first time) and start the embedded cluster, then migrate; "
            "with QUOTAWATCH_DATABASE_URL only check the server and migrate",
        ),
        ("status", "say where the database is, whether it is up and what is migrated"),
        ("down", "stop the embedded cluster (idempotent)"),
        ("migrate", "apply pending sql/NNNN_*.sql migrations"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        add_json_flag(action)
        action.set_defaults(func=run)
    backup = actions.add_parser(
        "backup",
        help="write a pg_dump archive of the database (-o FILE)",
        description=(
            "Back up the database (embedded cluster or QUOTAWATCH_DATABASE_URL) with "
            "pg_dump -Fc into FILE. The running scheduler and dashboard may stay up: the "
            "archive is a consistent snapshot. The TimescaleDB version is recorded inside "
            "the archive for the restore."
        ),
    )
    backup.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    add_json_flag(backup)
    backup.set_defaults(func=run_backup)
    restore = actions.add_parser(
        "restore",
        help="restore a `db backup` archive into an empty database",
        description=(
            "Restore FILE (written by `quotawatch db backup`) into the configured database, "
            "created if missing, with TimescaleDB's pre- and post-restore steps and the "
            "extension at the archive's version. A database that holds tables is refused "
            "unless --force, which drops it first. Stop the scheduler and the dashboard "
            "before restoring."
        ),
    )
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.add_argument(
        "--force",
        action="store_true",
        help="drop the existing database (and all its data) and replace it with the backup",
    )
    add_json_flag(restore)
    restore.set_defaults(func=run_restore)


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    from quota.db import backup
    from quota.errors import UserError

    try:
        result = backup.backup(settings, args.output)
    except backup.BackupError as exc:
        raise UserError(str(exc)) from exc
    emit(
        args,
        result.to_dict(),
        f"backup written: {result.file} ({result.size_bytes:,} bytes in {result.seconds:.1f} s; "
        f"PostgreSQL {result.postgres_version}, TimescaleDB {result.timescaledb_version}, "
        f"migration {result.migration_level:04d})",
    )
    return 0


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    from quota.db import backup
    from quota.errors import UserError

    try:
        result = backup.restore(settings, args.file, force=args.force)
    except backup.BackupError as exc:
        raise UserError(str(exc)) from exc
    emit(
        args,
        result.to_dict(),
        f"restored {result.file} into {result.database} in {result.seconds:.1f} s "
        f"(TimescaleDB {result.timescaledb_version}, migration "
        f"{result.migration_level or 0:04d}"
        + ("; the previous contents were replaced" if result.replaced_existing else "")
        + "). Run `quotawatch db migrate` if this version has newer migrations.",
    )
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    from quota.db import admin as dbadmin

    if args.db_command == "migrate":
        done = dbadmin.migrate(settings)
        names = [f"{m.version:04d}_{m.name}" for m in done]
        emit(args, {"applied": names}, "applied: " + ", ".join(names) if names else "up to date")
        return 0
    handler = {"up": dbadmin.up, "down": dbadmin.down, "status": dbadmin.status}[args.db_command]
    result = handler(settings)
    lines = [
        f"database: {result.location} ({result.mode})",
        f"state:    {'up' if result.is_up else 'down'}",
    ]
    if result.port:
        lines.append(f"port:     {result.port} (127.0.0.1), socket in {result.socket_dir}")
    if result.postgres_version:
        lines.append(
            f"server:   PostgreSQL {result.postgres_version}, "
            f"TimescaleDB {result.timescaledb_version or 'not installed in this database'}"
        )
    if result.is_up and not result.error:
        lines.append(
            f"schema:   {len(result.migrations_applied)} migrations applied, "
            f"{len(result.migrations_pending)} pending"
        )
    if result.actions:
        lines.append("done:     " + "; ".join(result.actions))
    if result.error:
        lines.append(f"note:     {result.error}")
    emit(args, result.to_dict(), "\n".join(lines))
    if args.db_command == "up" and not result.is_up:
        return 1
    return 0
