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
WINDOW_SIZE = (1400, 1000)


def pytest_setup_options() -> Any:
    """Chrome options for dash_duo: Debian's chromium, headless, fit for root in a container."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    if Path("/usr/bin/chromium").exists():
        options.binary_location = "/usr/bin/chromium"
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    return options


class _SharedChromium:
    """One headless Chromium for the session's browser tests (started when the first one
    needs it); each test gets it back in a clean state (see :func:`dash_duo`)."""

    def __init__(self, config: Any, download_root: Path) -> None:
        self._config = config
        self._download_root = download_root
        self.browser: Any = None

    def start(self) -> Any:
        from dash.testing.composite import DashComposite

        self.browser = DashComposite(
            server=None,
            browser=self._config.getoption("webdriver"),
            remote=self._config.getoption("remote"),
            remote_url=self._config.getoption("remote_url"),
            headless=self._config.getoption("headless"),
            options=self._config.hook.pytest_setup_options(),
            download_path=str(self._download_root),
            percy_assets_root=self._config.getoption("percy_assets"),
            percy_finalize=self._config.getoption("nopercyfinalize"),
            pause=self._config.getoption("pause"),
        )
        return self.browser

    def quit(self) -> None:
        if self.browser is not None:
            self.browser.__exit__(None, None, None)
            self.browser = None


@pytest.fixture(scope="session")
def shared_chromium(request: Any, tmp_path_factory: Any) -> Iterator[_SharedChromium]:
    chromium = _SharedChromium(request.config, tmp_path_factory.mktemp("chromium-download"))
    try:
        yield chromium
    finally:
        chromium.quit()


def _clean(driver: Any) -> None:
    """Forget what the last test left in the browser: cookies, the storage of the site it
    was on (its language choice), the page, and the console messages."""
    from urllib.parse import urlsplit

    url = urlsplit(driver.current_url)
    if url.scheme in ("http", "https"):
        driver.execute_cdp_cmd(
            "Storage.clearDataForOrigin",
            {"origin": f"{url.scheme}://{url.netloc}", "storageTypes": "all"},
        )
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.get("about:blank")
    driver.get_log("browser")


@pytest.fixture
def dash_duo(shared_chromium: _SharedChromium, dash_thread_server: Any, tmp_path: Path) -> Any:
    """dash[testing]'s ``dash_duo`` (a Dash app served in a thread, and Chromium) on the
    session's one Chromium, handed over clean: no cookies, no site storage, a blank page, no
    console messages, the initial window size, and downloads going to this test's folder."""
    import copy

    from selenium.common.exceptions import WebDriverException

    browser = shared_chromium.browser
    if browser is not None:
        try:
            _clean(browser.driver)
        except WebDriverException:
            shared_chromium.quit()
            browser = None
    if browser is None:
        browser = shared_chromium.start()
    download = tmp_path / "download"
    download.mkdir()
    driver = browser.driver
    for command in ("Browser.setDownloadBehavior", "Page.setDownloadBehavior"):
        driver.execute_cdp_cmd(command, {"behavior": "allow", "downloadPath": str(download)})
    driver.set_window_size(*WINDOW_SIZE)
    duo = copy.copy(browser)  # shares the driver; its own server, URL and download folder
    duo.server = dash_thread_server
    duo._download_path = str(download)
    duo._url = ""
    duo._last_ts = 0
    try:
        yield duo
    finally:
        try:
            _clean(driver)
        except WebDriverException:
            shared_chromium.quit()


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


def _start_server(database: Any, log_dir: Path, **env: str) -> LiveServer:
    """`quotawatch serve` on ``database``, returned once it answers."""
    import subprocess
    import time

    import requests

    port = _free_port()
    log_path = log_dir / f"serve-{port}.log"
    handle = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "quota.cli", "serve", "--port", str(port)],
        env=database.env(QUOTAWATCH_SECRET_KEY="test-secret-key", **env),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{server.url}/login", timeout=5).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            _stop_server(server)
            raise AssertionError(f"the dashboard server did not start:\n{server.log()}")
        time.sleep(0.1)


def _stop_server(server: LiveServer) -> None:
    import subprocess

    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def start_server(city: Any, tmp_path: Path) -> Iterator[Any]:
    """Start the real dashboard server on the seeded city: ``start_server(**env)`` returns a
    :class:`LiveServer` once it answers; every server started is stopped afterwards."""
    started: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        server = _start_server(city, tmp_path, **env)
        started.append(server)
        return server

    yield start
    for server in started:
        _stop_server(server)


@pytest.fixture(scope="module")
def shared_server(
    city_template: tuple[str, dict[str, int]], module_clone_db: Any, tmp_path_factory: Any
) -> Iterator[LiveServer]:
    """The real dashboard server (default settings) on a seeded city of this module's own,
    for the tests of a module that change nothing on the server (no user, session or data
    they would leave behind matters to another test)."""
    server = _start_server(module_clone_db(city_template[0]), tmp_path_factory.mktemp("serve"))
    try:
        yield server
    finally:
        _stop_server(server)


@pytest.fixture
def live_server(start_server: Any) -> LiveServer:
    """The real dashboard server on the seeded city (default settings)."""
    return start_server()
