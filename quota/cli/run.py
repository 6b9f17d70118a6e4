"""`make run`: QuotaWatch doing its real job on the embedded default, with a living demo city.

``python -m quota.cli.run`` (what ``make run`` executes after ``make setup``):

1. starts the database (``quotawatch db up``: the embedded cluster, or the server of
   ``QUOTAWATCH_DATABASE_URL``) and migrates it;
2. when the database holds no building yet, generates the demo city (``quota.demo.generator``) under
   ``QUOTAWATCH_HOME/demo`` and loads it through the real commands: ``import buildings``,
   ``import meters``, ``import quotas``, ``ingest``, ``quota propose --method combined`` for
   this year, ``evaluate`` last year and this year; a second run reuses the data;
3. creates one demo user per role (``quotawatch users add``) if they do not exist;
4. runs the scheduler (``quotawatch scheduler``) and the dashboard (``quotawatch serve``) as
   supervised child processes, prints the URL and the demo logins, and every few minutes
   drops the demo city's next readings into the inbox (:mod:`quota.demo.gateway`) so the
   scheduler ingests them and the dashboard's figures move. Ctrl-C or SIGTERM stops both
   children cleanly; a child that dies is started again with back-off
   (:mod:`quota.cli.supervisor`).

Every step is a real ``quotawatch`` command run as a subprocess; a command that is not part
of this checkout yet is skipped with a clear message, so the demo works as the parts land.
``--once`` stops after step 3 (used by the tests).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from quota.settings import PROJECT_ROOT, Settings, load_settings

DEMO_USERS = (
    (
        "regulator",
        "regulator",
        "demo-regulator",
        "every building; adjusts quotas, determines years, decides appeals",
    ),
    ("analyst", "analyst", "demo-analyst", "every building, plus exports"),
    ("manager", "manager", "demo-manager", "only the buildings assigned; notices and appeals"),
)
STOP_TIMEOUT_S = 15.0


@dataclass
class Steps:
    """Progress lines of a run: printed as they happen (unless ``quiet``) and kept."""

    quiet: bool = False
    lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(text)
        if not self.quiet:
            print(f"[run] {text}", flush=True)


def quotawatch(
    *args: str, input_text: str | None = None, show_progress: bool = False
) -> tuple[int, Any, str]:
    """Run `quotawatch ARGS` (with ``--json`` added by the caller); returns
    (exit status, parsed JSON or None, error text). ``show_progress`` lets the command's
    progress bar through to the terminal."""
    proc = subprocess.run(
        [sys.executable, "-m", "quota.cli", *args],
        cwd=PROJECT_ROOT,
        input=input_text,
        stdout=subprocess.PIPE,
        stderr=None if show_progress else subprocess.PIPE,
        text=True,
        check=False,
    )
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else None
    except json.JSONDecodeError:
        data = None
    return proc.returncode, data, (proc.stderr or "").strip() or proc.stdout.strip()


def _step(steps: Steps, report: list[dict[str, Any]], name: str, *args: str, **kwargs: Any) -> Any:
    started = time.monotonic()
    code, data, error = quotawatch(*args, **kwargs)
    seconds = time.monotonic() - started
    status = "done" if code == 0 else "failed"
    report.append({"step": name, "status": status, "seconds": round(seconds, 1), "result": data})
    if code != 0:
        steps.say(f"{name}: FAILED (exit {code}): {_failure(data, error)}")
        return None
    steps.say(f"{name}: done in {seconds:.1f} s{_summary(data)}")
    return data


def _failure(data: Any, error: str) -> str:
    """The reason a command failed: its JSON's file errors when it printed any, else the
    last line of its error output."""
    if isinstance(data, dict):
        errors = [
            f"{Path(str(f.get('file') or f.get('path') or '')).name}: {f['error']}"
            for f in data.get("files") or []
            if isinstance(f, dict) and f.get("error")
        ]
        if errors:
            return "; ".join(errors[:3]) + (
                f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            )
        if data.get("error"):
            return str(data["error"]).splitlines()[0]
    return error.splitlines()[-1] if error else ""


def _summary(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    if "files" in data and isinstance(data["files"], list) and data["files"]:
        first = data["files"][0]
        if isinstance(first, dict) and "rows_read" in first and "rows_inserted" in first:
            return f" ({first['rows_read']} rows, {first.get('encoding', '')})"
    if "rows_loaded" in data:
        reasons = data.get("quarantine_by_reason") or {}
        return (
            f" ({data['rows_read']:,} rows read, {data['rows_loaded']:,} loaded, "
            f"{data['rows_duplicate']:,} duplicates, {data['rows_quarantined']:,} quarantined"
            + "".join(
                (": " if i == 0 else ", ") + f"{k} {v}"
                for i, (k, v) in enumerate(sorted(reasons.items()))
            )
            + ")"
        )
    if "rows_written" in data:
        return f" ({data['rows_written']} quotas proposed)"
    if "buildings" in data and isinstance(data["buildings"], list):
        counts: dict[str, int] = {}
        for row in data["buildings"]:
            if row.get("basis") == "electricity_kwh":
                counts[row["status"]] = counts.get(row["status"], 0) + 1
        return " (electricity: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")"
    return ""


LOADED_MARKER = "loaded.json"


def load_city(settings: Settings, folder: Path, steps: Steps) -> dict[str, Any]:
    """Load a generated demo city through the real commands; returns a report.

    The registry imports and the ingest must succeed, else the load stops there (``ok`` is
    false; running it again resumes: imports upsert, ingest skips files already loaded). A
    failing proposal or evaluation is reported but does not stop the demo. On success a
    ``loaded.json`` marker is written into ``folder``.
    """
    from quota.demo.generator import spec_from_manifest

    spec = spec_from_manifest(folder / "city.json")
    year = spec.current_year
    report: list[dict[str, Any]] = []

    def failed() -> bool:
        return any(r["status"] == "failed" for r in report)

    for kind in ("buildings", "meters", "quotas"):
        if not failed():
            _step(
                steps,
                report,
                f"import {kind}",
                "import",
                kind,
                str(folder / f"{kind}.csv"),
                "--json",
            )
    if not failed():
        _step(
            steps,
            report,
            "ingest readings",
            "ingest",
            str(folder / "readings"),
            "--json",
            show_progress=not steps.quiet,
        )
    if not failed() and (folder / "accounts.csv").is_file():
        _step(
            steps,
            report,
            "import accounts",
            "import",
            "accounts",
            str(folder / "accounts.csv"),
            "--json",
        )
    if not failed() and (folder / "bills").is_dir():
        _step(steps, report, "ingest bills", "ingest", str(folder / "bills"), "--json")
    if failed():
        steps.say("the demo load stopped; run it again to resume (loaded files are skipped)")
        return {"ok": False, "folder": str(folder), "steps": report}
    _step(
        steps,
        report,
        f"propose {year} quotas (combined)",
        "quota",
        "propose",
        "--year",
        str(year),
        "--method",
        "combined",
        "-o",
        str(folder / f"quotas_{year}_proposed.csv"),
        "--json",
    )
    for evaluated in (year - 1, year):
        _step(
            steps, report, f"evaluate {evaluated}", "evaluate", "--year", str(evaluated), "--json"
        )
    (folder / LOADED_MARKER).write_text(
        json.dumps({"loaded_at": datetime.now(settings.tz).isoformat()}) + "\n", "utf-8"
    )
    return {"ok": not failed(), "folder": str(folder), "steps": report}


def building_count(settings: Settings) -> int:
    from quota.db import connect

    with connect(settings) as conn:
        row = conn.execute("SELECT count(*) AS n FROM building").fetchone()
    return int(row["n"]) if row else 0


MANAGER_BUILDINGS_SQL = """
SELECT DISTINCT ON (r.status) r.building_id
  FROM evaluation_result r
  JOIN evaluation_run e USING (evaluation_id)
 WHERE e.evaluation_id = (SELECT max(evaluation_id) FROM evaluation_run WHERE year = %(year)s)
   AND r.basis = 'electricity_kwh'
   AND r.status IN ('over_20_repeat', 'over', 'within', 'at_risk', 'over_20')
 ORDER BY r.status, r.building_id
