"""`quotawatch ingest`, `quotawatch rollups rebuild` and `quotawatch scheduler`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from quota.cli.common import add_json_flag, emit, format_table
from quota.errors import UserError
from quota.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ingest = sub.add_parser(
        "ingest",
        help="load meter reading or bill files (exactly once; bad rows quarantined with a reason)",
        description=(
            "Load reading files (.csv or .csv.gz; folders give their files) in the long format "
            "meter_id,timestamp,value[,unit], or utility bill files "
            "account_id,period_start,period_end,value[,unit,estimated] (told apart by their "
            "header; bills are spread over the days of their period into the daily rollups). "
            "Each file is loaded in one transaction: an "
            "identical file already loaded is skipped, rows already stored count as "
            "duplicates, rejected rows go to the quarantine with their reason, and the daily "
            "rollups are updated. A file that cannot be read at all is rejected with the "
            "reason and the other files still load. Exit status 1 when a file could not be "
            "used at all or failed."
        ),
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument(
        "--corrections",
        action="store_true",
        help="the files are deliberate corrections: replace stored values (previous ones "
        "are kept in the audit tables reading_correction and bill_correction)",
    )
    add_json_flag(ingest)
    ingest.set_defaults(func=run_ingest)

    rollups = sub.add_parser(
        "rollups",
        help="rebuild the daily rollups from the stored readings",
        description="Recompute meter_daily and building_daily from readings.",
    )
    actions = rollups.add_subparsers(dest="rollups_command", metavar="ACTION", required=True)
    rebuild = actions.add_parser(
        "rebuild",
        help="recompute the rollups of a range of local days (default: all readings)",
        description="Recompute meter_daily and building_daily for local days FROM..TO "
        "(inclusive, in the quota time zone); without options, the whole span of readings.",
    )
    rebuild.add_argument("--from", dest="day_from", type=date.fromisoformat, metavar="DATE")
    rebuild.add_argument("--to", dest="day_to", type=date.fromisoformat, metavar="DATE")
    add_json_flag(rebuild)
    rebuild.set_defaults(func=run_rollups)

    scheduler = sub.add_parser(
        "scheduler",
        help="run the scheduled jobs (inbox loading, nightly evaluation) in this process",
        description=(
            "Run QuotaWatch's job scheduler: every N minutes load the new files of the inbox "
            "(moved to archive/ when loaded, to rejected/ with the reason beside them when "
            "unusable or failing; files modified in the last inbox_settle_seconds, or named "
            "*.part, *.tmp or .*, are left for a later run), and each night run the "
            "quota evaluation. Only one scheduler runs jobs at a time (database advisory "
            "lock); a second one exits with status 3, or waits with --standby. After a lost "
            "connection or a database restart it reconnects with back-off and takes the lock "
            "again; if another scheduler took it meanwhile it exits with status 3. SIGTERM or "
            "Ctrl-C stops it cleanly."
        ),
    )
    scheduler.add_argument(
        "--once", action="store_true", help="run the inbox job once now and exit"
    )
    scheduler.add_argument(
        "--inbox-interval-minutes",
        type=float,
        metavar="N",
        help="minutes between inbox runs (default from settings: inbox_interval_minutes)",
    )
    scheduler.add_argument(
        "--standby",
        action="store_true",
        help="when another scheduler holds the lock, wait and take over when it stops "
        "(default: exit with status 3)",
    )
    add_json_flag(scheduler)
    scheduler.set_defaults(func=run_scheduler)


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.files import Digests, find_reading_files
    from quota.cli.common import Progress

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UserError(f"no such file or folder: {', '.join(missing)}")
    # The files' digests are computed while the loader's libraries are imported.
    digests = Digests(find_reading_files(args.paths))
    from ingest.loader import ingest_paths

    total = sum(
        f.stat().st_size
        for p in args.paths
        for f in ([p] if p.is_file() else [x for x in p.iterdir() if x.is_file()])
    )
    import psycopg

    with Progress("ingest (bytes)", total=total or None) as progress:
        try:
            summary = ingest_paths(
                settings,
                args.paths,
                trigger="cli",
                corrections=args.corrections,
                progress=progress,
                digests=digests,
            )
        except psycopg.Error as exc:  # the database went away: no file's fault
            raise UserError(f"database error during the load (nothing half-stored): {exc}") from exc
    data = summary.to_dict()
    rows = [
        {
            "file": f["file"],
            "status": f["status"],
            "read": f["rows_read"],
            "loaded": f["rows_loaded"],
            "duplicate": f["rows_duplicate"],
            "quarantined": f["rows_quarantined"],
            "note": f["error"] or "",
        }
        for f in data["files"]
    ]
    lines = [
        format_table(
            rows, ["file", "status", "read", "loaded", "duplicate", "quarantined", "note"]
        ),
        "",
        f"rows read {data['rows_read']:,}: loaded {data['rows_loaded']:,}, duplicate "
        f"{data['rows_duplicate']:,}, quarantined {data['rows_quarantined']:,}",
    ]
    if data["quarantine_by_reason"]:
        lines.append(
            "quarantined by reason: "
            + ", ".join(f"{k} {v:,}" for k, v in data["quarantine_by_reason"].items())
        )
    emit(args, data, "\n".join(lines))
    return 1 if any(f["status"] in ("rejected", "failed") for f in data["files"]) else 0


def run_rollups(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.rollups import rebuild
    from quota.db import transaction

    if args.day_from and args.day_to and args.day_from > args.day_to:
        raise UserError("--from must not be after --to")
    with transaction(settings) as conn:
        result = rebuild(conn, settings.tz, args.day_from, args.day_to)
    emit(
        args,
        result,
        f"rollups rebuilt for {result['meters']} meters, local days "
        f"{result['day_from']}..{result['day_to']}: {result['meter_daily_rows']:,} meter-days",
    )
    return 0


def run_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from ingest import jobs, scheduler

    if args.inbox_interval_minutes:
        settings = dataclasses.replace(settings, inbox_interval_minutes=args.inbox_interval_minutes)
    if args.once:
        counts = jobs.run_inbox_job(settings)
        emit(args, counts, "inbox: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        return 0
    return scheduler.run(settings, standby=args.standby)
