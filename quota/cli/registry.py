"""`quotawatch import buildings|meters|quotas FILE...`: load the building registry."""

from __future__ import annotations

import argparse
from pathlib import Path

from quota.cli.common import add_json_flag, emit
from quota.errors import UserError
from quota.settings import Settings

HELP = {
    "buildings": (
        "building_id,name,district,building_type,floor_area_m2[,public_use_share,"
        "commissioned_year,latitude,longitude,operating_hours_per_year,area_per_person_m2]"
    ),
    "meters": (
        "meter_id,building_id,energy_type,unit[,reading_kind,multiplier,register_max,"
        "interval_minutes,register_digits,max_power_kw] (register_max: the largest value a "
        "cumulative register shows, 99999 for five digits; or register_digits 5)"
    ),
    "quotas": (
        "building_id,year,basis,limit_value (limit_value: the year's quota limit in the basis's "
        "unit, kWh or kgce; the older header limit is accepted too)"
    ),
    "accounts": "account_id,building_id,energy_type,unit[,share,utility,account_name]",
}


NOTES = {
    "accounts": (
        ". One row per utility account and building it serves; share is 0-1 or 60% "
        "(default 1) and the shares of one account must add up to 1. An account named in "
        "the file is replaced whole, and its bills are spread again with the new shares."
    ),
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "import",
        help="import the building registry: buildings, meters, quotas, accounts (CSV)",
        description=(
            "Import registry CSV files (header row required; UTF-8 with or without BOM, or "
            "GB18030/GBK; comma or semicolon). Re-importing updates buildings and meters in "
            "place (floor area, type and public-use share keep their history, from the "
            "optional effective_from column); a quotas file adds a quota version where a "
            "limit_value changed, with the file's name and checksum. A file "
            "with any invalid row is not applied at all: every invalid row is reported with "
            "its line number and reason. Exit status: 0 applied, 1 invalid rows (nothing "
            "applied), 2 a file cannot be used at all."
        ),
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, columns in HELP.items():
        action = kinds.add_parser(
            kind,
            help=f"import {kind}",
            description=f"Import {kind}. Columns: {columns}" + NOTES.get(kind, ""),
        )
        action.add_argument("files", nargs="+", type=Path, metavar="FILE")
        action.add_argument("--dry-run", action="store_true", help="check the files, apply nothing")
        add_json_flag(action)
        action.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from quota import db
    from quota.record import audit
    from quota.registry.store import import_file
    from quota.registry.textfiles import FileFormatError

    results = []
    status = 0
    with db.connect(settings) as conn:
        for path in args.files:
            if not path.is_file():
                raise UserError(f"{path}: no such file")
            try:
                with conn.transaction():
                    audit.act_as(conn, audit.operator_name())
                    result = import_file(conn, args.kind, path)
                    if args.dry_run and result.applied:
                        raise _DryRunRollbackError(result)
                    if result.changed_groups:
                        # Shares changed: the bills' building-days are spread again.
                        from ingest.bills_rollups import after_accounts_change

                        after_accounts_change(conn, settings.tz, result.changed_groups)
            except _DryRunRollbackError as dry:
                result = dry.result
            except FileFormatError as exc:
                if args.json:
                    results.append(
                        {"file": str(path), "kind": args.kind, "applied": False, "error": str(exc)}
                    )
                    status = 2
                    continue
                raise UserError(f"{path}: {exc}") from exc
            results.append(result.to_dict() | {"dry_run": bool(args.dry_run)})
            if not result.applied:
                status = max(status, 1)
    lines = []
    for item in results:
        if item.get("error"):
            lines.append(f"{item['file']}: cannot be used: {item['error']}")
        elif item["applied"]:
            verb = "would apply" if item.get("dry_run") else "applied"
            lines.append(
                f"{item['file']}: {verb} {item['rows_read']} {args.kind} "
                f"({item['rows_inserted']} new, {item['rows_updated']} updated)"
            )
        else:
            lines.append(f"{item['file']}: NOT applied, {item['rows_invalid']} invalid row(s):")
            lines.extend(
                f"  line {e['line']}: {e['reason']}: {e['message']}" for e in item["errors"]
            )
    emit(args, {"files": results}, "\n".join(lines))
    return status


class _DryRunRollbackError(Exception):
    """Raised inside the transaction to roll a dry run back."""

    def __init__(self, result: object):
        super().__init__("dry run")
        self.result = result
