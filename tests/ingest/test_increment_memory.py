"""A load's daily rollups COPYed in parts (memory stays bounded for a month of a city's
meter-days, issue 18) write exactly what one whole payload wrote."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingest import copybin, rollups
from ingest.loader import ingest_paths
from tests.ingest.conftest import register_meters
from tests.ingest.support import rebuild_rollups_from_nothing, same_rows


@pytest.mark.parametrize("rows_per_part", [1, 3, 7, 1_000])
def test_payload_parts_join_to_the_whole_payload(rows_per_part: int) -> None:
    n = 20
    columns = [
        copybin.Column("int4", np.arange(n)),
        copybin.Column("date", np.full(n, 739_300)),
        copybin.Column("float8", np.linspace(0, 1, n), np.arange(n) % 5 == 0),
        copybin.Column("text", np.array(["B7"] * n, dtype=object)),
    ]
    parts = list(copybin.payload_parts(columns, rows_per_part))
    assert len(parts) == 2 + -(-n // rows_per_part)  # header, the row parts, trailer
    # Rows of one shape keep their order; NULLs (another shape) may be grouped per part.
    one_shape = [copybin.Column(c.kind, c.values) for c in columns]
    assert b"".join(copybin.payload_parts(one_shape, rows_per_part)) == copybin.payload(one_shape)
    assert sum(len(p) for p in parts) == len(copybin.payload(columns))
    with pytest.raises(ValueError):
        list(copybin.payload_parts(columns, 0))


def test_combined_increments_let_the_parts_go_and_sum_as_before() -> None:
    rng = np.random.default_rng(5)
    parts = [
        pd.DataFrame(
            {
                "meter_key": rng.integers(0, 30, 400).astype(np.int64),
                "day": rng.integers(739_252, 739_283, 400).astype(np.int64),
                "energy_kwh": rng.uniform(0, 50, 400),
                "reading_count": rng.integers(0, 25, 400).astype(np.int64),
                "covered_hours": rng.uniform(0, 24, 400),
            }
        )
        for _ in range(4)
    ]
    expected = (
        pd.concat(parts, ignore_index=True)
        .groupby(["meter_key", "day"], as_index=False, sort=True)
        .sum()
    )
    taken = list(parts)
    got = rollups.combine_increments(taken)
    assert taken == []
    assert got is not None
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert rollups.combine_increments([]) is None


@pytest.mark.parametrize("staged", [False, True], ids=["new-days", "staged"])
def test_rollups_written_in_small_parts_match_a_rebuild(
    registered, write_file, monkeypatch, staged: bool
) -> None:
    """Meter-days and building-days (building ids of several lengths: rows of several
    shapes) COPYed three rows a part, on the new-days path and, with the in-memory cap at 4
    meter-days, through the staging table: the same rollups as a rebuild from readings."""
    with registered.connect() as conn:
        register_meters(conn, "B22", [("F1", "electricity", "kWh", "interval", 1.0, None, 60)])
        register_meters(conn, "B333", [("F2", "electricity", "kWh", "interval", 2.0, None, 60)])
        conn.commit()
    monkeypatch.setattr(copybin, "ROWS_PER_PART", 3)
    if staged:
        monkeypatch.setattr(rollups, "INCREMENTS_IN_MEMORY", 4)
    parts: list[int] = []
    payload_parts = copybin.payload_parts
    monkeypatch.setattr(
        copybin,
        "payload_parts",
        lambda columns, *a: parts.append(len(columns[0].values)) or payload_parts(columns, *a),
    )
    text = "meter_id,timestamp,value\n" + "".join(
        f"{m},2024-03-{1 + h // 24:02d} {h % 24:02d}:00,{(h % 7) + k}\n"
        for k, m in enumerate(("E1", "E2", "F1", "F2"))
        for h in range(0, 24 * 6, 2)
    )
    summary = ingest_paths(registered.settings, [write_file(text)], trigger="test")
    assert summary.rows_loaded == 4 * 72
    assert max(parts) > 3  # more rows than one part: written in several
    meter_query = (
        "SELECT meter_key, day, energy_kwh, reading_count, covered_hours FROM meter_daily "
        "ORDER BY meter_key, day"
    )
    building_query = "SELECT * FROM building_daily ORDER BY building_id, energy_type, day"
    meter_days, building_days = registered.query(meter_query), registered.query(building_query)
    assert len(meter_days) == 4 * 6
    assert {r["building_id"] for r in building_days} == {"B1", "B22", "B333"}
    rebuild_rollups_from_nothing(registered)
    same_rows(registered.query(meter_query), meter_days)
    same_rows(registered.query(building_query), building_days)
