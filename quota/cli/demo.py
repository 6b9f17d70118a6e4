"""`quotawatch demo generate|load|gateway`: the demo city."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path

from quota.cli.common import add_json_flag, emit
from quota.errors import UserError
from quota.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "demo",
        help="generate and load a demo city (Beijing-like buildings, meters, readings)",
        description=(
            "A demo city that looks like Beijing's public buildings: registry, previous "
            "years' quotas and hourly readings with real-world faults, written in the import "
            "formats so it goes through the same paths as real data. See docs/demo.md."
        ),
    )
    actions = parser.add_subparsers(dest="demo_command", metavar="ACTION", required=True)

    gen = actions.add_parser(
        "generate",
        help="write a demo city's files into a folder",
        description=(
            "Write buildings.csv (GBK), meters.csv, quotas.csv (previous years), "
            "readings/YYYY-MM.csv and city.json into --out. The same options give the same "
            "bytes."
        ),
    )
    gen.add_argument("--buildings", type=int, default=60, help="number of buildings (60)")
    gen.add_argument("--years", type=int, default=2, help="previous full years of history (2)")
    gen.add_argument("--out", type=Path, required=True, help="folder to write into")
    gen.add_argument("--seed", type=int, default=2024, help="random seed (2024)")
    gen.add_argument(
        "--today",
        type=date.fromisoformat,
        help="local date the history leads up to (default: today in the quota time zone)",
    )
    gen.add_argument(
        "--lag-days",
        type=int,
        default=3,
        help="the history stops this many days before --today; the demo gateway sends the "
        "rest later (3)",
    )
    gen.add_argument("--no-mess", action="store_true", help="no planted faults")
    add_json_flag(gen)
    gen.set_defaults(func=run_generate)

    load = actions.add_parser(
        "load",
        help="load a generated city with the real commands (import, ingest, propose, evaluate)",
        description=(
            "Load a folder written by `demo generate` through the real commands: import "
            "buildings, meters and quotas, ingest the readings, propose this year's quotas "
            "(combined method) and evaluate last year and this year."
        ),
    )
    load.add_argument("folder", type=Path, help="folder written by `demo generate`")
    add_json_flag(load)
    load.set_defaults(func=run_load)

    gateway = actions.add_parser(
        "gateway",
        help="drop the demo city's next readings (and bills due on the 5th) into the inbox",
        description=(
            "Write the next window of readings (at most one day, up to the last full hour) "
            "after what was already sent into the inbox, for the scheduler to ingest."
        ),
    )
    gateway.add_argument("folder", type=Path, help="folder written by `demo generate`")
    add_json_flag(gateway)
    gateway.set_defaults(func=run_gateway)


def run_generate(args: argparse.Namespace, settings: Settings) -> int:
    from quota.demo.generator import DemoSpec, generate

    try:
        spec = DemoSpec(
            buildings=args.buildings,
            years=args.years,
            seed=args.seed,
            today=args.today or datetime.now(settings.tz).date(),
            timezone_name=settings.timezone_name,
            lag_days=args.lag_days,
            mess=not args.no_mess,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    result = generate(spec, args.out, settings.rules.get("conversion"))
    faults = ", ".join(f"{k} {v}" for k, v in result.faults.items()) or "none"
    human = (
        f"wrote a demo city of {spec.buildings} buildings into {args.out}\n"
        f"history:  {spec.first_year}-01-01 to {spec.end_date} (exclusive), "
        f"{result.readings_rows:,} readings in {len(result.readings_files)} files\n"
        f"faults:   {faults}"
    )
    emit(args, result.to_dict(), human)
    return 0


def run_load(args: argparse.Namespace, settings: Settings) -> int:
    from quota.cli.run import Steps, load_city

    if not (args.folder / "city.json").is_file():
        raise UserError(f"{args.folder}: no city.json; write one with `quotawatch demo generate`")
    steps = Steps(quiet=bool(args.json))
    report = load_city(settings, args.folder, steps)
    emit(args, report, "\n".join(steps.lines))
    return 0 if report["ok"] else 1


def run_gateway(args: argparse.Namespace, settings: Settings) -> int:
    from quota.demo.gateway import send_bills, send_next

    if not (args.folder / "city.json").is_file():
        raise UserError(f"{args.folder}: no city.json; write one with `quotawatch demo generate`")
    now = datetime.now(settings.tz)
    sent = send_next(args.folder, settings.inbox_dir, now)
    bills = send_bills(args.folder, settings.inbox_dir, now)
    bills_data = [{"sent": str(b.path), "rows": b.rows} for b in bills]
    bills_text = "".join(f"\nsent {b.rows} bills to {b.path}" for b in bills)
    if sent is None:
        emit(
            args,
            {"sent": None, "bills": bills_data},
            "up to date: nothing new to send" + bills_text,
        )
        return 0
    data = {
        "sent": str(sent.path),
        "start": sent.start,
        "end": sent.end,
        "rows": sent.rows,
        "bills": bills_data,
    }
    emit(
        args,
        data,
        f"sent {sent.rows} readings ({sent.start} to {sent.end}) to {sent.path}" + bills_text,
    )
    return 0
