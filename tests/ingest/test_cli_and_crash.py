"""The `quotawatch ingest` command: JSON summary, and a load killed mid-file (SIGKILL)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _hourly_file(path: Path, meters: list[str], hours: int) -> int:
    lines = ["meter_id,timestamp,value"]
    for hour in range(hours):
        stamp = f"2024-02-{1 + hour // 24:02d} {hour % 24:02d}:00"
        lines.extend(f"{m},{stamp},{(hour % 7) + 0.5}" for m in meters)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def test_ingest_json_summary_and_exit_status(registered, write_file):
    good = write_file("meter_id,timestamp,value\nE1,2024-03-01 00:00,1\nE1,x,1\n", "good.csv")
    proc = registered.cli("ingest", "--json", str(good))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    data = json.loads(proc.stdout)
    assert {"rows_read", "rows_loaded", "rows_duplicate", "rows_quarantined"} <= set(data)
    assert (data["rows_read"], data["rows_loaded"], data["rows_quarantined"]) == (2, 1, 1)
    assert data["quarantine_by_reason"] == {"bad_timestamp": 1}
    assert data["files"][0]["file"] == "good.csv"
    assert data["affected"] == {"2024": ["B1"]}
    bad = write_file("nothing useful\n", "bad.csv")
    proc = registered.cli("ingest", "--json", str(bad))
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["files"][0]["status"] == "rejected"
    missing = registered.cli("ingest", "/no/such/file.csv")
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    # With --json the error comes as JSON on stdout too, for the script reading it.
    missing = registered.cli("ingest", "--json", "/no/such/file.csv")
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    data = json.loads(missing.stdout)
    assert data["outcome"] == "error" and "no such file" in data["error"]


def test_kill_mid_file_then_rerun_gives_one_clean_load(registered, tmp_path):
    path = tmp_path / "big.csv"
    expected_rows = _hourly_file(path, ["E1", "E2"], 24 * 10)  # 480 rows, batches of about 120
    proc = subprocess.Popen(
        [sys.executable, "-m", "quota.cli", "ingest", str(path)],
        cwd=ROOT,
        env=registered.env(QUOTAWATCH_INGEST_BATCH_ROWS="120", QUOTAWATCH_INGEST_TEST_PAUSE="3"),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        seen = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stderr.readline() if proc.stderr else ""
            seen.append(line)
            if sum("batch done" in s for s in seen) == 2:  # two batches written, mid-file
                break
            if not line and proc.poll() is not None:
                break
        done = [s for s in seen if "batch done" in s]
        assert len(done) == 2, seen
        written = int(done[-1].split("(")[1].split()[0])
        assert 0 < written < expected_rows, done
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Nothing of the killed file is visible.
    assert registered.scalar("SELECT count(*) FROM reading") == 0
    assert registered.scalar("SELECT count(*) FROM ingest_file") == 0
    assert registered.scalar("SELECT count(*) FROM meter_daily") == 0
    # The chunks the killed load created (indexes switched off) went with its transaction.
    assert registered.scalar("SELECT count(*) FROM show_chunks('reading')") == 0

    assert registered.scalar("SELECT outcome FROM ingest_run") == "running"
    # The server ends the killed client's session when it notices the closed socket.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and registered.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE 'quotawatch-ingest-%'"
    ):
        time.sleep(0.1)
    rerun = registered.cli("ingest", "--json", str(path))
    assert rerun.returncode == 0, rerun.stderr
    data = json.loads(rerun.stdout)
    assert (data["rows_read"], data["rows_loaded"]) == (expected_rows, expected_rows)
    assert registered.scalar("SELECT count(*) FROM reading") == expected_rows
    # E2 has multiplier 40: totals are those of one clean load.
    values = sum((h % 7) + 0.5 for h in range(240))
    assert registered.scalar("SELECT sum(energy_kwh) FROM meter_daily") == values * 41
    runs = registered.query("SELECT outcome, error FROM ingest_run ORDER BY run_id")
    assert [r["outcome"] for r in runs] == ["failed", "succeeded"]
    assert "interrupted" in runs[0]["error"]
    again = json.loads(registered.cli("ingest", "--json", str(path)).stdout)
    assert again["files"][0]["status"] == "skipped"
    assert registered.scalar("SELECT count(*) FROM reading") == expected_rows
