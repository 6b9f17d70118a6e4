"""Appeals in headless Chromium: a manager appeals from the building page and the appeal is
listed there, then a regulator rejects it on /appeals; clean browser consoles."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from dashboard import ids

pytestmark = pytest.mark.browser

_spec = importlib.util.spec_from_file_location(
    "qw_decisions_browser", Path(__file__).with_name("test_decisions_browser.py")
)
_browser = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_browser)  # type: ignore[union-attr]
sign_in = _browser.sign_in
SCREENSHOT = Path("/tmp") / "quotawatch-appeal-building.png"


def test_manager_appeals_on_the_building_page(dash_duo: Any, app: Any, city: Any) -> None:
    city.cli("determine", "--year", "2024", check=True)
    sign_in(dash_duo, app, "mgr", "/building/B1")
    dash_duo.wait_for_element(f"#{ids.APPEAL_SUBMIT}", timeout=20)
    dash_duo.find_element(f"#{ids.APPEAL_REASON}").send_keys("新楼层三月启用")
    dash_duo.find_element(f"#{ids.APPEAL_LIMIT}").send_keys("1200000")
    dash_duo.find_element(f"#{ids.APPEAL_SUBMIT}").click()
    dash_duo.wait_for_contains_text(f"#{ids.APPEAL_LIST}", "新楼层三月启用", timeout=15)
    dash_duo.wait_for_contains_text(f"#{ids.APPEAL_LIST}", "待处理", timeout=15)
    dash_duo.driver.execute_script(
        "document.getElementById(arguments[0]).scrollIntoView()", ids.NOTICE_BUTTON
    )
    dash_duo.driver.save_screenshot(str(SCREENSHOT))
    row = city.query("SELECT building_id, year, requested_limit_value, status FROM appeal")
    assert row == [
        {"building_id": "B1", "year": 2024, "requested_limit_value": 1_200_000.0, "status": "open"}
    ]
    logs = dash_duo.get_logs()
    assert logs == [], [entry["message"][:700] for entry in logs]
