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


@pytest.fixture
def city(db: Any) -> Any:
    """The test database with the tiny city seeded; ``city.runs`` holds evaluation ids."""
    with db.connect() as conn:
        db.runs = support.seed_city(conn)
        conn.commit()
    return db


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
