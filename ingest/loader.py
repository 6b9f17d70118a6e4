"""Loading reading files exactly once: one database transaction per file.

Per file: hash it (an identical file already recorded is skipped), then in one transaction

1. take the ingest advisory lock (loads are serialised, so rows checked as new stay new),
2. record the file in ``ingest_file`` (its sha256 is unique: a concurrent load of the same
   file waits, then skips),
3. per batch of about ``settings.ingest_batch_rows`` lines (memory stays bounded for any
   size): parse, validate and drop duplicates within the batch (pure, in a reader thread
   that also prepares the batch's interval-meter write); rows for chunks this load created
   are checked against the load's key set (:mod:`ingest.fresh`), the others by testing
   whether any stored reading of the batch's meters lies in its time range — if none (new
   data, the common case) COPY the rows straight into their chunks; otherwise probe the
   stored rows through a temporary table, count identical ones as duplicates, quarantine
   different ones (``conflicting_duplicate``) or, for a corrections file, replace them and
   keep the previous values in ``reading_correction``; cumulative meters are merged into
   their stored sequence (:mod:`ingest.cumulative`); quarantined rows are COPYed with their
   line, raw text and reason; flags are set (:mod:`ingest.flags`),
4. build the indexes of the chunks this load created (written without index upkeep),
5. recompute the daily rollups of the touched (meter, local day) ranges,
6. record the counts and commit.

A process killed at any point leaves nothing of the file (the transaction rolls back) and a
re-run loads it whole. An unusable file (undecodable, no header, unknown columns) is recorded
as ``rejected`` with the reason.

Accounting per file: rows_read = rows_loaded + rows_duplicate + rows_quarantined (corrected
rows count as loaded).

This module is the file transaction (entry points, per-file results, the reader thread and
the batch loop). Its parts, mixed into the loader: :mod:`ingest.interval_store` (interval
preparation and COPY, chunks the load creates), :mod:`ingest.stored_checks` (duplicates
within the batch, against this load's chunks and against stored readings; corrections) and
:mod:`ingest.cumulative_store` (merging register readings into their stored sequence).
"""

from __future__ import annotations

import contextlib
import functools
import json
import queue
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from ingest import bills_rollups, codes, copybin, queries, rollups
from ingest.bills_loader import load_bills
from ingest.bills_parse import is_bills_file
from ingest.checked import Checks, ReadFile, checked_batches, read_ahead
from ingest.cumulative_store import CumulativeStore
from ingest.files import Digests, file_sha256, find_reading_files
from ingest.flags import limits, parameters
from ingest.fresh import FreshChunks
from ingest.interval_store import (
    IntervalStore,
    PreparedSlots,
    PrepareParams,
    prepare_interval,
)
from ingest.parse import MAX_FIELD_CHARS, RawBatch
from ingest.pending import PendingRows
from ingest.plausibility import plausibility
from ingest.stored_checks import StoredChecks, split_name
from ingest.timestamps import to_datetime, to_epoch_us
from ingest.validate import MeterInfo, Registry
from quota import db as qdb
from quota.registry.textfiles import FileFormatError, open_text, unreadable_reason
from quota.settings import Settings

# Files up to this size [bytes] are read without a reader thread and loaded several to a
# transaction (a savepoint each), at most FILES_PER_TRANSACTION of them: the fixed cost of a
# file (registry, chunk list, rollup statements, commit: ~10 ms) is then paid once a batch.
# The bytes of one such transaction are capped too (≈ 2 M rows: the key sets of the chunks
# it creates stay under ~60 MB; its daily increments past rollups.INCREMENTS_IN_MEMORY are
# staged on the server as for one large file).
SMALL_FILE_BYTES = 1 << 20
FILES_PER_TRANSACTION = 200
BYTES_PER_TRANSACTION = 64 << 20
# Rows held back [bytes of COPY data] below which they are not written behind the reading.
WRITE_BEHIND_MIN_BYTES = 2 << 20
_DONE = object()  # end-of-file marker between the reader thread and the loading thread
TRIGGERS = ("cli", "scheduler", "test")


class ProgressLike(Protocol):
    def update(self, advance: int = 1, note: str = "") -> None: ...


