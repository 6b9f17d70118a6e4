"""The charts keep their height and no grid text is cut off, in headless Chromium at
1440×900: after every load of every page, for each role, in both languages and right after
a language switch, every chart is at least as high as :data:`dashboard.sizes.GRAPH_HEIGHT_PX`
says (its box and Plotly's drawing), no two charts overlap, and no rendered grid cell or
header is truncated (its text wider or taller than its box, which ag-grid cuts with "…").

The checks are made by test_accessibility.py's walk through every page, per role and
language (one visit of each page serves both its axe and its layout checks); this module
holds them and proves that the clipping check sees a cut-off cell."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import pytest

from dashboard import ids
from dashboard.sizes import GRAPH_HEIGHT_PX
from dashboard.texts import t

pytestmark = pytest.mark.browser

_spec = importlib.util.spec_from_file_location(
    "qw_browser_helpers", Path(__file__).with_name("test_browser.py")
)
_helpers = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_helpers)  # type: ignore[union-attr]
sign_in, visit = _helpers.sign_in, _helpers.visit

CITY_GRAPHS = {ids.CITY_BY_DISTRICT, ids.CITY_BY_TYPE, ids.CITY_UTILIZATION}
BUILDING_GRAPHS = {
    ids.BUILDING_CUMULATIVE,
    ids.BUILDING_MONTHLY,
    ids.BUILDING_HISTORY,
    ids.BUILDING_HEATMAP,
    ids.BUILDING_PEERS,
}
PAGES = {
    "/": CITY_GRAPHS,
    "/building/B1": BUILDING_GRAPHS,
    "/retrofit": set(),
    "/quality": {ids.DQ_QUARANTINE_CHART},
}

# Every chart's box, its Plotly drawing and whether its figure has been drawn (a title or
# an annotation in the SVG).
MEASURE_JS = """
return Array.from(document.querySelectorAll('.dash-graph')).map(function (el) {
    var box = el.getBoundingClientRect();
    var svg = el.querySelector('.main-svg');
    var drawn = svg ? svg.getBoundingClientRect() : null;
    return {
        id: el.id,
        top: box.top + window.scrollY, left: box.left + window.scrollX,
        width: box.width, height: box.height,
        svg_height: drawn ? drawn.height : 0,
        titled: !!el.querySelector('.gtitle, .annotation-text')
    };
});
"""


def measure(dash_duo: Any) -> list[dict[str, Any]]:
    return list(dash_duo.driver.execute_script(MEASURE_JS))


def settled(dash_duo: Any, expected: set[str], timeout_s: float = 20.0) -> list[dict[str, Any]]:
    """The charts once all expected ones are drawn and their sizes stopped changing (the
    same measurements three times in a row, a quarter second apart)."""
    deadline = time.monotonic() + timeout_s
    previous: list[dict[str, Any]] = []
    same = 0
    while time.monotonic() < deadline:
        charts = measure(dash_duo)
        drawn = {c["id"] for c in charts if c["titled"]}
        if expected <= drawn and charts == previous:
            same += 1
            if same >= 2:
                return charts
        else:
            same = 0
        previous = charts
        time.sleep(0.25)
    return measure(dash_duo)


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when the two boxes share more than a pixel in both directions."""
    dx = min(a["left"] + a["width"], b["left"] + b["width"]) - max(a["left"], b["left"])
    dy = min(a["top"] + a["height"], b["top"] + b["height"]) - max(a["top"], b["top"])
    return dx > 1 and dy > 1


def check_layout(dash_duo: Any, path: str, where: str) -> None:
    expected = PAGES[path]
    charts = settled(dash_duo, expected)
    found = {c["id"] for c in charts}
    assert found == expected, f"{where}: charts {sorted(found)}, expected {sorted(expected)}"
    for chart in charts:
        least = GRAPH_HEIGHT_PX[chart["id"]] - 1
        assert chart["titled"], f"{where}: {chart['id']} not drawn"
        assert chart["height"] >= least, f"{where}: {chart['id']} box {chart['height']} px"
        assert chart["svg_height"] >= least, f"{where}: {chart['id']} drawn {chart['svg_height']}"
        assert chart["width"] > 200, f"{where}: {chart['id']} {chart['width']} px wide"
    for i, a in enumerate(charts):
        for b in charts[i + 1 :]:
            assert not overlaps(a, b), f"{where}: {a['id']} overlaps {b['id']}"


