"""Chunks created by the running load: written without index upkeep, indexed once at the end.

Maintaining the primary-key B-tree of ``reading`` row by row is most of the cost of a bulk
load (binary COPY of 2 M readings into 7-day chunks, 2 cores: ≈ 0.35 M rows/s with the
index kept, ≈ 1.3 M rows/s without, and building the index afterwards costs ≈ 0.6 µs a row).
A chunk that the load's own transaction created holds nothing but this file's rows and no
other session can see it before the commit, so the loader

1. switches the chunk's indexes off right after creating it (``indisready``/``indisvalid``
   false: writes skip them, the planner ignores them, see :data:`ingest.queries`),
2. checks the file's rows for that chunk against the rows it already wrote there with the
   key set kept here (the duplicate check the index would otherwise answer),
3. rebuilds the indexes with ``REINDEX`` (a sorted bulk build) before anything reads the
   chunk by meter, and always before the commit. A duplicate that slipped through would make
   the unique index build fail and the whole file roll back: the database still enforces
   one reading per meter and instant.

This module holds the pure part: :class:`FreshChunk` remembers, per chunk, the keys
(meter, instant) written with their kWh reading, value and line, and answers "was this
written before?" for a batch. Memory: 28 bytes per row, capped by the loader (it indexes the
least recently written chunks and forgets their keys when the total passes a limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Rows remembered over all fresh chunks before the least recently written are indexed and
# forgotten (28 B a row: ~112 MB).
MAX_REMEMBERED_ROWS = 4_000_000
_INT64_MAX = np.iinfo(np.int64).max


def pack_keys(meter_key: np.ndarray, at_us: np.ndarray, start_us: int, width_us: int) -> np.ndarray:
    """(meter, instant) pairs of a chunk [start_us, start_us + width_us) as one int64 each,
    ordered as the primary key (meter, then instant)."""
    return meter_key.astype(np.int64) * width_us + (at_us.astype(np.int64) - start_us)


@dataclass(frozen=True)
class WrittenRows:
    """Rows written into one chunk, as a fresh chunk remembers them: packed keys in
    ascending order with each row's kWh reading, value as sent and file line, and per
    distinct meter its first and last instant [µs]."""

    keys: np.ndarray
    register_kwh: np.ndarray
    value: np.ndarray
    line_number: np.ndarray
    meters: np.ndarray
    meter_first_us: np.ndarray
    meter_last_us: np.ndarray

    @classmethod
    def of(
        cls,
        meter_key: np.ndarray,
        at_us: np.ndarray,
        register_kwh: np.ndarray,
        value: np.ndarray,
        line_number: np.ndarray,
        start_us: int,
        width_us: int,
    ) -> WrittenRows:
        """From rows of the chunk [start_us, start_us + width_us) in any order."""
        keys = pack_keys(meter_key, at_us, start_us, width_us)
        if (keys[1:] >= keys[:-1]).all():  # rows already sorted by meter and time (usual)
            order: np.ndarray | slice = slice(None)
        else:
            order = np.argsort(keys, kind="stable")
        keys, mk, at = keys[order], meter_key[order].astype(np.int64), at_us[order]
        # Runs of one meter (np.r_ avoided: 52 calls a building-year file add up).
        if len(mk) and mk[0] == mk[-1]:  # one meter (a building's file): one run
            starts, ends = np.zeros(1, dtype=np.intp), np.array([len(mk) - 1])
        else:
            change = np.flatnonzero(mk[1:] != mk[:-1]) + 1
            starts = np.concatenate(([0], change)) if len(mk) else np.zeros(0, dtype=np.intp)
            ends = np.concatenate((change, [len(mk)])) - 1 if len(mk) else starts
        return cls(
            keys=keys,
            register_kwh=np.asarray(register_kwh, dtype=np.float64)[order],
            value=np.asarray(value, dtype=np.float64)[order],
            line_number=np.asarray(line_number, dtype=np.int32)[order],
            meters=mk[starts],
            meter_first_us=at[starts],
            meter_last_us=at[ends],
        )


@dataclass
class Matches:
    """Rows of a batch already written to a fresh chunk: ``found`` (bool per row) and, for
    those, the earlier row's kWh reading, value as sent and file line."""

    found: np.ndarray
    register_kwh: np.ndarray
    value: np.ndarray
    line_number: np.ndarray