@dataclass
class FileResult:
    """What happened to one file."""

    path: Path
    status: str  # loaded | skipped | rejected | failed
    file_id: int | None = None
    sha256: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_duplicate: int = 0
    rows_quarantined: int = 0
    rows_corrected: int = 0
    quarantine_by_reason: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)
    affected: dict[int, set[str]] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    # A failed load because the database connection was lost (not the file's fault: the
    # inbox leaves such a file for the next run).
    connection_lost: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "path": str(self.path),
            "status": self.status,
            "file_id": self.file_id,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_duplicate": self.rows_duplicate,
            "rows_quarantined": self.rows_quarantined,
            "rows_corrected": self.rows_corrected,
            "quarantine_by_reason": dict(sorted(self.quarantine_by_reason.items())),
            "flags": dict(sorted(self.flags.items())),
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class IngestSummary:
    """Totals of one ingest run over its files."""

    run_id: int | None
    files: list[FileResult] = field(default_factory=list)

    def _sum(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def rows_read(self) -> int:
        return self._sum("rows_read")

    @property
    def rows_loaded(self) -> int:
        return self._sum("rows_loaded")

    @property
    def rows_duplicate(self) -> int:
        return self._sum("rows_duplicate")

    @property
    def rows_quarantined(self) -> int:
        return self._sum("rows_quarantined")

    @property
    def quarantine_by_reason(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.quarantine_by_reason)
        return dict(sorted(total.items()))

    @property
    def affected(self) -> dict[int, set[str]]:
        """{local year: building ids whose rollups changed}."""
        out: dict[int, set[str]] = {}
        for f in self.files:
            for year, buildings in f.affected.items():
                out.setdefault(year, set()).update(buildings)
        return out

    @property
    def outcome(self) -> str:
        bad = [f for f in self.files if f.status in ("failed", "rejected")]
        if not bad:
            return "succeeded"
        return "failed" if len(bad) == len(self.files) else "partial"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "outcome": self.outcome,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_duplicate": self.rows_duplicate,
            "rows_quarantined": self.rows_quarantined,
            "rows_corrected": self._sum("rows_corrected"),
            "quarantine_by_reason": self.quarantine_by_reason,
            "files": [f.to_dict() for f in self.files],
            "affected": {str(y): sorted(b) for y, b in sorted(self.affected.items())},
        }


def load_registry(conn: psycopg.Connection[Any], settings: Settings) -> Registry:
    """The meter registry as the validator needs it."""
    meters = {
        row["meter_id"]: MeterInfo(
            meter_key=row["meter_key"],
            meter_id=row["meter_id"],
            building_id=row["building_id"],
            energy_type=row["energy_type"],
            unit=row["unit"],
            reading_kind=row["reading_kind"],
            multiplier=row["multiplier"],
            register_max=row["register_max"],
            interval_minutes=row["interval_minutes"],
            max_power_kw=row["max_power_kw"],
        )
        for row in conn.execute(queries.METERS).fetchall()
    }
    gas = float(settings.rules.get("units", {}).get("natural_gas_kwh_per_m3", 9.97))
    return Registry(meters=meters, natural_gas_kwh_per_m3=gas)


@dataclass
class LoadContext:
    """What every file of one transaction reads alike, read once per transaction: the meter
    registry, the chunk interval [µs], whether chunk indexes can be switched off, meter
    groups for the rollups, and ``reading``'s chunk list (None until read)."""

    registry: Registry
    meters_by_key: dict[int, MeterInfo]
    interval_minutes_by_key: np.ndarray
    chunk_interval_us: int
    can_defer_indexes: bool
    groups: rollups.MeterGroups
    chunks: list[dict[str, Any]] | None = None

    @classmethod
    def read(cls, conn: psycopg.Connection[Any], settings: Settings) -> LoadContext:
        registry = load_registry(conn, settings)
        meters_by_key = registry.by_key()
        n = max(meters_by_key, default=0) + 1
        interval_minutes = np.full(n, 60, dtype=np.int64)
        for key, meter in meters_by_key.items():
            interval_minutes[key] = meter.interval_minutes or 60
        return cls(
            registry=registry,
            meters_by_key=meters_by_key,
            interval_minutes_by_key=interval_minutes,
            chunk_interval_us=int(
                conn.execute(queries.READING_CHUNK_INTERVAL).fetchone()["interval_us"]
            ),
            can_defer_indexes=bool(conn.execute(queries.CAN_DEFER_INDEXES).fetchone()["allowed"]),
            groups=rollups.MeterGroups.of(
                {k: (m.building_id, m.energy_type) for k, m in meters_by_key.items()}
            ),
        )


def ingest_paths(
    settings: Settings,
    paths: Sequence[Path | str],
    *,
    trigger: str = "cli",
    corrections: bool = False,
    progress: ProgressLike | None = None,
    digests: Digests | None = None,
) -> IngestSummary:
    """Load reading files (or folders of them), each in its own transaction.

    ``corrections=True`` loads correction files: rows for stored readings replace them (the
    previous values go to ``reading_correction``). ``digests``: the files' digests if already
    being computed (see :mod:`ingest.files`). Returns the run's :class:`IngestSummary`.
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {TRIGGERS}")
    files = find_reading_files(Path(p) for p in paths)
    if digests is None:
        digests = Digests(files)
    with qdb.connect(settings, autocommit=True) as conn:
        qdb.widen_send_buffer(conn)
        run_id = conn.execute(queries.START_RUN, (trigger,)).fetchone()["run_id"]
        conn.execute(queries.SET_APPLICATION_NAME, (f"quotawatch-ingest-{run_id}",))
        conn.execute(queries.CLOSE_INTERRUPTED_RUNS)
        summary = IngestSummary(run_id=run_id)
        error: str | None = None
        try:
            for group in _transactions(files):
                if len(group) > 1 and not corrections:
                    summary.files.extend(
                        load_small_files(conn, settings, group, run_id, digests, progress=progress)
                    )
                    continue
                for path in group:
                    summary.files.append(
                        _load_one(conn, settings, path, run_id, digests, corrections, progress)
                    )
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            # A lost connection: the files say so (connection_lost), and the run's row is
            # closed as interrupted by the next run (CLOSE_INTERRUPTED_RUNS).
            if not conn.closed:
                _finish_run(conn, run_id, summary, error)
    return summary


def _finish_run(
    conn: psycopg.Connection[Any], run_id: int, summary: IngestSummary, error: str | None
) -> None:
    """Record the run's outcome and counts in its ``ingest_run`` row."""
    conn.execute(
        queries.FINISH_RUN,
        {
            "run_id": run_id,
            "outcome": "failed" if error else summary.outcome,
            "files_seen": len(summary.files),
            "rows_read": summary.rows_read,
            "rows_loaded": summary.rows_loaded,
            "rows_duplicate": summary.rows_duplicate,
            "rows_quarantined": summary.rows_quarantined,
            "error": error or _first_error(summary),
        },
    )


