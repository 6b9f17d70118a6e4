"""Rows a transaction of several files holds back per chunk (ingest/pending.py): written in
the order held, one list per chunk; a failed file's rows forgotten and the earlier rows it
wrote out held again."""

from __future__ import annotations

import numpy as np

from ingest.pending import PendingRows


def _keys(*keys: int) -> np.ndarray:
    return np.array(keys, dtype=np.int64)


def test_rows_are_taken_per_chunk_in_the_order_held():
    pending = PendingRows(n_meter_keys=10)
    pending.add("c1", "cols", [b"a1", b"a2"], 2, _keys(1))
    pending.add("c2", "cols", [b"b1"], 1, _keys(1))
    pending.add("c1", "cols", [b"", b"a3"], 1, _keys(2))
    assert (pending.rows, pending.bytes) == (4, 8)
    assert pending.holds_meters(_keys(2, 5)) and not pending.holds_meters(_keys(3, 5))
    assert pending.take("c2") == [("c2", "cols", [b"b1"])]
    assert pending.holds_chunk("c1") and not pending.holds_chunk("c2")
    assert pending.take() == [("c1", "cols", [b"a1", b"a2", b"a3"])]
    assert (pending.rows, pending.bytes) == (0, 0)
    assert pending.take() == []
    assert not pending.holds_meters(_keys(1, 2))


def test_over_budget_counts_array_bytes():
    pending = PendingRows(n_meter_keys=4)
    pending.add("c1", "cols", [np.zeros(100, dtype=np.int64)], 100, _keys(0))
    assert pending.bytes == 800
    assert pending.over_budget(799) and not pending.over_budget(800)


def test_a_failed_file_leaves_what_was_held_before_it():
    pending = PendingRows(n_meter_keys=10)
    pending.add("c1", "cols", [b"f1"], 1, _keys(1))  # file 1, loaded
    pending.mark()  # file 2 starts
    pending.add("c1", "cols", [b"f2"], 1, _keys(1))
    pending.add("c3", "cols", [b"f2c3"], 1, _keys(1))
    pending.restore()  # file 2 failed
    assert (pending.rows, pending.bytes) == (1, 2)
    assert pending.take() == [("c1", "cols", [b"f1"])]


def test_rows_written_out_inside_a_failed_file_are_held_again():
    pending = PendingRows(n_meter_keys=10)
    pending.add("c1", "cols", [b"f1a"], 1, _keys(1))
    pending.add("c2", "cols", [b"f1b"], 1, _keys(1))
    pending.mark()  # file 2 starts and holds a row of c1
    pending.add("c1", "cols", [b"f2a"], 1, _keys(1))
    # It writes out c1 (file 1's row and its own) inside its savepoint, then fails.
    assert pending.take("c1") == [("c1", "cols", [b"f1a", b"f2a"])]
    pending.add("c1", "cols", [b"f2b"], 1, _keys(1))
    pending.restore()
    # File 1's row of c1 was rolled back with file 2: held again; file 2's rows are gone.
    assert (pending.rows, pending.bytes) == (2, 6)
    assert sorted(pending.take()) == [("c1", "cols", [b"f1a"]), ("c2", "cols", [b"f1b"])]
