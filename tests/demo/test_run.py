"""`make run` (quota/cli/run.py) end to end on a small city: load once, reuse, gateway feeds."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from quota.demo.gateway import next_window, send_next
from quota.demo.generator import QUARANTINE_REASONS, spec_from_manifest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run_once(db, demo_dir: Path, inbox: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "quota.cli.run",
            "--once",
            "--buildings",
            "12",
            "--years",
            "1",
            "--seed",
            "3",
            "--demo-dir",
            str(demo_dir),
        ],
        capture_output=True,
        text=True,
        env=db.env(QUOTAWATCH_INBOX=str(inbox)),
        cwd=ROOT,
        timeout=600,
        check=False,
    )


def test_run_once_loads_the_demo_city_then_reuses_it(db, tmp_path: Path) -> None:
    demo_dir, inbox = tmp_path / "demo", tmp_path / "inbox"
    first = _run_once(db, demo_dir, inbox)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ingest readings: done" in first.stdout
    assert db.scalar("SELECT count(*) FROM building") == 12
    manifest = json.loads((demo_dir / "city.json").read_text("utf-8"))
    readings = db.scalar("SELECT count(*) FROM reading")
    assert readings == manifest["counts"]["readings_rows"]
    reasons = {r["reason_code"] for r in db.query("SELECT DISTINCT reason_code FROM quarantine")}
    assert reasons == set(QUARANTINE_REASONS)
    # A third of the buildings are billed, without meters; their bills are all loaded.
    assert "ingest bills: done" in first.stdout
    assert db.scalar("SELECT count(*) FROM bill") == manifest["counts"]["bills_rows"] > 0
    billed = db.scalar("SELECT count(DISTINCT building_id) FROM utility_account")
    assert billed == manifest["counts"]["billed_buildings"] == 4
    assert db.scalar("SELECT count(*) FROM meter m JOIN utility_account a USING (building_id)") == 0
    assert (
        db.scalar(
            "SELECT count(*) FROM building_days('-infinity', 'infinity') WHERE source = 'bills'"
        )
        > 0
    )
    year = spec_from_manifest(demo_dir / "city.json").current_year
    assert db.scalar("SELECT count(*) FROM quota WHERE year = %s", (year,)) > 0
    assert db.scalar("SELECT count(*) FROM quota WHERE year = %s", (year - 1,)) > 0
    assert db.scalar("SELECT count(DISTINCT year) FROM evaluation_run") == 2
    roles = {r["role"] for r in db.query("SELECT role FROM app_user")}
    assert roles == {"regulator", "analyst", "manager"}
    assert db.scalar("SELECT count(*) FROM user_building WHERE username = 'manager'") == 3

    second = _run_once(db, demo_dir, inbox)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "reusing the data" in second.stdout
    assert db.scalar("SELECT count(*) FROM reading") == readings
    assert db.scalar("SELECT count(*) FROM app_user") == 3

    # The gateway's next day continues the history: it loads without a rejected row.
    spec = spec_from_manifest(demo_dir / "city.json")
    now = datetime.combine(spec.end_date, datetime.min.time(), tzinfo=spec.tz) + timedelta(
        days=1, hours=1, minutes=5
    )
    sent = send_next(demo_dir, inbox, now)
    assert sent is not None and sent.rows > 0
    assert sent.end - sent.start == timedelta(days=1)
    loaded = db.cli("ingest", str(sent.path), "--json", check=True)
    summary = json.loads(loaded.stdout)
    assert summary["rows_read"] == sent.rows
    assert summary["rows_loaded"] == sent.rows
    assert summary["rows_quarantined"] == 0
    # Caught up to the last full hour: the next call sends one hour, then nothing.
    later = send_next(demo_dir, inbox, now)
    assert later is not None and later.end - later.start == timedelta(hours=1)
    assert send_next(demo_dir, inbox, now) is None

    # The living demo: scheduler and dashboard supervised, the gateway feeding the inbox;
    # SIGTERM stops everything cleanly.
    _run_live_and_stop(db, demo_dir, inbox)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_live_and_stop(db, demo_dir: Path, inbox: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "quota.cli.run",
            "--demo-dir",
            str(demo_dir),
            "--port",
            str(port),
            "--inbox-minutes",
            "0.05",
            "--gateway-minutes",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=db.env(QUOTAWATCH_INBOX=str(inbox)),
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        loaded = 0
        while time.monotonic() < deadline and proc.poll() is None:
            loaded = db.scalar(
                "SELECT count(*) FROM ingest_file WHERE file_name LIKE 'gateway-%%' "
                "AND status = 'loaded' AND run_id IN "
                "(SELECT run_id FROM ingest_run WHERE trigger = 'scheduler')"
            )
            if loaded:
                break
            time.sleep(0.5)
        if proc.poll() is not None or not loaded:
            proc.terminate()
            output, _ = proc.communicate(timeout=60)
            # The scheduler should have ingested a file the gateway dropped.
            pytest.fail(f"no gateway file loaded by the scheduler (exit {proc.poll()}):\n{output}")
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the dashboard listens
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.terminate()  # lets the supervisor stop its children
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, output
    assert "QuotaWatch is running." in output
    assert f"http://127.0.0.1:{port}/" in output
    assert "[run] stopped" in output
    assert "stopped unexpectedly" not in output
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_next_window_catches_up_a_day_at_a_time_and_stops_at_the_last_full_hour() -> None:
    start = datetime(2026, 3, 1)
    assert next_window(start, datetime(2026, 3, 5, 10, 30)) == (start, datetime(2026, 3, 2))
    assert next_window(start, datetime(2026, 3, 1, 5, 59)) == (start, datetime(2026, 3, 1, 5))
    assert next_window(start, datetime(2026, 3, 1, 0, 59)) is None