def _load_one(
    conn: psycopg.Connection[Any],
    settings: Settings,
    path: Path,
    run_id: int | None,
    digests: Digests,
    corrections: bool,
    progress: ProgressLike | None,
) -> FileResult:
    try:
        sha256 = digests.sha256(path)
    except OSError as exc:  # vanished or unreadable: nothing to record
        return FileResult(path=path, status="rejected", error=unreadable_reason(exc))
    return load_file(
        conn, settings, path, run_id, corrections=corrections, progress=progress, sha256=sha256
    )


def load_small_files(
    conn: psycopg.Connection[Any],
    settings: Settings,
    paths: Sequence[Path],
    run_id: int | None,
    digests: Digests,
    *,
    corrections: bool = False,
    progress: ProgressLike | None = None,
) -> list[FileResult]:
    """Load small files in one transaction on ``conn`` (autocommit), each in a savepoint of
    its own: a file's rows and its ``ingest_file`` row are kept together or rolled back
    together, a file that fails rolls back to its savepoint only and gets its own status,
    and the per-file fixed costs (ingest lock, registry, chunk interval and list, rollup
    statements, commit) are paid once for all of them. A kill at any point rolls the whole
    transaction back (no file of it recorded; a re-run loads them all).

    If the batch itself fails outside a file's savepoint (the rollups, the commit), it is
    rolled back and each file is loaded in its own transaction instead; if the connection
    is lost, every file of the batch is reported failed with ``connection_lost``."""
    results: list[FileResult] = []
    try:
        with conn.transaction():
            conn.execute(queries.LOCK_INGEST, (queries.INGEST_LOCK_KEY,))
            context = LoadContext.read(conn, settings)
            fresh = None
            if not corrections and settings.ingest_defer_indexes and context.can_defer_indexes:
                fresh = FreshChunks(n_meter_keys=len(context.interval_minutes_by_key))
            batch = _Batch(conn, context, fresh)
            checks = Checks.of(settings, context.registry)
            kind = "corrections" if corrections else "readings"
            skip = _loaded_before(conn, paths, digests, kind)
            # Interval writes prepared while reading ahead, their file id set once claimed.
            params = _prepare_params(context, settings)
            prepare = (
                None
                if corrections
                else functools.partial(prepare_interval, params=params, file_id=0)
            )
            ahead: dict[Path, ReadFile] = {}
            for index, path in enumerate(paths):
                if path not in ahead:
                    # The next files read and checked while the server writes the rows the
                    # files before them held back (no statement of the loading thread now).
                    with batch.writing_held_rows():
                        ahead = read_ahead(paths[index:], checks, skip, prepare)
                read = ahead.pop(path)
                try:
                    sha256 = digests.sha256(path)
                except OSError as exc:  # vanished or unreadable: nothing to record
                    results.append(
                        FileResult(path=path, status="rejected", error=unreadable_reason(exc))
                    )
                    continue
                before = batch.fresh_state()
                batch.pending.mark()
                result = load_file(
                    conn,
                    settings,
                    path,
                    run_id,
                    corrections=corrections,
                    progress=progress,
                    sha256=sha256,
                    batch=batch,
                    read=read,
                )
                results.append(result)
                if result.connection_lost:
                    raise _BatchLostError(result.error or "connection lost")
                if result.status not in ("loaded", "skipped"):
                    batch.pending.restore()  # as its savepoint: rows held back as before
                if result.status not in ("loaded", "skipped") and batch.fresh_state() != before:
                    # The file's savepoint rolled back rows (or index builds) of chunks the
                    # batch tracks: their key sets no longer match; redo file by file.
                    raise _BatchRedoError(result.error or result.status)
            batch.index_fresh_chunks()
            batch.refresh_rollups(settings.tz)
    except (psycopg.Error, _BatchLostError) as exc:
        if conn.closed or isinstance(exc, psycopg.OperationalError | _BatchLostError):
            lost: list[FileResult] = []
            for path in paths:
                result = FileResult(path=path, status="failed")
                _failed(result, f"database error: {exc}")
                result.connection_lost = True
                lost.append(result)
            return lost
        return _one_by_one(conn, settings, paths, run_id, digests, corrections, progress)
    except Exception:  # the batch's own work failed: each file in its own transaction
        # (also _BatchRedoError)
        return _one_by_one(conn, settings, paths, run_id, digests, corrections, progress)
    return results


