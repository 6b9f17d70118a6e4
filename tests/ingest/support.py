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