"""


def manager_buildings(settings: Settings, year: int, count: int = 3) -> list[str]:
    """Buildings for the demo manager: one per interesting status when evaluated, else the
    first buildings of the registry."""
    from quota.db import connect

    with connect(settings) as conn:
        chosen = [r["building_id"] for r in conn.execute(MANAGER_BUILDINGS_SQL, {"year": year})]
        if len(chosen) < count:
            more = conn.execute(
                "SELECT building_id FROM building ORDER BY building_id LIMIT %(n)s",
                {"n": count},
            ).fetchall()
            chosen += [r["building_id"] for r in more if r["building_id"] not in chosen]
    return sorted(chosen[:count])


def ensure_users(settings: Settings, steps: Steps) -> list[dict[str, Any]]:
    """Create the demo users that do not exist yet; returns their logins."""
    code, data, error = quotawatch("users", "list", "--json")
    existing = {u["username"]: u for u in data or []} if code == 0 else {}
    logins = []
    year = datetime.now(settings.tz).year
    for username, role, password, scope in DEMO_USERS:
        if username in existing:
            buildings = list(existing[username].get("building_ids") or [])
        else:
            buildings = manager_buildings(settings, year) if role == "manager" else []
            extra = [a for b in buildings for a in ("--building", b)]
            code, _, error = quotawatch(
                "users",
                "add",
                username,
                "--role",
                role,
                *extra,
                "--password-stdin",
                "--json",
                input_text=password + "\n",
            )
            if code != 0:
                steps.say(f"demo user {username}: FAILED: {error}")
                continue
            steps.say(f"demo user {username} ({role}) created")
        logins.append(
            {
                "username": username,
                "password": password,
                "role": role,
                "scope": scope,
                "buildings": buildings,
            }
        )
    return logins


def _wait_for_port(host: str, port: int, timeout_s: float, child: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.5)
    return False


class _StopRequestedError(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequestedError(signum)


def supervise(
    settings: Settings, args: argparse.Namespace, demo_dir: Path, logins: list[dict[str, Any]]
) -> int:
    """Run scheduler and dashboard as children until Ctrl-C/SIGTERM; a child that dies is
    started again with back-off (:mod:`quota.cli.supervisor`)."""
    from quota.cli.supervisor import Supervisor
    from quota.demo.gateway import send_next

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    base = [sys.executable, "-m", "quota.cli"]
    wanted = {
        "scheduler": [*base, "scheduler", "--inbox-interval-minutes", str(args.inbox_minutes)],
        "dashboard": [*base, "serve", "--host", args.host, "--port", str(args.port)],
    }
    gateway_on = (demo_dir / "city.json").is_file() and not args.no_gateway
    # A session of its own: Ctrl-C reaches only this supervisor, which then stops the
    # children in order.
    supervisor = Supervisor(
        say=lambda text: print(f"[run] {text}", flush=True),
        popen_kwargs={
            "cwd": PROJECT_ROOT,
            "start_new_session": True,
            "preexec_fn": _die_with_parent,
        },
        next_argv=_argv_after_exit,
    )
    try:
        for name, cmd in wanted.items():
            supervisor.start(name, cmd)
        dashboard = supervisor.running("dashboard")
        if dashboard is not None and not _wait_for_port(args.host, args.port, 60, dashboard):
            print(f"[run] the dashboard did not start listening on {args.host}:{args.port}")
        _print_banner(settings, args, logins, supervisor.children, gateway_on)
        next_gateway = time.monotonic()
        while True:
            supervisor.poll()
            if gateway_on and time.monotonic() >= next_gateway:
                next_gateway = time.monotonic() + args.gateway_minutes * 60
                _gateway_tick(send_next, demo_dir, settings)
            time.sleep(1.0)
    except (_StopRequestedError, KeyboardInterrupt):
        print("\n[run] stopping scheduler and dashboard ...", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all(STOP_TIMEOUT_S)
        print("[run] stopped", flush=True)
    return 0


def _argv_after_exit(child: Any, code: int) -> list[str]:
    """A scheduler that exited because another one holds the lock comes back as a standby
    (it would otherwise exit again at once)."""
    from ingest.scheduler import EXIT_LOCKED

    if child.name == "scheduler" and code == EXIT_LOCKED and "--standby" not in child.argv:
        return [*child.argv, "--standby"]
    return child.argv


def _gateway_tick(send_next: Any, demo_dir: Path, settings: Settings) -> None:
    try:
        sent = send_next(demo_dir, settings.inbox_dir, datetime.now(settings.tz))
    except Exception as exc:  # the demo gateway must never take the demo down
        print(f"[run] gateway: could not send readings: {exc}", flush=True)
        return
    if sent is not None:
        print(
            f"[run] gateway: dropped {sent.path.name} ({sent.rows:,} readings, "
            f"{sent.start:%Y-%m-%d %H:%M} to {sent.end:%Y-%m-%d %H:%M}) into the inbox",
            flush=True,
        )
    _bills_tick(demo_dir, settings)


def _bills_tick(demo_dir: Path, settings: Settings) -> None:
    """The utility's side of the demo: a month's bills on the 5th of the next month."""
    from quota.demo.gateway import send_bills

    try:
        delivered = send_bills(demo_dir, settings.inbox_dir, datetime.now(settings.tz))
    except Exception as exc:  # the demo gateway must never take the demo down
        print(f"[run] gateway: could not send bills: {exc}", flush=True)
        return
    for sent in delivered:
        print(f"[run] gateway: dropped {sent.path.name} ({sent.rows:,} bills)", flush=True)


PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _die_with_parent() -> None:
    """In a child, before exec: ask Linux to SIGTERM it when the supervisor dies, so a killed
    `make run` (kill -9, a closed terminal) leaves no scheduler or dashboard behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the supervisor's own signal handling still stops the children


