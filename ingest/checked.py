"""A file's batches parsed, validated, sorted and cleared of in-batch duplicates (pure), and
the small files of a transaction read, checked and prepared that way ahead of their load.

:func:`checked_batches` is the database-free part of a file's load: the loading thread
reads small files with it, the reader thread of a large file (:mod:`ingest.loader`) its
batches ahead of their writes. In a transaction of several small files (a folder of
building exports, an inbox) the loading thread reads and checks the next files
(:func:`read_ahead`) while the server writes the rows the files before them held back
(:mod:`ingest.pending`): the two cores work at once. A thread reading files ahead beside
the loading thread was tried and was slower: the two competed for the interpreter lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ingest.flags import limits
from ingest.parse import RawBatch, iter_batches
from ingest.plausibility import Plausibility, plausibility
from ingest.stored_checks import split_in_batch_duplicates
from ingest.timestamps import to_epoch_us
from ingest.validate import Registry, validate_batch
from quota.registry.textfiles import open_text
from quota.settings import Settings

# A batch as checked: (raw batch, good rows sorted by meter and instant without repeats,
# rejects, in-batch conflicting rows, in-batch identical repeats).
Checked = tuple[RawBatch, pd.DataFrame, pd.DataFrame, pd.DataFrame, int]
# A batch's good rows to their interval write prepared ahead (or None).
Prepare = Callable[[pd.DataFrame], Any]


@dataclass(frozen=True)
class Checks:
    """What checking a file's rows needs: batch size [lines], registry, time zone, the
    load's clock [µs], the future tolerance [µs] and the plausibility limits."""

    batch_rows: int
    registry: Registry
    tz: Any
    now_us: int
    future_tolerance_us: int
    plausibility: Plausibility

    @classmethod
    def of(cls, settings: Settings, registry: Registry) -> Checks:
        return cls(
            batch_rows=settings.ingest_batch_rows,
            registry=registry,
            tz=settings.tz,
            now_us=to_epoch_us(datetime.now(UTC)),
            future_tolerance_us=limits(settings.rules)[0],
            plausibility=plausibility(settings.rules, settings.tz),
        )


def checked_batches(
    stream: Any, checks: Checks, stop: threading.Event | None = None
) -> Iterator[Checked]:
    """Parsed, validated and sorted batches of a file (no database access)."""
    for _layout, batch in iter_batches(stream, checks.batch_rows):
        if stop is not None and stop.is_set():
            return
        good, rejects = validate_batch(
            batch,
            checks.registry,
            checks.tz,
            checks.now_us,
            checks.future_tolerance_us,
            checks.plausibility,
        )
        # By meter and instant; rows of one meter and instant stay in file order.
        order = np.lexsort((good["reading_at_us"].to_numpy(), good["meter_key"].to_numpy()))
        good = good.take(order).reset_index(drop=True)
        good["register_kwh"] = good["value"].to_numpy() * good["kwh_per_unit"].to_numpy()
        good, in_batch, duplicates = split_in_batch_duplicates(good)
        yield batch, good, rejects, in_batch, duplicates


@dataclass
class ReadFile:
    """One small file as :func:`read_ahead` read it: its encoding (``"gb18030"`` or
    UTF-8), checked batches and their interval writes prepared (before the file had its
    id: see :meth:`ingest.interval_store.PreparedSlots.for_file`), or the error reading it
    raised (raised again by the loader, which reports it as for a file it reads itself);
    nothing when it was not read."""

    encoding: str | None = None
    batches: list[Checked] | None = None
    prepared: list[Any] | None = None
    error: BaseException | None = None


# Files read and checked ahead at a time (and at most this many bytes of them, plus one file):
# about what the server takes to write the held rows of as many files, which it does
# meanwhile (ingest.loader), with a few MB of checked rows held in memory.
READ_AHEAD_FILES = 10
READ_AHEAD_BYTES = 8 << 20


def read_small_file(path: Path, checks: Checks, prepare: Prepare | None = None) -> ReadFile:
    """``path`` read and checked whole, each batch's write prepared by ``prepare`` when
    given (its error kept, to be raised by its load)."""
    read = ReadFile()
    try:
        stream, read.encoding = open_text(path)
        with stream:
            read.batches = list(checked_batches(stream, checks))
        if prepare is not None:
            read.prepared = [prepare(checked[1]) for checked in read.batches]
    except Exception as exc:  # raised again when the file is loaded (an interrupt: now)
        read.error = exc
    return read


def read_ahead(
    paths: Sequence[Path], checks: Checks, skip: set[Path], prepare: Prepare | None = None
) -> dict[Path, ReadFile]:
    """The next files of ``paths`` read and checked (and prepared, see
    :func:`read_small_file`): at least the first, then up to :data:`READ_AHEAD_FILES` files
    and :data:`READ_AHEAD_BYTES` bytes. Files in ``skip`` (already loaded: their digest is
    recorded) are not read."""
    out: dict[Path, ReadFile] = {}
    size = 0
    for path in paths[:READ_AHEAD_FILES]:
        if out and size >= READ_AHEAD_BYTES:
            break
        if path in skip:
            out[path] = ReadFile()
            continue
        with contextlib.suppress(OSError):
            size += path.stat().st_size
        out[path] = read_small_file(path, checks, prepare)
    return out
