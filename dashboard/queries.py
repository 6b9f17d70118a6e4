"""Every SQL the dashboard runs. Each function takes the viewer and scopes its rows to it.

Regulators and analysts see every building; a manager only the buildings assigned in
``user_building``. A function about one building raises :class:`AccessDeniedError` when the viewer
may not see it (or it does not exist: the two are indistinguishable on purpose), which the
server answers with 403. City-wide views read stored evaluation results and daily rollups;
only :func:`building_hourly` reads raw readings, for one building and one month.

Results are pandas DataFrames (column names as in SQL) or plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg
from psycopg.rows import tuple_row

from dashboard.users import Viewer
from quota.rules import EvaluationRules
from quota.settings import Settings
from quota.trajectory import CURVE_SOURCES, expected_cumulative_share

JUDGED_STATUSES = ("within", "at_risk", "over", "over_20", "over_20_repeat")


class AccessDeniedError(PermissionError):
    """The viewer may not see this building or page (or it does not exist)."""


def scope_params(viewer: Viewer) -> dict[str, Any]:
    """Query parameters of the row-level scope ``(%(sees_all)s OR b.building_id =
    ANY(%(visible_ids)s))`` used in every building query."""
    return {"sees_all": viewer.sees_all, "visible_ids": sorted(viewer.building_ids)}


SCOPE = "(%(sees_all)s OR b.building_id = ANY(%(visible_ids)s::text[]))"


def frame(conn: psycopg.Connection[Any], query: str, params: dict[str, Any]) -> pd.DataFrame:
    """Run ``query`` and return its rows as a DataFrame with the SQL column names."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(query, params, binary=True)
        columns = [c.name for c in cur.description or []]
        rows = cur.fetchall()
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.DataFrame.from_records(rows, columns=columns)


# ------------------------------------------------------------------------------------------
# Evaluation runs
# ------------------------------------------------------------------------------------------
EVALUATION_YEARS = "SELECT DISTINCT year FROM evaluation_run ORDER BY year DESC"
AS_OF_DATES = "SELECT DISTINCT as_of FROM evaluation_run WHERE year = %(year)s ORDER BY as_of DESC"
RESOLVE_RUN = """
SELECT evaluation_id FROM evaluation_run
 WHERE year = %(year)s AND (%(as_of)s::date IS NULL OR as_of = %(as_of)s::date)
 ORDER BY as_of DESC, computed_at DESC, evaluation_id DESC
 LIMIT 1
"""
NEWEST_RUN = "SELECT max(evaluation_id) AS newest FROM evaluation_run"
RUN_INFO = (
    "SELECT evaluation_id, year, as_of, computed_at, parameters FROM evaluation_run "
    "WHERE evaluation_id = %(evaluation_id)s"
)


def evaluation_years(conn: psycopg.Connection[Any]) -> list[int]:
    """Years with at least one evaluation run, newest first."""
    return [r["year"] for r in conn.execute(EVALUATION_YEARS)]


def as_of_dates(conn: psycopg.Connection[Any], year: int) -> list[date]:
    """The as-of dates evaluated for ``year``, newest first."""
    return [r["as_of"] for r in conn.execute(AS_OF_DATES, {"year": year})]


def resolve_evaluation_id(
    conn: psycopg.Connection[Any], year: int, as_of: date | str | None = None
) -> int | None:
    """The latest run of ``year`` (as of ``as_of`` when given), or None."""
    row = conn.execute(RESOLVE_RUN, {"year": year, "as_of": as_of or None}).fetchone()
    return None if row is None else int(row["evaluation_id"])


def newest_evaluation_id(conn: psycopg.Connection[Any]) -> int | None:
    """The id of the most recent evaluation run of any year (the generation of cached page
    data: a new run invalidates it), or None without runs."""
    row = conn.execute(NEWEST_RUN).fetchone()
    return None if row is None or row["newest"] is None else int(row["newest"])


def run_info(conn: psycopg.Connection[Any], evaluation_id: int) -> dict[str, Any] | None:
    row = conn.execute(RUN_INFO, {"evaluation_id": evaluation_id}).fetchone()
    return dict(row) if row else None