def _print_banner(
    settings: Settings,
    args: argparse.Namespace,
    logins: list[dict[str, Any]],
    children: dict[str, Any],
    gateway_on: bool,
) -> None:
    lines = ["", "QuotaWatch is running."]
    if "dashboard" in children:
        lines.append(f"  dashboard:  http://{args.host}:{args.port}/")
    for i, login in enumerate(logins):
        label = "  logins:     " if i == 0 else "              "
        scope = login["scope"]
        if login["buildings"]:
            scope += ": " + ", ".join(login["buildings"])
        lines.append(f"{label}{login['username']:<10} password {login['password']:<15} ({scope})")
    if "scheduler" in children:
        lines.append(
            f"  scheduler:  loads new files from {settings.inbox_dir} every "
            f"{args.inbox_minutes:g} min; evaluates nightly"
        )
    if gateway_on:
        lines.append(
            f"  gateway:    drops the demo city's next readings into the inbox every "
            f"{args.gateway_minutes:g} min"
        )
    lines += ["Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m quota.cli.run",
        description="Start QuotaWatch with a demo city: database, scheduler and dashboard.",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="set up (database, demo city, users) and exit without serving",
    )
    parser.add_argument("--buildings", type=int, default=60, help="demo city size (60)")
    parser.add_argument("--years", type=int, default=2, help="previous years of history (2)")
    parser.add_argument("--seed", type=int, default=2024, help="demo city seed (2024)")
    parser.add_argument(
        "--demo-dir",
        type=Path,
        help="where the demo city's files live (default QUOTAWATCH_HOME/demo)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="dashboard address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8050, help="dashboard port (8050)")
    parser.add_argument(
        "--inbox-minutes",
        type=float,
        default=1.0,
        help="minutes between the scheduler's inbox runs (1)",
    )
    parser.add_argument(
        "--gateway-minutes",
        type=float,
        default=2.0,
        help="minutes between the demo gateway's files (2)",
    )
    parser.add_argument("--no-gateway", action="store_true", help="do not send demo readings")
    return parser.parse_args(argv)


