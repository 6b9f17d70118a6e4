"""The regulator's audit page in headless Chromium: the log renders, the adjust form adds a
version that shows up in the log, with a clean browser console; an analyst is refused."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from qw_dashboard_support import PASSWORD
from selenium.webdriver.common.by import By

from dashboard import ids

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign_in(dash_duo: Any, app: Any, username: str, path: str) -> None:
    port = _free_port()
    dash_duo.start_server(app, navigate=False, port=port)
    base = f"http://localhost:{port}"
    dash_duo.driver.get(f"{base}/login?next={path}")
    dash_duo.find_element("#username").send_keys(username)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo._url = base
    dash_duo.wait_for_element(dash_duo.dash_entry_locator, timeout=15)


def test_regulator_adjusts_on_the_audit_page(dash_duo: Any, app: Any, city: Any) -> None:
    sign_in(dash_duo, app, "reg", "/audit")
    dash_duo.wait_for_element(f"#{ids.AUDIT_GRID} .ag-row", timeout=15)
    dash_duo.find_element(f"#{ids.ADJUST_BUILDING}").send_keys("B2")
    dash_duo.find_element(f"#{ids.ADJUST_LIMIT}").send_keys("150000")
    dash_duo.find_element(f"#{ids.ADJUST_REASON}").send_keys("change of use")
    dash_duo.find_element(f"#{ids.ADJUST_SUBMIT}").click()
    dash_duo.wait_for_contains_text(f"#{ids.ADJUST_MESSAGE}", "B2", timeout=15)
    dash_duo.wait_for_contains_text(f"#{ids.AUDIT_GRID}", "quota.adjusted", timeout=15)
    assert (
        city.scalar(
            "SELECT reason FROM quota_version WHERE source = 'adjusted' AND building_id = 'B2'"
        )
        == "change of use"
    )
    logs = dash_duo.get_logs()
    assert logs == [], [entry["message"][:700] for entry in logs]


def test_analyst_is_refused_the_audit_page(dash_duo: Any, app: Any) -> None:
    sign_in(dash_duo, app, "ana", "/audit")
    dash_duo.wait_for_contains_text(f"#{ids.AUDIT_BODY}", "监管人员", timeout=15)
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.AUDIT_GRID}")
    logs = dash_duo.get_logs()
    assert logs == [], [entry["message"][:700] for entry in logs]
