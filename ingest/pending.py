"""Readings a transaction of several files holds back and COPYs once per chunk (pure).

A building's year spans 52 weekly chunks: loaded file by file, each file sends 52 COPYs of
168 rows (a thousand such files: 52,000 statements, ≈ 40 % of the load). Inside a
transaction of several small files (:func:`ingest.loader.load_small_files`) the prepared
COPY rows of each file are kept here instead, per chunk, and written with one COPY per
chunk when the batch ends (or earlier, see below), in file order: each chunk then gets one
statement with the rows of every building of the batch, sorted by meter as its primary key.
From 2 MiB on, the rows held are written earlier, by a thread of their own in one COPY
through the hypertable, while the loading thread reads the next wave of files
(``_Batch.writing_held_rows`` in :mod:`ingest.loader`).

Rows held back are not in the table yet, so whatever reads the table must see them first:
the loader writes them out (:meth:`PendingRows.take`)

- before a batch of rows of a meter that has rows held back (its duplicate checks against
  stored readings read the table),
- before a batch that does not take the prepared path (cumulative meters, replaced rows),
- before building a chunk's indexes, and before the rollups and the commit,
- between files, when more than :data:`MAX_PENDING_BYTES` are held.

Exactly-once per file is unchanged: a file's rows and its ``ingest_file`` row commit in the
batch's one transaction or not at all. When a file fails (its savepoint rolled back), its
own held rows are forgotten and the earlier files' rows it wrote out inside its savepoint,
rolled back with it, are held again (:meth:`PendingRows.restore`): the batch goes on as
before the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Bytes of COPY rows held before they are written out between two files (≈ 46 B a reading:
# ≈ 2.9 M readings).
MAX_PENDING_BYTES = 128 << 20


@dataclass
class PendingRows:
    """Binary COPY rows held back per (chunk, column list); ``n_meter_keys`` bounds the meter
    keys (0 ≤ key < n_meter_keys)."""

    n_meter_keys: int
    rows: int = 0
    bytes: int = 0
    _parts: dict[tuple[str, str], list[bytes | np.ndarray]] = field(default_factory=dict)
    _meters: np.ndarray = field(init=False)
    # At the start of the current file (mark): rows, bytes and parts per key held; and the
    # parts held then that were written out since.
    _marked: tuple[int, int, dict[tuple[str, str], int]] | None = None
    _rewrite: list[tuple[tuple[str, str], list[bytes | np.ndarray]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._meters = np.zeros(self.n_meter_keys, dtype=bool)

    def add(
        self,
        chunk: str,
        column_names: str,
        parts: list[bytes | np.ndarray],
        rows: int,
        meter_keys: np.ndarray,
    ) -> None:
        """Hold ``rows`` rows for ``chunk`` (``parts``: binary COPY rows without header, as
        bytes or structured arrays) of the meters ``meter_keys``."""
        kept = [p for p in parts if len(p)]
        if not kept:
            return
        self._parts.setdefault((chunk, column_names), []).extend(kept)
        self._meters[meter_keys] = True
        self.rows += rows
        self.bytes += sum(p.nbytes if isinstance(p, np.ndarray) else len(p) for p in kept)

    def mark(self) -> None:
        """Note the rows held now: a file starts (see :meth:`restore`)."""
        self._marked = (self.rows, self.bytes, {k: len(v) for k, v in self._parts.items()})
        self._rewrite = []

    def restore(self) -> None:
        """Back to the rows held at :meth:`mark`: the file since then failed and its
        savepoint rolled back. Its own rows are forgotten; earlier files' rows it wrote out
        (rolled back with it) are held again, to be written by the batch."""
        if self._marked is None:
            return
        rows, size, lengths = self._marked
        for key in list(self._parts):
            kept = lengths.get(key, 0)
            if kept:
                del self._parts[key][kept:]
            else:
                del self._parts[key]
        for key, parts in reversed(self._rewrite):
            self._parts[key] = parts + self._parts.get(key, [])
        self.rows, self.bytes = rows, size  # meters stay marked: at worst an early write
        self._marked = None
        self._rewrite = []

    def holds_meters(self, meter_keys: np.ndarray) -> bool:
        """Whether rows of any of ``meter_keys`` are held back."""
        return bool(self.rows) and bool(self._meters[meter_keys].any())

    def holds_chunk(self, chunk: str) -> bool:
        return any(name == chunk for name, _ in self._parts)

    def over_budget(self, limit: int = MAX_PENDING_BYTES) -> bool:
        return self.bytes > limit

    def take(self, chunk: str | None = None) -> list[tuple[str, str, list[bytes | np.ndarray]]]:
        """The rows to write now, (chunk, column list, parts) in the order they were held:
        those of ``chunk``, or all (then nothing stays held)."""
        keys = [k for k in self._parts if chunk is None or k[0] == chunk]
        if not keys:
            return []
        out = [(name, columns, self._parts.pop((name, columns))) for name, columns in keys]
        if self._marked is not None:  # earlier files' rows, to hold again if the file fails
            lengths = self._marked[2]
            for name, columns, parts in out:
                earlier = parts[: lengths.pop((name, columns), 0)]
                if earlier:
                    self._rewrite.append(((name, columns), earlier))
        if not self._parts:
            self.rows = self.bytes = 0
            self._meters[:] = False
        else:  # only one chunk's rows left: counts kept as an upper bound until all go
            self.bytes -= sum(
                p.nbytes if isinstance(p, np.ndarray) else len(p) for _, _, ps in out for p in ps
            )
        return out
