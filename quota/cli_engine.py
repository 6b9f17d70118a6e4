"""`quotawatch evaluate`, `quotawatch quota propose`, `quotawatch export retrofit|compliance`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from quota.cli_common import Progress, add_json_flag, emit, format_table
from quota.settings import Settings

TABLE_COLUMNS = [
    "building_id",
    "basis",
    "status",
    "utilization",
    "projected",
    "quota",
    "completeness",
    "expected_share",
    "eui_kwh_per_m2",
]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


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
        "quota", help="quota proposals", description="Propose quotas for a regulator to review."
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
    add_json_flag(propose)
    propose.set_defaults(func=run_propose)

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
    from quota.cli import UserError
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
    from quota.cli import UserError
    from quota.db import connect
    from quota.proposal_job import propose_quotas
    from quota.rules import RulesError

    with connect(settings) as conn:
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
    from quota.cli import UserError
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
