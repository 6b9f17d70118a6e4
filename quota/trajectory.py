"""The expected cumulative-share curve of one building for the dashboard's trajectory chart.

The evaluation chooses the expected-share profile of every building (``quota.profiles``:
own previous year → same-type peers → elapsed time) and stores the choice with its result
(``details.curve_source``). This module only draws the curve of the profile the evaluation
chose, so the chart and the status can never disagree. Reads ``building_days`` and
``building``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import psycopg

from quota import calendar, conversion, profiles, queries
from quota.rules import EvaluationRules

CURVE_SOURCES = ("own", "type", "elapsed")


def expected_cumulative_share(
    conn: psycopg.Connection[Any],
    rules: EvaluationRules,
    building_id: str,
    year: int,
    basis: str,
    curve_source: str,
) -> pd.Series:
    """Cumulative expected share of the year's use, indexed by every local date of ``year``
    (``datetime.date``), rising from the first day's share to 1.0 on 31 December [-].

    ``curve_source`` is the profile the evaluation chose (``own``, ``type`` or
    ``elapsed``). Multiply by the quota for the expected-use trajectory a building should
    stay under. A chosen profile with no use left to draw falls back to elapsed time.
    """
    if curve_source not in CURVE_SOURCES:
        raise ValueError(f"unknown expected-share profile {curve_source!r}")
    prev = year - 1
    start, end = calendar.year_start(prev), calendar.year_end(prev)
    if curve_source == "own":
        own = queries.building_daily_one(conn, building_id, start, end)
        daily = conversion.daily_in_basis(own, basis, rules.factors)
        return profiles.cumulative_share_from_daily(daily, year)
    if curve_source == "type":
        building_type = queries.building_type_of(conn, building_id)
        min_days = math.ceil(rules.min_profile_year_completeness * calendar.days_in_year(prev))
        if building_type is not None:
            peers = queries.type_daily_profile(conn, building_type, start, end, min_days)
            daily = conversion.daily_in_basis(peers, basis, rules.factors)
            return profiles.cumulative_share_from_daily(daily, year)
    return profiles.linear_cumulative_share(year)
