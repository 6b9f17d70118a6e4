"""`quotawatch notice`, `quotawatch notices` and `quotawatch casefile`: what a regulator sends
a building owner, and what a third party needs to recompute a determination."""

from __future__ import annotations

import argparse
from pathlib import Path

from quota.cli.common import add_json_flag, emit, format_table
from quota.errors import UserError
from quota.settings import Settings

STATUS_CHOICES = [
    "no_quota",
    "out_of_scope",
    "insufficient_data",
    "within",
    "at_risk",
    "over",
    "over_20",
    "over_20_repeat",
]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    notice = sub.add_parser(
        "notice",
        help="write one building's notice of a year's determination as a PDF",
        description=(
            "Write the notice of a building for a year (one or two A4 pages, Chinese by "
            "default): the building and its managers, the quota in force (and why it was "
            "adjusted), the use, utilisation and tier, what the tier triggers under the rules, "
            "the data coverage and sources (meters, reading files with SHA-256), and the "
            "determination's id and date. Without a determination in force for the year the "
            "notice says so and states no result."
        ),
    )
    notice.add_argument("building_id", metavar="BUILDING_ID")
    notice.add_argument("--year", type=int, required=True, help="quota year")
    notice.add_argument("-o", "--output", type=Path, required=True, help="PDF file to write")
    notice.add_argument("--lang", choices=["zh", "en"], default="zh", help="language (default: zh)")
    add_json_flag(notice)
    notice.set_defaults(func=run_notice)

    many = sub.add_parser(
        "notices",
        help="write a notice for every building of a year's determination",
        description=(
            "Write one notice PDF per building of the year's determination in force into a "
            "directory (NOTICE-<building>-<year>.pdf), optionally only the buildings with "
            "one of the given statuses in some basis. Refused when the year has no "
            "determination in force."
        ),
    )
    many.add_argument("--year", type=int, required=True, help="quota year")
    many.add_argument(
        "--status",
        nargs="+",
        choices=STATUS_CHOICES,
        metavar="STATUS",
        help=f"only buildings with one of these statuses ({', '.join(STATUS_CHOICES)})",
    )
    many.add_argument("-o", "--output", type=Path, required=True, help="directory to write")
    many.add_argument("--lang", choices=["zh", "en"], default="zh", help="language (default: zh)")
    add_json_flag(many)
    many.set_defaults(func=run_notices)

    casefile = sub.add_parser(
        "casefile",
        help="write a building's case file for a year: what a third party needs to recompute it",
        description=(
            "Write a zip with the year's determination for the building, its quota versions, "
            "the daily use with its sources (reading files with SHA-256, per day and meter), "
            "the corrections, the meters, the rules and conversion factors used, and a "
            "README.md explaining each file and how to recompute the use."
        ),
    )
    casefile.add_argument("building_id", metavar="BUILDING_ID")
    casefile.add_argument("--year", type=int, required=True, help="quota year")
    casefile.add_argument("-o", "--output", type=Path, required=True, help="zip file to write")
    add_json_flag(casefile)
    casefile.set_defaults(func=run_casefile)


def notice_file_name(building_id: str, year: int) -> str:
    """File name of a building's notice in a directory (path separators replaced)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in building_id)
    return f"NOTICE-{safe}-{year}.pdf"


def run_notice(args: argparse.Namespace, settings: Settings) -> int:
    from quota import calendar
    from quota.db import connect
    from quota.record import notice_pdf, notices

    with connect(settings) as conn:
        try:
            data, summary = notices.notice_pdf(
                conn,
                args.building_id,
                args.year,
                tz=settings.tz,
                rules=settings.rules,
                lang=args.lang,
                issued=calendar.local_today(settings.tz),
            )
        except (notices.NoticeError, notice_pdf.FontMissingError) as exc:
            raise UserError(str(exc)) from exc
    _write(args.output, data)
    summary["path"] = str(args.output)
    det = summary["determination_id"]
    human = (
        f"wrote the notice of {args.building_id} for {args.year} to {args.output} "
        f"({summary['pages']} page(s), {summary['bytes']:,} bytes); "
        + (f"determination {det}" if det else "no determination in force for the year")
    )
    emit(args, summary, human)
    return 0


def run_notices(args: argparse.Namespace, settings: Settings) -> int:
    from quota import calendar
    from quota.cli.common import track
    from quota.db import connect
    from quota.record import notice_pdf, notices

    written = []
    issued = calendar.local_today(settings.tz)
    with connect(settings) as conn:
        if not notices.is_determined(conn, args.year):
            raise UserError(f"{args.year} has no determination in force (quotawatch determine)")
        ids = notices.determined_buildings(conn, args.year, args.status)
        for building_id in track(ids, "notices", len(ids)):
            try:
                data, summary = notices.notice_pdf(
                    conn,
                    building_id,
                    args.year,
                    tz=settings.tz,
                    rules=settings.rules,
                    lang=args.lang,
                    issued=issued,
                )
            except notice_pdf.FontMissingError as exc:
                raise UserError(str(exc)) from exc
            path = args.output / notice_file_name(building_id, args.year)
            _write(path, data)
            written.append({**summary, "path": str(path)})
    result = {"year": args.year, "directory": str(args.output), "notices": written}
    human = "\n".join(
        [
            format_table(written, ["building_id", "statuses", "pages", "bytes", "path"]),
            "",
            f"wrote {len(written)} notices for {args.year} to {args.output}",
        ]
    )
    emit(args, result, human)
    return 0


def run_casefile(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from quota.db import connect
    from quota.record import casefile, notices

    with connect(settings) as conn:
        try:
            data, summary = casefile.casefile_zip(
                conn, args.building_id, args.year, settings.tz, datetime.now(settings.tz)
            )
        except notices.NoticeError as exc:
            raise UserError(str(exc)) from exc
    _write(args.output, data)
    summary["path"] = str(args.output)
    det = summary["determination_id"]
    human = (
        f"wrote the case file of {args.building_id} for {args.year} to {args.output}: "
        f"{summary['days']} days, {summary['source_files']} source files, "
        f"{summary['corrections']} corrections; "
        + (f"determination {det}" if det else "no determination in force for the year")
    )
    emit(args, summary, human)
    return 0


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from exc
