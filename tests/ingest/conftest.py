"""Fixtures for the ingest tests: a registered building with meters, files made per test."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

METERS = [
    # meter_id, energy_type, unit, kind, multiplier, register_max, interval_minutes
    ("E1", "electricity", "kWh", "interval", 1.0, None, 60),
    ("E2", "electricity", "kWh", "interval", 40.0, None, 60),
    ("G1", "natural_gas", "m3", "cumulative", 1.0, None, None),
    ("H1", "district_heat", "GJ", "cumulative", 1.0, 999.0, None),  # wraps at 1000
    ("C1", "electricity", "kWh", "cumulative", 2.0, None, None),
]


def register_meters(conn: Any, building_id: str = "B1", meters: list[tuple] | None = None) -> None:
    """Insert one building and its meters with SQL (the registry import is another part)."""
    conn.execute(
        "INSERT INTO building (building_id, name, district, building_type, floor_area_m2) "
        "VALUES (%s, %s, 'Dongcheng', 'office_government', 12000) ON CONFLICT DO NOTHING",
        (building_id, f"Building {building_id}"),
    )
    for meter_id, etype, unit, kind, mult, reg_max, minutes in meters or METERS:
        conn.execute(
            "INSERT INTO meter (meter_id, building_id, energy_type, unit, reading_kind, "
            "multiplier, register_max, interval_minutes) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
            (meter_id, building_id, etype, unit, kind, mult, reg_max, minutes),
        )


@pytest.fixture
def registered(db: Any) -> Any:
    """The test database with building B1 and the meters of :data:`METERS`."""
    with db.connect() as conn:
        register_meters(conn)
        conn.commit()
    return db


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a reading file: text, name, encoding; ``.gz`` names are gzipped."""

    def write(text: str, name: str = "readings.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        data = text.encode(encoding)
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        return path

    return write
