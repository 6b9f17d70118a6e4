"""The facts of a building's notice for a year, read from the year's determination in force.

:func:`notice_facts` returns plain data (no formatting): the building and its managers, the
determination (or None when the year has none in force), per basis the quota version used
(with the reason when it was adjusted), the use [basis unit], utilisation, tier, what the
tier triggers under the rules (``[tiers.consequences]``), the completeness, and the data
sources of the year (meters, reading files with their SHA-256). ``quota.record.notice_text`` turns
them into text, ``quota.record.notice_pdf`` into a PDF.

Functions take a connection and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import psycopg

from quota import calendar
from quota.record import notice_queries as q


class NoticeError(ValueError):
    """A notice that cannot be written (unknown building)."""


def year_bounds(year: int, tz: Any) -> tuple[datetime, datetime]:
    """The local quota year as instants: [1 January 00:00, next 1 January 00:00)."""
    return (
        calendar.local_midnight(calendar.year_start(year), tz),
        calendar.local_midnight(calendar.year_start(year + 1), tz),
    )


def consequences(rules: Mapping[str, Any], lang: str) -> dict[str, str]:
    """What each tier triggers, from ``[tiers.consequences]`` (English) or
    ``[tiers.consequences_zh]`` (Chinese, falling back to English) of the rules."""
    tiers = rules.get("tiers", {})
    found = dict(tiers.get("consequences", {}))
    if lang == "zh":
        found.update(tiers.get("consequences_zh", {}))
    return {str(k): str(v) for k, v in found.items()}


def notice_facts(
    conn: psycopg.Connection[Any], building_id: str, year: int, tz: Any, rules: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything a notice states for ``building_id`` and ``year``.

    Keys: ``building`` (registry fields), ``managers`` (usernames), ``year``,
    ``determination`` (id, at, as_of, by, reason; None when the year has no determination in
    force), ``results`` (one per basis, empty without a determination), ``meters``,
    ``files`` (reading files of the year with checksum and number of readings), ``bills``
    (utility bills of the building's accounts overlapping the year, with their files),
    ``tier_rules`` (per language, tier → what it triggers), ``rules_source``. Raises
    :class:`NoticeError` for an unknown building.
    """
    building = conn.execute(q.BUILDING, {"building_id": building_id}).fetchone()
    if building is None:
        raise NoticeError(f"building {building_id!r} is not in the registry")
    managers = [
        r["username"] for r in conn.execute(q.MANAGERS, {"building_id": building_id}).fetchall()
    ]
    det = conn.execute(q.DETERMINATION_IN_FORCE, {"year": year}).fetchone()
    results: list[dict[str, Any]] = []
    determination = None
    if det is not None:
        determination = {
            "determination_id": int(det["determination_id"]),
            "at": det["at"].astimezone(tz),
            "as_of": det["as_of"],
            "by": det["actor"],
            "reason": det["reason"],
        }
        rows = conn.execute(
            q.DETERMINATION_ROWS,
            {"determination_id": det["determination_id"], "building_id": building_id},
        ).fetchall()
        results = [
            {**r, "quota_at": r["quota_at"].astimezone(tz) if r["quota_at"] else None} for r in rows
        ]
    start, end = year_bounds(year, tz)
    meters = [dict(r) for r in conn.execute(q.METERS, {"building_id": building_id}).fetchall()]
    files = [
        dict(r)
        for r in conn.execute(
            q.SOURCE_FILES, {"building_id": building_id, "start": start, "end": end}
        ).fetchall()
    ]
    return {
        "building": dict(building),
        "managers": managers,
        "year": year,
        "determination": determination,
        "results": results,
        "meters": meters,
        "files": files,
        "bills": [
            dict(r)
            for r in conn.execute(
                q.BILLS,
                {
                    "building_id": building_id,
                    "first_day": calendar.year_start(year),
                    "last_day": calendar.year_end(year),
                },
            ).fetchall()
        ],
        "tier_rules": {lang: consequences(rules, lang) for lang in ("zh", "en")},
        "rules_source": str(rules.get("tiers", {}).get("source", "")),
    }


def is_determined(conn: psycopg.Connection[Any], year: int) -> bool:
    """True when ``year`` has a determination in force."""
    return conn.execute(q.DETERMINATION_IN_FORCE, {"year": year}).fetchone() is not None


def determined_buildings(
    conn: psycopg.Connection[Any], year: int, statuses: list[str] | None = None
) -> list[str]:
    """Buildings of ``year``'s determination in force (only those with one of ``statuses``
    in some basis, when given), sorted."""
    rows = conn.execute(
        q.DETERMINED_BUILDINGS, {"year": year, "statuses": statuses or None}
    ).fetchall()
    return [r["building_id"] for r in rows]


def notice_pdf(
    conn: psycopg.Connection[Any],
    building_id: str,
    year: int,
    *,
    tz: Any,
    rules: Mapping[str, Any],
    lang: str,
    issued: date,
) -> tuple[bytes, dict[str, Any]]:
    """The notice of ``building_id`` for ``year`` as PDF bytes, and a summary (building_id,
    year, lang, determination_id or None, statuses per basis, pages, bytes)."""
    from quota.record import notice_pdf, notice_text

    facts = notice_facts(conn, building_id, year, tz, rules)
    blocks = notice_text.notice_blocks(facts, lang, issued)
    data, pages = notice_pdf.render_pdf(
        blocks, title=f"{notice_text.text('title', lang)} {building_id} {year}", lang=lang
    )
    det = facts["determination"]
    summary = {
        "building_id": building_id,
        "year": year,
        "lang": lang,
        "determination_id": None if det is None else det["determination_id"],
        "statuses": {r["basis"]: r["status"] for r in facts["results"]},
        "pages": pages,
        "bytes": len(data),
    }
    return data, summary