def _prepare_params(context: LoadContext, settings: Settings) -> PrepareParams:
    return PrepareParams(
        interval_minutes_by_key=context.interval_minutes_by_key,
        flag_params=parameters(settings.rules),
        tz=settings.tz,
        chunk_interval_us=context.chunk_interval_us,
    )


def _loaded_before(
    conn: psycopg.Connection[Any], paths: Sequence[Path], digests: Digests, kind: str
) -> set[Path]:
    """Those of ``paths`` whose digest is recorded as loaded (they will be skipped: no need
    to read them ahead)."""
    by_digest: dict[str, Path] = {}
    for path in paths:
        with contextlib.suppress(OSError):
            by_digest[digests.sha256(path)] = path
    rows = conn.execute(queries.LOADED_DIGESTS, (list(by_digest), kind)).fetchall()
    return {by_digest[row["sha256"]] for row in rows}


def _one_by_one(
    conn: psycopg.Connection[Any],
    settings: Settings,
    paths: Sequence[Path],
    run_id: int | None,
    digests: Digests,
    corrections: bool,
    progress: ProgressLike | None,
) -> list[FileResult]:
    """The files of a batch that could not be loaded together, each in its own transaction."""
    return [
        _load_one(conn, settings, path, run_id, digests, corrections, progress) for path in paths
    ]


class _BatchLostError(Exception):
    """The connection was lost inside a transaction of several files."""


class _BatchRedoError(Exception):
    """A file failed after writing into chunks the batch tracks: the batch is redone."""


class _Batch:
    """The shared part of a transaction of several files: the :class:`LoadContext`, and the
    rollup work of the files loaded so far (their touched ranges and daily increments),
    done once at the end by :meth:`refresh_rollups`."""

    def __init__(
        self, conn: psycopg.Connection[Any], context: LoadContext, fresh: FreshChunks | None
    ):
        self.conn = conn
        self.context = context
        self.fresh = fresh
        self.touched: rollups.Touched = {}
        self.increments = rollups.Increments(conn)
        self.pending = PendingRows(n_meter_keys=len(context.interval_minutes_by_key))

    def add(self, loader: _FileLoader) -> None:
        """Take over a loaded file's chunk list and rollup work (after its savepoint was
        released); its ``affected`` buildings are worked out here from its own increments
        and ranges."""
        self.context.chunks = loader._chunks
        if self.pending.over_budget():  # between two files: outside any file's savepoint
            self.write_pending()
        if not loader.rollups_deferred:
            return
        parts = loader.increments.parts  # not summed here: once for the batch
        loader.result.affected = rollups.affected_in_memory(
            loader.touched,
            parts[0] if len(parts) == 1 else pd.concat(parts) if parts else None,
            self.context.groups,
            loader.tz,
        )
        for part in parts:
            self.increments.add(part)
        for key, (lo, hi) in loader.touched.items():
            old = self.touched.get(key)
            self.touched[key] = (min(old[0], lo), max(old[1], hi)) if old else (lo, hi)

    def fresh_state(self) -> tuple[int, frozenset[str]]:
        """(rows remembered, chunk names) of the batch's fresh chunks: a failed file that
        changed it forces the batch to be redone."""
        if self.fresh is None:
            return 0, frozenset()
        return self.fresh.rows, frozenset(self.fresh.chunks)

    @contextlib.contextmanager
    def writing_held_rows(self) -> Iterator[None]:
        """The rows held back COPYed by a thread of their own while the body runs, which
        must not use the connection; an error of theirs is raised when the body ends (the
        batch's transaction is then aborted). Less than :data:`WRITE_BEHIND_MIN_BYTES` of
        rows stay held (gateway files: a thread and a COPY would cost more than they save)."""
        if self.pending.bytes < WRITE_BEHIND_MIN_BYTES:
            yield
            return
        work = self.pending.take()
        failed: list[BaseException] = []

        def write() -> None:
            try:
                by_columns: dict[str, list[bytes | np.ndarray]] = {}
                for _name, column_names, parts in work:
                    by_columns.setdefault(column_names, []).extend(parts)
                for column_names, parts in by_columns.items():
                    copy_rows(self.conn, "reading", column_names, parts)
            except BaseException as exc:  # raised in the loading thread below
                failed.append(exc)

        # One COPY through the hypertable for all the chunks: the writer needs the
        # interpreter lock only between its statements, and each hand-over waits for the
        # loading thread's pandas work (one COPY a chunk took 4.7 ms a statement so).
        writer = threading.Thread(target=write, name="ingest-held-rows", daemon=True)
        writer.start()
        try:
            yield
        finally:
            writer.join()
        if failed:
            raise failed[0]

    def write_pending(self) -> None:
        """COPY the rows held back, one statement per chunk (:mod:`ingest.pending`)."""
        for name, column_names, parts in self.pending.take():
            copy_rows(self.conn, name, column_names, parts)

    def index_fresh_chunks(self) -> None:
        """Write the rows held back, build the indexes of the chunks the batch created, then
        check none is left off."""
        self.write_pending()
        if self.fresh is not None:
            for name in list(self.fresh.chunks):
                table = sql.SQL(".").join(sql.Identifier(part) for part in split_name(name))
                self.conn.execute(sql.SQL(queries.REINDEX_CHUNK).format(chunk=table))
                del self.fresh.chunks[name]
        if self.conn.execute(queries.DISABLED_READING_INDEXES).fetchone()["n"]:
            raise RuntimeError("a reading chunk's index is still switched off; not committing")

    def refresh_rollups(self, tz: Any) -> None:
        """The batch's daily rollups, once; then the billed days of the buildings touched
        (a bill's figure wins over the meters' on the days it covers)."""
        if self.touched or self.increments.rows or self.increments.staged:
            affected = rollups.refresh(
                self.conn, tz, self.touched, self.increments, self.context.groups
            )
            bills_rollups.after_meter_load(self.conn, tz, affected)