# ------------------------------------------------------------------------------------------
# City
# ------------------------------------------------------------------------------------------
FILTER_OPTIONS = f"""
SELECT b.district, b.building_type, t.name_zh, t.name_en
  FROM building b JOIN building_type t USING (building_type)
 WHERE {SCOPE}
 GROUP BY b.district, b.building_type, t.name_zh, t.name_en
"""


def filter_options(conn: psycopg.Connection[Any], viewer: Viewer) -> dict[str, Any]:
    """Districts and building types among the buildings the viewer sees.

    Returns ``{"districts": [...], "types": [(building_type, name_zh, name_en), ...]}``.
    """
    rows = conn.execute(FILTER_OPTIONS, scope_params(viewer)).fetchall()
    districts = sorted({r["district"] for r in rows})
    types = sorted({(r["building_type"], r["name_zh"], r["name_en"]) for r in rows})
    return {"districts": districts, "types": types}


SIZE_CLASS_SQL = """CASE WHEN b.floor_area_m2 < %(min_area_m2)s THEN 'small'
                         WHEN b.floor_area_m2 > %(large_area_m2)s THEN 'large'
                         ELSE 'ordinary' END"""

CITY_RESULTS = f"""
SELECT b.building_id, b.name, b.district, b.building_type,
       t.name_zh AS type_zh, t.name_en AS type_en, b.floor_area_m2,
       {SIZE_CLASS_SQL} AS size_class,
       r.status,
       CASE WHEN r.basis = 'energy_kgce' THEN r.energy_kgce ELSE r.energy_kwh END AS energy,
       r.limit_value, r.utilization, r.projected, r.excess, r.eui_kwh_per_m2, r.completeness,
       bind.basis AS binding_basis, bind.basis_count
  FROM evaluation_result r
  JOIN building b USING (building_id)
  LEFT JOIN LATERAL (
       SELECT (array_agg(o.basis ORDER BY o.utilization DESC NULLS LAST))[1] AS basis,
              count(*) FILTER (WHERE o.limit_value IS NOT NULL) AS basis_count
         FROM evaluation_result o
        WHERE o.evaluation_id = r.evaluation_id AND o.building_id = r.building_id
  ) bind ON true
  JOIN building_type t ON t.building_type = b.building_type
 WHERE r.evaluation_id = %(evaluation_id)s AND r.basis = %(basis)s
   AND {SCOPE}
   AND (%(districts)s::text[] IS NULL OR b.district = ANY(%(districts)s::text[]))
   AND (%(types)s::text[] IS NULL OR b.building_type = ANY(%(types)s::text[]))
   AND (%(sizes)s::text[] IS NULL OR {SIZE_CLASS_SQL} = ANY(%(sizes)s::text[]))
 ORDER BY r.utilization DESC NULLS LAST, b.building_id COLLATE "C"
"""


def size_params(settings: Settings) -> dict[str, float]:
    """Floor-area limits of the size classes [m²] from the scope rules."""
    scope = settings.rules.get("scope", {})
    return {
        "min_area_m2": float(scope.get("min_floor_area_m2", 3000.0)),
        "large_area_m2": float(scope.get("large_building_floor_area_m2", 20000.0)),
    }


def city_results(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    settings: Settings,
    evaluation_id: int,
    basis: str = "electricity_kwh",
    districts: list[str] | None = None,
    types: list[str] | None = None,
    sizes: list[str] | None = None,
) -> pd.DataFrame:
    """One row per visible building of an evaluation run for one basis, with registry fields.

    ``energy``, ``limit_value``, ``projected`` and ``excess`` are in the basis's unit (kWh or kgce);
    ``utilization`` is use to date ÷ limit_value (a ratio); ``size_class`` is small|ordinary|large.
    Empty filter lists mean "all".
    """
    params = {
        **scope_params(viewer),
        **size_params(settings),
        "evaluation_id": evaluation_id,
        "basis": basis,
        "districts": districts or None,
        "types": types or None,
        "sizes": sizes or None,
    }
    return frame(conn, CITY_RESULTS, params)


