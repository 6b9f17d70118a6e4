"""The loader's chunk look-up by time range (ingest/interval_store.py: _chunks_in_range, a
bisection over the sorted chunk list) answers as a scan of every chunk would (pure)."""

from __future__ import annotations

import numpy as np

from ingest.interval_store import IntervalStore

WEEK_US = 7 * 86_400 * 1_000_000


def _store(chunks: list[dict]) -> IntervalStore:
    store = object.__new__(IntervalStore)
    store._chunks = chunks  # type: ignore[attr-defined]
    return store


def test_chunks_in_range_equals_a_scan_of_every_chunk():
    rng = np.random.default_rng(7)
    # Weekly chunks with gaps (weeks without readings), and one shorter chunk cut to fit
    # after the chunk interval changed.
    starts = sorted(rng.choice(np.arange(0, 300), size=120, replace=False).tolist())
    chunks = [
        {"chunk": f"c{i}", "start": s * WEEK_US, "end": (s + 1) * WEEK_US}
        for i, s in enumerate(starts)
    ]
    chunks[40]["end"] = chunks[40]["start"] + WEEK_US // 3
    store = _store(chunks)
    edges = [c["start"] for c in chunks] + [c["end"] for c in chunks]
    probes = edges + [e - 1 for e in edges] + rng.integers(-WEEK_US, 301 * WEEK_US, 300).tolist()
    for lo in probes:
        for hi in (
            lo,
            lo + 1,
            lo + WEEK_US - 1,
            lo + 10 * WEEK_US,
            int(rng.integers(lo, lo + 60 * WEEK_US)),
        ):
            expected = [c for c in chunks if c["end"] > lo and c["start"] <= hi]
            assert store._chunks_in_range(lo, hi) == expected, (lo, hi)


def test_no_chunks_and_ranges_outside_them():
    assert _store([])._chunks_in_range(0, WEEK_US) == []
    store = _store([{"chunk": "c", "start": WEEK_US, "end": 2 * WEEK_US}])
    assert store._chunks_in_range(0, WEEK_US - 1) == []
    assert store._chunks_in_range(2 * WEEK_US, 3 * WEEK_US) == []
    assert [c["chunk"] for c in store._chunks_in_range(WEEK_US, WEEK_US)] == ["c"]
    assert [c["chunk"] for c in store._chunks_in_range(2 * WEEK_US - 1, 5 * WEEK_US)] == ["c"]
