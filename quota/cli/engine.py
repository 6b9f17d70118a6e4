"""`quotawatch evaluate`, `quotawatch quota propose|adjust|history`, `quotawatch export
retrofit|compliance`, `quotawatch determine`, `quotawatch determinations`, `quotawatch audit`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from quota.cli.common import Progress, add_json_flag, emit, format_table
from quota.errors import UserError
from quota.settings import Settings

TABLE_COLUMNS = [
    "building_id",
    "basis",
    "status",
    "utilization",
    "projected",
    "limit_value",
    "completeness",
    "expected_share",
    "eui_kwh_per_m2",
]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


BASIS_CHOICES = ["electricity_kwh", "energy_kgce"]


def add_by_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by",
        metavar="NAME",
        help=(
            "the dashboard user taking this decision (their role is checked; default: the "
            "operating-system user as cli:NAME)"
        ),
    )


def _actor(conn: Any, args: argparse.Namespace, action: str) -> tuple[str, str | None]:
    """(actor, role) of a command taking ``action``: the --by user (who must exist), else
    the operator."""
    from quota.errors import UserError
    from quota.record import audit, roles

    if args.by:
        role = roles.role_of(conn, args.by)
        if role is None:
            raise UserError(f"--by {args.by}: no such dashboard user")
        return args.by, role
    return audit.operator_name(), roles.OPERATOR_ROLE


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    evaluate = sub.add_parser(
        "evaluate",
        help="evaluate every building against its quota and store the result",
        description=(
            "Evaluate every building for a quota year as of a local date: use to date, "
            "expected share, year-end projection, completeness, status (no_quota, "
            "out_of_scope, insufficient_data, within, at_risk, over, over_20, "
            "over_20_repeat), EUI and CO2. Each run is stored with the time it was computed "
            "(history is kept). Reads only the daily rollups, the registry and the quotas."
        ),
    )
    evaluate.add_argument("--year", type=int, help="quota year (default: the current local year)")
    evaluate.add_argument(
        "--as-of",
        type=_date,
        metavar="DATE",
        help="local date to evaluate through (default: today, clamped to the year)",
    )
    evaluate.add_argument(
        "--no-store", action="store_true", help="compute and print without storing a run"
    )
    add_json_flag(evaluate)
    evaluate.set_defaults(func=run_evaluate)

    quota_parser = sub.add_parser(
        "quota",
        help="quota proposals, adjustments and version history",
        description=(
            "Propose quotas for a regulator to review, adjust a quota (a new version, with a "
            "reason), or list a quota's versions."
        ),
    )
    quota_actions = quota_parser.add_subparsers(
        dest="quota_command", metavar="ACTION", required=True
    )
    propose = quota_actions.add_parser(
        "propose",
        help="write proposed quotas as a CSV in the import format, with explanations",
        description=(
            "Propose quotas for a year from history (mean of up to 5 previous complete years "
            "x (1 - reduction rate)), benchmark (floor area x same-type citywide intensity of "
            "the previous year) or combined (the smaller of the two, default). The most "
            "efficient 5 %% of a type are exempt from the reduction, the least efficient 5 %% "
            "get a larger one. Proposals are stored with source 'proposed'; imported quotas "
            "always win, and buildings with an imported quota are left out of the file."
        ),
    )
    propose.add_argument("--year", type=int, required=True, help="quota year to propose for")
    propose.add_argument("-o", "--output", type=Path, required=True, help="CSV file to write")
    propose.add_argument(
        "--method",
        choices=["history", "benchmark", "combined"],
        help="proposal method (default: rules [proposal] method, combined)",
    )
    propose.add_argument(
        "--basis",
        choices=["electricity_kwh", "energy_kgce", "both"],
        default="both",
        help="quota basis to propose (default: both)",
    )
    propose.add_argument(
        "--no-store",
        action="store_true",
        help="write the file only, do not store proposals in the database",
    )
    add_by_flag(propose)
    add_json_flag(propose)
    propose.set_defaults(func=run_propose)

    adjust = quota_actions.add_parser(
        "adjust",
        help="adjust a building's quota for a year (a new version in force, with a reason)",
        description=(
            "Add an 'adjusted' version of a building's quota for a year and basis; it becomes "
            "the version in force. Earlier versions are kept (see `quota history`). Only a "
            "regulator may adjust: with --by NAME, NAME must be a dashboard user with the "
            "regulator role; without it the actor is the operating-system user (cli:NAME). "
            "The change is written to the audit log."
        ),
    )
    adjust.add_argument("building_id", metavar="BUILDING_ID")
    adjust.add_argument("--year", type=int, required=True, help="quota year")
    adjust.add_argument("--basis", choices=BASIS_CHOICES, required=True, help="quota basis")
    limit_value = adjust.add_mutually_exclusive_group(required=True)
    limit_value.add_argument(
        "--limit-value",
        dest="limit_value",
        type=float,
        metavar="LIMIT_VALUE",
        help="new annual limit in the basis's unit (kWh or kgce)",
    )
    # The older spelling, kept so that existing scripts keep working.
    limit_value.add_argument("--limit", dest="limit_value", type=float, help=argparse.SUPPRESS)
    adjust.add_argument("--reason", required=True, help="why (required, kept in the audit log)")
    add_by_flag(adjust)
    add_json_flag(adjust)
    adjust.set_defaults(func=run_adjust)

    history = quota_actions.add_parser(
        "history",
        help="a building's quota versions for a year, oldest first (the last is in force)",
        description=(
            "List every version of a building's quota for a year: limit_value, source (imported, "
            "proposed, adjusted), reason, by, at, and for imports the file name and its "
            "SHA-256 checksum. Oldest first; the last version of a basis is the one in force."
        ),
    )
    history.add_argument("building_id", metavar="BUILDING_ID")
    history.add_argument("--year", type=int, required=True, help="quota year")
    history.add_argument("--basis", choices=BASIS_CHOICES, help="one basis (default: both)")
    add_json_flag(history)
    history.set_defaults(func=run_history)

    determine = sub.add_parser(
        "determine",
        help="determine a year: evaluate it through 31 December and freeze the result",
        description=(
            "Evaluate every building for a year through 31 December and store the result as "
            "the year's determination: rules and factors used, and per building and basis "
            "the status, utilisation, use, completeness and the quota version in force. One "
            "determination is in force per year: a second one is refused unless --supersede "
            "--reason TEXT is given, which makes a new determination and marks the old one "
            "superseded. Only a regulator may determine (see `quota adjust` for --by)."
        ),
    )
    determine.add_argument("--year", type=int, required=True, help="the year to determine")
    determine.add_argument(
        "--supersede",
        action="store_true",
        help="replace the determination in force for the year (needs --reason)",
    )
    determine.add_argument("--reason", help="why (required with --supersede)")
    add_by_flag(determine)
    add_json_flag(determine)
    determine.set_defaults(func=run_determine)

    listing = sub.add_parser(
        "determinations",
        help="list the determinations of a year (in force and superseded)",
        description=(
            "List determinations, oldest first: determination_id, at, by, reason and "
            "superseded_by (null for the one in force)."
        ),
    )
    listing.add_argument("--year", type=int, help="one year (default: every year)")
    add_json_flag(listing)
    listing.set_defaults(func=run_determinations)

    audit_parser = sub.add_parser(
        "audit",
        help="the audit log: quota versions, registry changes, determinations, corrections, users",
        description=(
            "Print the audit log, oldest first: at, actor, action, building, reason, and the "
            "values before and after. The log is append-only in the database."
        ),
    )
    audit_parser.add_argument("--building", metavar="ID", help="only entries of this building")
    audit_parser.add_argument(
        "--since", type=_date, metavar="DATE", help="only entries from this local date on"
    )
    add_json_flag(audit_parser)
    audit_parser.set_defaults(func=run_audit)

    export = sub.add_parser("export", help="export retrofit candidates or compliance tables")
    export_actions = export.add_subparsers(dest="export_command", metavar="WHAT", required=True)
    for name, text in (
        ("retrofit", "retrofit candidates ranked by savings potential, with trigger columns"),
        ("compliance", "every building's status against its quota (latest evaluation)"),
    ):
        action = export_actions.add_parser(
            name,
            help=text,
            description=text
            + (
                ". Uses the latest stored evaluation of the year (computes one, unstored, if "
                "there is none). CSV is UTF-8 with BOM; XLSX has units in the headers, number "
                "formats, a frozen and filterable header row. Every row names its evaluation "
                "(as-of date and id)."
            ),
        )
        action.add_argument("--year", type=int, required=True, help="quota year")
        action.add_argument("--format", choices=["csv", "xlsx"], help="default: from -o suffix")
        action.add_argument("-o", "--output", type=Path, required=True, help="file to write")
        action.add_argument(
            "--lang",
            choices=["zh", "en"],
            default="en",
            help="language of the headers and of statuses, types and yes/no (default en)",
        )
        add_json_flag(action)
        action.set_defaults(func=run_export)


def run_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from quota import calendar
    from quota.db import connect
    from quota.evaluation import run_evaluation
    from quota.rules import RulesError

    year = args.year or calendar.local_today(settings.tz).year
    with Progress(f"evaluating {year}") as progress, connect(settings) as conn:
        progress.update(0, "loading rollups")
        try:
            outcome = run_evaluation(conn, settings, year, args.as_of, save=not args.no_store)
        except (calendar.CalendarError, RulesError) as exc:
            raise UserError(str(exc)) from exc
        conn.commit()
    rows = outcome.results.to_dict(orient="records")
    counts = outcome.status_counts()
    human = "\n".join(
        [
            format_table(rows, TABLE_COLUMNS),
            "",
            f"year {year}, as of {outcome.as_of}: {len(rows)} rows for "
            f"{outcome.results['building_id'].nunique()} buildings; "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
            (
                f"stored as evaluation {outcome.evaluation_id}"
                if outcome.evaluation_id
                else "not stored (--no-store)"
            ),
            *(f"note: {label}" for label in outcome.unverified),
        ]
    )
    emit(args, outcome.to_dict(), human)
    return 0


def run_propose(args: argparse.Namespace, settings: Settings) -> int:
    from quota.db import connect
    from quota.proposal_job import propose_quotas
    from quota.record import audit, roles
    from quota.rules import RulesError

    with connect(settings) as conn:
        actor, role = _actor(conn, args, roles.PROPOSE)
        try:
            roles.require(role, roles.PROPOSE, actor)
        except roles.NotAllowedError as exc:
            raise UserError(str(exc)) from exc
        audit.act_as(conn, actor)
        try:
            summary = propose_quotas(
                conn,
                settings,
                args.year,
                args.output,
                method=args.method,
                basis=args.basis,
                save=not args.no_store,
            )
        except (RulesError, ValueError) as exc:
            raise UserError(str(exc)) from exc
        conn.commit()
    human = (
        f"wrote {summary['rows_written']} proposals for {args.year} to {args.output} "
        f"(method {summary['method']}); {summary['skipped_imported']} left out because an "
        f"imported quota is in force; {summary['no_basis']} buildings without history or "
        f"benchmark"
    )
    emit(args, summary, human)
    return 0


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from quota import exports
    from quota.db import connect
    from quota.rules import RulesError

    fmt = args.format or args.output.suffix.lstrip(".").lower()
    if fmt not in ("csv", "xlsx"):
        raise UserError("choose --format csv or xlsx (or name the file *.csv / *.xlsx)")
    with connect(settings) as conn:
        try:
            table = (
                exports.retrofit_table(conn, settings, args.year)
                if args.export_command == "retrofit"
                else exports.compliance_table(conn, settings, args.year)
            )
        except (RulesError, ValueError) as exc:
            raise UserError(str(exc)) from exc
    exports.write_table(table, args.output, fmt, args.lang)
    summary = {
        "what": args.export_command,
        "year": args.year,
        "format": fmt,
        "path": str(args.output),
        "rows": len(table.rows),
        "evaluation_id": table.evaluation_id,
    }
    emit(args, summary, f"wrote {len(table.rows)} rows to {args.output} ({fmt})")
    return 0


def run_adjust(args: argparse.Namespace, settings: Settings) -> int:
    from quota.db import connect
    from quota.errors import UserError
    from quota.record import quota_versions, roles

    with connect(settings) as conn:
        actor, role = _actor(conn, args, roles.ADJUST)
        try:
            version = quota_versions.adjust(
                conn,
                args.building_id,
                args.year,
                args.basis,
                args.limit_value,
                args.reason,
                actor=actor,
                role=role,
            )
        except (roles.NotAllowedError, quota_versions.VersionError) as exc:
            raise UserError(str(exc)) from exc
        conn.commit()
    human = (
        f"{args.building_id} {args.year} {args.basis}: "
        f"limit_value {version['limit_value']:,.0f} in force "
        f"(version {version['version_id']}, adjusted by {actor})"
    )
    emit(args, version, human)
    return 0


def run_history(args: argparse.Namespace, settings: Settings) -> int:
    from quota.db import connect
    from quota.record import quota_versions

    with connect(settings) as conn:
        versions = quota_versions.history(conn, args.building_id, args.year, args.basis)
    human = format_table(
        versions, ["basis", "version_id", "limit_value", "source", "by", "at", "reason"]
    )
    emit(args, {"versions": versions}, human)
    return 0


def run_determine(args: argparse.Namespace, settings: Settings) -> int:
    from quota.db import connect
    from quota.errors import UserError
    from quota.record import determinations, roles
    from quota.rules import RulesError

    with connect(settings) as conn:
        actor, role = _actor(conn, args, roles.DETERMINE)
        try:
            outcome = determinations.determine(
                conn,
                settings,
                args.year,
                actor=actor,
                role=role,
                supersede=args.supersede,
                reason=args.reason,
            )
        except (roles.NotAllowedError, determinations.DeterminationError, RulesError) as exc:
            raise UserError(str(exc)) from exc
        conn.commit()
    data = outcome.to_dict()
    rows = data["buildings"]
    human = "\n".join(
        [
            format_table(rows, TABLE_COLUMNS),
            "",
            f"determination {data['determination_id']} of {args.year} by {actor}: "
            f"{len({r['building_id'] for r in rows})} buildings"
            + (f"; supersedes {data['supersedes']}" if data.get("supersedes") else ""),
        ]
    )
    emit(args, data, human)
    return 0


def run_determinations(args: argparse.Namespace, settings: Settings) -> int:
    from quota.db import connect
    from quota.record import determinations

    with connect(settings) as conn:
        found = determinations.listing(conn, args.year)
    human = format_table(
        found,
        ["determination_id", "year", "at", "by", "reason", "superseded_by", "building_count"],
    )
    emit(args, {"determinations": found}, human)
    return 0


def run_audit(args: argparse.Namespace, settings: Settings) -> int:
    from quota.db import connect
    from quota.record import audit

    since = audit.since_start(args.since, settings.tz) if args.since else None
    with connect(settings) as conn:
        found = audit.entries(conn, building_id=args.building, since=since)
    human = format_table(
        [{**e, "change": audit.describe_change(e["before"], e["after"])} for e in found],
        ["at", "actor", "action", "building_id", "reason", "change"],
    )
    emit(args, {"entries": found}, human)
    return 0
