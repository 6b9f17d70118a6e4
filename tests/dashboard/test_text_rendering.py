"""Ids and names render as text: a building whose id and name are markdown links shows
them as written in the city grid, linking only to its own page (pure and in Chromium),
and the dashboard's sign-out button ends the session."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from dashboard import ids, tables
from tests.dashboard.test_browser import sign_in

EVIL_ID = "[x](http://evil.example)"
EVIL_NAME = "[y](javascript:alert(1)) <b>bold</b>\n# heading"


def test_building_link_escapes_name_and_encodes_id() -> None:
    link = tables.markdown_link(EVIL_NAME, tables.building_href(EVIL_ID))
    label, href = re.fullmatch(r"\[(.*)\]\(([^()\s]*)\)", link, re.DOTALL).groups()  # type: ignore[union-attr]
    assert href == "/building/%5Bx%5D%28http%3A%2F%2Fevil.example%29"
    # Every bracket, parenthesis and angle bracket of the name is escaped; no line break.
    assert re.search(r"(?<!\\)[\[\]()<>#]", label) is None
    assert "\n" not in label
    assert re.sub(r"\\(.)", r"\1", label) == EVIL_NAME.replace("\n", " ")


def test_city_row_links_to_the_encoded_id() -> None:
    table = {field: [None] for field in tables.CITY_TABLE_FIELDS}
    table["name"], table["building_id"] = [EVIL_NAME], [EVIL_ID]
    row = tables.city_row(table, 0)
    assert row["building"].endswith("(/building/%5Bx%5D%28http%3A%2F%2Fevil.example%29)")
    assert row["building_id"] == EVIL_ID


@pytest.mark.browser
def test_hostile_building_shows_as_text_in_the_city_grid(
    dash_duo: Any, app: Any, city: Any
) -> None:
    with city.connect() as conn:
        conn.execute(
            "INSERT INTO building (building_id, name, district, building_type, floor_area_m2) "
            "VALUES (%s, %s, '东城区', 'office_government', 50000)",
            (EVIL_ID, EVIL_NAME),
        )
        conn.execute(
            "INSERT INTO evaluation_result (evaluation_id, building_id, basis, status, "
            "utilization, limit_value, energy_kwh) VALUES (%s, %s, 'electricity_kwh', 'within', "
            "0.5, 100000, 50000)",
            (city.runs["2025"], EVIL_ID),
        )
        conn.commit()
    sign_in(dash_duo, app, "reg")
    dash_duo.wait_for_element(f"#{ids.CITY_GRID} .ag-row", timeout=15)
    grid = f"#{ids.CITY_GRID}"
    snapshot_js = """
        const grid = document.querySelector(arguments[0]);
        return {
            ids: [...grid.querySelectorAll("[col-id='building_id']")].map(c => c.textContent),
            links: [...grid.querySelectorAll("a")].map(
                a => [a.getAttribute("href"), a.textContent]),
            markup: grid.querySelectorAll("b, h1, script, img").length,
        };
    """
    deadline = time.monotonic() + 15
    while True:  # the grid's rows arrive block by block and re-render
        snapshot = dash_duo.driver.execute_script(snapshot_js, grid)
        if EVIL_ID in snapshot["ids"] and len(snapshot["links"]) == 7:
            break
        assert time.monotonic() < deadline, snapshot
        time.sleep(0.2)
    assert all(href.startswith("/building/") for href, _text in snapshot["links"])
    evil = [text for href, text in snapshot["links"] if href.startswith("/building/%5Bx%5D")]
    assert evil == [EVIL_NAME.replace("\n", " ")]
    assert snapshot["markup"] == 0
    logs = dash_duo.get_logs()
    assert logs == [], [entry["message"][:700] for entry in logs]

    # The shell's sign-out button posts the form; the session then ends.
    dash_duo.find_element(f"#{ids.NAV_LOGOUT}").click()
    deadline = time.monotonic() + 15
    while "/login" not in dash_duo.driver.current_url and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "/login" in dash_duo.driver.current_url
    dash_duo.driver.get(f"{dash_duo.server_url}/retrofit")
    assert "/login?next=/retrofit" in dash_duo.driver.current_url
