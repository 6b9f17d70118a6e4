"""The command line: --help everywhere, settings errors, JSON output."""

import subprocess
import sys
from pathlib import Path

import pytest

from quota.cli.main import build_parser
from quota.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def subcommand_paths() -> list[list[str]]:
    parser = build_parser()
    paths: list[list[str]] = [[]]

    def walk(p, prefix):
        for action in p._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for name, child in action.choices.items():
                    paths.append([*prefix, name])
                    walk(child, [*prefix, name])

    walk(parser, [])
    return paths


@pytest.mark.parametrize("path", subcommand_paths(), ids=lambda p: " ".join(p) or "quotawatch")
def test_every_command_explains_itself(path: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*path, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: quotawatch")
    assert len(out.splitlines()) >= 4


def test_help_lists_core_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "quota.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    for command in ("db", "import"):
        assert command in out


def test_bad_timezone_is_a_clear_error() -> None:
    with pytest.raises(SettingsError, match="Mars/Olympus"):
        load_settings({"QUOTAWATCH_TIMEZONE": "Mars/Olympus"})
    proc = subprocess.run(
        [sys.executable, "-m", "quota.cli", "--timezone", "Mars/Olympus", "db", "status"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 2
    assert "Mars/Olympus" in proc.stderr and "Traceback" not in proc.stderr


def test_settings_sources(tmp_path: Path) -> None:
    (tmp_path / "quotawatch.toml").write_text(
        '[quotawatch]\ntimezone = "Europe/Berlin"\n[rules.tiers]\nover_20_ratio = 1.3\n'
    )
    settings = load_settings({"QUOTAWATCH_HOME": str(tmp_path)})
    assert settings.timezone_name == "Europe/Berlin"
    assert settings.rules["tiers"]["over_20_ratio"] == 1.3
    assert settings.rules["tiers"]["over_ratio"] == 1.0  # default kept
    assert settings.is_embedded
    env = {
        "QUOTAWATCH_HOME": str(tmp_path),
        "QUOTAWATCH_TIMEZONE": "Asia/Shanghai",
        "QUOTAWATCH_DATABASE_URL": "postgresql://u@h/d",
    }
    settings = load_settings(env)
    assert settings.timezone_name == "Asia/Shanghai"
    assert settings.database_url == "postgresql://u@h/d" and not settings.is_embedded
    assert load_settings({"QUOTAWATCH_HOME": str(tmp_path / "x")}).timezone_name == "Asia/Shanghai"


def test_db_status_json_on_the_test_database(db) -> None:
    import json

    proc = db.cli("db", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["is_up"] is True
    assert status["database"] == db.name
    assert status["migrations_pending"] == []