# The grids each page fills with rows (on every page the check waits for them).
GRIDS = {
    "/": {ids.CITY_GRID},
    "/building/B1": {ids.BUILDING_METERS},
    "/retrofit": {ids.RETRO_GRID},
    "/quality": {ids.DQ_QUARANTINE_GRID},
}

# Every rendered grid cell and header whose text does not fit its box: [grid id, text,
# scrollWidth, clientWidth, scrollHeight, clientHeight]. A cell's text element is ag-grid's
# .ag-cell-value (the cell itself for cells without one); a header's is .ag-header-cell-text.
CLIPPED_JS = """
var out = [];
document.querySelectorAll('.ag-cell, .ag-header-cell-text').forEach(function (el) {
    var text = el.classList.contains('ag-cell') ? (el.querySelector('.ag-cell-value') || el) : el;
    if (!text.textContent.trim() || !text.getClientRects().length) return;
    if (text.scrollWidth > text.clientWidth + 1 || text.scrollHeight > text.clientHeight + 1) {
        var grid = el.closest('.ag-theme-alpine');
        out.push([grid && grid.parentElement ? grid.parentElement.id || grid.id : '',
                  text.textContent.trim().slice(0, 80), text.scrollWidth, text.clientWidth,
                  text.scrollHeight, text.clientHeight]);
    }
});
return out;
"""
ROWS_JS = """
return arguments[0].filter(function (id) {
    return document.querySelector('#' + CSS.escape(id) + ' .ag-center-cols-container .ag-row');
});
"""


def clipped(dash_duo: Any) -> list[list[Any]]:
    return list(dash_duo.driver.execute_script(CLIPPED_JS))


def check_grids(dash_duo: Any, path: str, where: str, timeout_s: float = 20.0) -> None:
    """Once the page's grids have rows and their cells stopped changing, none is clipped."""
    expected = [g for g in GRIDS[path] if dash_duo.driver.find_elements("id", g)]
    deadline = time.monotonic() + timeout_s
    previous: list[list[Any]] | None = None
    while time.monotonic() < deadline:
        filled = set(dash_duo.driver.execute_script(ROWS_JS, expected))
        found = clipped(dash_duo)
        if filled == set(expected) and found == previous:
            break
        previous = found
        time.sleep(0.3)
    assert set(dash_duo.driver.execute_script(ROWS_JS, expected)) == set(expected), where
    assert clipped(dash_duo) == [], f"{where}: clipped grid text {clipped(dash_duo)}"


def switch_language(dash_duo: Any, to: str) -> None:
    dash_duo.find_element(f"#{ids.LANG_TOGGLE}").click()
    dash_duo.wait_for_text_to_equal(f"#{ids.LANG_TOGGLE}", t("switch_language", to), timeout=15)


def test_the_clipping_check_sees_a_cut_off_cell(dash_duo: Any, app: Any) -> None:
    """The check of the test above is no dummy: a cell ag-grid would cut with "…" (one
    line, too narrow) and a wrapped cell whose row is too low are both reported."""
    dash_duo.driver.set_window_size(1440, 900)
    sign_in(dash_duo, app, "ana")
    visit(dash_duo, "/retrofit")
    check_grids(dash_duo, "/retrofit", "ana zh /retrofit")
    dash_duo.driver.execute_script(
        """
        var wide = document.createElement('div');
        wide.className = 'ag-cell';
        wide.style.cssText = 'width:60px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis';
        wide.textContent = '> 20 % over, two years running';
        var tall = document.createElement('div');
        tall.className = 'ag-cell';
        tall.style.cssText = 'width:60px;height:20px;overflow:hidden;white-space:normal';
        tall.textContent = 'Savings potential from excess over quota';
        document.body.append(wide, tall);
        """
    )
    texts = [entry[1] for entry in clipped(dash_duo)]
    assert texts == ["> 20 % over, two years running", "Savings potential from excess over quota"]
