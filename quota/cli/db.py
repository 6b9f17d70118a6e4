"""`quotawatch db up|status|down|migrate`."""

from __future__ import annotations

import argparse

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
