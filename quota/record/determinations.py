"""Year-end determinations: a year evaluated through 31 December and frozen as the
regulator's decision.

A determination stores the rules and factors used and, per building and basis, the status,
utilisation, use, completeness and the quota version in force. One determination is in
force per year (``sql/0072_determinations.sql`` enforces it at commit): a second is refused
unless it supersedes the first, with a reason; superseded determinations are kept. The
repeat-offender rule for year Y reads Y−1's determination in force (``quota.evaluation``).

Functions take a connection and never commit; the caller owns the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from quota import calendar, queries
from quota.evaluation import EvaluationOutcome, result_records, run_evaluation
from quota.record import audit, quota_versions, roles
from quota.record import decision_queries as q
from quota.rules import EvaluationRules
from quota.settings import Settings

DETERMINATION_LOCK_KEY = 0x5157_4445  # "QWDE": advisory lock per year while determining
OVER_20_STATUSES = ("over_20", "over_20_repeat")


class DeterminationError(ValueError):
    """A determination that cannot be made (already determined, year not over, no reason)."""


@dataclass
class DeterminationOutcome:
    determination_id: int
    year: int
    at: datetime
    by: str
    reason: str | None
    supersedes: int | None
    evaluation: EvaluationOutcome

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``quotawatch determine --json``: ``determination_id`` and
        ``buildings`` (the fields of ``evaluate --json``), with the year and who decided."""
        return {
            "determination_id": self.determination_id,
            "year": self.year,
            "as_of": self.evaluation.as_of.isoformat(),
            "at": self.at.isoformat(),
            "by": self.by,
            "reason": self.reason,
            "supersedes": self.supersedes,
            "unverified_parameters": self.evaluation.unverified,
            "status_counts": self.evaluation.status_counts(),
            "buildings": result_records(self.evaluation.results),
        }


def use_in_basis_unit(results: pd.DataFrame) -> pd.Series:
    """Use to date in the basis's unit: kWh of electricity, or kgce of all carriers."""
    return pd.Series(
        np.where(
            results["basis"] == "electricity_kwh", results["energy_kwh"], results["energy_kgce"]
        ),
        index=results.index,
        dtype="float64",
    )


def determine(
    conn: psycopg.Connection[Any],
    settings: Settings,
    year: int,
    *,
    actor: str,
    role: str | None,
    supersede: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
) -> DeterminationOutcome:
    """Evaluate ``year`` through 31 December and store it as the year's determination.

    Raises :class:`roles.NotAllowedError` unless ``role`` may determine, and
    :class:`DeterminationError` when the year has not ended, when it already has a
    determination in force and ``supersede`` is not set, or when ``supersede`` has no reason.
    """
    roles.require(role, roles.DETERMINE, actor)
    reason = (reason or "").strip() or None
    if supersede and reason is None:
        raise DeterminationError("--supersede needs a reason (--reason TEXT)")
    if not quota_versions.FIRST_YEAR <= year <= quota_versions.LAST_YEAR:
        raise DeterminationError(
            f"year {year}: a quota year lies in "
            f"{quota_versions.FIRST_YEAR}..{quota_versions.LAST_YEAR}"
        )
    today = calendar.local_today(settings.tz, now)
    as_of = calendar.year_end(year)
    if today <= as_of:
        raise DeterminationError(
            f"{year} has not ended (today is {today}): a year is determined after 31 December"
        )
    conn.execute(q.LOCK_DETERMINATIONS, {"key": DETERMINATION_LOCK_KEY, "year": year})
    current = conn.execute(q.DETERMINATION_IN_FORCE, {"year": year}).fetchone()
    if current is not None and not supersede:
        raise DeterminationError(
            f"{year} is already determined (determination {current['determination_id']} by "
            f"{current['actor']} at {current['at']:%Y-%m-%d %H:%M}); to replace it, use "
            "--supersede --reason TEXT"
        )
    audit.act_as(conn, actor, reason)
    evaluation = run_evaluation(conn, settings, year, as_of, save=False, now=now)
    rules = EvaluationRules.from_rules(settings.rules).to_dict()
    factors = rules.pop("factors")
    row = conn.execute(
        q.INSERT_DETERMINATION,
        {
            "year": year,
            "as_of": as_of,
            "actor": actor,
            "reason": reason,
            "timezone": settings.timezone_name,
            "rules": json.dumps(rules, default=str),
            "factors": json.dumps(factors, default=str),
            "unverified": json.dumps(evaluation.unverified, ensure_ascii=False),
        },
    ).fetchone()
    determination_id = int(row["determination_id"])
    _store_results(conn, determination_id, evaluation.results)
    superseded = None
    if current is not None:
        superseded = int(current["determination_id"])
        conn.execute(q.SUPERSEDE, {"new_id": determination_id, "old_id": superseded})
    summary = {
        "determination_id": determination_id,
        "year": year,
        "status_counts": evaluation.status_counts(),
    }
    audit.record(
        conn,
        "determination.superseded" if superseded else "determination.made",
        actor=actor,
        reason=reason,
        before={"determination_id": superseded} if superseded else None,
        after=summary,
    )
    return DeterminationOutcome(
        determination_id=determination_id,
        year=year,
        at=row["at"],
        by=actor,
        reason=reason,
        supersedes=superseded,
        evaluation=evaluation,
    )


