"""SQL of the quota engine: parameterised query constants and thin functions that return
DataFrames. Evaluation inputs come from the registry, ``quota_effective`` and the daily
rollups only (``building_monthly``, and the building-days ``building_days(lo, hi)`` gives:
``building_daily`` and the runs of billed days, sql/0150) — never from the raw ``reading``
table.

Functions take a connection and never commit; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import psycopg
from psycopg.rows import tuple_row

from quota.engine import RESULT_COLUMNS

BUILDINGS = """
SELECT building_id, name, district, building_type, floor_area_m2, public_use_share,
       commissioned_year, operating_hours_per_year, area_per_person_m2
  FROM building
 ORDER BY building_id
"""

# The registry with floor area, type and public-use share in force on a local date
# (building_history, sql/0073); a building without history before that date keeps its row's.
BUILDINGS_ON = """
WITH h AS (
    SELECT DISTINCT ON (building_id)
           building_id, building_type, floor_area_m2, public_use_share
      FROM building_history
     WHERE effective_from <= %(on_date)s
     ORDER BY building_id, effective_from DESC
)
SELECT b.building_id, b.name, b.district,
       coalesce(h.building_type, b.building_type) AS building_type,
       coalesce(h.floor_area_m2, b.floor_area_m2) AS floor_area_m2,
       coalesce(h.public_use_share, b.public_use_share) AS public_use_share,
       b.commissioned_year, b.operating_hours_per_year, b.area_per_person_m2
  FROM building b
  LEFT JOIN h USING (building_id)
 ORDER BY b.building_id
"""

# Per building and basis, the utilisation of a year's determination in force.
DETERMINED_UTILIZATION = """
SELECT r.building_id, r.basis, r.utilization
  FROM determination d
  JOIN determination_result r USING (determination_id)
 WHERE d.year = %(year)s AND d.superseded_by IS NULL
"""

# Sources of data per building and energy type, the denominator of completeness: its
# registered meters, or, when it has utility accounts, one source (bills cover whole days, so
# completeness is covered days ÷ elapsed days; days no bill covers count with the meters'
# mean covered hours, see ingest/proration.py).
METER_COUNTS = """
SELECT m.building_id, m.energy_type, count(*)::int AS meter_count
  FROM meter m
 WHERE NOT EXISTS (SELECT 1 FROM utility_account a
                    WHERE a.building_id = m.building_id AND a.energy_type = m.energy_type)
 GROUP BY m.building_id, m.energy_type
UNION ALL
SELECT DISTINCT building_id, energy_type, 1 AS meter_count
  FROM utility_account
"""

# Reference path: one pass over two years of daily rollups, aggregated per building and
# carrier (the previous year's "to date" stops at the same calendar date). Kept to check the
# monthly path against (tests, bench); evaluations use ROLLUP_AGGREGATES below.
DAILY_ROLLUP_AGGREGATES = """
SELECT building_id, energy_type,
       sum(energy_kwh)    FILTER (WHERE day >= %(year_start)s)           AS energy_kwh,
       sum(covered_hours) FILTER (WHERE day >= %(year_start)s)           AS covered_hours,
       min(day)           FILTER (WHERE day >= %(year_start)s)           AS first_day,
       sum(energy_kwh)    FILTER (WHERE day <= %(previous_cutoff)s)      AS to_date_kwh,
       sum(energy_kwh)    FILTER (WHERE day < %(year_start)s)            AS full_kwh,
       count(*)           FILTER (WHERE day < %(year_start)s)::int       AS day_count
  FROM building_days(%(previous_start)s, %(as_of)s)
 GROUP BY building_id, energy_type
