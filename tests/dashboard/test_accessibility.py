"""Accessibility in headless Chromium at 1440×900.

axe-core 4.14 (WCAG 2.0/2.1 A and AA rules, injected with axe-selenium-python) runs on the
sign-in page and on every page for every role (regulator, analyst, manager), in Chinese, right
after the language switch, and in English; any serious or critical violation fails. Every
page also has its own <title>, <html lang> in step with the switch, a <main> landmark, a skip
link and a text summary on each chart.
The same visit of each page, per role and language, makes test_layout_browser.py's layout
checks (chart heights, overlaps, clipped grid text), and the language switch is checked for
both there too.

A keyboard-only walk signs in, reaches the city table in a few Tab presses, opens a building
page with Enter on a name (city and retrofit tables), and switches the language.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from axe_selenium_python import Axe
from qw_dashboard_support import PASSWORD
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from dashboard import ids
from dashboard.palette import MIN_TEXT_CONTRAST, contrast_ratio

pytestmark = pytest.mark.browser

_spec = importlib.util.spec_from_file_location(
    "qw_layout_checks", Path(__file__).with_name("test_layout_browser.py")
)
_layout = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_layout)  # type: ignore[union-attr]

AXE_SCRIPT = Path(__file__).with_name("axe") / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}
WINDOW = (1440, 900)
MAX_TABS_TO_TABLE = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(dash_duo: Any, app: Any) -> str:
    """Serve the app, size the window, and return the base URL."""
    port = _free_port()
    dash_duo.start_server(app, navigate=False, port=port)
    dash_duo.driver.set_window_size(*WINDOW)
    base = f"http://localhost:{port}"
    dash_duo._url = base
    return base


def wait_until(condition: Callable[[], Any], timeout_s: float = 15.0, what: str = "") -> Any:
    """Poll ``condition`` until it is true; an element that Dash re-rendered meanwhile (a
    stale reference) counts as not yet."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = condition()
        except (StaleElementReferenceException, NoSuchElementException):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.1)


