"""Accessibility rules that need no browser: status text contrast, control labels, page
titles and the page template's language."""

from __future__ import annotations

import pytest
from dash import dcc

from dashboard import components as ui
from dashboard import shell
from dashboard.palette import (
    MIN_TEXT_CONTRAST,
    STATUS_COLOURS,
    STATUS_ORDER,
    STATUS_TEXT_COLOURS,
    contrast_ratio,
    readable_text_colour,
    relative_luminance,
)


def test_contrast_ratio_matches_wcag_reference_values() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)
    # The two failures measured on the old palette: white on vermillion and on bluish green.
    assert contrast_ratio("#FFFFFF", "#D55E00") == pytest.approx(3.87, abs=0.01)
    assert contrast_ratio("#FFFFFF", "#009E73") == pytest.approx(3.42, abs=0.01)


@pytest.mark.parametrize("status", STATUS_ORDER)
def test_every_status_text_meets_4_5_to_1(status: str) -> None:
    ratio = contrast_ratio(STATUS_TEXT_COLOURS[status], STATUS_COLOURS[status])
    assert ratio >= MIN_TEXT_CONTRAST, (status, round(ratio, 2))


def test_status_colours_stay_distinct_okabe_ito() -> None:
    assert len(set(STATUS_COLOURS.values())) == len(STATUS_COLOURS)
    assert readable_text_colour("#000000") == "#FFFFFF"
    assert readable_text_colour("#D55E00") == "#000000"


def test_control_labels_name_their_control() -> None:
    number = ui.control("Minimum area", dcc.Input(id="retro-min-area", type="number"))
    label = number.children[0]
    assert label.htmlFor == "retro-min-area"
    assert label.id == ui.label_id("retro-min-area") == "retro-min-area-label"
    dropdown = ui.control("Year", dcc.Dropdown(id="city-year", options=[]))
    assert dropdown.children[0].htmlFor == "city-year"
    radios = ui.control("Basis", dcc.RadioItems(id="city-basis", options=[]))
    assert radios.children[0].id == "city-basis-label"
    assert getattr(radios.children[0], "htmlFor", None) is None  # a div is not labelable


def test_page_titles_and_template_language() -> None:
    assert shell.page_title("nav_city")() == "全市达标情况 – 公共建筑能耗限额监管"
    assert shell.page_title("title_building")(building_id="B%201") == (
        "建筑 B 1 – 公共建筑能耗限额监管"
    )
    template = shell.index_string("<!DOCTYPE html>\n<html>\n<head></head></html>")
    assert '<html lang="zh-CN">' in template


def test_status_charts_tell_statuses_apart_without_colour() -> None:
    from dashboard.palette import STATUS_PATTERNS, STATUS_SYMBOLS, status_bar_marker

    patterned = {s: p for s, p in STATUS_PATTERNS.items() if p}
    assert len(set(patterned.values())) == len(patterned)
    # The three plain fills differ widely in lightness: green, black, light grey.
    plain = sorted(
        relative_luminance(STATUS_COLOURS[s]) for s in STATUS_ORDER if s not in patterned
    )
    assert len(plain) == 3 and plain[1] - plain[0] > 0.2 and plain[2] - plain[1] > 0.2
    assert len(set(STATUS_SYMBOLS.values())) == len(STATUS_SYMBOLS)
    marker = status_bar_marker("over")
    assert marker["pattern"]["shape"] == "/"
    assert marker["pattern"]["fgcolor"] == STATUS_TEXT_COLOURS["over"]
