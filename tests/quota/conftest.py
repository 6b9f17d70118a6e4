"""Helpers for quota-engine database tests: registry, meters, quotas and daily rollups are
inserted directly with SQL (the registry import is another part of the software)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import psycopg


def add_building(
    conn: psycopg.Connection[Any],
    building_id: str,
    *,
    building_type: str = "office_commercial",
    floor_area_m2: float = 10000.0,
    public_use_share: float = 1.0,
    commissioned_year: int | None = 2000,
    name: str | None = None,
    operating_hours_per_year: float | None = None,
    area_per_person_m2: float | None = None,
) -> None:
    conn.execute(
        "INSERT INTO building (building_id, name, district, building_type, floor_area_m2,"
        " public_use_share, commissioned_year, operating_hours_per_year, area_per_person_m2)"
        " VALUES (%s, %s, '朝阳区', %s, %s, %s, %s, %s, %s)",
        (
            building_id,
            name or f"大楼 {building_id}",
            building_type,
            floor_area_m2,
            public_use_share,
            commissioned_year,
            operating_hours_per_year,
            area_per_person_m2,
        ),
    )


def add_meter(
    conn: psycopg.Connection[Any],
    meter_id: str,
    building_id: str,
    energy_type: str = "electricity",
    unit: str = "kWh",
    interval_minutes: int = 60,
) -> None:
    conn.execute(
        "INSERT INTO meter (meter_id, building_id, energy_type, unit, interval_minutes)"
        " VALUES (%s, %s, %s, %s, %s)",
        (meter_id, building_id, energy_type, unit, interval_minutes),
    )


def add_quota(
    conn: psycopg.Connection[Any],
    building_id: str,
    year: int,
    limit_value: float,
    basis: str = "electricity_kwh",
    source: str = "imported",
) -> None:
    conn.execute(
        "INSERT INTO quota (building_id, year, basis, limit_value, source)"
        " VALUES (%s, %s, %s, %s, %s)",
        (building_id, year, basis, limit_value, source),
    )


def add_daily(
    conn: psycopg.Connection[Any],
    building_id: str,
    days: Iterable[date],
    energy_kwh: float,
    energy_type: str = "electricity",
    covered_hours: float = 24.0,
    meter_count: int = 1,
) -> None:
    rows = [(building_id, energy_type, d, energy_kwh, 24, covered_hours, meter_count) for d in days]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO building_daily (building_id, energy_type, day, energy_kwh,"
            " reading_count, covered_hours, meter_count) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def day_range(start: date, end: date) -> list[date]:
    """Every day from start through end."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