"""

# The same aggregates from whole months of ``building_monthly`` and, for the two partial
# months (the as-of month this year, the same month last year), a few days of
# ``building_days``: added (the days through the cutoff) or subtracted (the days after it),
# whichever are fewer; see ``quota.engine.month_split``. On a month end no day is read.
# A carrier counts for the year to date when it has at least one day through the as-of date.
ROLLUP_AGGREGATES = """
WITH m AS (
    SELECT building_id, energy_type,
           sum(energy_kwh)    FILTER (WHERE month >= %(year_start)s) AS energy_kwh,
           sum(covered_hours) FILTER (WHERE month >= %(year_start)s) AS covered_hours,
           min(first_day)     FILTER (WHERE month >= %(year_start)s) AS first_day,
           sum(day_count)     FILTER (WHERE month >= %(year_start)s) AS days,
           sum(energy_kwh)    FILTER (WHERE month < %(previous_months_end)s) AS to_date_kwh,
           sum(energy_kwh)    FILTER (WHERE month < %(year_start)s)  AS full_kwh,
           sum(day_count)     FILTER (WHERE month < %(year_start)s)  AS day_count
      FROM building_monthly
     WHERE month >= %(previous_start)s AND month < %(months_end)s
     GROUP BY building_id, energy_type
), d AS (
    SELECT building_id, energy_type,
           sum(energy_kwh)    FILTER (WHERE day >= %(year_start)s) AS energy_kwh,
           sum(covered_hours) FILTER (WHERE day >= %(year_start)s) AS covered_hours,
           min(day)           FILTER (WHERE day >= %(year_start)s) AS first_day,
           count(*)           FILTER (WHERE day >= %(year_start)s) AS days,
           sum(energy_kwh)    FILTER (WHERE day < %(year_start)s)  AS to_date_kwh
      FROM (SELECT * FROM building_days(%(days_start)s, %(days_end)s)
            UNION ALL
            SELECT * FROM building_days(%(previous_days_start)s, %(previous_days_end)s)) AS d
     GROUP BY building_id, energy_type
), j AS (
    SELECT building_id, energy_type, m.energy_kwh AS m_kwh, d.energy_kwh AS d_kwh,
           m.covered_hours AS m_hours, d.covered_hours AS d_hours, m.first_day AS m_first,
           d.first_day AS d_first, m.to_date_kwh AS m_to_date, d.to_date_kwh AS d_to_date,
           m.full_kwh, m.day_count,
           coalesce(m.days, 0) + %(days_sign)s * coalesce(d.days, 0) AS days
      FROM m FULL JOIN d USING (building_id, energy_type)
)
SELECT building_id, energy_type,
       CASE WHEN days > 0
            THEN coalesce(m_kwh, 0) + %(days_sign)s * coalesce(d_kwh, 0) END AS energy_kwh,
       CASE WHEN days > 0
            THEN coalesce(m_hours, 0) + %(days_sign)s * coalesce(d_hours, 0)
       END AS covered_hours,
       CASE WHEN days > 0 AND %(days_sign)s > 0 THEN least(m_first, d_first)
            WHEN days > 0 THEN m_first END AS first_day,
       coalesce(m_to_date, 0) + %(previous_days_sign)s * coalesce(d_to_date, 0) AS to_date_kwh,
       full_kwh,
       day_count::int AS day_count
  FROM j
"""

QUOTAS = """
SELECT building_id, year, basis, limit_value, source, version_id
  FROM quota_effective
 WHERE year = ANY(%(years)s)
"""

# Whole local years are whole months: read the monthly rollup.
ANNUAL_TOTALS = """
SELECT building_id, energy_type, extract(year FROM month)::int AS year,
       sum(energy_kwh) AS energy_kwh, sum(day_count)::int AS day_count
  FROM building_monthly
 WHERE month >= %(start)s AND month < %(end)s
 GROUP BY building_id, energy_type, extract(year FROM month)
"""

INSERT_RUN = """
INSERT INTO evaluation_run (year, as_of, timezone, parameters, building_count)
VALUES (%(year)s, %(as_of)s, %(timezone)s, %(parameters)s, %(building_count)s)
RETURNING evaluation_id, computed_at
"""

# evaluation_result's columns: the run, the engine's result columns, the details.
RESULT_TABLE_COLUMNS = ("evaluation_id", *RESULT_COLUMNS, "details")

LATEST_EVALUATION = """
SELECT evaluation_id
  FROM evaluation_run
 WHERE year = %(year)s
 ORDER BY computed_at DESC, evaluation_id DESC
 LIMIT 1
"""

EVALUATION_RUN = """
SELECT evaluation_id, year, as_of, computed_at, timezone, parameters, building_count
  FROM evaluation_run WHERE evaluation_id = %(evaluation_id)s
"""

EVALUATION_RESULTS = """
SELECT r.building_id, b.name, b.district, b.building_type, b.floor_area_m2, r.basis,
       r.status, r.energy_kwh, r.energy_kgce, r.limit_value, r.expected_share, r.utilization,
       r.projected, r.completeness, r.excess, r.eui_kwh_per_m2, r.co2_kg, r.details
  FROM evaluation_result r
  JOIN building b USING (building_id)
 WHERE r.evaluation_id = %(evaluation_id)s
 ORDER BY r.building_id, r.basis
