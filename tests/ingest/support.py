"""Helpers of the ingest tests."""

from __future__ import annotations

import pytest


def same_rows(got: list[dict], expected: list[dict]) -> None:
    """Rows equal, floats to 1e-9 relative (sums may add in another order)."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a.keys() == b.keys()
        for key, value in a.items():
            if isinstance(value, float):
                assert value == pytest.approx(b[key], rel=1e-9)
            else:
                assert value == b[key]


def rebuild_rollups_from_nothing(registered) -> None:
    """Delete every meter-day and building-day, then rebuild them from the stored readings
    with ``quotawatch rollups rebuild`` (what a load's rollups must equal)."""
    with registered.connect() as conn:
        conn.execute("DELETE FROM meter_daily")
        conn.execute("DELETE FROM building_daily")
        conn.commit()
    proc = registered.cli("rollups", "rebuild", "--json")
    assert proc.returncode == 0, proc.stderr
