"""`quotawatch demo ...` on the command line (no database needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quota.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_generate_json_summary(tmp_path: Path) -> None:
    proc = _cli(
        "demo",
        "generate",
        "--buildings",
        "4",
        "--years",
        "0",
        "--out",
        str(tmp_path),
        "--today",
        "2026-06-01",
        "--seed",
        "9",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["readings_rows"] > 0
    assert sorted(data["readings_files"]) == sorted(
        p.name for p in (tmp_path / "readings").iterdir()
    )
    manifest = json.loads((tmp_path / "city.json").read_text("utf-8"))
    assert manifest["spec"]["today"] == "2026-06-01"
    assert manifest["spec"]["history_end"] == "2026-05-29"  # three days for the gateway
    assert manifest["counts"]["buildings"] == 4


def test_generate_without_mess_plants_nothing(tmp_path: Path) -> None:
    proc = _cli(
        "demo",
        "generate",
        "--buildings",
        "3",
        "--years",
        "0",
        "--out",
        str(tmp_path),
        "--today",
        "2026-03-01",
        "--no-mess",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["faults"] == {}
    assert not list((tmp_path / "readings").glob("*.resend.csv"))


def test_user_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    bad = _cli("demo", "generate", "--buildings", "0", "--out", str(tmp_path))
    assert bad.returncode == 2
    assert "buildings must be at least 1" in bad.stderr
    missing = _cli("demo", "load", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert "no city.json" in missing.stderr