"""

BUILDING_DAILY_ONE = """
SELECT day, energy_type, energy_kwh
  FROM building_days(%(start)s, %(end)s)
 WHERE building_id = %(building_id)s
"""

BUILDING_TYPE_OF = "SELECT building_type FROM building WHERE building_id = %(building_id)s"

# Same-type citywide daily profile over the peers whose year has enough days with data.
TYPE_DAILY_PROFILE = """
WITH peers AS (
    SELECT d.building_id
      FROM building_days(%(start)s, %(end)s) d
      JOIN building b USING (building_id)
     WHERE b.building_type = %(building_type)s AND d.energy_type = 'electricity'
     GROUP BY d.building_id
    HAVING count(*) >= %(min_days)s
)
SELECT d.day, d.energy_type, sum(d.energy_kwh) AS energy_kwh,
       (SELECT count(*) FROM peers)::int AS peer_count
  FROM building_days(%(start)s, %(end)s) d
  JOIN peers USING (building_id)
 GROUP BY d.day, d.energy_type
"""

# Night (22:00-06:00 local) and weekend base load vs occupied weekday hours (08:00-18:00),
# for the retrofit export only, over a short window and a list of candidate buildings.
BASE_LOAD = """
SELECT m.building_id,
       avg(r.energy_kwh * 60.0 / m.interval_minutes) FILTER (
           WHERE extract(isodow FROM r.reading_at AT TIME ZONE %(tz)s) >= 6
              OR extract(hour FROM r.reading_at AT TIME ZONE %(tz)s) >= 22
              OR extract(hour FROM r.reading_at AT TIME ZONE %(tz)s) < 6) AS base_kw,
       avg(r.energy_kwh * 60.0 / m.interval_minutes) FILTER (
           WHERE extract(isodow FROM r.reading_at AT TIME ZONE %(tz)s) < 6
             AND extract(hour FROM r.reading_at AT TIME ZONE %(tz)s) BETWEEN 8 AND 17)
           AS occupied_kw
  FROM reading r
  JOIN meter m USING (meter_key)
 WHERE m.building_id = ANY(%(building_ids)s)
   AND m.energy_type = 'electricity' AND m.reading_kind = 'interval'
   AND m.interval_minutes <= 60
   AND r.reading_at >= %(start_at)s AND r.reading_at < %(end_at)s
   AND r.energy_kwh IS NOT NULL
 GROUP BY m.building_id
"""

# Published quotas in force (imported or adjusted by the regulator): proposals never replace
# them.
IMPORTED_QUOTAS = """
SELECT building_id, basis, limit_value FROM quota_effective
 WHERE year = %(year)s AND source <> 'proposed'
"""


def _first(row: Any) -> Any:
    """The first column of a row fetched with any row factory."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def frame(
    conn: psycopg.Connection[Any],
    query: str,
    params: Any = None,
    columns: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Run ``query`` and return its rows as a DataFrame (column names from the cursor).
    Rows are fetched as tuples (building a dict per row costs more than the query for the
    city-wide inputs)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(query, params)
        names = [d.name for d in cur.description] if cur.description else list(columns or ())
        rows = cur.fetchall()
    return pd.DataFrame.from_records(rows, columns=names)


def building_type_names(conn: psycopg.Connection[Any]) -> dict[object, tuple[str, str]]:
    """building_type → (Chinese name, English name)."""
    rows = conn.execute("SELECT building_type, name_zh, name_en FROM building_type").fetchall()
    return {r["building_type"]: (r["name_zh"], r["name_en"]) for r in rows}


def buildings(conn: psycopg.Connection[Any], on_date: date | None = None) -> pd.DataFrame:
    """The registry, one row per building; with ``on_date``, the floor area, type and
    public-use share in force on that local date."""
    if on_date is None:
        return frame(conn, BUILDINGS)
    return frame(conn, BUILDINGS_ON, {"on_date": on_date})


def meter_counts(conn: psycopg.Connection[Any]) -> pd.DataFrame:
    """Registered meters per building and energy type."""
    return frame(conn, METER_COUNTS)


