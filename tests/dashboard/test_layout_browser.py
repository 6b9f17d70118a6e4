"""The charts keep their height in headless Chromium: after every load of every page, for
each role, in both languages and right after a language switch, every chart is at least as
high as :data:`dashboard.sizes.GRAPH_HEIGHT_PX` says (its box and Plotly's drawing) and no
two charts overlap."""

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


def switch_language(dash_duo: Any, to: str) -> None:
    dash_duo.find_element(f"#{ids.LANG_TOGGLE}").click()
    dash_duo.wait_for_text_to_equal(f"#{ids.LANG_TOGGLE}", t("switch_language", to), timeout=15)


@pytest.mark.parametrize("username", ["reg", "ana", "mgr"])
def test_charts_keep_their_height_on_every_page(dash_duo: Any, app: Any, username: str) -> None:
    dash_duo.driver.set_window_size(1440, 900)
    sign_in(dash_duo, app, username)
    for lang in ("zh", "en"):
        for path in PAGES:
            visit(dash_duo, path)
            check_layout(dash_duo, path, f"{username} {lang} {path}")
        # The language switch re-renders the page in place: the charts must not collapse.
        switch_to = "en" if lang == "zh" else "zh"
        for path in ("/", "/building/B1"):
            visit(dash_duo, path)
            switch_language(dash_duo, switch_to)
            check_layout(dash_duo, path, f"{username} {lang}→{switch_to} {path}")
            switch_language(dash_duo, lang)
            check_layout(dash_duo, path, f"{username} {switch_to}→{lang} {path}")
        if lang == "zh":
            switch_language(dash_duo, "en")
    logs = dash_duo.get_logs()
    assert logs == [], [entry["message"][:700] for entry in logs]
