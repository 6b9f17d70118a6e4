"""Whole columns remembered across files (ingest/column_memo.py) give the same results as
working them out value by value."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from ingest import column_memo, rollups, validate


def test_keys_tell_different_columns_apart():
    a = np.array(["2024-01-01 00:00", "2024-01-01 01:00"], dtype=object)
    assert column_memo.text_key(a) == column_memo.text_key(a.copy())
    assert column_memo.text_key(a) != column_memo.text_key(a[::-1])
    # A text holding the separator could make two columns look alike: not remembered.
    assert column_memo.text_key(np.array(["a\x00b"], dtype=object)) is None
    assert column_memo.number_key(np.array([1, 2])) != column_memo.number_key(np.array([2, 1]))


def test_memo_computes_once_per_key_and_forgets_the_oldest():
    memo: column_memo.ColumnMemo[int] = column_memo.ColumnMemo(entries=2)
    calls: list[str] = []

    def compute(name: str) -> int:
        calls.append(name)
        return len(calls)

    assert memo.get(("a",), lambda: compute("a")) == 1
    assert memo.get(("a",), lambda: compute("a")) == 1
    memo.get(("b",), lambda: compute("b"))
    memo.get(("c",), lambda: compute("c"))  # "a" is forgotten
    memo.get(("a",), lambda: compute("a"))
    assert calls == ["a", "b", "c", "a"]
    assert memo.get(None, lambda: compute("x")) == 5  # no key: always computed


def test_a_year_of_timestamps_and_days_equal_their_value_by_value_results():
    tz = ZoneInfo("Asia/Shanghai")
    hours = [
        f"2024-{m:02d}-{d:02d} {h:02d}:00" for m in (1, 2) for d in (1, 2, 3) for h in range(24)
    ]
    texts = np.array(hours * 8 + ["2024-13-01 00:00"], dtype=object)  # one bad text
    assert len(texts) >= column_memo.MIN_VALUES
    expected = validate._each_timestamp(texts, tz)
    for _ in range(2):  # worked out, then remembered
        parsed, errors = validate._timestamps(texts, tz)
        assert (parsed == expected[0]).all() and (errors == expected[1]).all()
    assert errors[-1] != "" and (errors[:-1] == "").all()
    # 1,500 hours from 2024-01-01 00:00 local (16:00 UTC the day before) [µs].
    at_us = np.arange(1500, dtype=np.int64) * 3_600_000_000 + 1_704_038_400_000_000
    days = rollups._local_days(at_us, tz)
    assert (days == rollups._local_days(at_us, tz)).all()
    assert days.tolist() == [rollups._local_day(int(u), tz) for u in at_us]
