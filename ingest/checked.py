"""A file's batches parsed, validated, sorted and cleared of in-batch duplicates (pure), and
the reader that does this for the files of a transaction of several small files ahead of
their load.

:func:`checked_batches` is the database-free part of a file's load: the loading thread
(small files), the reader thread of a large file (:mod:`ingest.loader`) and
:class:`SmallFileReader` use it. A transaction of several small files (a folder of building
exports, an inbox) loads file N while :class:`SmallFileReader` parses and validates file
N+1 in a thread of its own: the loading thread mostly waits on the server, so the two cores
work at once (as the reader thread of a large file does for its batches).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
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
    """One small file as :class:`SmallFileReader` read it: its encoding (``"gb18030"`` or
    UTF-8) and checked batches, or the error reading it raised (raised again by the loader,
    which reports it as for a file it reads itself); nothing when it was not read."""

    encoding: str | None = None
    batches: list[Checked] | None = None
    error: BaseException | None = None


class SmallFileReader:
    """Reads and checks ``paths`` in order in a thread, at most ``ahead`` files ahead of
    :meth:`take` (memory: a few small files). Files in ``skip`` (already loaded: their
    digest is recorded) are not read."""

    def __init__(
        self, checks: Checks, paths: Sequence[Path], skip: set[Path], ahead: int = 2
    ) -> None:
        self.checks = checks
        self.paths = list(paths)
        self.skip = skip
        self._queue: queue.Queue[tuple[Path, ReadFile]] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-small-files", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for path in self.paths:
            if self._stop.is_set():
                return
            read = ReadFile()
            if path not in self.skip:
                try:
                    stream, read.encoding = open_text(path)
                    with stream:
                        read.batches = list(checked_batches(stream, self.checks, self._stop))
                except BaseException as exc:  # raised again in the loading thread
                    read.error = exc
            while not self._stop.is_set():
                try:
                    self._queue.put((path, read), timeout=0.1)
                    break
                except queue.Full:
                    continue

    def take(self, path: Path) -> ReadFile:
        """The next file, which must be ``path`` (files are taken in order)."""
        got, read = self._queue.get()
        if got != path:
            raise RuntimeError(f"small-file reader out of order: {got} read, {path} wanted")
        return read

    def close(self) -> None:
        """Stop reading (the rest of the files are not needed) and wait for the thread."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()
