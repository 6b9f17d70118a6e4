"""Dashboard queries of the regulator's decisions, scoped by the viewer like every other
dashboard query: determined history (each building's determinations in force over all
years) and the audit log (regulators only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import psycopg

from dashboard.queries import SCOPE, AccessDeniedError, frame, scope_params
from dashboard.users import Viewer
from quota.record import audit

DETERMINED_HISTORY = f"""
SELECT d.year, r.building_id, b.name, r.basis, r.status, r.utilization
  FROM determination d
  JOIN determination_result r USING (determination_id)
  JOIN building b ON b.building_id = r.building_id
 WHERE d.superseded_by IS NULL AND {SCOPE}
   AND (%(building_id)s::text IS NULL OR r.building_id = %(building_id)s)
 ORDER BY r.building_id, r.basis, d.year
"""


def determined_history(
    conn: psycopg.Connection[Any], viewer: Viewer, building_id: str | None = None
) -> pd.DataFrame:
    """Determined results the viewer may see (one building with ``building_id``): year,
    building_id, name, basis, status, utilization."""
    if building_id is not None and not viewer.may_see(building_id):
        raise AccessDeniedError(building_id)
    return frame(conn, DETERMINED_HISTORY, {**scope_params(viewer), "building_id": building_id})


def audit_entries(
    conn: psycopg.Connection[Any],
    viewer: Viewer,
    *,
    building_id: str | None = None,
    since: datetime | None = None,
    action_prefix: str | None = None,
    limit: int = 5000,
) -> list[dict[str, Any]]:
    """The audit log, newest last; only a regulator may read it."""
    if viewer.role != "regulator":
        raise AccessDeniedError("audit")
    return audit.entries(
        conn, building_id=building_id, since=since, action_prefix=action_prefix, limit=limit
    )