def _transactions(files: Sequence[Path]) -> list[list[Path]]:
    """Files in the order given, grouped: runs of small files (at most
    ``SMALL_FILE_BYTES`` each) up to ``FILES_PER_TRANSACTION`` files and
    ``BYTES_PER_TRANSACTION`` bytes share a transaction; any other file is alone."""
    groups: list[list[Path]] = []
    run: list[Path] = []
    run_bytes = 0
    for path in files:
        try:
            size = path.stat().st_size
        except OSError:
            size = SMALL_FILE_BYTES + 1
        if size <= SMALL_FILE_BYTES and not is_bills_file(path):  # bills: a file alone
            if run and run_bytes + size > BYTES_PER_TRANSACTION:
                groups.append(run)
                run, run_bytes = [], 0
            run.append(path)
            run_bytes += size
            if len(run) >= FILES_PER_TRANSACTION:
                groups.append(run)
                run, run_bytes = [], 0
            continue
        if run:
            groups.append(run)
            run, run_bytes = [], 0
        groups.append([path])
    if run:
        groups.append(run)
    return groups


def _first_error(summary: IngestSummary) -> str | None:
    return next((f"{f.path.name}: {f.error}" for f in summary.files if f.error), None)


def load_file(
    conn: psycopg.Connection[Any],
    settings: Settings,
    path: Path,
    run_id: int | None,
    *,
    corrections: bool = False,
    progress: ProgressLike | None = None,
    sha256: str | None = None,
    batch: _Batch | None = None,
    read: ReadFile | None = None,
) -> FileResult:
    """Load one file in one transaction on ``conn`` (an autocommit connection); ``sha256``
    is the file's digest when already known. With ``batch`` (inside the transaction of
    several small files, :func:`load_small_files`) the file's transaction is a savepoint:
    it shares the batch's registry and chunk list, and leaves its rollups to the batch.

    Never raises for a problem of the file or of its load: a file that cannot be read at all
    is ``rejected`` (recorded, with a reason a person understands), one whose load fails
    (database error, an unforeseen error) is ``failed`` with the error, nothing of it stored;
    the caller goes on with its other files."""
    started = time.monotonic()
    kind = "corrections" if corrections else "readings"
    try:
        result = FileResult(path=path, status="loaded", sha256=sha256 or file_sha256(path))
        size_bytes = path.stat().st_size
    except OSError as exc:
        return FileResult(path=path, status="rejected", error=unreadable_reason(exc))
    joins_batch = False
    record = {
        "run_id": run_id,
        "file_name": path.name,
        "path": str(path.resolve()),
        "sha256": result.sha256,
        "size_bytes": size_bytes,
        "kind": kind,
    }
    try:
        with conn.transaction():
            if batch is None:  # a batch's transaction holds the lock already
                conn.execute(queries.LOCK_INGEST, (queries.INGEST_LOCK_KEY,))
            row = conn.execute(queries.CLAIM_FILE, record).fetchone()
            if row is None:
                existing = conn.execute(queries.EXISTING_FILE, (result.sha256, kind)).fetchone()
                result.status = "skipped"
                result.file_id = existing["file_id"] if existing else None
                result.error = None
                return result
            result.file_id = row["file_id"]
            loader = (
                None
                if is_bills_file(path)
                else _FileLoader(
                    conn,
                    settings,
                    result,
                    corrections,
                    progress,
                    context=batch.context if batch is not None else None,
                    defer_rollups=batch is not None,
                    shared_fresh=batch.fresh if batch is not None and not corrections else None,
                    pending=batch.pending if batch is not None and not corrections else None,
                )
            )
            try:
                if loader is None:
                    load_bills(conn, settings, path, result, corrections)
                    if progress is not None:
                        progress.update(record["size_bytes"], note=path.name)
                else:
                    loader.run(path, read)
            except (FileFormatError, UnicodeDecodeError, OSError, EOFError, zlib.error) as exc:
                encoding = loader.encoding if loader is not None else "UTF-8 or GB18030"
                raise _UnusableFileError(unreadable_reason(exc, encoding)) from exc
            _check_accounting(result)
            conn.execute(queries.FINISH_FILE, _file_counts(result))
        joins_batch = batch is not None
    except _UnusableFileError as exc:
        try:
            result = _record_rejected(conn, record, result, str(exc))
        except psycopg.Error as db_exc:  # could not even record it: reported, not raised
            _failed(result, f"{exc}; and recording it failed: {db_exc}")
            result.connection_lost = conn.closed or isinstance(db_exc, psycopg.OperationalError)
    except psycopg.Error as exc:
        _failed(result, f"database error: {exc}")
        result.connection_lost = conn.closed or isinstance(exc, psycopg.OperationalError)
    except Exception as exc:  # one file never stops the run; its transaction rolled back
        _failed(result, f"internal error ({type(exc).__name__}): {exc}")
    if joins_batch:  # the file's savepoint is released: its part joins the batch (an error
        # here is the batch's, raised to it: the file's rows are already in its transaction)
        assert batch is not None
        batch.add(loader)
    result.seconds = time.monotonic() - started
    return result


