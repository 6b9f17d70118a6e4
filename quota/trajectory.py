"""The expected cumulative-share curve of one building for the dashboard's trajectory chart.

Same method as the evaluation's expected share (``quota.profiles``): the building's own
previous-year daily profile when that year is sufficiently complete, else the same-type
citywide profile of the previous year (at least ``min_peer_count`` complete peers), else
elapsed time. Reads only ``building_daily`` and ``building``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import psycopg

from quota import calendar, conversion, profiles, queries
from quota.rules import EvaluationRules
from quota.settings import Settings


def _basis_daily(rows: pd.DataFrame, basis: str, rules: EvaluationRules) -> pd.Series:
    """Daily use in the basis's quantity (kWh of electricity, or kgce of all carriers)."""
    if rows.empty:
        return pd.Series(dtype="float64")
    if basis == "electricity_kwh":
        rows = rows[rows["energy_type"] == "electricity"]
        values = rows["energy_kwh"].astype("float64")
    else:
        values = conversion.kgce_from_kwh(
            rows["energy_kwh"].astype("float64"), rows["energy_type"], rules.factors
        )
    return values.groupby(rows["day"]).sum()


def expected_cumulative_share_with_source(
    conn: psycopg.Connection[Any],
    settings: Settings,
    building_id: str,
    year: int,
    basis: str = "electricity_kwh",
) -> tuple[pd.Series, str]:
    """(curve, profile_source): see :func:`expected_cumulative_share`."""
    rules = EvaluationRules.from_rules(settings.rules)
    prev = year - 1
    start, end = calendar.year_start(prev), calendar.year_end(prev)
    min_days = math.ceil(rules.min_profile_year_completeness * calendar.days_in_year(prev))
    own = queries.building_daily_one(conn, building_id, start, end)
    own_days = own.loc[own["energy_type"] == "electricity", "day"].nunique() if not own.empty else 0
    own_daily = _basis_daily(own, basis, rules)
    if own_days >= min_days and own_daily.sum() > 0:
        return profiles.cumulative_share_from_daily(own_daily, year), "own"
    building_type = queries.building_type_of(conn, building_id)
    if building_type is not None:
        peers = queries.type_daily_profile(conn, building_type, start, end, min_days)
        if not peers.empty and int(peers["peer_count"].iloc[0]) >= rules.min_peer_count:
            type_daily = _basis_daily(peers, basis, rules)
            if type_daily.sum() > 0:
                return profiles.cumulative_share_from_daily(type_daily, year), "type"
    return profiles.linear_cumulative_share(year), "elapsed"


def expected_cumulative_share(
    conn: psycopg.Connection[Any],
    settings: Settings,
    building_id: str,
    year: int,
    basis: str = "electricity_kwh",
) -> pd.Series:
    """Cumulative expected share of the year's use, indexed by every local date of ``year``
    (``datetime.date``), rising from the first day's share to 1.0 on 31 December [-].

    Multiply by the quota for the expected-use trajectory a building should stay under.
    """
    return expected_cumulative_share_with_source(conn, settings, building_id, year, basis)[0]