# Per billed-only building and energy type (utility accounts, no meter of that type): the
# last local day with data in the year through the as-of date (NULL when none); see
# quota/figures_through.py. One backward probe of building_daily's key and of the runs' key
# (sql/0150) per group.
BILLED_ONLY_LAST_DAYS = """
SELECT a.building_id, a.energy_type,
       greatest(
           (SELECT max(d.day) FROM building_daily d
             WHERE d.building_id = a.building_id AND d.energy_type = a.energy_type
               AND d.day >= %(year_start)s AND d.day <= %(as_of)s),
           (SELECT max(least(r.last_day, %(as_of)s)) FROM building_daily_run r
             WHERE r.building_id = a.building_id AND r.energy_type = a.energy_type
               AND r.first_day <= %(as_of)s AND r.last_day >= %(year_start)s)) AS last_day
  FROM (SELECT DISTINCT building_id, energy_type FROM utility_account) a
 WHERE NOT EXISTS (SELECT 1 FROM meter m
                    WHERE m.building_id = a.building_id AND m.energy_type = a.energy_type)
 ORDER BY a.building_id, a.energy_type
"""


def billed_only_last_days(
    conn: psycopg.Connection[Any], year_start: date, as_of: date
) -> pd.DataFrame:
    """``BILLED_ONLY_LAST_DAYS``: building_id, energy_type, last_day (date or None)."""
    return frame(
        conn,
        BILLED_ONLY_LAST_DAYS,
        {"year_start": year_start, "as_of": as_of},
        columns=("building_id", "energy_type", "last_day"),
    )


def rollup_aggregates(
    conn: psycopg.Connection[Any], ranges: dict[str, date], *, daily_only: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(current, previous) aggregates per building and energy type (see ``quota.engine``),
    from ``building_monthly`` plus the partial months' days (``ranges`` from
    ``quota.engine.rollup_ranges``), or with ``daily_only`` from two years of
    building-days (the reference the monthly path must agree with)."""
    # JIT compilation costs more (~0.1 s) than it saves on this short aggregate.
    jit = conn.execute("SELECT current_setting('jit') AS jit").fetchone()
    conn.execute("SELECT set_config('jit', 'off', true)")
    try:
        data = frame(
            conn,
            DAILY_ROLLUP_AGGREGATES if daily_only else ROLLUP_AGGREGATES,
            ranges,
            columns=(
                "building_id",
                "energy_type",
                "energy_kwh",
                "covered_hours",
                "first_day",
                "to_date_kwh",
                "full_kwh",
                "day_count",
            ),
        )
    finally:
        conn.execute("SELECT set_config('jit', %s, true)", (_first(jit),))
    current = data.loc[
        data["energy_kwh"].notna(),
        ["building_id", "energy_type", "energy_kwh", "covered_hours", "first_day"],
    ].reset_index(drop=True)
    previous = data.loc[
        data["full_kwh"].notna(),
        ["building_id", "energy_type", "to_date_kwh", "full_kwh", "day_count"],
    ].reset_index(drop=True)
    for col in ("energy_kwh", "covered_hours"):
        current[col] = current[col].astype("float64")
    previous["to_date_kwh"] = previous["to_date_kwh"].fillna(0.0).astype("float64")
    previous["full_kwh"] = previous["full_kwh"].astype("float64")
    return current, previous


def quotas(conn: psycopg.Connection[Any], years: list[int]) -> pd.DataFrame:
    """Quota versions in force (published wins over proposed, then the latest) for
    ``years``, with their ``version_id``."""
    data = frame(conn, QUOTAS, {"years": years})
    if data.empty:
        return pd.DataFrame(
            columns=["building_id", "year", "basis", "limit_value", "source", "version_id"]
        )
    data["limit_value"] = data["limit_value"].astype("float64")
    return data


def annual_totals(conn: psycopg.Connection[Any], first_year: int, last_year: int) -> pd.DataFrame:
    """Per building, energy type and local year: energy [kWh] and days with data."""
    return frame(
        conn, ANNUAL_TOTALS, {"start": date(first_year, 1, 1), "end": date(last_year + 1, 1, 1)}
    )


def latest_evaluation_id(conn: psycopg.Connection[Any], year: int) -> int | None:
    """The id of the most recently computed evaluation run of ``year`` (None if none)."""
    with conn.cursor() as cur:
        row = cur.execute(LATEST_EVALUATION, {"year": year}).fetchone()
    if row is None:
        return None
    return int(row["evaluation_id"] if isinstance(row, dict) else row[0])


def evaluation_run(conn: psycopg.Connection[Any], evaluation_id: int) -> dict[str, Any] | None:
    """The run record (year, as_of, computed_at, timezone, parameters, building_count)."""
    data = frame(conn, EVALUATION_RUN, {"evaluation_id": evaluation_id})
    return None if data.empty else data.iloc[0].to_dict()


def evaluation_results(conn: psycopg.Connection[Any], evaluation_id: int) -> pd.DataFrame:
    """Stored results of one run, with the building's name, district, type and area."""
    return frame(conn, EVALUATION_RESULTS, {"evaluation_id": evaluation_id})


