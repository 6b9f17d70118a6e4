"""A file's batches parsed, validated, sorted and cleared of in-batch duplicates (pure), and
the reader that does this for the files of a transaction of several small files ahead of
their load.

:func:`checked_batches` is the database-free part of a file's load: the loading thread
(small files), the reader thread of a large file (:mod:`ingest.loader`) and
:class:`SmallFileReader` use it. A transaction of several small files (a folder of building
exports, an inbox) loads file N while :class:`SmallFileReader` parses and validates file
N+1 in a thread of its own: the loading thread mostly waits on the server, so the two cores
work at once (as the reader thread of a large file does for its batches).

A thread shares the interpreter lock with the loading thread, so the client's Python work
(parse, validation, COPY rows, checks) runs on one core at most. For a transaction with
many bytes of small files (a folder of building-year exports) :class:`ProcessFileReader`
reads and checks them in a worker process instead: the loading process then only unpickles
each file's checked batches, and the reading, the loading and the server work on the
machine's cores at once. Small runs (an inbox of gateway files) keep the thread: a worker
process costs ≈ 0.1–1 s to start.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ingest.interval_store import PreparedSlots

# A batch as checked: (raw batch, good rows sorted by meter and instant without repeats,
# rejects, in-batch conflicting rows, in-batch identical repeats).
Checked = tuple[RawBatch, pd.DataFrame, pd.DataFrame, pd.DataFrame, int]
# Works out a batch's interval write from its good rows, ahead of the load (pure and
# picklable: see ingest.interval_store.prepare_interval).
Prepare = Callable[[pd.DataFrame], "PreparedSlots | None"]


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
    prepared: list[PreparedSlots | None] | None = None


def read_checked(
    path: Path,
    checks: Checks,
    prepare: Prepare | None = None,
    stop: threading.Event | None = None,
) -> ReadFile:
    """The file read and checked whole (each batch's interval write worked out by
    ``prepare``, if given), or the error reading it raised."""
    read = ReadFile()
    try:
        stream, read.encoding = open_text(path)
        with stream:
            read.batches = list(checked_batches(stream, checks, stop))
        if prepare is not None:
            read.prepared = [prepare(checked[1]) for checked in read.batches]
    except BaseException as exc:  # raised again in the loading thread
        read.error = exc
        read.prepared = None
    return read


class SmallFileReader:
    """Reads and checks ``paths`` in order in a thread, at most ``ahead`` files ahead of
    :meth:`take` (memory: a few small files). Files in ``skip`` (already loaded: their
    digest is recorded) are not read."""

    def __init__(
        self,
        checks: Checks,
        paths: Sequence[Path],
        skip: set[Path],
        prepare: Prepare | None = None,
        ahead: int = 2,
    ) -> None:
        self.checks = checks
        self.prepare = prepare
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
            read = (
                ReadFile()
                if path in self.skip
                else read_checked(path, self.checks, self.prepare, self._stop)
            )
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


# A transaction of small files is read by a worker process when it holds at least this many
# bytes and files (below, the worker's start would cost more than it saves).
PROCESS_READER_BYTES = 8 << 20
PROCESS_READER_FILES = 8
# The worker's start method: a fork server (started once per process, with the parsing
# modules imported) forks each worker; a plain fork of the loading process, whose other
# threads may hold locks, is avoided. As with any multiprocessing start method but fork, the
# worker imports the program's main module: entry points keep their work under
# ``if __name__ == "__main__"`` (quota/cli/run.py does; ``python -m quota.cli`` is a
# package's __main__, which the worker does not import).
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["ingest.checked"])
_worker: tuple[Checks, Prepare | None] | None = None


def _start_worker(checks: Checks, prepare: Prepare | None) -> None:
    global _worker
    _worker = (checks, prepare)


def _read_in_worker(path: Path) -> ReadFile:
    """Worker process: the file read and checked; an error that cannot be sent back is
    left for the loading process to meet again by reading the file itself."""
    assert _worker is not None
    read = read_checked(path, *_worker)
    if read.error is not None:
        try:
            pickle.dumps(read.error)
        except Exception:
            return ReadFile()
    return read


class ReaderWorker:
    """The worker process that reads the files of a load's transactions (one process for
    the whole load, started on first use; :meth:`close` ends it). Each transaction sends it
    its checks first (:class:`ProcessFileReader`); one worker takes tasks in order."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._usable = True

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """``fn(*args)`` in the worker, or None when no worker can be used (it could not
        start, or died: the loader then reads the files itself)."""
        if not self._usable:
            return None
        try:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=_CONTEXT)
            return self._pool.submit(fn, *args)
        except (OSError, ValueError, RuntimeError):  # RuntimeError: BrokenProcessPool
            self._usable = False
            return None

    def close(self) -> None:
        """End the worker (tasks not started are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class ProcessFileReader:
    """:class:`SmallFileReader`'s work in the load's :class:`ReaderWorker` (see the
    module's docstring): at most ``ahead`` files are read ahead of :meth:`take`. If the
    worker cannot be used, :meth:`take` gives an empty :class:`ReadFile` and the loader
    reads that file itself, as for a file not read ahead."""

    def __init__(
        self,
        worker: ReaderWorker,
        checks: Checks,
        paths: Sequence[Path],
        skip: set[Path],
        prepare: Prepare | None = None,
        ahead: int = 4,
    ) -> None:
        self.worker = worker
        self._todo = deque(paths)
        self.skip = skip
        self.ahead = ahead
        self._futures: deque[tuple[Path, Future[ReadFile] | None]] = deque()
        self._ready = worker.submit(_start_worker, checks, prepare) is not None
        self._fill()

    @classmethod
    def suits(cls, paths: Sequence[Path], sizes: Sequence[int]) -> bool:
        """Whether a transaction of these files (``sizes`` [bytes]) is worth a worker."""
        return len(paths) >= PROCESS_READER_FILES and sum(sizes) >= PROCESS_READER_BYTES

    def _fill(self) -> None:
        while self._todo and len(self._futures) < self.ahead:
            path = self._todo.popleft()
            future = None
            if self._ready and path not in self.skip:
                future = self.worker.submit(_read_in_worker, path)
            self._futures.append((path, future))

    def take(self, path: Path) -> ReadFile:
        """The next file, which must be ``path`` (files are taken in order)."""
        if not self._futures:
            raise RuntimeError(f"file reader out of order: nothing read, {path} wanted")
        got, future = self._futures.popleft()
        if got != path:
            raise RuntimeError(f"file reader out of order: {got} read, {path} wanted")
        try:
            read = ReadFile() if future is None else future.result()
        except Exception:  # the worker died or its result could not be sent back
            read = ReadFile()
        self._fill()
        return read

    def close(self) -> None:
        """Stop reading: files not started are dropped (the worker stays for the load)."""
        self._todo.clear()
        for _path, future in self._futures:
            if future is not None:
                future.cancel()
        self._futures.clear()
