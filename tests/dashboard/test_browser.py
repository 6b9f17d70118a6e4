"""The dashboard in headless Chromium (dash[testing]): each role (regulator, analyst,
manager) signs in and sees every page render with a clean browser console, the city table's
rows arriving from the server block by block; the analyst's download parses with the rows
shown; the language switch sticks."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from qw_dashboard_support import PASSWORD
from selenium.webdriver.common.by import By

from dashboard import ids

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign_in(dash_duo: Any, app: Any, username: str, path: str = "/") -> None:
    """Start the app, sign in through the login form and wait for the Dash page."""
    port = _free_port()
    dash_duo.start_server(app, navigate=False, port=port)
    base = f"http://localhost:{port}"
    dash_duo.driver.get(f"{base}/login?next={path}")
    dash_duo.find_element("#username").send_keys(username)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo._url = base
    dash_duo.wait_for_element(dash_duo.dash_entry_locator, timeout=15)


def grid_ids(dash_duo: Any, grid_id: str, column: str = "building_id") -> list[str]:
    cells = dash_duo.driver.find_elements(
        By.CSS_SELECTOR, f"#{grid_id} .ag-center-cols-container [col-id='{column}']"
    )
    return [c.text for c in cells]


def check_city(dash_duo: Any, username: str, expected: set[str]) -> None:
    dash_duo.wait_for_element(f"#{ids.CITY_GRID} .ag-row", timeout=15)
    dash_duo.wait_for_contains_text(f"#{ids.WHOAMI}", username, timeout=10)
    dash_duo.wait_for_contains_text(f"#{ids.CITY_HEADLINE}", "参评建筑", timeout=10)
    dash_duo.wait_for_element(f"#{ids.CITY_UTILIZATION} .barlayer .point", timeout=10)
    deadline = time.monotonic() + 10  # the grid's first block arrives from the server
    while set(grid_ids(dash_duo, ids.CITY_GRID)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(grid_ids(dash_duo, ids.CITY_GRID)) == expected


def visit(dash_duo: Any, path: str) -> None:
    dash_duo.driver.get(f"{dash_duo.server_url}{path}")
    dash_duo.wait_for_element(dash_duo.dash_entry_locator, timeout=15)


def download_retrofit_csv(dash_duo: Any) -> None:
    """The analyst's CSV download holds exactly the rows the grid shows."""
    shown = grid_ids(dash_duo, ids.RETRO_GRID)
    assert shown
    dash_duo.find_element(f"#{ids.RETRO_CSV}").click()
    # Named by its filters and language; every row names its evaluation.
    target = Path(dash_duo.download_path) / "retrofit_candidates_2025_zh.csv"
    deadline = time.monotonic() + 15
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    table = pd.read_csv(target, encoding="utf-8-sig", dtype=str)
    assert table["建筑编号"].tolist() == shown
    assert set(table["评估截至日期"]) == {"2025-06-30"} and table["评估编号"].nunique() == 1


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("reg", {"B1", "B2", "B3", "B4", "B5", "B6"}),
        ("ana", {"B1", "B2", "B3", "B4", "B5", "B6"}),
        ("mgr", {"B1"}),
    ],
)
def test_each_role_sees_every_page_with_a_clean_console(
    dash_duo: Any, app: Any, username: str, expected: set[str]
) -> None:
    sign_in(dash_duo, app, username)
    check_city(dash_duo, username, expected)
    logs = [e for e in dash_duo.get_logs() if "/building/B3 - Failed to load" not in e["message"]]
    assert logs == [], [entry["message"][:1500] for entry in logs]

    visit(dash_duo, "/building/B1")
    dash_duo.wait_for_contains_text(f"#{ids.BUILDING_HEADER}", "超限额", timeout=15)
    dash_duo.wait_for_element(f"#{ids.BUILDING_CUMULATIVE} .scatterlayer .trace", timeout=10)
    dash_duo.wait_for_element(f"#{ids.BUILDING_METERS} .ag-row", timeout=10)
    dash_duo.wait_for_element(f"#{ids.BUILDING_HEATMAP} .heatmaplayer", timeout=10)
    logs = [e for e in dash_duo.get_logs() if "/building/B3 - Failed to load" not in e["message"]]
    assert logs == [], [entry["message"][:1500] for entry in logs]

    visit(dash_duo, "/retrofit")
    if username == "mgr":
        dash_duo.wait_for_contains_text(f"#{ids.RETRO_FORBIDDEN}", "无权", timeout=15)
        assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.RETRO_GRID}")
    else:
        dash_duo.wait_for_element(f"#{ids.RETRO_GRID} .ag-row", timeout=15)
        downloads = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.RETRO_CSV}")
        assert bool(downloads) == (username == "ana")  # exports are the analyst's
        if username == "ana":
            download_retrofit_csv(dash_duo)
    logs = [e for e in dash_duo.get_logs() if "/building/B3 - Failed to load" not in e["message"]]
    assert logs == [], [entry["message"][:1500] for entry in logs]

    visit(dash_duo, "/quality")
    dash_duo.wait_for_element(f"#{ids.DQ_QUARANTINE_GRID} .ag-row", timeout=15)
    quarantined = dash_duo.find_element(f"#{ids.DQ_QUARANTINE_GRID}").text
    if username == "mgr":  # only rows naming the manager's meters; no ingest runs
        assert "M1" in quarantined and "M3" not in quarantined
        assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.DQ_INGEST_GRID}")
    else:
        dash_duo.wait_for_element(f"#{ids.DQ_INGEST_GRID} .ag-row", timeout=10)
        dash_duo.wait_for_contains_text(f"#{ids.DQ_STALE_GRID}", "M1", timeout=10)
    logs = [e for e in dash_duo.get_logs() if "/building/B3 - Failed to load" not in e["message"]]
    assert logs == [], [entry["message"][:1500] for entry in logs]


def test_building_page_and_language_switch(dash_duo: Any, app: Any) -> None:
    sign_in(dash_duo, app, "mgr", "/building/B1")
    dash_duo.wait_for_contains_text(f"#{ids.BUILDING_HEADER}", "超限额", timeout=15)
    dash_duo.wait_for_element(f"#{ids.BUILDING_METERS} .ag-row", timeout=10)
    dash_duo.wait_for_element(f"#{ids.BUILDING_HEATMAP} .heatmaplayer", timeout=10)
    dash_duo.find_element(f"#{ids.LANG_TOGGLE}").click()
    dash_duo.wait_for_text_to_equal(f"#{ids.NAV_CITY}", "My buildings", timeout=10)
    dash_duo.wait_for_contains_text(f"#{ids.BUILDING_HEADER}", "Over quota", timeout=10)
    # Remembered across a reload (local storage).
    dash_duo.driver.refresh()
    dash_duo.wait_for_text_to_equal(f"#{ids.NAV_CITY}", "My buildings", timeout=15)
    dash_duo.wait_for_contains_text(f"#{ids.BUILDING_HEADER}", "Over quota", timeout=10)
    # Another building's address: a page in the user's language, with the navigation.
    visit(dash_duo, "/building/B3")
    dash_duo.wait_for_contains_text(f"#{ids.BUILDING_NOTE}", "not assigned to you", timeout=15)
    dash_duo.wait_for_text_to_equal(f"#{ids.NAV_CITY}", "My buildings", timeout=10)
    assert "三号办公楼" not in dash_duo.driver.page_source
    logs = [e for e in dash_duo.get_logs() if "/building/B3 - Failed to load" not in e["message"]]
    assert logs == [], [entry["message"][:1500] for entry in logs]