# ------------------------------------------------------------------------------------------
# One building
# ------------------------------------------------------------------------------------------
BUILDING_INFO = f"""
SELECT b.building_id, b.name, b.district, b.building_type, t.name_zh AS type_zh,
       t.name_en AS type_en, b.floor_area_m2, b.public_use_share, b.commissioned_year
  FROM building b JOIN building_type t USING (building_type)
 WHERE b.building_id = %(building_id)s AND {SCOPE}
"""


def building_info(
    conn: psycopg.Connection[Any], viewer: Viewer, building_id: str
) -> dict[str, Any]:
    """Registry fields of one building; :class:`AccessDeniedError` when not visible or unknown."""
    if not isinstance(building_id, str) or not viewer.may_see(building_id):
        raise AccessDeniedError(building_id)
    row = conn.execute(
        BUILDING_INFO, {**scope_params(viewer), "building_id": building_id}
    ).fetchone()
    if row is None:
        raise AccessDeniedError(building_id)
    return dict(row)


BUILDING_DAILY = f"""
SELECT d.day, d.energy_type, d.energy_kwh, d.covered_hours
  FROM building_days(%(start)s, %(end)s::date - 1) d JOIN building b USING (building_id)
 WHERE d.building_id = %(building_id)s AND {SCOPE}
 ORDER BY d.day, d.energy_type
"""


def building_daily(
    conn: psycopg.Connection[Any], viewer: Viewer, building_id: str, start: date, end: date
) -> pd.DataFrame:
    """Daily energy [kWh] per energy type of one building for local days in [start, end)."""
    building_info(conn, viewer, building_id)
    params = {**scope_params(viewer), "building_id": building_id, "start": start, "end": end}
    return frame(conn, BUILDING_DAILY, params)


LAST_DATA_DAY = f"""
SELECT max(d.day) AS last_day
  FROM building_days(%(start)s, %(end)s::date - 1) d JOIN building b USING (building_id)
 WHERE d.building_id = %(building_id)s AND {SCOPE}
"""


def last_data_day(
    conn: psycopg.Connection[Any], viewer: Viewer, building_id: str, year: int
) -> date | None:
    """The last local day of ``year`` with energy data for the building, or None."""
    building_info(conn, viewer, building_id)
    row = conn.execute(
        LAST_DATA_DAY,
        {
            **scope_params(viewer),
            "building_id": building_id,
            "start": date(year, 1, 1),
            "end": date(year + 1, 1, 1),
        },
    ).fetchone()
    return row["last_day"] if row else None


BUILDING_RESULT = f"""
SELECT r.status, r.basis, r.energy_kwh, r.energy_kgce, r.limit_value, r.expected_share,
       r.utilization, r.projected, r.completeness, r.excess, r.eui_kwh_per_m2, r.details
  FROM evaluation_result r JOIN building b USING (building_id)
 WHERE r.evaluation_id = %(evaluation_id)s AND r.building_id = %(building_id)s
   AND r.basis = %(basis)s AND {SCOPE}
"""


def building_result(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    building_id: str,
    evaluation_id: int,
    basis: str,
) -> dict[str, Any] | None:
    """The building's row of an evaluation run for ``basis``, or None."""
    building_info(conn, viewer, building_id)
    row = conn.execute(
        BUILDING_RESULT,
        {
            **scope_params(viewer),
            "building_id": building_id,
            "evaluation_id": evaluation_id,
            "basis": basis,
        },
    ).fetchone()
    return dict(row) if row else None


BUILDING_HISTORY = f"""
SELECT e.year, e.as_of, e.evaluation_id, r.status, r.utilization
  FROM evaluation_result r
  JOIN evaluation_run e USING (evaluation_id)
  JOIN building b USING (building_id)
 WHERE r.building_id = %(building_id)s AND r.basis = %(basis)s AND {SCOPE}
 ORDER BY e.as_of, e.computed_at
 LIMIT 400
"""


def building_history(
    conn: psycopg.Connection[Any], viewer: Viewer, building_id: str, basis: str
) -> pd.DataFrame:
    """Every evaluation of the building for ``basis``: year, as_of, status, utilization."""
    building_info(conn, viewer, building_id)
    return frame(
        conn,
        BUILDING_HISTORY,
        {**scope_params(viewer), "building_id": building_id, "basis": basis},
    )


