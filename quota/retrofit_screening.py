"""The one retrofit screening of QuotaWatch (I/O around :mod:`quota.retrofit`): savings
potential and every trigger, including the base-load trigger read from interval readings,
ranked. ``quotawatch export retrofit`` and the dashboard's Retrofit page and downloads all
call :func:`ranked_candidates`, so they list the same buildings in the same order.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import psycopg

from quota import calendar, queries, retrofit
from quota.settings import Settings


def ranked_candidates(
    conn: psycopg.Connection[Any],
    settings: Settings,
    registry: pd.DataFrame,
    results: pd.DataFrame,
    as_of: date,
) -> pd.DataFrame:
    """The ranked candidate list (``retrofit.CANDIDATE_COLUMNS``) of one evaluation.

    ``registry`` and ``results`` as :func:`quota.retrofit.screen` takes them. The base-load
    ratio (night/weekend ÷ occupied mean power) is read for the listed buildings only, over
    ``[retrofit] base_load_window_days`` local days up to and including ``as_of``.
    """
    rules = retrofit.RetrofitRules.from_rules(settings.rules)
    screened = retrofit.screen(registry, results, rules, settings.rules)
    listed = screened[retrofit.is_listed(screened)]
    tz = settings.tz
    end_at = calendar.local_midnight(as_of + timedelta(days=1), tz)
    start_at = calendar.local_midnight(as_of - timedelta(days=rules.base_load_window_days - 1), tz)
    base = (
        queries.base_load(
            conn, listed["building_id"].tolist(), start_at, end_at, settings.timezone_name
        )
        if len(listed)
        else pd.DataFrame()
    )
    return retrofit.rank(retrofit.apply_base_load(screened, base, rules.base_load_ratio_threshold))
