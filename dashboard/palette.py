"""The status palette: one colour per evaluation status, used by every chart and table.

Colours are the Okabe-Ito set, distinguishable with the common colour-vision deficiencies;
the order runs from good to worst so stacked charts read the same everywhere.
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
# Text colour that stays readable on each status colour.
STATUS_TEXT_COLOURS: Final[dict[str, str]] = {
    status: "#FFFFFF" if status in ("over", "over_20_repeat", "within", "over_20") else "#000000"
    for status in STATUS_ORDER
}
ACCENT: Final = "#0072B2"  # blue: actual use, this building
REFERENCE: Final = "#555555"  # quota lines, trajectories
LAST_YEAR: Final = "#A8A8A8"  # grey: last year, clearly apart from this year's blue