BUILDING_METERS = f"""
SELECT m.meter_id, m.energy_type, m.unit,
       coalesce(sum(d.covered_hours) FILTER (WHERE d.day >= %(start)s AND d.day < %(end)s), 0)
           AS covered_hours,
       max(d.day) AS last_day
  FROM meter m
  JOIN building b USING (building_id)
  LEFT JOIN meter_daily d ON d.meter_key = m.meter_key
 WHERE m.building_id = %(building_id)s AND {SCOPE}
 GROUP BY m.meter_id, m.energy_type, m.unit
 ORDER BY m.meter_id
"""


def building_meters(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    building_id: str,
    start: date,
    end: date,
) -> pd.DataFrame:
    """The building's meters with hours covered by data in [start, end) [h] and their last
    day with data (from the daily rollup)."""
    building_info(conn, viewer, building_id)
    params = {**scope_params(viewer), "building_id": building_id, "start": start, "end": end}
    return frame(conn, BUILDING_METERS, params)


BUILDING_HOURLY = f"""
SELECT (r.reading_at AT TIME ZONE %(tz)s)::date AS day,
       extract(hour FROM r.reading_at AT TIME ZONE %(tz)s)::int AS hour,
       sum(r.energy_kwh) AS energy_kwh
  FROM reading r
  JOIN meter m USING (meter_key)
  JOIN building b ON b.building_id = m.building_id
 WHERE m.building_id = %(building_id)s AND m.energy_type = 'electricity' AND {SCOPE}
   AND r.reading_at >= %(start_at)s AND r.reading_at < %(end_at)s
   AND r.energy_kwh IS NOT NULL
 GROUP BY 1, 2
 ORDER BY 1, 2
"""


