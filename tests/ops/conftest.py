"""Fixtures of the operations tests: a test database with one building and its meters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ingest.conftest import register_meters


@pytest.fixture
def registered(db: Any) -> Any:
    """The test database with building B1 and the ingest tests' meters."""
    with db.connect() as conn:
        register_meters(conn)
        conn.commit()
    return db