def insert_run(conn: psycopg.Connection[Any], params: dict[str, Any]) -> tuple[int, Any]:
    """Insert an evaluation run; returns (evaluation_id, computed_at)."""
    with conn.cursor() as cur:
        row = cur.execute(INSERT_RUN, params).fetchone()
    assert row is not None
    return int(row["evaluation_id"]), row["computed_at"]


# PostgreSQL types of RESULT_TABLE_COLUMNS as sent in the binary COPY. ``details`` travels
# as ready-made bytes in jsonb's binary format (version byte 1, then the JSON text), which
# skips psycopg's per-row JSON dumper.
RESULT_COLUMN_TYPES = ("int8", "text", "text", "text", *(("float8",) * 10), "bytea")
JSONB_BINARY_VERSION = b"\x01"


def _column_values(values: pd.Series, pg_type: str) -> list[Any]:
    """Python values of one column, missing values as None (NULL)."""
    if pg_type == "float8":
        return [None if v != v else v for v in values.astype("float64").tolist()]
    if pg_type == "bytea":  # JSON text → jsonb binary format
        return [JSONB_BINARY_VERSION + v.encode() for v in values.tolist()]
    return [None if v is None or v != v else v for v in values.tolist()]


def copy_results(conn: psycopg.Connection[Any], rows: pd.DataFrame) -> int:
    """COPY result rows (columns :data:`RESULT_TABLE_COLUMNS`, ``details`` as JSON text) into
    ``evaluation_result`` in binary: floats travel as 8 bytes and are neither formatted nor
    parsed as text (CSV through ``DataFrame.to_csv`` took ~4x as long)."""
    columns = [
        _column_values(rows[c], t)
        for c, t in zip(RESULT_TABLE_COLUMNS, RESULT_COLUMN_TYPES, strict=True)
    ]
    names = ", ".join(RESULT_TABLE_COLUMNS)
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY evaluation_result ({names}) FROM STDIN (FORMAT binary)") as copy,
    ):
        copy.set_types(list(RESULT_COLUMN_TYPES))
        for row in zip(*columns, strict=True):
            copy.write_row(row)
    return len(rows)


def building_daily_one(
    conn: psycopg.Connection[Any], building_id: str, start: date, end: date
) -> pd.DataFrame:
    """One building's daily rollup rows (day, energy_type, energy_kwh) in [start, end]."""
    return frame(conn, BUILDING_DAILY_ONE, {"building_id": building_id, "start": start, "end": end})


def building_type_of(conn: psycopg.Connection[Any], building_id: str) -> str | None:
    with conn.cursor() as cur:
        row = cur.execute(BUILDING_TYPE_OF, {"building_id": building_id}).fetchone()
    if row is None:
        return None
    return str(row["building_type"] if isinstance(row, dict) else row[0])


def type_daily_profile(
    conn: psycopg.Connection[Any], building_type: str, start: date, end: date, min_days: int
) -> pd.DataFrame:
    """Same-type daily sums (day, energy_type, energy_kwh, peer_count) over complete peers."""
    return frame(
        conn,
        TYPE_DAILY_PROFILE,
        {"building_type": building_type, "start": start, "end": end, "min_days": min_days},
    )


def base_load(
    conn: psycopg.Connection[Any], building_ids: list[str], start_at: Any, end_at: Any, tz_name: str
) -> pd.DataFrame:
    """Mean power [kW] at night/weekends (base_kw) and in occupied weekday hours
    (occupied_kw) per building, from interval electricity readings in [start_at, end_at)."""
    return frame(
        conn,
        BASE_LOAD,
        {"building_ids": building_ids, "start_at": start_at, "end_at": end_at, "tz": tz_name},
    )


def imported_quotas(conn: psycopg.Connection[Any], year: int) -> pd.DataFrame:
    return frame(conn, IMPORTED_QUOTAS, {"year": year})


def upsert_proposed(conn: psycopg.Connection[Any], rows: list[dict[str, Any]]) -> int:
    """Store proposals as ``proposed`` quota versions: a version only for a key without a
    published (imported or adjusted) version and whose limit differs from its latest
    proposal. Returns the number of versions added."""
    from quota.record.decision_queries import PROPOSE_VERSION

    added = 0
    with conn.cursor() as cur:
        for row in rows:
            cur.execute(PROPOSE_VERSION, row)
            added += cur.rowcount
    return added
