"""Whole columns of distinct values worked out once across files (pure).

Per-text caches (``functools.lru_cache``) make a repeated timestamp cheap, but a file of one
building and year has 8,760 distinct timestamps, so even cached look-ups cost a Python call
each (≈ 1 µs) in every file. Files of one year repeat the same column of distinct values
building after building: :class:`ColumnMemo` keeps the result for the whole column, keyed by
its contents, and a file whose column was seen before takes it with one hash (≈ 0.2 ms for
8,760 timestamps instead of ≈ 10 ms).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")

# Columns with fewer distinct values are worked out directly (cheap anyway).
MIN_VALUES = 1_000


def text_key(texts: np.ndarray) -> str | None:
    """A key equal only for equal arrays of ``str`` (None when the texts hold the separator,
    which could make two different arrays look alike)."""
    joined = "\x00".join(texts.tolist())
    if joined.count("\x00") != len(texts) - 1:
        return None
    return joined


def number_key(values: np.ndarray) -> bytes:
    """A key equal only for equal int64 arrays."""
    return np.ascontiguousarray(values, dtype=np.int64).tobytes()


class ColumnMemo(Generic[T]):
    """The last ``entries`` results of a function of a whole column (thread-safe: the
    reader thread and the loading thread may both ask)."""

    def __init__(self, entries: int = 8):
        self.entries = entries
        self._results: OrderedDict[tuple[object, ...], T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...] | None, compute: Callable[[], T]) -> T:
        """``compute()``, remembered under ``key`` (not remembered when ``key`` is None)."""
        if key is None:
            return compute()
        with self._lock:
            found = self._results.get(key)
            if found is not None:
                self._results.move_to_end(key)
                return found
        result = compute()
        with self._lock:
            self._results[key] = result
            while len(self._results) > self.entries:
                self._results.popitem(last=False)
        return result