def _store_results(
    conn: psycopg.Connection[Any], determination_id: int, results: pd.DataFrame
) -> None:
    rows = pd.DataFrame(
        {
            "determination_id": determination_id,
            "building_id": results["building_id"],
            "basis": results["basis"],
            "status": results["status"],
            "use_value": use_in_basis_unit(results),
            "energy_kwh": results["energy_kwh"],
            "energy_kgce": results["energy_kgce"],
            "limit_value": results["limit_value"],
            "quota_version_id": results["quota_version_id"],
            "expected_share": results["expected_share"],
            "utilization": results["utilization"],
            "projected": results["projected"],
            "completeness": results["completeness"],
            "excess": results["excess"],
            "eui_kwh_per_m2": results["eui_kwh_per_m2"],
            "co2_kg": results["co2_kg"],
            "details": [
                json.dumps(
                    {
                        "quota_source": qs if isinstance(qs, str) else None,
                        "previous_utilization": None if pd.isna(pu) else float(pu),
                        "previous_source": ps if isinstance(ps, str) else None,
                        "floor_area_m2": None if pd.isna(fa) else float(fa),
                        "building_type": bt,
                    }
                )
                for qs, pu, ps, fa, bt in zip(
                    results["quota_source"],
                    results["previous_utilization"],
                    results["previous_source"],
                    results["floor_area_m2"],
                    results["building_type"],
                    strict=True,
                )
            ],
        }
    )
    columns = q.DETERMINATION_RESULT_COLUMNS
    data = rows.loc[:, list(columns)].astype(object)
    data = data.where(pd.notna(data), None)
    with conn.cursor().copy(f"COPY determination_result ({', '.join(columns)}) FROM STDIN") as copy:
        for record in data.itertuples(index=False, name=None):
            copy.write_row(
                [
                    int(v) if c == "quota_version_id" and v is not None else v
                    for c, v in zip(columns, record, strict=True)
                ]
            )


def listing(conn: psycopg.Connection[Any], year: int | None = None) -> list[dict[str, Any]]:
    """Determinations oldest first: determination_id, year, as_of, at, by, reason,
    superseded_by, timezone, building_count."""
    rows = conn.execute(q.DETERMINATIONS, {"year": year}).fetchall()
    return [
        {
            **r,
            "at": r["at"].isoformat(),
            "as_of": r["as_of"].isoformat(),
        }
        for r in rows
    ]


def determined_utilization(conn: psycopg.Connection[Any], year: int) -> pd.DataFrame:
    """Per building and basis, the utilisation of ``year``'s determination in force (empty
    when the year has none)."""
    data = queries.frame(conn, queries.DETERMINED_UTILIZATION, {"year": year})
    if data.empty:
        return pd.DataFrame(columns=["building_id", "basis", "utilization"])
    data["utilization"] = data["utilization"].astype("float64")
    return data


def determined_history(
    conn: psycopg.Connection[Any], building_ids: list[str] | None = None
) -> pd.DataFrame:
    """Every year's determination in force, per building and basis: year, determination_id,
    building_id, basis, status, utilization, use_value and limit_value (basis unit)."""
    return queries.frame(conn, q.DETERMINED_HISTORY, {"building_ids": building_ids})


def over_20_streak(years_over: dict[int, bool]) -> int:
    """Consecutive determined years over 120 % ending at the latest determined year."""
    years = sorted(years_over, reverse=True)
    streak = 0
    expected = years[0] if years else 0
    for year in years:
        if year != expected or not years_over[year]:
            break
        streak += 1
        expected = year - 1
    return streak


def history_summary(history: pd.DataFrame) -> pd.DataFrame:
    """Per building and basis: the determined statuses by year (``{year: status}``), the
    latest determined year and the streak of consecutive years over 120 % (statuses
    over_20 and over_20_repeat) up to it."""
    columns = ["building_id", "basis", "statuses", "latest_year", "over_20_streak"]
    if history.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for (building_id, basis), rows in history.groupby(["building_id", "basis"], sort=True):
        statuses = {int(y): str(s) for y, s in zip(rows["year"], rows["status"], strict=True)}
        over = {y: s in OVER_20_STATUSES for y, s in statuses.items()}
        out.append(
            {
                "building_id": building_id,
                "basis": basis,
                "statuses": statuses,
                "latest_year": max(statuses),
                "over_20_streak": over_20_streak(over),
            }
        )
    return pd.DataFrame(out, columns=columns)
