"""Helpers of the operations tests: scheduler processes, inbox files, waiting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READINGS_HEADER = "meter_id,timestamp,value\n"


def drop_file(inbox: Path, name: str, rows: str) -> Path:
    """A reading file written into the inbox, dated a minute back (past the settle time)."""
    path = inbox / name
    path.write_text(READINGS_HEADER + rows, encoding="utf-8")
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


def start_scheduler(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`quotawatch scheduler` as a real process, its messages written to ``log``."""
    command = [sys.executable, "-m", "quota.cli", "scheduler", *extra]
    with log.open("ab") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=handle)


def wait_for(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.2) -> bool:
    """Poll ``condition`` until it is true or ``timeout_s`` passed; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return condition()


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM and wait (kill after 60 s); returns the exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    return int(process.returncode)