@dataclass
class FreshChunk:
    """The rows one load wrote into one chunk it created: chunk ``name`` covers instants
    [start_us, end_us) [µs since epoch]; ``n_meter_keys`` bounds the meter keys (keys are
    0 ≤ k < n_meter_keys)."""

    name: str
    start_us: int
    end_us: int
    n_meter_keys: int
    rows: int = 0
    last_used: int = 0
    _runs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    _first_us: np.ndarray = field(init=False)
    _last_us: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self._first_us = np.full(self.n_meter_keys, _INT64_MAX, dtype=np.int64)
        self._last_us = np.full(self.n_meter_keys, -1, dtype=np.int64)

    @staticmethod
    def fits(start_us: int, end_us: int, n_meter_keys: int) -> bool:
        """Whether (meter, instant) pairs of such a chunk pack into one int64 key."""
        return n_meter_keys * (end_us - start_us) < _INT64_MAX

    def _keys(self, meter_key: np.ndarray, at_us: np.ndarray) -> np.ndarray:
        return pack_keys(meter_key, at_us, self.start_us, self.end_us - self.start_us)

    def written(
        self,
        meter_key: np.ndarray,
        at_us: np.ndarray,
        register_kwh: np.ndarray,
        value: np.ndarray,
        line_number: np.ndarray,
    ) -> WrittenRows:
        """:class:`WrittenRows` of rows of this chunk."""
        return WrittenRows.of(
            meter_key,
            at_us,
            register_kwh,
            value,
            line_number,
            self.start_us,
            self.end_us - self.start_us,
        )

    def add(self, rows: WrittenRows) -> None:
        """Remember rows just written (none of them written before)."""
        if len(rows.keys) == 0:
            return
        self._runs.append((rows.keys, rows.register_kwh, rows.value, rows.line_number))
        m = rows.meters
        self._first_us[m] = np.minimum(self._first_us[m], rows.meter_first_us)
        self._last_us[m] = np.maximum(self._last_us[m], rows.meter_last_us)
        self.rows += len(rows.keys)

    def find(self, meter_key: np.ndarray, at_us: np.ndarray) -> Matches:
        """Which of these rows (all within the chunk) were written before, and as what."""
        n = len(meter_key)
        found = np.zeros(n, dtype=bool)
        out = Matches(found, np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64))
        if n == 0 or not self._runs:
            return out
        mk = meter_key.astype(np.int64)
        # Only rows within a meter's written span can repeat one: in files sent in time
        # order (the usual case) there are none and no lookup is made. Checked per run of
        # one meter first (rows come sorted by meter and time), then per row.
        starts = np.flatnonzero(np.r_[True, mk[1:] != mk[:-1]])
        run_key = mk[starts]
        run_maybe = (np.maximum.reduceat(at_us, starts) >= self._first_us[run_key]) & (
            np.minimum.reduceat(at_us, starts) <= self._last_us[run_key]
        )
        if not run_maybe.any():
            return out
        maybe = np.repeat(run_maybe, np.diff(np.r_[starts, n]))
        maybe &= (at_us >= self._first_us[mk]) & (at_us <= self._last_us[mk])
        if not maybe.any():
            return out
        self._merge_runs()
        keys, register_kwh, value, lines = self._runs[0]
        rows = np.flatnonzero(maybe)
        wanted = self._keys(mk[rows], at_us[rows])
        pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        hit = keys[pos] == wanted
        rows, pos = rows[hit], pos[hit]
        found[rows] = True
        out.register_kwh[rows] = register_kwh[pos]
        out.value[rows] = value[pos]
        out.line_number[rows] = lines[pos]
        return out

    def _merge_runs(self) -> None:
        if len(self._runs) < 2:
            return
        keys = np.concatenate([r[0] for r in self._runs])
        order = np.argsort(keys, kind="stable")
        self._runs = [
            (
                keys[order],
                np.concatenate([r[1] for r in self._runs])[order],
                np.concatenate([r[2] for r in self._runs])[order],
                np.concatenate([r[3] for r in self._runs])[order],
            )
        ]


@dataclass
class FreshChunks:
    """The fresh chunks of one file's load, by chunk name."""

    n_meter_keys: int
    chunks: dict[str, FreshChunk] = field(default_factory=dict)
    clock: int = 0

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.chunks.values())

    def add_chunk(self, name: str, start_us: int, end_us: int) -> FreshChunk | None:
        """Track a chunk just created; None when its keys would not pack (then the loader
        keeps the chunk's indexes on)."""
        if not FreshChunk.fits(start_us, end_us, self.n_meter_keys):
            return None
        chunk = FreshChunk(name, start_us, end_us, self.n_meter_keys)
        self.chunks[name] = chunk
        return chunk

    def touch(self, chunk: FreshChunk) -> None:
        self.clock += 1
        chunk.last_used = self.clock

    def remember(self, name: str, rows: WrittenRows) -> None:
        """Rows just written into chunk ``name``: remembered when it is a fresh chunk."""
        chunk = self.chunks.get(name)
        if chunk is not None:
            chunk.add(rows)
            self.touch(chunk)

    def containing(self, at_us: np.ndarray) -> list[tuple[FreshChunk, np.ndarray]]:
        """(chunk, row mask) for every fresh chunk holding some of these instants."""
        out = []
        if len(at_us) == 0:
            return out
        lo, hi = int(at_us.min()), int(at_us.max())
        for chunk in self.chunks.values():
            if chunk.end_us <= lo or chunk.start_us > hi:
                continue
            mask = (at_us >= chunk.start_us) & (at_us < chunk.end_us)
            if mask.any():
                out.append((chunk, mask))
        return out

    def passed(self, at_us: int) -> list[str]:
        """Chunks wholly before ``at_us`` [µs], the earliest instant of the batch just
        written: in a file sent in time order (the usual case) no later row is for them, so
        they can be indexed and forgotten while the load goes on. A later row that is for
        one after all is checked through the index, as for any stored chunk."""
        return [name for name, chunk in self.chunks.items() if chunk.end_us <= at_us]

    def over_budget(self, limit: int | None = None) -> list[str]:
        """Chunks to index and forget, least recently written first, so that at most half of
        ``limit`` rows (default :data:`MAX_REMEMBERED_ROWS`) stay remembered; empty while
        the total is within ``limit``."""
        limit = MAX_REMEMBERED_ROWS if limit is None else limit
        total = self.rows
        if total <= limit:
            return []
        names = []
        for chunk in sorted(self.chunks.values(), key=lambda c: c.last_used):
            if total <= limit // 2:
                break
            names.append(chunk.name)
            total -= chunk.rows
        return names
