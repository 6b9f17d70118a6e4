"""The `quotawatch` command line: one entry point, one subcommand module per area.

This module is the composition root: it is the only place that knows every package
(ingest, quota, dashboard). Each command module exposes ``register(subparsers)`` and sets a
handler ``func(args, settings) -> int`` on its parsers; heavy imports stay inside handlers
so that ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dashboard import cli as dashboard_cli
from ingest import cli as ingest_cli
from quota.cli import db as db_cli
from quota.cli import demo as demo_cli
from quota.cli import engine as engine_cli
from quota.cli import notices as notices_cli
from quota.cli import registry as registry_cli
from quota.cli.common import to_json
from quota.errors import UserError
from quota.settings import SettingsError, load_settings

__all__ = ["build_parser", "main"]

COMMAND_MODULES = (
    db_cli,
    registry_cli,
    ingest_cli,
    engine_cli,
    notices_cli,
    dashboard_cli,
    demo_cli,
)

DESCRIPTION = """\
QuotaWatch keeps public buildings inside their annual energy quotas.

It loads meter readings into TimescaleDB (exactly once, quarantining bad rows with a
reason), evaluates every building against its quota (use to date, year-end projection,
overrun tier, energy-use intensity, retrofit candidates) and serves a dashboard for
regulators, analysts and building managers.

Configuration comes from the environment (QUOTAWATCH_DATABASE_URL, QUOTAWATCH_HOME,
QUOTAWATCH_TIMEZONE) and an optional quotawatch.toml; see the README.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quotawatch",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="IANA time zone of the quota calendar (overrides QUOTAWATCH_TIMEZONE)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    from quota.db import DatabaseError
    from quota.db.cluster import ClusterError
    from quota.db.migrations import MigrationError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        overrides = {"timezone_name": args.timezone} if args.timezone else {}
        settings = load_settings(**overrides)
        return int(args.func(args, settings) or 0)
    except (UserError, SettingsError, DatabaseError, ClusterError, MigrationError) as exc:
        print(f"quotawatch: error: {exc}", file=sys.stderr)
        if getattr(args, "json", False):  # a script reading stdout gets JSON all the same
            print(to_json({"outcome": "error", "error": str(exc)}))
        return 2
    except KeyboardInterrupt:
        print("quotawatch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
