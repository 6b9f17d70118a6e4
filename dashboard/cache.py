"""A small per-process cache of computed page data, invalidated by new evaluations.

Stored evaluation runs never change (a new evaluation is a new run), so what a page computes
from one run for one viewer scope and one selection can be reused until a newer run appears.
Each lookup passes the newest ``evaluation_id`` in the database (the *generation*); when it
differs from the one the cache holds, everything is dropped. Keys must include the viewer's
scope (which buildings they may see), so a manager never gets rows computed for another
viewer. Entries are kept least-recently-used first out; concurrent requests for the same key
compute it once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from dashboard.users import Viewer

T = TypeVar("T")


def scope_key(viewer: Viewer) -> tuple[str, ...]:
    """The part of a cache key that stands for what the viewer may see."""
    if viewer.sees_all:
        return ("*",)
    return tuple(sorted(viewer.building_ids))


def _older(generation: Hashable, current: Hashable) -> bool:
    """Whether ``generation`` is an evaluation id older than ``current``."""
    return isinstance(generation, int) and isinstance(current, int) and generation < current


class PageCache:
    """Thread-safe LRU of at most ``max_entries`` values for one generation."""

    def __init__(self, max_entries: int = 24) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._generation: Hashable = None
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, generation: Hashable, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key`` for ``generation``, computing (once) when missing.

        A newer generation empties the cache; a request still carrying an older one (it
        started before the new run appeared) computes its value without storing it.
        """
        with self._lock:
            if _older(generation, self._generation):
                self.misses += 1
                key_lock = None
            else:
                if generation != self._generation:
                    self._entries.clear()
                    self._key_locks.clear()
                    self._generation = generation
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return self._entries[key]  # type: ignore[no-any-return]
                key_lock = self._key_locks.setdefault(key, threading.Lock())
        if key_lock is None:
            return compute()
        with key_lock:
            with self._lock:
                if generation == self._generation and key in self._entries:
                    self.hits += 1
                    return self._entries[key]  # type: ignore[no-any-return]
            value = compute()
            with self._lock:
                self.misses += 1
                if generation == self._generation:
                    self._entries[key] = value
                    while len(self._entries) > self.max_entries:
                        old, _ = self._entries.popitem(last=False)
                        self._key_locks.pop(old, None)
                self._key_locks.pop(key, None)
            return value

    @property
    def generation(self) -> Hashable:
        """The generation the cache holds now (set by the last lookup)."""
        with self._lock:
            return self._generation

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()
            self._generation = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
