"""Scheduled jobs: the inbox job moves files and records runs; one scheduler at a time."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ingest import jobs, queries
from ingest.scheduler import JOB_DEFAULTS, build_scheduler

ROOT = Path(__file__).resolve().parents[2]


def _age(path: Path, seconds: float = 60) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def _fake_engine(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(
        jobs.evaluation_job,
        "reevaluate",
        lambda settings, ids, year: calls.append(("re", tuple(ids), year)) or {},
    )
    monkeypatch.setattr(
        jobs.evaluation_job,
        "run_nightly",
        lambda settings: calls.append(("nightly",)) or {"buildings": 1},
    )
    return calls


def test_inbox_job_moves_files_records_run_and_reevaluates(registered, tmp_path, monkeypatch):
    calls = _fake_engine(monkeypatch)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = dataclasses.replace(registered.settings, inbox_path=inbox)
    recent = (datetime.now(settings.tz) - timedelta(hours=3)).strftime("%Y-%m-%d %H:00")
    good = inbox / "good.csv"
    good.write_text(f"meter_id,timestamp,value\nE1,{recent},1\nX,{recent},1\n", encoding="utf-8")
    bad = inbox / "bad.csv"
    bad.write_text("no header we know\n", encoding="utf-8")
    young = inbox / "young.csv"
    young.write_text(f"meter_id,timestamp,value\nE1,{recent},1\n", encoding="utf-8")
    _age(good)
    _age(bad)

    counts = jobs.run_inbox_job(settings)
    assert (counts["files_loaded"], counts["files_rejected"]) == (1, 1)
    assert (inbox / "archive" / "good.csv").exists()
    assert (inbox / "rejected" / "bad.csv").exists()
    assert "unknown column" in (inbox / "rejected" / "bad.csv.reason.txt").read_text()
    assert young.exists()  # may still be being written: left for the next run
    assert calls == [("re", ("B1",), datetime.now(settings.tz).year)]
    run = registered.query("SELECT job_id, outcome, counts, finished_at FROM job_run")[0]
    assert (run["job_id"], run["outcome"]) == ("inbox", "succeeded")
    assert run["counts"]["rows_quarantined"] == 1
    assert run["finished_at"] is not None


def test_nightly_job_runs_the_engine_and_records_its_counts(registered, monkeypatch):
    jobs.run_nightly_job(registered.settings)  # the real engine
    calls = _fake_engine(monkeypatch)
    jobs.run_nightly_job(registered.settings)
    assert calls == [("nightly",)]
    runs = registered.query("SELECT outcome, counts FROM job_run ORDER BY job_run_id")
    assert runs[0]["outcome"] == "succeeded"
    assert [r["year"] for r in runs[0]["counts"]["runs"]]  # it evaluated at least one year
    assert (runs[1]["outcome"], runs[1]["counts"]) == ("succeeded", {"buildings": 1})


def test_scheduler_jobs_have_explicit_ids_and_defaults(registered):
    scheduler = build_scheduler(registered.settings)
    assert {job.id for job in scheduler.get_jobs()} == {"inbox", "nightly_evaluation"}
    assert JOB_DEFAULTS["coalesce"] is True
    assert JOB_DEFAULTS["max_instances"] == 1
    assert JOB_DEFAULTS["misfire_grace_time"] >= 3600


def test_scheduler_process_runs_inbox_and_a_second_one_does_not(registered, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "a.csv"
    path.write_text("meter_id,timestamp,value\nE1,2024-03-01 00:00,1\n", encoding="utf-8")
    _age(path)
    env = registered.env(QUOTAWATCH_INBOX=str(inbox))
    command = [sys.executable, "-m", "quota.cli", "scheduler", "--inbox-interval-minutes", "1"]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (inbox / "archive" / "a.csv").exists():
            time.sleep(0.2)
        assert (inbox / "archive" / "a.csv").exists()
        second = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 3
        assert "another scheduler" in second.stderr
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0
    finally:
        if first.poll() is None:
            first.kill()
    assert "stopped" in (first.stderr.read() if first.stderr else "")
    runs = registered.query("SELECT job_id, outcome FROM job_run ORDER BY job_run_id")
    assert ("inbox", "succeeded") in [(r["job_id"], r["outcome"]) for r in runs]
    assert ("scheduler", "skipped") in [(r["job_id"], r["outcome"]) for r in runs]
    assert registered.scalar("SELECT count(*) FROM reading") == 1


def test_jobs_do_not_run_when_the_scheduler_lock_is_not_held(registered, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "a.csv"
    path.write_text("meter_id,timestamp,value\nE1,2024-03-01 00:00,1\n", encoding="utf-8")
    _age(path)
    settings = dataclasses.replace(registered.settings, inbox_path=inbox)
    with registered.connect(autocommit=True) as holder:
        pid = holder.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        counts = jobs.run_inbox_job(settings, lock_pid=pid)  # this session holds no lock
        assert "skipped" in counts
        assert path.exists()
        holder.execute("SELECT pg_advisory_lock(%s)", (queries.SCHEDULER_LOCK_KEY,))
        counts = jobs.run_inbox_job(settings, lock_pid=pid)
        assert counts["files_loaded"] == 1
    runs = registered.query("SELECT outcome FROM job_run ORDER BY job_run_id")
    assert [r["outcome"] for r in runs] == ["skipped", "succeeded"]