def _failed(result: FileResult, error: str) -> None:
    """Mark ``result`` failed: nothing of the file was stored, so no row of it counts (the
    accounting rows_read = loaded + duplicate + quarantined holds with zeros)."""
    result.status = "failed"
    result.error = error
    result.rows_read = result.rows_loaded = result.rows_duplicate = result.rows_quarantined = 0
    result.rows_corrected = 0
    result.quarantine_by_reason.clear()
    result.flags.clear()
    result.affected = {}


def _check_accounting(result: FileResult) -> None:
    """Every row has exactly one outcome: refuse to commit a file whose counts do not add
    up (rows_read = loaded + duplicate + quarantined)."""
    outcomes = result.rows_loaded + result.rows_duplicate + result.rows_quarantined
    if outcomes != result.rows_read:
        raise RuntimeError(
            f"rows_read {result.rows_read} but loaded + duplicate + quarantined = {outcomes}; "
            "not committing"
        )


class _UnusableFileError(Exception):
    """The file as a whole cannot be read (recorded as rejected)."""


def _record_rejected(
    conn: psycopg.Connection[Any], record: dict[str, Any], result: FileResult, reason: str
) -> FileResult:
    rejected = FileResult(path=result.path, status="rejected", sha256=result.sha256, error=reason)
    with conn.transaction():
        row = conn.execute(queries.CLAIM_FILE, record).fetchone()
        if row is not None:
            rejected.file_id = row["file_id"]
            conn.execute(queries.FINISH_FILE, _file_counts(rejected))
    return rejected


def _file_counts(result: FileResult) -> dict[str, Any]:
    return {
        "file_id": result.file_id,
        "status": "loaded" if result.status == "loaded" else "rejected",
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_duplicate": result.rows_duplicate,
        "rows_quarantined": result.rows_quarantined,
        "error": result.error,
    }