def month_bounds(month_start: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Start and end instants of the local calendar month beginning on ``month_start``."""
    first = month_start.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return (
        datetime(first.year, first.month, 1, tzinfo=tz),
        datetime(following.year, following.month, 1, tzinfo=tz),
    )


def building_hourly(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    settings: Settings,
    building_id: str,
    month_start: date,
) -> pd.DataFrame:
    """Electricity use [kWh] of one building by local day and hour of day for one month.

    The only dashboard query over raw readings: one building, one month.
    """
    building_info(conn, viewer, building_id)
    start_at, end_at = month_bounds(month_start, settings.tz)
    params = {
        **scope_params(viewer),
        "building_id": building_id,
        "tz": settings.timezone_name,
        "start_at": start_at,
        "end_at": end_at,
    }
    return frame(conn, BUILDING_HOURLY, params)


PEER_STATS = f"""
WITH peers AS (
    SELECT r.building_id, r.eui_kwh_per_m2
      FROM evaluation_result r JOIN building p USING (building_id)
     WHERE r.evaluation_id = %(evaluation_id)s AND r.basis = %(basis)s
       AND r.eui_kwh_per_m2 IS NOT NULL
       AND p.building_type = (SELECT building_type FROM building
                               WHERE building_id = %(building_id)s)
), ranked AS (
    SELECT building_id, eui_kwh_per_m2,
           percent_rank() OVER (ORDER BY eui_kwh_per_m2) AS percent_rank
      FROM peers
)
SELECT count(*) AS peer_count,
       percentile_cont(0.10) WITHIN GROUP (ORDER BY eui_kwh_per_m2) AS p10,
       percentile_cont(0.25) WITHIN GROUP (ORDER BY eui_kwh_per_m2) AS p25,
       percentile_cont(0.50) WITHIN GROUP (ORDER BY eui_kwh_per_m2) AS p50,
       percentile_cont(0.75) WITHIN GROUP (ORDER BY eui_kwh_per_m2) AS p75,
       percentile_cont(0.90) WITHIN GROUP (ORDER BY eui_kwh_per_m2) AS p90,
       max(eui_kwh_per_m2) FILTER (WHERE building_id = %(building_id)s) AS eui_kwh_per_m2,
       max(percent_rank) FILTER (WHERE building_id = %(building_id)s) AS percent_rank
  FROM ranked
 WHERE EXISTS (SELECT 1 FROM building b WHERE b.building_id = %(building_id)s AND {SCOPE})
"""


def peer_stats(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    building_id: str,
    evaluation_id: int,
    basis: str = "electricity_kwh",
) -> dict[str, Any]:
    """The building's EUI [kWh/m²] and its percentile among buildings of its type in the run,
    with peer quantiles. Only aggregates of the peers leave the database."""
    building_info(conn, viewer, building_id)
    row = conn.execute(
        PEER_STATS,
        {
            **scope_params(viewer),
            "building_id": building_id,
            "evaluation_id": evaluation_id,
            "basis": basis,
        },
    ).fetchone()
    return dict(row) if row else {"peer_count": 0}


def trajectory_share(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    settings: Settings,
    building_id: str,
    year: int,
    result: Mapping[str, Any] | None,
) -> pd.Series | None:
    """The expected cumulative share (0..1 by local date) of the building for ``year``, drawn
    from the profile the evaluation chose for ``result`` (the building's stored result row,
    as :func:`building_result` returns it); None without a result."""
    building_info(conn, viewer, building_id)
    if not result:
        return None
    details = result.get("details") or {}
    source = details.get("curve_source") or details.get("profile_source")
    if source not in CURVE_SOURCES:
        source = "elapsed"  # runs stored before the choice was recorded, at year end
    rules = EvaluationRules.from_rules(settings.rules)
    series = expected_cumulative_share(conn, rules, building_id, year, result["basis"], source)
    return None if len(series) == 0 else series


# ------------------------------------------------------------------------------------------
# Retrofit candidates
# ------------------------------------------------------------------------------------------
RETROFIT_REGISTRY = """
SELECT b.building_id, b.name, b.district, b.building_type, t.name_zh AS type_zh,
       t.name_en AS type_en, b.floor_area_m2, b.operating_hours_per_year, b.area_per_person_m2
  FROM building b JOIN building_type t USING (building_type)
 WHERE b.building_id IN (SELECT building_id FROM evaluation_result
                          WHERE evaluation_id = %(evaluation_id)s)
"""
RETROFIT_RESULTS = """
SELECT r.building_id, r.basis, r.status, r.utilization, r.excess,
       coalesce((r.details->>'electricity_eui_kwh_per_m2')::double precision,
                CASE WHEN r.basis = 'electricity_kwh' THEN r.eui_kwh_per_m2 END)
           AS electricity_eui_kwh_per_m2
  FROM evaluation_result r
 WHERE r.evaluation_id = %(evaluation_id)s
"""


def retrofit_inputs(
    conn: psycopg.Connection[Any], viewer: Viewer, evaluation_id: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(registry, results) of one run for the quota engine's retrofit screening.

    Peers are the whole city, so only viewers who see every building (regulators and
    analysts) may ask; registry rows carry name, district and type names for display.
    """
    if not viewer.may_view_retrofit or not viewer.sees_all:
        raise AccessDeniedError("retrofit")
    params = {"evaluation_id": evaluation_id}
    registry = frame(conn, RETROFIT_REGISTRY, params)
    results = frame(conn, RETROFIT_RESULTS, params)
    for column in ("floor_area_m2", "operating_hours_per_year", "area_per_person_m2"):
        registry[column] = pd.to_numeric(registry[column], errors="coerce").astype("float64")
    for column in ("electricity_eui_kwh_per_m2", "excess"):
        results[column] = pd.to_numeric(results[column], errors="coerce").astype("float64")
    return registry, results


# ------------------------------------------------------------------------------------------
# Data quality
# ------------------------------------------------------------------------------------------
INGEST_RUNS = """
SELECT run_id, trigger, started_at, finished_at, outcome, files_seen, rows_read, rows_loaded,
       rows_duplicate, rows_quarantined, error
  FROM ingest_run ORDER BY started_at DESC, run_id DESC LIMIT %(limit)s
"""
# Scheduler jobs and evaluation runs (stored by the scheduler or by `quotawatch evaluate`)
# in one list, newest first.
JOB_RUNS = """
SELECT job_id, started_at, finished_at, outcome, error, NULL::text AS detail
  FROM (SELECT * FROM job_run ORDER BY started_at DESC, job_run_id DESC LIMIT %(limit)s) j
UNION ALL
SELECT 'evaluation', computed_at, computed_at, 'succeeded', NULL,
       year || ' / ' || as_of || ' / #' || evaluation_id
  FROM (SELECT * FROM evaluation_run ORDER BY computed_at DESC LIMIT %(limit)s) e
 ORDER BY started_at DESC
 LIMIT %(limit)s
"""
# Quarantined rows a viewer may see: all for regulators/analysts; for a manager only rows
# naming one of their meters.
QUARANTINE_SCOPE = """
(%(sees_all)s OR q.meter_id IN (SELECT m.meter_id FROM meter m
                                 WHERE m.building_id = ANY(%(visible_ids)s::text[])))
"""
QUARANTINE_BY_REASON = f"""
SELECT q.reason_code, count(*) AS row_count, max(q.created_at) AS last_seen_at
  FROM quarantine q
 WHERE {QUARANTINE_SCOPE}
 GROUP BY q.reason_code
 ORDER BY row_count DESC, q.reason_code
"""
QUARANTINE_ROWS = f"""
SELECT q.quarantine_id, f.file_name, q.line_number, q.meter_id, q.reason_code, q.message,
       q.details, q.raw_row,
       q.created_at
  FROM quarantine q JOIN ingest_file f USING (file_id)
 WHERE {QUARANTINE_SCOPE}
   AND (%(reason)s::text IS NULL OR q.reason_code = %(reason)s::text)
 ORDER BY q.created_at DESC, q.quarantine_id DESC
 LIMIT %(limit)s
"""
STALE_METERS = f"""
SELECT m.meter_id, b.building_id, b.name, m.energy_type, last.last_day
  FROM meter m
  JOIN building b USING (building_id)
  LEFT JOIN LATERAL (SELECT max(d.day) AS last_day FROM meter_daily d
                      WHERE d.meter_key = m.meter_key) last ON true
 WHERE {SCOPE}
   AND (last.last_day IS NULL OR last.last_day < %(stale_before)s)
 ORDER BY last.last_day NULLS FIRST, m.meter_id
 LIMIT %(limit)s
"""


def ingest_runs(conn: psycopg.Connection[Any], viewer: Viewer, limit: int = 20) -> pd.DataFrame:
    """Most recent ingest runs (regulators and analysts only)."""
    if not viewer.may_view_operations:
        raise AccessDeniedError("ingest runs")
    return frame(conn, INGEST_RUNS, {"limit": limit})


def job_runs(conn: psycopg.Connection[Any], viewer: Viewer, limit: int = 20) -> pd.DataFrame:
    """Most recent scheduler job runs (regulators and analysts only)."""
    if not viewer.may_view_operations:
        raise AccessDeniedError("job runs")
    return frame(conn, JOB_RUNS, {"limit": limit})


def quarantine_by_reason(conn: psycopg.Connection[Any], viewer: Viewer) -> pd.DataFrame:
    """Quarantined rows the viewer may see, counted by reason code."""
    return frame(conn, QUARANTINE_BY_REASON, scope_params(viewer))


def quarantine_rows(
    conn: psycopg.Connection[Any], viewer: Viewer, reason: str | None, limit: int = 5000
) -> pd.DataFrame:
    """Quarantined rows (newest first) of one reason code (or all) the viewer may see."""
    params = {**scope_params(viewer), "reason": reason or None, "limit": limit}
    return frame(conn, QUARANTINE_ROWS, params)


def stale_meters(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    today: date,
    stale_days: int = 2,
    limit: int = 2000,
) -> pd.DataFrame:
    """Visible meters without a day of data since ``today − stale_days`` (or never)."""
    params = {
        **scope_params(viewer),
        "stale_before": today - timedelta(days=stale_days),
        "limit": limit,
    }
    return frame(conn, STALE_METERS, params)