def serious_violations(driver: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the current page."""
    axe = Axe(driver, script_url=str(AXE_SCRIPT))
    axe.inject()
    results = axe.run(options=json.dumps({"runOnly": {"type": "tag", "values": WCAG_TAGS}}))
    return [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']} {node['html'][:200]}")
    return "\n".join(lines)


def assert_accessible(driver: Any, where: str) -> None:
    violations = serious_violations(driver)
    assert not violations, f"{where}:\n{describe(violations)}"


def html_lang(driver: Any) -> str:
    return str(driver.execute_script("return document.documentElement.lang"))


def sign_in(dash_duo: Any, app: Any, username: str) -> str:
    """Sign in through the form (checking the sign-in page first) and wait for the city page."""
    base = start(dash_duo, app)
    driver = dash_duo.driver
    driver.get(f"{base}/login?next=/")
    assert driver.find_elements(By.CSS_SELECTOR, "main form")  # the form is the main landmark
    assert_accessible(driver, "sign-in page")
    dash_duo.find_element("#username").send_keys(username)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element(f"#{ids.CITY_GRID} .ag-row", timeout=15)
    return base


def charts_described(driver: Any) -> bool:
    """Every chart on the page is a figure with a non-empty text summary."""
    graphs = driver.find_elements(By.CSS_SELECTOR, ".dash-graph")
    return bool(graphs) and all(
        g.get_attribute("role") == "figure" and (g.get_attribute("aria-label") or "").strip()
        for g in graphs
    )


# Each page: its path, what shows that it has rendered, and whether it has charts.
PAGES: list[tuple[str, str, bool]] = [
    ("/", f"#{ids.CITY_GRID} .ag-row", True),
    ("/building/B1", f"#{ids.BUILDING_METERS} .ag-row", True),
    ("/retrofit", f"#{ids.RETRO_GRID} .ag-row, #{ids.RETRO_NOTE}, #{ids.RETRO_FORBIDDEN}", False),
    ("/quality", f"#{ids.DQ_QUARANTINE_GRID} .ag-row", True),
    ("/no-such-page", "#_pages_content h2", False),
]


def _hex(css_colour: str) -> str:
    """``rgb(r, g, b)``/``rgba(r, g, b, 1)`` as ``#RRGGBB``."""
    parts = css_colour[css_colour.index("(") + 1 : css_colour.index(")")].split(",")
    return "#" + "".join(f"{int(float(p)):02X}" for p in parts[:3])


def check_status_cells(driver: Any) -> None:
    """The rendered status cells (which axe cannot measure inside the grid) reach 4.5:1."""
    cells = driver.find_elements(By.CSS_SELECTOR, ".ag-cell[col-id='status']")
    assert cells
    for cell in cells:
        background = cell.value_of_css_property("background-color")
        text = cell.value_of_css_property("color")
        ratio = contrast_ratio(_hex(text), _hex(background))
        assert ratio >= MIN_TEXT_CONTRAST, (cell.text, text, background, round(ratio, 2))


def check_page(dash_duo: Any, path: str, ready: str, has_charts: bool, lang: str) -> str:
    """Open a page, wait until it has rendered, check it with axe; return its title."""
    driver = dash_duo.driver
    driver.get(f"{dash_duo.server_url}{path}")
    dash_duo.wait_for_element(ready, timeout=15)
    if path == "/":
        dash_duo.wait_for_element(f"#{ids.CITY_UTILIZATION} .barlayer .point", timeout=10)
    if has_charts:
        wait_until(lambda: charts_described(driver), what=f"chart summaries on {path}")
    expected_tag = "en" if lang == "en" else "zh-CN"
    wait_until(lambda: html_lang(driver) == expected_tag, what=f"lang={expected_tag} on {path}")
    assert driver.find_elements(By.CSS_SELECTOR, f"main#{ids.MAIN}")
    # The switch is labelled in the other language, and says so (WCAG 3.1.2).
    toggle = driver.find_element(By.CSS_SELECTOR, f"#{ids.LANG_TOGGLE}")
    assert toggle.get_attribute("lang") == ("zh-CN" if lang == "en" else "en")
    skip = driver.find_element(By.CSS_SELECTOR, f"#{ids.SKIP_LINK}")
    assert skip.get_attribute("href").endswith(f"#{ids.MAIN}")
    for control in driver.find_elements(By.CSS_SELECTOR, ".qw-control"):
        label = control.find_element(By.CSS_SELECTOR, "label").text.strip()
        named = control.find_elements(
            By.CSS_SELECTOR, "button.dash-dropdown, input[type=number], [role=radiogroup]"
        )
        for element in named:  # every control is named by its visible label first
            name = element.accessible_name
            assert name.startswith(label), (path, element.get_attribute("id"), name, label)
    if path in ("/", "/retrofit") and driver.find_elements(By.CSS_SELECTOR, ".ag-row"):
        check_status_cells(driver)
    assert_accessible(driver, f"{path} [{lang}]")
    return str(driver.title)


def check_open_dropdowns(dash_duo: Any) -> None:
    """On the city page: a single-choice (radios) and a multi-choice (checkboxes) dropdown,
    each checked with axe while open."""
    driver = dash_duo.driver
    for dropdown_id in (ids.CITY_YEAR, ids.CITY_DISTRICT):
        dash_duo.find_element(f"#{dropdown_id}").click()
        dash_duo.wait_for_element(".dash-dropdown-content .dash-options-list-option", timeout=10)
        assert_accessible(driver, f"city page with #{dropdown_id} open")
        press(driver, Keys.ESCAPE)
        wait_until(  # (a script: find_elements would wait 2 s for what is gone)
            lambda: driver.execute_script(
                "return !document.querySelector('.dash-dropdown-content')"
            ),
            what="the dropdown to close",
        )


def check_layout_and_grids(dash_duo: Any, path: str, where: str) -> None:
    """test_layout_browser.py's checks of the page on screen: the charts keep their height
    and do not overlap, no grid text is cut off."""
    if path in _layout.PAGES:
        _layout.check_layout(dash_duo, path, where)
        _layout.check_grids(dash_duo, path, where)


def check_language_switches(dash_duo: Any, username: str, lang: str) -> None:
    """The language switch re-renders the page in place: on the city and building pages,
    switched from ``lang`` and back, the charts must not collapse and no grid text is cut
    off."""
    switch_to = "en" if lang == "zh" else "zh"
    for path in ("/", "/building/B1"):
        _layout.visit(dash_duo, path)
        _layout.switch_language(dash_duo, switch_to)
        _layout.check_layout(dash_duo, path, f"{username} {lang}→{switch_to} {path}")
        _layout.check_grids(dash_duo, path, f"{username} {lang}→{switch_to} {path}")
        _layout.switch_language(dash_duo, lang)
        _layout.check_layout(dash_duo, path, f"{username} {switch_to}→{lang} {path}")


@pytest.mark.parametrize("username", ["reg", "ana", "mgr"])
def test_every_page_passes_axe_and_keeps_its_layout_in_both_languages(
    dash_duo: Any, app: Any, username: str
) -> None:
    """Each page is visited once per language, and checked there with axe (this module) and
    for its layout (test_layout_browser.py)."""
    sign_in(dash_duo, app, username)
    driver = dash_duo.driver
    titles: dict[str, list[str]] = {"zh": [], "en": []}
    for path, ready, has_charts in PAGES:
        titles["zh"].append(check_page(dash_duo, path, ready, has_charts, "zh"))
        check_layout_and_grids(dash_duo, path, f"{username} zh {path}")
        if path == "/":
            check_open_dropdowns(dash_duo)
    check_language_switches(dash_duo, username, "zh")

    # Switch the language on the building page and check the page as it is re-rendered.
    driver.get(f"{dash_duo.server_url}/building/B1")
    dash_duo.wait_for_element(f"#{ids.BUILDING_METERS} .ag-row", timeout=15)
    dash_duo.find_element(f"#{ids.LANG_TOGGLE}").click()
    nav_city = "My buildings" if username == "mgr" else "City compliance"
    dash_duo.wait_for_text_to_equal(f"#{ids.NAV_CITY}", nav_city, timeout=10)
    dash_duo.wait_for_contains_text(f"#{ids.BUILDING_HEADER}", "Over quota", timeout=10)
    wait_until(lambda: html_lang(driver) == "en", what="lang=en after the switch")
    wait_until(lambda: driver.title.startswith("Building B1"), what="English title")
    cumulative = dash_duo.find_element(f"#{ids.BUILDING_CUMULATIVE}")
    wait_until(  # the chart summaries follow the language
        lambda: (cumulative.get_attribute("aria-label") or "").startswith("Cumulative use"),
        what="the English summary of the cumulative chart",
    )
    assert_accessible(driver, "building page right after the language switch")

    for path, ready, has_charts in PAGES:
        titles["en"].append(check_page(dash_duo, path, ready, has_charts, "en"))
        check_layout_and_grids(dash_duo, path, f"{username} en {path}")
    check_language_switches(dash_duo, username, "en")

    for names in titles.values():
        assert len(set(names)) == len(names), names  # every page its own title
    assert titles["zh"][0] == "全市达标情况 – 公共建筑能耗限额监管"
    assert titles["en"][1] == "Building B1 – QuotaWatch — public-building energy quotas"
    logs = dash_duo.get_logs()
    assert logs == [], [entry["message"][:700] for entry in logs]


def focused(driver: Any) -> Any:
    return driver.switch_to.active_element


def press(driver: Any, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def tab_until(driver: Any, matches: Callable[[Any], bool], limit: int) -> int:
    """Press Tab until the focused element matches; return the number of presses."""
    for presses in range(1, limit + 1):
        press(driver, Keys.TAB)
        if matches(focused(driver)):
            return presses
    raise AssertionError(
        f"not reached in {limit} Tab presses; at {focused(driver).get_attribute('outerHTML')[:200]}"
    )


def inside(element_id: str) -> Callable[[Any], bool]:
    def test(element: Any) -> bool:
        return bool(element.get_attribute("id") == element_id) or bool(
            element.parent.execute_script(
                "return arguments[0].closest('#' + arguments[1]) !== null", element, element_id
            )
        )

    return test


def open_building_with_enter(dash_duo: Any, grid_id: str, column: str) -> str:
    """Move focus to the first row's building name cell with the arrow keys and press
    Enter; return the building id of the row."""
    driver = dash_duo.driver
    target = int(
        driver.find_element(
            By.CSS_SELECTOR, f"#{grid_id} .ag-header-cell[col-id='{column}']"
        ).get_attribute("aria-colindex")
    )
    for _ in range(30):  # from the grid's header (or a cell) to the name cell of row 1
        cell = focused(driver)
        in_body = cell.get_attribute("role") == "gridcell"
        if in_body and cell.get_attribute("col-id") == column:
            break
        if not in_body:  # (a grid whose rows are still arriving ignores the key)
            press(driver, Keys.ARROW_DOWN)
            time.sleep(0.2)
        else:
            current = int(cell.get_attribute("aria-colindex"))
            press(driver, Keys.ARROW_RIGHT if current < target else Keys.ARROW_LEFT)
    else:
        raise AssertionError(
            "the building name cell was not reached; focus on "
            + focused(driver).get_attribute("outerHTML")[:300]
        )
    row_index = driver.execute_script(
        "return arguments[0].closest('[role=row]').getAttribute('row-index')", focused(driver)
    )
    building_id = driver.find_element(
        By.CSS_SELECTOR, f"#{grid_id} [row-index='{row_index}'] [col-id='building_id']"
    ).text
    press(driver, Keys.ENTER)
    wait_until(
        lambda: driver.current_url.endswith(f"/building/{building_id}"),
        what=f"the page of {building_id}",
    )
    dash_duo.wait_for_element(f"#{ids.BUILDING_HEADER} p", timeout=15)
    return building_id


def test_keyboard_only_sign_in_table_building_and_language(dash_duo: Any, app: Any) -> None:
    base = start(dash_duo, app)
    driver = dash_duo.driver
    driver.get(f"{base}/login?next=/")
    assert focused(driver).get_attribute("id") == "username"  # autofocus
    press(driver, "reg", Keys.TAB, PASSWORD, Keys.ENTER)
    dash_duo.wait_for_element(f"#{ids.CITY_GRID} .ag-row", timeout=15)
    dash_duo.wait_for_element(f"#{ids.CITY_UTILIZATION} .barlayer .point", timeout=10)

    # The skip link is the first stop; then the filters, and the table (charts take no focus).
    presses = tab_until(driver, lambda e: e.get_attribute("id") == ids.SKIP_LINK, 1)
    press(driver, Keys.ENTER)
    assert focused(driver).get_attribute("id") == ids.MAIN
    # On the way, the Basis radio group works with the arrow keys (native radios).
    presses += tab_until(driver, inside(ids.CITY_BASIS), MAX_TABS_TO_TABLE)
    press(driver, Keys.ARROW_RIGHT)
    dash_duo.wait_for_contains_text(
        f"#{ids.CITY_GRID} .ag-header-cell[col-id='energy']", "kgce", timeout=10
    )
    assert focused(driver).get_attribute("value") == "energy_kgce"
    press(driver, Keys.ARROW_LEFT)  # back to electricity (the tiny city has no kgce results)
    dash_duo.wait_for_contains_text(
        f"#{ids.CITY_GRID} .ag-header-cell[col-id='energy']", "kWh", timeout=10
    )
    dash_duo.wait_for_element(f"#{ids.CITY_GRID} .ag-row", timeout=10)
    presses += tab_until(driver, inside(ids.CITY_GRID), MAX_TABS_TO_TABLE)
    assert presses <= MAX_TABS_TO_TABLE

    building_id = open_building_with_enter(dash_duo, ids.CITY_GRID, "building")
    assert building_id.startswith("B")

    # A Dropdown by keyboard: Tab to it, Enter opens, arrow to the next year, Enter chooses.
    tab_until(driver, lambda e: e.get_attribute("id") == ids.BUILDING_YEAR, 12)
    before = dash_duo.find_element(f"#{ids.BUILDING_YEAR}-value").text
    press(driver, Keys.ENTER)
    dash_duo.wait_for_element(".dash-dropdown-content .dash-options-list-option", timeout=10)
    time.sleep(0.3)  # the open list moves focus to the chosen option on the next frame
    press(driver, Keys.ARROW_DOWN, Keys.ENTER)
    wait_until(
        lambda: dash_duo.find_element(f"#{ids.BUILDING_YEAR}-value").text == str(int(before) - 1),
        what="the next year chosen by keyboard",
    )

    # The retrofit table: Enter on a name opens its page too.
    driver.get(f"{base}/retrofit")
    dash_duo.wait_for_element(f"#{ids.RETRO_GRID} .ag-row", timeout=15)
    tab_until(driver, inside(ids.RETRO_GRID), 20)
    open_building_with_enter(dash_duo, ids.RETRO_GRID, "name")

    # The language switch by keyboard: a few Tabs from the top of the page, then Enter.
    tab_until(driver, lambda e: e.get_attribute("id") == ids.LANG_TOGGLE, 8)
    press(driver, Keys.ENTER)
    dash_duo.wait_for_text_to_equal(f"#{ids.NAV_CITY}", "City compliance", timeout=10)
    wait_until(lambda: html_lang(driver) == "en", what="lang=en")
    assert focused(driver).get_attribute("id") == ids.LANG_TOGGLE  # focus stays on the switch
    logs = dash_duo.get_logs()
    assert logs == [], [entry["message"][:700] for entry in logs]


def test_quality_page_without_quarantined_rows(dash_duo: Any, city: Any, app: Any) -> None:
    """With nothing quarantined the page shows the (empty) chart and no empty Reason picker,
    and passes axe."""
    with city.connect() as conn:
        conn.execute("DELETE FROM quarantine")
        conn.commit()
    base = start(dash_duo, app)
    driver = dash_duo.driver
    driver.get(f"{base}/login?next=/quality")
    dash_duo.find_element("#username").send_keys("mgr")
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element(f"#{ids.DQ_QUARANTINE_CHART}", timeout=15)
    wait_until(lambda: charts_described(driver), what="the quarantine chart's summary")
    assert driver.find_elements(By.CSS_SELECTOR, f"#{ids.DQ_REASON}") == []
    assert_accessible(driver, "quality page without quarantined rows")