class _FileLoader(IntervalStore, StoredChecks, CumulativeStore):
    """The per-batch work of one file inside its transaction."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        settings: Settings,
        result: FileResult,
        corrections: bool,
        progress: ProgressLike | None,
        context: LoadContext | None = None,
        defer_rollups: bool = False,
        shared_fresh: FreshChunks | None = None,
        pending: PendingRows | None = None,
    ):
        self.conn = conn
        self.settings = settings
        self.result = result
        self.corrections = corrections
        self.progress = progress
        self.tz = settings.tz
        context = context if context is not None else LoadContext.read(conn, settings)
        self.context = context
        self.registry = context.registry
        self.meters_by_key = context.meters_by_key
        # Rollups left to the caller (a transaction of several files refreshes them once);
        # done here anyway when the increments had to be staged on the server.
        self.defer_rollups = defer_rollups
        self.rollups_deferred = False
        self.prepare_params = _prepare_params(context, settings)
        self.flag_params = self.prepare_params.flag_params
        self.future_tolerance_us, self.rollover_max_share = limits(settings.rules)
        self.plausibility = plausibility(settings.rules, settings.tz)
        self.touched: rollups.Touched = {}
        self.now_us = to_epoch_us(datetime.now(UTC))
        self.checks = Checks(
            settings.ingest_batch_rows,
            self.registry,
            self.tz,
            self.now_us,
            self.future_tolerance_us,
            self.plausibility,
        )
        self.file_id = int(result.file_id or 0)
        self._probe_ready = False
        n = max(self.meters_by_key, default=0) + 1
        self.n_meter_keys = n
        # Per chunk: which meters' last stored instant was read, and that instant [µs].
        self._last_stored: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.interval_minutes_by_key = context.interval_minutes_by_key
        # A copy: a file rolled back to its savepoint leaves the shared list as it was.
        self._chunks: list[dict[str, Any]] | None = (
            None if context.chunks is None else list(context.chunks)
        )
        self.encoding = "UTF-8 or GB18030"  # known once the file is opened
        self._progress_at = 0  # bytes of the file reported to ``progress``
        self.increments = rollups.Increments(conn)
        # The chunk interval of reading [µs]: chunks start at multiples of it (since 1970).
        self.chunk_interval_us = context.chunk_interval_us
        # Chunks this load creates, written without index upkeep (ingest/fresh.py). Not for
        # corrections files: they look stored rows up one by one.
        self.fresh: FreshChunks | None = None
        # In a transaction of several files the batch's set is shared: chunks an earlier
        # file of the batch created stay without index upkeep until the batch's end.
        self.shared_fresh = shared_fresh is not None
        # In a transaction of several files: new rows held back and COPYed once per chunk.
        self.pending = pending
        if shared_fresh is not None:
            self.fresh = shared_fresh
        elif not corrections and settings.ingest_defer_indexes and context.can_defer_indexes:
            self.fresh = FreshChunks(n_meter_keys=n)

    # -- the file ---------------------------------------------------------------------------
    def run(self, path: Path, read: ReadFile | None = None) -> None:
        """Load the file: a reader thread parses and validates batch N+1 (pure Python and
        pandas) while this thread writes batch N (mostly waiting on the server), so the two
        cores work at once. At most one parsed batch waits in between (memory bound).
        ``read``: the file as :func:`ingest.checked.read_ahead` read it ahead."""
        if read is not None and (read.batches is not None or read.error is not None):
            self._run_read(path, read)
        else:
            self._run_stream(path)
        self._finish()

    def _run_read(self, path: Path, read: ReadFile) -> None:
        """Load a small file read and checked ahead (its errors raised here, as if read now)."""
        self.encoding = "GB18030" if read.encoding == "gb18030" else "UTF-8"
        if read.error is not None:
            raise read.error
        assert read.batches is not None
        size = path.stat().st_size
        for i, checked in enumerate(read.batches):
            ahead = read.prepared[i] if read.prepared is not None else None
            prepared = ahead.for_file(self.file_id) if ahead is not None else None
            if prepared is None:
                prepared = self._prepare_interval(checked[1])
            self.load_batch(*checked, prepared)
            self._batch_done(path, size)

    def _run_stream(self, path: Path) -> None:
        stream, encoding = open_text(path)
        self.encoding = "GB18030" if encoding == "gb18030" else "UTF-8"
        raw_file = stream.buffer
        position = getattr(raw_file, "fileobj", raw_file)
        if path.stat().st_size <= SMALL_FILE_BYTES:
            # A small file is one or two batches: a reader thread would cost more to start
            # than it overlaps.
            with stream:
                for item in self._batches(stream):
                    self.load_batch(*item)
                    self._batch_done(path, position.tell())
        else:
            self._run_with_reader(path, stream, position)

    def _finish(self) -> None:
        """The file's chunk indexes and rollups (or left to its batch)."""
        if not self.shared_fresh:  # else indexed at the end of the batch
            self._index_fresh_chunks()
            if self.conn.execute(queries.DISABLED_READING_INDEXES).fetchone()["n"]:
                raise RuntimeError("a reading chunk's index is still switched off; not committing")
        if self.defer_rollups and not self.increments.staged:
            self.rollups_deferred = True
            return
        self.result.affected = rollups.refresh(
            self.conn, self.tz, self.touched, self.increments, self.context.groups
        )
        bills_rollups.after_meter_load(self.conn, self.tz, self.result.affected)

    def _run_with_reader(self, path: Path, stream: Any, position: Any) -> None:
        handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
        stop = threading.Event()
        reader = threading.Thread(
            target=self._read, args=(stream, handoff, stop), name="ingest-reader", daemon=True
        )
        with stream:
            reader.start()
            try:
                while True:
                    item = handoff.get()
                    if item is _DONE:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    self.load_batch(*item)
                    self._batch_done(path, position.tell())
            finally:
                stop.set()
                while reader.is_alive():
                    with contextlib.suppress(queue.Empty):
                        handoff.get(timeout=0.05)
                reader.join()

    def _batch_done(self, path: Path, offset: int) -> None:
        """Progress (``offset``: bytes of the file read so far) and the test pause hook."""
        if self.progress is not None:
            self.progress.update(max(offset - self._progress_at, 0), note=path.name)
            self._progress_at = offset
        if self.settings.ingest_test_pause_seconds > 0:
            _announce(f"ingest: batch done ({self.result.rows_read} rows), pausing")
            time.sleep(self.settings.ingest_test_pause_seconds)

    def _read(self, stream: Any, handoff: queue.Queue[Any], stop: threading.Event) -> None:
        """Reader thread: parse and validate batches (no database access here)."""
        try:
            for item in self._batches(stream, stop):
                handoff.put(item)
            handoff.put(_DONE)
        except BaseException as exc:  # handed to the loading thread, which re-raises it
            handoff.put(exc)

    def _batches(self, stream: Any, stop: threading.Event | None = None) -> Any:
        """Parsed, validated and sorted batches of the file with their prepared interval
        write (pure: no database access)."""
        for checked in checked_batches(stream, self.checks, stop):
            yield (*checked, self._prepare_interval(checked[1]))

    # -- one batch --------------------------------------------------------------------------
    def load_batch(
        self,
        batch: RawBatch,
        good: pd.DataFrame,
        rejects: pd.DataFrame,
        in_batch: pd.DataFrame,
        duplicates: int,
        prepared: PreparedSlots | None,
    ) -> None:
        """Store one validated batch (``good`` rows without the ones repeating an earlier row
        of the batch, ``duplicates`` of them identical, ``in_batch`` the differing ones):
        duplicates of stored rows, new readings, quarantine, flags."""
        self.result.rows_read += len(batch)
        self.result.rows_duplicate += duplicates
        earliest_us = int(good["reading_at_us"].to_numpy().min()) if len(good) else None
        if self.pending is not None and self.pending.rows:
            # Rows held back must be in the table before anything reads it for these
            # meters, or writes other than the prepared ones (ingest/pending.py).
            keys = good["meter_key"].to_numpy().astype(np.int64)
            if prepared is None or self.pending.holds_meters(keys):
                self._write_pending()
        quarantine: list[pd.DataFrame] = [rejects, in_batch]
        good, checked, in_fresh = self._split_fresh(good)
        quarantine.append(in_fresh)
        good, stored = self._split_stored(good, checked)
        quarantine.append(stored)

        is_cumulative = good["is_cumulative"].to_numpy()
        if is_cumulative.any():
            interval, cumul = good[~is_cumulative], good[is_cumulative]
        else:  # the usual file: interval meters only
            interval, cumul = good, good.iloc[:0]
        if prepared is not None and len(interval) == prepared.n_rows and self._slots_fit(prepared):
            self._store_prepared(prepared)
        else:
            self._write_pending()
            self._store_interval(interval)
        quarantine.append(self._store_cumulative(cumul))
        quarantine = [frame for frame in quarantine if len(frame)]
        if quarantine:
            self._write_quarantine(batch, pd.concat(quarantine, ignore_index=True))
        if self.fresh is not None:
            done = self.fresh.over_budget()
            if earliest_us is not None:
                done += self.fresh.passed(earliest_us)
            for name in dict.fromkeys(done):
                self._index_chunk(name)

    def _write_flags(self, records: list[Any]) -> None:
        if not records:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                queries.INSERT_FLAG,
                [
                    (
                        r.meter_key,
                        r.flag_code,
                        to_datetime(r.start_us),
                        to_datetime(r.end_us),
                        json.dumps(r.details),
                        self.file_id,
                    )
                    for r in records
                ],
            )
        self.result.flags.update(r.flag_code for r in records)

    def _copy_rows(self, table: str, column_names: str, parts: list[bytes | np.ndarray]) -> None:
        copy_rows(self.conn, table, column_names, parts)

    def _copy_into(
        self, table: str, column_names: str, columns: list[copybin.Column], take: np.ndarray
    ) -> None:
        """COPY the rows ``take`` (a mask) of ``columns``."""
        rows = copybin.rows_bytes([c.take(take) for c in columns])
        self._copy_rows(table, column_names, [rows])

    # -- quarantine ---------------------------------------------------------------------------
    def _write_quarantine(self, batch: RawBatch, rejects: pd.DataFrame) -> None:
        if rejects.empty:
            return
        rows = rejects["row"].to_numpy().astype(np.int64)
        self.result.rows_quarantined += len(rows)
        self.result.quarantine_by_reason.update(rejects["reason_code"].tolist())
        with self.conn.cursor().copy(queries.COPY_QUARANTINE) as copy:
            for row, code, message, details in zip(
                rows.tolist(),
                rejects["reason_code"],
                rejects["message"],
                rejects["details"],
                strict=True,
            ):
                info = dict(details) if details else {"code": codes.dotted(code)}
                info.setdefault("code", codes.dotted(code))
                meter_id = _storable(batch.meter_id[row])
                copy.write_row(
                    (
                        self.file_id,
                        int(batch.line_numbers[row]),
                        batch.raw_text(row).replace("\x00", ""),
                        code,
                        _storable(str(message), 4 * MAX_FIELD_CHARS),
                        meter_id[: MAX_FIELD_CHARS + 1] or None,
                        json.dumps(_storable_json(info), ensure_ascii=False),
                    )
                )