def prepare(settings: Settings, args: argparse.Namespace, steps: Steps) -> tuple[Path, bool]:
    """Database up and, when it is empty, the demo city generated and loaded.
    Returns (demo folder, whether everything needed succeeded)."""
    from quota.demo.generator import DemoSpec, generate

    demo_dir = args.demo_dir or settings.home / "demo"
    code, data, error = quotawatch("db", "up", "--json")
    if code != 0:
        steps.say(f"database: FAILED: {error or data}")
        return demo_dir, False
    steps.say(f"database: up ({(data or {}).get('location', '')})")
    count = building_count(settings)
    unfinished = (demo_dir / "city.json").is_file() and not (demo_dir / LOADED_MARKER).is_file()
    if count and unfinished:
        steps.say(f"the demo load into this database did not finish: resuming from {demo_dir}")
        report = load_city(settings, demo_dir, steps)
        return demo_dir, bool(report["ok"])
    if count:
        steps.say(f"database holds {count} buildings: reusing the data (no demo load)")
        return demo_dir, True
    started = time.monotonic()
    spec = DemoSpec(
        buildings=args.buildings,
        years=args.years,
        seed=args.seed,
        today=datetime.now(settings.tz).date(),
        timezone_name=settings.timezone_name,
    )
    (demo_dir / "gateway.json").unlink(missing_ok=True)
    (demo_dir / "gateway_bills.json").unlink(missing_ok=True)
    (demo_dir / LOADED_MARKER).unlink(missing_ok=True)
    result = generate(spec, demo_dir, settings.rules.get("conversion"))
    steps.say(
        f"demo city: {spec.buildings} buildings, {result.readings_rows:,} readings "
        f"({spec.first_year}-01-01 to {spec.end_date}) generated in "
        f"{time.monotonic() - started:.1f} s into {demo_dir}"
    )
    report = load_city(settings, demo_dir, steps)
    return demo_dir, bool(report["ok"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings()
    steps = Steps()
    started = time.monotonic()
    demo_dir, ok = prepare(settings, args, steps)
    if not ok and not (demo_dir / LOADED_MARKER).is_file():
        steps.say("setup failed; see the messages above (`make run` again resumes)")
        return 1
    logins = ensure_users(settings, steps)
    steps.say(f"ready in {time.monotonic() - started:.0f} s")
    if args.once:
        for login in logins:
            steps.say(f"login {login['username']} / {login['password']} ({login['scope']})")
        return 0 if ok else 1
    return supervise(settings, args, demo_dir, logins)


if __name__ == "__main__":
    sys.exit(main())
