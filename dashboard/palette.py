"""The status palette: one colour per evaluation status, used by every chart and table.

Colours are the Okabe-Ito set, distinguishable with the common colour-vision deficiencies;
the order runs from good to worst so stacked charts read the same everywhere.

A status is never told by colour alone: tables write its localised name on the colour,
charts name it in their legend, hover text and text summary. The text written on a status
colour is whichever of black and white contrasts more with it, and every pair reaches the
4.5:1 of WCAG 2.1 AA (1.4.3) for normal text (:func:`contrast_ratio`, tested).
"""

from __future__ import annotations

from typing import Final

STATUS_ORDER: Final = (
    "within",
    "at_risk",
    "over",
    "over_20",
    "over_20_repeat",
    "insufficient_data",
    "no_quota",
    "out_of_scope",
)
JUDGED_STATUSES: Final = ("within", "at_risk", "over", "over_20", "over_20_repeat")
OVER_TIERS: Final = ("over", "over_20", "over_20_repeat")

STATUS_COLOURS: Final[dict[str, str]] = {
    "within": "#009E73",  # bluish green
    "at_risk": "#E69F00",  # orange
    "over": "#D55E00",  # vermillion
    "over_20": "#CC79A7",  # reddish purple
    "over_20_repeat": "#000000",  # black: the worst tier
    "insufficient_data": "#999999",  # grey
    "no_quota": "#56B4E9",  # sky blue
    "out_of_scope": "#DDDDDD",  # light grey
}
TEXT_DARK: Final = "#000000"
TEXT_LIGHT: Final = "#FFFFFF"
MIN_TEXT_CONTRAST: Final = 4.5  # WCAG 2.1 AA, normal-size text


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of a ``#RRGGBB`` colour (0 black … 1 white)."""
    value = colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255.0 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio of two ``#RRGGBB`` colours (1 … 21)."""
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background: str) -> str:
    """Black or white, whichever contrasts more with ``background``."""
    dark = contrast_ratio(TEXT_DARK, background)
    return TEXT_DARK if dark >= contrast_ratio(TEXT_LIGHT, background) else TEXT_LIGHT


# Text colour on each status colour (black on all but the black worst tier).
STATUS_TEXT_COLOURS: Final[dict[str, str]] = {
    status: readable_text_colour(STATUS_COLOURS[status]) for status in STATUS_ORDER
}
# Fill patterns of status bars and marker symbols of status points, so that a chart tells the
# statuses apart without colour too (monochrome print, achromatopsia). Good statuses plain,
# worse ones denser.
STATUS_PATTERNS: Final[dict[str, str]] = {
    "within": "",
    "at_risk": ".",
    "over": "/",
    "over_20": "x",
    "over_20_repeat": "",
    "insufficient_data": "-",
    "no_quota": "|",
    "out_of_scope": "",
}
STATUS_SYMBOLS: Final[dict[str, str]] = {
    "within": "circle",
    "at_risk": "diamond",
    "over": "triangle-up",
    "over_20": "x",
    "over_20_repeat": "square",
    "insufficient_data": "circle-open",
    "no_quota": "diamond-open",
    "out_of_scope": "square-open",
}


def status_bar_marker(status: str) -> dict[str, object]:
    """Plotly bar marker of a status: its colour with its pattern drawn over it in the
    status's text colour (half opaque), separated by thin white lines."""
    marker: dict[str, object] = {
        "color": STATUS_COLOURS[status],
        "line": {"color": "#FFFFFF", "width": 0.5},
    }
    if STATUS_PATTERNS[status]:
        marker["pattern"] = {
            "shape": STATUS_PATTERNS[status],
            "fillmode": "overlay",
            "fgcolor": STATUS_TEXT_COLOURS[status],
            "fgopacity": 0.45,
            "size": 8,
        }
    return marker


ACCENT: Final = "#0072B2"  # blue: actual use, this building
REFERENCE: Final = "#555555"  # quota lines, trajectories
LAST_YEAR: Final = "#A8A8A8"  # grey: last year, clearly apart from this year's blue
