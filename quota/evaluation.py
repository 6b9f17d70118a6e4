"""Run an evaluation against the database: load inputs (SQL on rollups), evaluate (pure),
store the run and its rows (history is kept: every run is a new ``evaluation_run``).

Takes a connection and never commits; the caller owns the transaction.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
import psycopg

from quota import calendar, engine, figures_through, queries
from quota.rules import EvaluationRules
from quota.settings import Settings

JSON_FIELDS = engine.RESULT_COLUMNS


@dataclass
class EvaluationOutcome:
    """One evaluation: its id (None when not stored), dates, rows and parameter labels."""

    year: int
    as_of: date
    results: pd.DataFrame
    unverified: list[str]
    evaluation_id: int | None = None
    computed_at: datetime | None = None
    timings_s: dict[str, float] = field(default_factory=dict)

    def status_counts(self) -> dict[str, int]:
        counts = self.results["status"].value_counts()
        return {str(k): int(v) for k, v in counts.items()}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``quotawatch evaluate --json``."""
        return {
            "year": self.year,
            "as_of": self.as_of.isoformat(),
            "evaluation_id": self.evaluation_id,
            "computed_at": self.computed_at.isoformat() if self.computed_at else None,
            "unverified_parameters": self.unverified,
            "status_counts": self.status_counts(),
            "buildings": result_records(self.results),
        }


def result_records(results: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts: the issue's fields first, then ``profile_source`` etc."""
    columns = [*JSON_FIELDS, "profile_source", "quota_source", "previous_utilization"]
    data = results.loc[:, columns].astype(object)
    data = data.where(pd.notna(data), None)
    data["figures_through"] = _iso_days(results)
    return data.to_dict(orient="records")


def _iso_days(results: pd.DataFrame) -> list[str | None]:
    """``figures_through`` of every row as an ISO date, None when the figures run to the
    as-of date (``quota.figures_through``)."""
    if "figures_through" not in results:
        return [None] * len(results)
    return [d.isoformat() if isinstance(d, date) else None for d in results["figures_through"]]


def load_inputs(
    conn: psycopg.Connection[Any],
    settings: Settings,
    year: int,
    as_of: date,
    now: datetime | None = None,
) -> engine.EvaluationInputs:
    """Read registry (values in force on ``as_of``), meter counts, rollup aggregates, quotas
    in force and the previous year's determination for one evaluation, and for billed-only
    buildings their last covered day and the aggregates as of each such day
    (``quota.figures_through``)."""
    current, previous = queries.rollup_aggregates(conn, engine.rollup_ranges(year, as_of))
    billed = queries.billed_only_last_days(conn, calendar.year_start(year), as_of)
    through = {
        day: queries.rollup_aggregates(conn, engine.rollup_ranges(year, day))
        for day in figures_through.days_to_load(figures_through.through_days(billed, as_of))
    }
    return engine.EvaluationInputs(
        year=year,
        as_of=as_of,
        buildings=queries.buildings(conn, on_date=as_of),
        meters=queries.meter_counts(conn),
        current=current,
        previous=previous,
        quotas=queries.quotas(conn, [year, year - 1]),
        timezone_name=settings.timezone_name,
        now=now,
        previous_determined=queries.frame(conn, queries.DETERMINED_UTILIZATION, {"year": year - 1}),
        billed_through=billed,
        through_aggregates=through,
    )


def _details_json(results: pd.DataFrame, unverified: list[str]) -> list[str]:
    """The ``details`` document of every row (profile and quota source, the chosen
    expected-share profile ``curve_source`` that the trajectory chart draws, previous-year
    utilisation, electricity EUI, the figures-through day of a billed-only building,
    unverified parameter labels), one JSON text per row."""
    prev = results["previous_utilization"].astype("float64").round(6).tolist()
    eui = results["electricity_eui_kwh_per_m2"].astype("float64").tolist()
    quota_sources = [
        json.dumps(s) if isinstance(s, str) else "null" for s in results["quota_source"].tolist()
    ]
    through = [f'"{d}"' if d else "null" for d in _iso_days(results)]
    tail = ', "unverified": ' + json.dumps(unverified, ensure_ascii=False) + "}"
    finite = math.isfinite
    return [
        f'{{"profile_source": "{source}", "curve_source": "{curve}", '
        f'"quota_source": {quota_source}, '
        f'"previous_utilization": {repr(p) if finite(p) else "null"}, '
        f'"electricity_eui_kwh_per_m2": {repr(e) if finite(e) else "null"}, '
        f'"figures_through": {t}{tail}'
        for source, curve, quota_source, p, e, t in zip(
            results["profile_source"].astype(str).tolist(),
            results["curve_source"].astype(str).tolist(),
            quota_sources,
            prev,
            eui,
            through,
            strict=True,
        )
    ]


def store(
    conn: psycopg.Connection[Any],
    settings: Settings,
    outcome: EvaluationOutcome,
    parameters: dict[str, Any],
) -> int:
    """Insert the run and COPY its rows; sets ``outcome.evaluation_id``/``computed_at``."""
    building_count = int(outcome.results["building_id"].nunique())
    evaluation_id, computed_at = queries.insert_run(
        conn,
        {
            "year": outcome.year,
            "as_of": outcome.as_of,
            "timezone": settings.timezone_name,
            "parameters": json.dumps(parameters, ensure_ascii=False, default=str),
            "building_count": building_count,
        },
    )
    rows = outcome.results.assign(
        evaluation_id=evaluation_id, details=_details_json(outcome.results, outcome.unverified)
    )
    queries.copy_results(conn, rows)
    outcome.evaluation_id = evaluation_id
    outcome.computed_at = computed_at
    return evaluation_id


def run_evaluation(
    conn: psycopg.Connection[Any],
    settings: Settings,
    year: int,
    as_of: date | None = None,
    *,
    save: bool = True,
    now: datetime | None = None,
    trigger: str = "cli",
    extra_parameters: dict[str, Any] | None = None,
) -> EvaluationOutcome:
    """Evaluate every building for ``year`` as of ``as_of`` (default: today, local, clamped
    to the year) and, with ``save``, store the run. Raises ``calendar.CalendarError`` for an
    as-of date outside the year."""
    import time

    tz = settings.tz
    now = now or datetime.now(tz)
    as_of = calendar.resolve_as_of(year, as_of, calendar.local_today(tz, now))
    rules = EvaluationRules.from_rules(settings.rules)
    t0 = time.perf_counter()
    inputs = load_inputs(conn, settings, year, as_of, now=now)
    t1 = time.perf_counter()
    results = engine.evaluate(inputs, rules)
    t2 = time.perf_counter()
    outcome = EvaluationOutcome(
        year=year, as_of=as_of, results=results, unverified=rules.unverified(settings.rules)
    )
    if save:
        parameters = {
            "trigger": trigger,
            "rules": rules.to_dict(),
            "unverified": outcome.unverified,
            **(extra_parameters or {}),
        }
        store(conn, settings, outcome, parameters)
    t3 = time.perf_counter()
    outcome.timings_s = {"load": t1 - t0, "evaluate": t2 - t1, "store": t3 - t2}
    return outcome
