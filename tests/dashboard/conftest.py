"""Fixtures of the dashboard tests: a seeded city database, an app on it, signed-in
clients, and headless Chromium options for dash[testing]'s ``dash_duo``."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Test modules import the shared helpers as `qw_dashboard_support` (importlib import mode
# puts no test folder on sys.path).
_SUPPORT_PATH = Path(__file__).with_name("support.py")
_spec = importlib.util.spec_from_file_location("qw_dashboard_support", _SUPPORT_PATH)
support = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
sys.modules["qw_dashboard_support"] = support
_spec.loader.exec_module(support)  # type: ignore[union-attr]

CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--window-size=1400,1000",
)


def pytest_setup_options() -> Any:
    """Chrome options for dash_duo: Debian's chromium, headless, fit for root in a container."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    if Path("/usr/bin/chromium").exists():
        options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    return options


@pytest.fixture(scope="session")
def city_template(make_template: Any) -> tuple[str, dict[str, int]]:
    """A template database holding the tiny city (seeded once), and its evaluation ids."""
    runs: dict[str, int] = {}

    def seed(database: Any) -> None:
        with database.connect() as conn:
            runs.update(support.seed_city(conn))
            conn.commit()

    return make_template("city", seed), runs


@pytest.fixture
def city(city_template: tuple[str, dict[str, int]], clone_db: Any) -> Any:
    """A database of this test's own with the tiny city seeded; ``city.runs`` holds the
    evaluation ids."""
    template, runs = city_template
    database = clone_db(template)
    database.runs = dict(runs)
    return database


@pytest.fixture
def app(city: Any) -> Iterator[Any]:
    """A dashboard app on the seeded city (no sign-in delay)."""
    from dashboard.app import create_app
    from dashboard.users import LoginPolicy
    from quota.db import make_pool

    settings = dataclasses.replace(city.settings, secret_key="test-secret-key")
    pool = make_pool(settings, max_size=4)
    try:
        yield create_app(settings, pool, login_policy=LoginPolicy(failure_delay_s=0.0))
    finally:
        pool.close()


@dataclasses.dataclass
class LiveServer:
    """`quotawatch serve` (waitress) running in a subprocess on the test database."""

    url: str
    process: Any
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def start_server(city: Any, tmp_path: Path) -> Iterator[Any]:
    """Start the real dashboard server on the seeded city: ``start_server(**env)`` returns a
    :class:`LiveServer` once it answers; every server started is stopped afterwards."""
    import subprocess
    import time

    import requests

    started: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        port = _free_port()
        log_path = tmp_path / f"serve-{port}.log"
        handle = log_path.open("w", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "quota.cli", "serve", "--port", str(port)],
            env=city.env(QUOTAWATCH_SECRET_KEY="test-secret-key", **env),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
        started.append(server)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{server.url}/login", timeout=5).status_code == 200:
                    return server
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the dashboard server did not start:\n{server.log()}")
            time.sleep(0.2)

    yield start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def live_server(start_server: Any) -> LiveServer:
    """The real dashboard server on the seeded city (default settings)."""
    return start_server()