def copy_rows(
    conn: psycopg.Connection[Any], table: str, column_names: str, parts: list[bytes | np.ndarray]
) -> None:
    """COPY prepared binary rows into ``table`` (one header, the parts as they are, one
    trailer); a part is bytes or a structured array of rows (:func:`copybin.rows_array`)."""
    statement = sql.SQL(queries.COPY_READINGS).format(
        table=sql.SQL(".").join(sql.Identifier(part) for part in split_name(table)),
        columns=sql.SQL(column_names),
    )
    views = [part if isinstance(part, bytes) else memoryview(part).cast("B") for part in parts]
    if len(views) > 2:  # many small parts (rows held back per file): one write, not one each
        views = [b"".join(views)]
    with conn.cursor().copy(statement) as copy:
        copy.write(copybin.HEADER)
        for view in views:
            if len(view):
                copy.write(view)
        copy.write(copybin.TRAILER)


def _storable(text: str, limit: int | None = None) -> str:
    """``text`` as a database text can hold it: NUL bytes removed (PostgreSQL text cannot
    hold them), cut to ``limit`` characters when given."""
    text = text.replace("\x00", "")
    return text if limit is None else text[:limit]


def _storable_json(value: Any) -> Any:
    """``value`` (details of a quarantined row) with NUL bytes removed from its texts (jsonb
    cannot hold ``\\u0000``) and long texts cut to a few kilobytes."""
    if isinstance(value, str):
        return _storable(value, 4 * MAX_FIELD_CHARS)
    if isinstance(value, dict):
        return {str(k): _storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_json(v) for v in value]
    return value


def _announce(text: str) -> None:
    """A line on stderr (used by the test pause hook so a test knows when to kill)."""
    import sys

    sys.stderr.write(text + "\n")
    sys.stderr.flush()
