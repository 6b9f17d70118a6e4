"""Evaluation entry points for the scheduler (``ingest/scheduler.py``).

- :func:`run_nightly`: evaluates the current local year as of today; during January it also
  re-evaluates the previous year as of 31 December, so late data for December still reaches
  that year's final status.
- :func:`reevaluate`: after an inbox load that touched ``year``, re-evaluates. The whole city
  is evaluated (one run takes seconds and type profiles depend on every peer), so the latest
  run of a year is always complete; the run records the affected buildings.

Both open their own connection, commit, and return a plain summary dict.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from quota import calendar
from quota.db import connect
from quota.evaluation import EvaluationOutcome, run_evaluation
from quota.settings import Settings

LATE_DATA_DAYS = 31


def _summary(outcome: EvaluationOutcome) -> dict[str, Any]:
    return {
        "year": outcome.year,
        "as_of": outcome.as_of.isoformat(),
        "evaluation_id": outcome.evaluation_id,
        "buildings": int(outcome.results["building_id"].nunique()),
        "rows": len(outcome.results),
        "status_counts": outcome.status_counts(),
    }


def run_nightly(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Evaluate the current local year (and in January the previous year) and store runs."""
    now = now or datetime.now(settings.tz)
    today = calendar.local_today(settings.tz, now)
    runs = []
    with connect(settings) as conn:
        years = [today.year]
        if (today - calendar.year_start(today.year)).days < LATE_DATA_DAYS:
            years.insert(0, today.year - 1)
        for year in years:
            outcome = run_evaluation(conn, settings, year, now=now, trigger="nightly")
            conn.commit()
            runs.append(_summary(outcome))
    return {"runs": runs, "evaluations": len(runs)}


def reevaluate(
    settings: Settings, building_ids: Iterable[str], year: int, now: datetime | None = None
) -> dict[str, Any]:
    """Re-evaluate ``year`` after new data for ``building_ids``; returns their new statuses.

    Nothing is done (and ``skipped`` is true) when no building was affected.
    """
    affected = sorted(set(building_ids))
    if not affected:
        return {"year": year, "skipped": True, "affected": 0}
    with connect(settings) as conn:
        outcome = run_evaluation(
            conn,
            settings,
            year,
            now=now,
            trigger="ingest",
            extra_parameters={"affected_building_count": len(affected)},
        )
        conn.commit()
    rows = outcome.results[outcome.results["building_id"].isin(affected)]
    summary = _summary(outcome)
    summary.update(
        {
            "skipped": False,
            "affected": len(affected),
            "affected_status_counts": {
                str(k): int(v) for k, v in rows["status"].value_counts().items()
            },
        }
    )
    return summary
