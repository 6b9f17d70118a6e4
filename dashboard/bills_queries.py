"""SQL of the dashboard's accounts and bills views, each scoped by the viewer like
:mod:`dashboard.queries` (a building the viewer may not see raises ``AccessDeniedError``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import psycopg

from dashboard.queries import SCOPE, building_info, frame, scope_params
from dashboard.users import Viewer

BUILDING_ACCOUNTS = f"""
SELECT a.account_id, a.account_name, a.utility, a.energy_type, a.unit, a.share
  FROM utility_account a JOIN building b USING (building_id)
 WHERE a.building_id = %(building_id)s AND {SCOPE}
 ORDER BY a.energy_type, a.account_id
"""

# The bills of the building's accounts whose period overlaps [start, end), with their file
# and, for replaced ones, the file that replaced them.
BUILDING_BILLS = f"""
SELECT bl.bill_id, bl.account_id, bl.period_start, bl.period_end, bl.value, bl.unit,
       bl.energy_kwh, bl.estimated, bl.status, f.file_name, r.file_name AS replaced_by_file
  FROM utility_account a
  JOIN building b USING (building_id)
  JOIN bill bl ON bl.account_id = a.account_id
  JOIN ingest_file f ON f.file_id = bl.file_id
  LEFT JOIN ingest_file r ON r.file_id = bl.replaced_by_file_id
 WHERE a.building_id = %(building_id)s AND {SCOPE}
   AND bl.period_end >= %(start)s AND bl.period_start < %(end)s
 ORDER BY bl.period_start DESC, bl.account_id, bl.bill_id DESC
"""

# Per month and energy type: the billed figure, the meters' sum on the same (billed) days,
# and the provisional days (meters, no bill yet).
BUILDING_BILLS_VS_METERS = f"""
WITH days AS (
    SELECT d.energy_type, date_trunc('month', d.day)::date AS month, d.day, d.source,
           d.energy_kwh
      FROM building_days(%(start)s, %(end)s::date - 1) d JOIN building b USING (building_id)
     WHERE d.building_id = %(building_id)s AND {SCOPE} AND d.source <> 'meters'
), metered AS (
    SELECT m.energy_type, md.day, sum(md.energy_kwh) AS energy_kwh
      FROM meter m JOIN meter_daily md ON md.meter_key = m.meter_key
     WHERE m.building_id = %(building_id)s AND md.day >= %(start)s AND md.day < %(end)s
     GROUP BY m.energy_type, md.day
)
SELECT days.month, days.energy_type,
       sum(days.energy_kwh) FILTER (WHERE days.source = 'bills') AS billed_kwh,
       sum(metered.energy_kwh) FILTER (WHERE days.source = 'bills') AS metered_kwh,
       count(metered.day) FILTER (WHERE days.source = 'bills') AS metered_days,
       count(*) FILTER (WHERE days.source = 'bills') AS billed_days,
       count(*) FILTER (WHERE days.source = 'provisional') AS provisional_days,
       sum(days.energy_kwh) FILTER (WHERE days.source = 'provisional') AS provisional_kwh
  FROM days
  LEFT JOIN metered ON metered.energy_type = days.energy_type AND metered.day = days.day
 GROUP BY days.month, days.energy_type
 ORDER BY days.month, days.energy_type
"""

STALE_ACCOUNTS = f"""
SELECT a.account_id, b.building_id, b.name, a.energy_type, last.last_end
  FROM utility_account a
  JOIN building b USING (building_id)
  LEFT JOIN LATERAL (SELECT max(bl.period_end) AS last_end FROM bill bl
                      WHERE bl.account_id = a.account_id AND bl.status = 'active') last ON true
 WHERE {SCOPE}
   AND (last.last_end IS NULL OR last.last_end < %(stale_before)s)
 ORDER BY last.last_end NULLS FIRST, a.account_id, b.building_id
 LIMIT %(limit)s
"""

# Quarantined rows of bill files, by reason; a manager sees those naming an account of one
# of their buildings.
BILL_QUARANTINE_BY_REASON = """
SELECT q.reason_code, count(*) AS row_count, max(q.created_at) AS last_seen_at
  FROM quarantine q JOIN ingest_file f ON f.file_id = q.file_id AND f.content = 'bills'
 WHERE (%(sees_all)s OR q.details->>'account_id' IN (
           SELECT a.account_id FROM utility_account a
            WHERE a.building_id = ANY(%(visible_ids)s::text[])))
 GROUP BY q.reason_code
 ORDER BY row_count DESC, q.reason_code
"""


def building_accounts(
    conn: psycopg.Connection[Any], viewer: Viewer, building_id: str
) -> pd.DataFrame:
    """The building's utility accounts (one row per account, with its share)."""
    building_info(conn, viewer, building_id)
    return frame(conn, BUILDING_ACCOUNTS, {**scope_params(viewer), "building_id": building_id})


def building_bills(
    conn: psycopg.Connection[Any], viewer: Viewer, building_id: str, start: date, end: date
) -> pd.DataFrame:
    """Bills of the building's accounts overlapping local days [start, end)."""
    building_info(conn, viewer, building_id)
    params = {**scope_params(viewer), "building_id": building_id, "start": start, "end": end}
    return frame(conn, BUILDING_BILLS, params)


def bills_vs_meters(
    conn: psycopg.Connection[Any], viewer: Viewer, building_id: str, start: date, end: date
) -> pd.DataFrame:
    """Per month and energy type in [start, end): billed kWh, the meters' kWh on the billed
    days, and provisional days (meters, no bill yet) with their kWh."""
    building_info(conn, viewer, building_id)
    params = {**scope_params(viewer), "building_id": building_id, "start": start, "end": end}
    return frame(conn, BUILDING_BILLS_VS_METERS, params)


def stale_accounts(
    conn: psycopg.Connection[Any], viewer: Viewer, today: date, stale_days: int, limit: int = 2000
) -> pd.DataFrame:
    """Visible accounts whose last active bill ended before ``today − stale_days`` (or that
    have none)."""
    params = {
        **scope_params(viewer),
        "stale_before": today - timedelta(days=stale_days),
        "limit": limit,
    }
    return frame(conn, STALE_ACCOUNTS, params)


def bill_quarantine_by_reason(conn: psycopg.Connection[Any], viewer: Viewer) -> pd.DataFrame:
    """Quarantined bills the viewer may see, counted by reason code."""
    return frame(conn, BILL_QUARANTINE_BY_REASON, scope_params(viewer))
