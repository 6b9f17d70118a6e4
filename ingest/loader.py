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
"""

from __future__ import annotations

import contextlib
import csv
import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from ingest import bills_rollups, codes, copybin, cumulative, queries, rollups
from ingest.bills_loader import load_bills
from ingest.bills_parse import is_bills_file
from ingest.files import Digests, file_sha256, find_reading_files
from ingest.flags import compute_flags, limits, parameters
from ingest.fresh import FreshChunks, WrittenRows
from ingest.parse import RawBatch, iter_batches
from ingest.timestamps import to_datetime, to_epoch_us
from ingest.validate import MeterInfo, Registry, validate_batch
from quota import db as qdb
from quota.registry.textfiles import FileFormatError, open_text
from quota.registry.units import UNITS_BY_TYPE, kwh_per_unit
from quota.settings import Settings

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
        )
        for row in conn.execute(queries.METERS).fetchall()
    }
    gas = float(settings.rules.get("units", {}).get("natural_gas_kwh_per_m3", 9.97))
    return Registry(meters=meters, natural_gas_kwh_per_m3=gas)


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
            for path in files:
                summary.files.append(
                    load_file(
                        conn,
                        settings,
                        path,
                        run_id,
                        corrections=corrections,
                        progress=progress,
                        sha256=digests.sha256(path),
                    )
                )
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
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
    return summary


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
) -> FileResult:
    """Load one file in one transaction on ``conn`` (an autocommit connection); ``sha256``
    is the file's digest when already known."""
    started = time.monotonic()
    kind = "corrections" if corrections else "readings"
    result = FileResult(path=path, status="loaded", sha256=sha256 or file_sha256(path))
    record = {
        "run_id": run_id,
        "file_name": path.name,
        "path": str(path.resolve()),
        "sha256": result.sha256,
        "size_bytes": path.stat().st_size,
        "kind": kind,
    }
    try:
        with conn.transaction():
            conn.execute(queries.LOCK_INGEST, (queries.INGEST_LOCK_KEY,))
            row = conn.execute(queries.CLAIM_FILE, record).fetchone()
            if row is None:
                existing = conn.execute(queries.EXISTING_FILE, (result.sha256, kind)).fetchone()
                result.status = "skipped"
                result.file_id = existing["file_id"] if existing else None
                result.error = None
                return result
            result.file_id = row["file_id"]
            try:
                if is_bills_file(path):
                    load_bills(conn, settings, path, result, corrections)
                    if progress is not None:
                        progress.update(record["size_bytes"], note=path.name)
                else:
                    _FileLoader(conn, settings, result, corrections, progress).run(path)
            except (FileFormatError, UnicodeDecodeError) as exc:
                raise _UnusableFileError(str(exc)) from exc
            conn.execute(queries.FINISH_FILE, _file_counts(result))
    except _UnusableFileError as exc:
        result = _record_rejected(conn, record, result, str(exc))
    except psycopg.Error as exc:
        result.status = "failed"
        result.error = f"database error: {exc}"
        result.rows_loaded = result.rows_duplicate = result.rows_quarantined = 0
    result.seconds = time.monotonic() - started
    return result


@dataclass(frozen=True)
class _SlotRows:
    """One chunk interval's new readings of a batch, ready to write: binary COPY rows (the
    first row apart: it may have to create the chunk through the hypertable, then the rest
    follow into the chunk; bytes, or slices of one structured array of the rows), and what a
    fresh chunk remembers of them."""

    first_at_us: int
    first_meter_key: int
    first: bytes | np.ndarray
    rest: bytes | np.ndarray
    written: WrittenRows


@dataclass(frozen=True)
class _Prepared:
    """A batch's interval readings worked out by the reader thread (see
    :meth:`_FileLoader._prepare_interval`): valid while all ``n_rows`` rows are new."""

    n_rows: int
    flags: np.ndarray
    records: list[Any]
    increments: pd.DataFrame
    column_names: str
    slots: dict[int, _SlotRows]


def _take(column: copybin.Column, rows: np.ndarray) -> copybin.Column:
    """The column restricted to ``rows`` (a mask or positions)."""
    return copybin.Column(
        column.kind, column.values[rows], None if column.null is None else column.null[rows]
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


def _utc(epoch_us: int) -> datetime:
    return to_datetime(epoch_us)


class _FileLoader:
    """The per-batch work of one file inside its transaction."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        settings: Settings,
        result: FileResult,
        corrections: bool,
        progress: ProgressLike | None,
    ):
        self.conn = conn
        self.settings = settings
        self.result = result
        self.corrections = corrections
        self.progress = progress
        self.tz = settings.tz
        self.registry = load_registry(conn, settings)
        self.meters_by_key = self.registry.by_key()
        self.flag_params = parameters(settings.rules)
        self.future_tolerance_us, self.rollover_max_share = limits(settings.rules)
        self.touched: rollups.Touched = {}
        self.now_us = to_epoch_us(datetime.now(UTC))
        self.file_id = int(result.file_id or 0)
        self._probe_ready = False
        n = max(self.meters_by_key, default=0) + 1
        self.interval_minutes_by_key = np.full(n, 60, dtype=np.int64)
        for key, meter in self.meters_by_key.items():
            self.interval_minutes_by_key[key] = meter.interval_minutes or 60
        self._chunks: list[dict[str, Any]] | None = None
        self.increments = rollups.Increments(conn)
        # The chunk interval of reading [µs]: chunks start at multiples of it (since 1970).
        self.chunk_interval_us = int(
            conn.execute(queries.READING_CHUNK_INTERVAL).fetchone()["interval_us"]
        )
        # Chunks this load creates, written without index upkeep (ingest/fresh.py). Not for
        # corrections files: they look stored rows up one by one.
        self.fresh: FreshChunks | None = None
        if (
            not corrections
            and settings.ingest_defer_indexes
            and conn.execute(queries.CAN_DEFER_INDEXES).fetchone()["allowed"]
        ):
            self.fresh = FreshChunks(n_meter_keys=n)

    # -- the file ---------------------------------------------------------------------------
    def run(self, path: Path) -> None:
        """Load the file: a reader thread parses and validates batch N+1 (pure Python and
        pandas) while this thread writes batch N (mostly waiting on the server), so the two
        cores work at once. At most one parsed batch waits in between (memory bound)."""
        stream, _encoding = open_text(path)
        raw_file = stream.buffer
        position = getattr(raw_file, "fileobj", raw_file)
        handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
        stop = threading.Event()
        reader = threading.Thread(
            target=self._read, args=(stream, handoff, stop), name="ingest-reader", daemon=True
        )
        last = 0
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
                    if self.progress is not None:
                        now = position.tell()
                        self.progress.update(max(now - last, 0), note=path.name)
                        last = now
                    if self.settings.ingest_test_pause_seconds > 0:
                        _announce(f"ingest: batch done ({self.result.rows_read} rows), pausing")
                        time.sleep(self.settings.ingest_test_pause_seconds)
            finally:
                stop.set()
                while reader.is_alive():
                    with contextlib.suppress(queue.Empty):
                        handoff.get(timeout=0.05)
                reader.join()
        self._index_fresh_chunks()
        if self.conn.execute(queries.DISABLED_READING_INDEXES).fetchone()["n"]:
            raise RuntimeError("a reading chunk's index is still switched off; not committing")
        groups = rollups.MeterGroups.of(
            {k: (m.building_id, m.energy_type) for k, m in self.meters_by_key.items()}
        )
        self.result.affected = rollups.refresh(
            self.conn, self.tz, self.touched, self.increments, groups
        )
        bills_rollups.after_meter_load(self.conn, self.tz, self.result.affected)

    def _read(self, stream: Any, handoff: queue.Queue[Any], stop: threading.Event) -> None:
        """Reader thread: parse and validate batches (no database access here)."""
        try:
            for _layout, batch in iter_batches(stream, self.settings.ingest_batch_rows):
                if stop.is_set():
                    return
                good, rejects = validate_batch(
                    batch, self.registry, self.tz, self.now_us, self.future_tolerance_us
                )
                # By meter and instant; rows of one meter and instant stay in file order.
                order = np.lexsort((good["reading_at_us"].to_numpy(), good["meter_key"].to_numpy()))
                good = good.take(order).reset_index(drop=True)
                good["register_kwh"] = good["value"].to_numpy() * good["kwh_per_unit"].to_numpy()
                good, in_batch, duplicates = split_in_batch_duplicates(good)
                prepared = self._prepare_interval(good)
                handoff.put((batch, good, rejects, in_batch, duplicates, prepared))
            handoff.put(_DONE)
        except BaseException as exc:  # handed to the loading thread, which re-raises it
            handoff.put(exc)

    def _prepare_interval(self, good: pd.DataFrame) -> _Prepared | None:
        """Reader thread: the write of a batch of interval readings worked out in advance,
        on the assumption that none of them is stored yet (the usual case; the loading
        thread uses it only when that turns out true): energy, flags, daily increments and
        the COPY rows per chunk-interval slot."""
        if self.corrections or good.empty or good["is_cumulative"].to_numpy().any():
            return None
        keys = good["meter_key"].to_numpy().astype(np.int64)
        times = good["reading_at_us"].to_numpy()
        energy = good["register_kwh"].to_numpy() * good["multiplier"].to_numpy()
        minutes = self.interval_minutes_by_key[keys]
        flags, records = compute_flags(keys, times, energy, minutes, self.flag_params)
        increments = rollups.daily_increments(keys, times, energy, minutes, self.tz)
        columns = self._interval_columns(good, keys, times, energy, flags)
        column_names = queries.INTERVAL_COLUMNS
        if not flags.any():  # the column's default: one field less per row to send and read
            columns = columns[:5] + columns[6:]
            column_names = queries.INTERVAL_COLUMNS_UNFLAGGED
        register = good["register_kwh"].to_numpy()
        value = good["value"].to_numpy()
        lines = good["line_number"].to_numpy()
        width = self.chunk_interval_us
        slots: dict[int, _SlotRows] = {}
        slot_of = times - np.mod(times, width)
        starts = sorted(pd.unique(slot_of).tolist())
        whole = len(starts) == 1  # the batch lies in one chunk interval (most batches)
        for start in starts:
            rows = np.arange(len(times)) if whole else np.flatnonzero(slot_of == start)
            array = copybin.rows_array(columns if whole else [_take(c, rows) for c in columns])
            if array is not None:  # one row layout (the usual case): sliced, not rebuilt
                first, rest = array[:1], array[1:]
            else:
                first = copybin.rows_bytes([_take(c, rows[:1]) for c in columns])
                rest = copybin.rows_bytes([_take(c, rows[1:]) for c in columns])
            slots[int(start)] = _SlotRows(
                first_at_us=int(times[rows[0]]),
                first_meter_key=int(keys[rows[0]]),
                first=first,
                rest=rest,
                written=WrittenRows.of(
                    keys[rows],
                    times[rows],
                    register[rows],
                    value[rows],
                    lines[rows],
                    int(start),
                    width,
                ),
            )
        return _Prepared(len(good), flags, records, increments, column_names, slots)

    def _interval_columns(
        self,
        rows: pd.DataFrame,
        keys: np.ndarray,
        times: np.ndarray,
        energy: np.ndarray,
        flags: np.ndarray,
    ) -> list[copybin.Column]:
        """COPY columns (:data:`queries.INTERVAL_COLUMNS`) of new interval readings. A
        reading sent in kWh with no multiplier has its value as energy_kwh: value and unit
        are stored NULL (sql/0030)."""
        unit = rows["unit"].array
        as_energy = np.asarray(unit == "kWh") & (rows["multiplier"].to_numpy() == 1.0)
        return [
            copybin.Column("int4", keys),
            copybin.Column("timestamptz", times),
            copybin.Column("float8", rows["value"].to_numpy(), as_energy),
            copybin.Column("text", unit, as_energy),
            copybin.Column("float8", energy),
            copybin.Column("int2", flags),
            copybin.Column("int8", np.full(len(keys), self.file_id)),
        ]

    # -- one batch --------------------------------------------------------------------------
    def load_batch(
        self,
        batch: RawBatch,
        good: pd.DataFrame,
        rejects: pd.DataFrame,
        in_batch: pd.DataFrame,
        duplicates: int,
        prepared: _Prepared | None,
    ) -> None:
        """Store one validated batch (``good`` rows without the ones repeating an earlier row
        of the batch, ``duplicates`` of them identical, ``in_batch`` the differing ones):
        duplicates of stored rows, new readings, quarantine, flags."""
        self.result.rows_read += len(batch)
        self.result.rows_duplicate += duplicates
        earliest_us = int(good["reading_at_us"].min()) if len(good) else None
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

    def _split_fresh(self, good: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
        """Rows for chunks this load created (their stored rows all come from earlier
        batches of this file) checked against what was written there: identical →
        duplicate, different → conflicting_duplicate. Returns the remaining rows, which of
        them were checked here, and the rejects."""
        checked = np.zeros(len(good), dtype=bool)
        if self.fresh is None or not self.fresh.chunks or good.empty:
            return good, checked, _empty_rejects()
        keys = good["meter_key"].to_numpy()
        times = good["reading_at_us"].to_numpy()
        register = good["register_kwh"].to_numpy()
        repeat = np.zeros(len(good), dtype=bool)
        conflict_rows: list[np.ndarray] = []
        kept_lines: list[np.ndarray] = []
        kept_values: list[np.ndarray] = []
        for chunk, mask in self.fresh.containing(times):
            rows: np.ndarray | slice = slice(None) if mask.all() else np.flatnonzero(mask)
            checked[rows] = True
            found = chunk.find(keys[rows], times[rows])
            if not found.found.any():
                continue
            if isinstance(rows, slice):
                rows = np.arange(len(good))
            hit = np.flatnonzero(found.found)
            same = np.isclose(register[rows[hit]], found.register_kwh[hit], rtol=1e-9, atol=1e-12)
            repeat[rows[hit]] = True
            self.result.rows_duplicate += int(same.sum())
            differ = hit[~same]
            conflict_rows.append(good["row"].to_numpy()[rows[differ]])
            kept_lines.append(found.line_number[differ])
            kept_values.append(found.value[differ])
        if not repeat.any():
            return good, checked, _empty_rejects()
        rejects = _earlier_line_rejects(
            np.concatenate(conflict_rows), np.concatenate(kept_lines), np.concatenate(kept_values)
        )
        keep = ~repeat
        return good[keep].reset_index(drop=True), checked[keep], rejects

    def _index_chunk(self, name: str) -> None:
        """Build the indexes of a fresh chunk and stop tracking it (later rows for it take
        the indexed path)."""
        assert self.fresh is not None
        table = sql.SQL(".").join(sql.Identifier(part) for part in _split_name(name))
        self.conn.execute(sql.SQL(queries.REINDEX_CHUNK).format(chunk=table))
        del self.fresh.chunks[name]

    def _index_fresh_chunks(self) -> None:
        if self.fresh is not None:
            for name in list(self.fresh.chunks):
                self._index_chunk(name)

    def _split_stored(
        self, good: pd.DataFrame, checked: np.ndarray
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Remove rows already stored: identical → duplicate; different → quarantined, or
        marked ``replace`` in a corrections file. Rows ``checked`` (in a fresh chunk, see
        :meth:`_split_fresh`) are not looked up. Adds the boolean column ``replace``."""
        good["replace"] = False
        unchecked = ~checked
        if unchecked.any():  # a row in no chunk yet cannot be stored
            at = good["reading_at_us"].to_numpy()
            in_chunk = np.zeros(len(good), dtype=bool)
            for chunk in self._chunks_in_range(int(at.min()), int(at.max())):
                in_chunk |= (at >= chunk["start"]) & (at < chunk["end"])
            unchecked &= in_chunk
        probe = np.flatnonzero(unchecked)
        if len(probe) == 0:
            return good, _empty_rejects()
        times = good["reading_at_us"].to_numpy()[probe]
        lo, hi = _utc(int(times.min())), _utc(int(times.max()))
        keys = np.unique(good["meter_key"].to_numpy()[probe]).tolist()
        present = self.conn.execute(
            queries.ANY_STORED_IN_RANGE, {"keys": keys, "lo": lo, "hi": hi}
        ).fetchone()["present"]
        if not present:
            return good, _empty_rejects()
        if not self._probe_ready:
            self.conn.execute(queries.CREATE_PROBE)
            self.conn.execute(queries.CREATE_UNIT_FACTOR)
            with self.conn.cursor() as cur:
                cur.executemany(queries.INSERT_UNIT_FACTOR, self._unit_factors())
            self._probe_ready = True
        self.conn.execute(queries.TRUNCATE_PROBE)
        data = copybin.payload(
            [
                copybin.Column("int4", probe),
                copybin.Column("int4", good["meter_key"].to_numpy()[probe]),
                copybin.Column("timestamptz", times),
                copybin.Column("float8", good["register_kwh"].to_numpy()[probe]),
            ]
        )
        with self.conn.cursor().copy(queries.COPY_PROBE) as copy:
            copy.write(data)
        found = self.conn.execute(queries.PROBE_MATCHES, {"lo": lo, "hi": hi}).fetchone()
        same = np.asarray(found["same_idx"], dtype=np.int64)
        differing = np.asarray(found["diff_idx"], dtype=np.int64)
        drop = np.zeros(len(good), dtype=bool)
        drop[same] = True
        self.result.rows_duplicate += len(same)
        if self.corrections:
            good.loc[differing, "replace"] = True
            return good[~drop].reset_index(drop=True), _empty_rejects()
        drop[differing] = True
        rejects = pd.DataFrame(
            {
                "row": good["row"].to_numpy()[differing],
                "reason_code": codes.CONFLICTING_DUPLICATE,
                "message": "the same meter and time is stored with a different value",
                "meter_id": None,
                "details": [
                    {
                        "code": codes.dotted(codes.CONFLICTING_DUPLICATE),
                        "stored_value": value,
                        "stored_unit": unit,
                        "stored_file_id": file_id,
                    }
                    for value, unit, file_id in zip(
                        found["diff_value"],
                        found["diff_unit"],
                        found["diff_file_id"],
                        strict=True,
                    )
                ],
            },
            columns=["row", "reason_code", "message", "meter_id", "details"],
        )
        return good[~drop].reset_index(drop=True), rejects

    def _unit_factors(self) -> list[tuple[str, str, float]]:
        """kWh per unit for every energy type and unit (gas from the rules)."""
        return [
            (
                energy_type,
                unit,
                kwh_per_unit(energy_type, unit, self.registry.natural_gas_kwh_per_m3),
            )
            for energy_type, units in UNITS_BY_TYPE.items()
            for unit in units
        ]

    # -- interval meters ----------------------------------------------------------------------
    def _slots_fit(self, prepared: _Prepared) -> bool:
        """Whether every stored chunk around the prepared slots is one whole chunk interval
        (then the chunks created for the others are too, and each slot is one chunk's rows;
        not so after the chunk interval was changed)."""
        width = self.chunk_interval_us
        lo = min(prepared.slots)
        hi = max(prepared.slots) + width - 1
        return all(
            c["end"] - c["start"] == width and c["start"] % width == 0
            for c in self._chunks_in_range(lo, hi)
        )

    def _store_prepared(self, prepared: _Prepared) -> None:
        """Store a batch of new interval readings as the reader thread prepared them: per
        slot, COPY the rows into its chunk (creating it with the first row through the
        hypertable when missing) and remember them when the chunk is fresh."""
        for start, slot in sorted(prepared.slots.items()):
            chunk = next(
                (c["chunk"] for c in self._chunks_in_range(start, start) if c["start"] == start),
                None,
            )
            parts = [slot.first, slot.rest]
            if chunk is None:
                self._copy_rows("reading", prepared.column_names, [slot.first])
                chunk = self._created_chunk(slot.first_at_us, (slot.first_meter_key, start))
                parts = [slot.rest]
            self._copy_rows(chunk, prepared.column_names, parts)
            if self.fresh is not None:
                self.fresh.remember(chunk, slot.written)
        self.result.rows_loaded += prepared.n_rows
        self._write_flags(prepared.records)
        self.increments.add(prepared.increments)

    def _store_interval(self, rows: pd.DataFrame) -> None:
        """Store new interval readings (or, in a corrections file, replace stored ones)."""
        if rows.empty:
            return
        keys = rows["meter_key"].to_numpy().astype(np.int64)
        times = rows["reading_at_us"].to_numpy()
        energy = rows["register_kwh"].to_numpy() * rows["multiplier"].to_numpy()
        replace = rows["replace"].to_numpy()
        minutes = self.interval_minutes_by_key[keys]
        flags, records = compute_flags(keys, times, energy, minutes, self.flag_params)
        fresh = ~replace
        if fresh.any():
            self._copy_readings(
                queries.INTERVAL_COLUMNS,
                [_take(c, fresh) for c in self._interval_columns(rows, keys, times, energy, flags)],
                rows["register_kwh"].to_numpy()[fresh],
                rows["line_number"].to_numpy()[fresh],
            )
        for i in np.flatnonzero(replace):
            self._correct(
                int(keys[i]),
                int(times[i]),
                float(rows["value"].iat[i]),
                str(rows["unit"].iat[i]),
                float(energy[i]),
                None,
            )
        self.result.rows_loaded += len(rows)
        self._write_flags(records)
        if fresh.any():
            self.increments.add(
                rollups.daily_increments(
                    keys[fresh], times[fresh], energy[fresh], minutes[fresh], self.tz
                )
            )
        if replace.any():
            rollups.merge_touched(self.touched, keys[replace], times[replace], times[replace])

    def _correct(
        self,
        meter_key: int,
        at_us: int,
        value: float,
        unit: str,
        energy_kwh: float | None,
        since_us: int | None,
    ) -> None:
        self.conn.execute(
            queries.CORRECT_READING,
            {
                "meter_key": meter_key,
                "reading_at": _utc(at_us),
                "value": value,
                "unit": unit,
                "energy_kwh": energy_kwh,
                "since_at": None if since_us is None else _utc(since_us),
                "file_id": self.file_id,
            },
        )
        self.result.rows_corrected += 1

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
                        _utc(r.start_us),
                        _utc(r.end_us),
                        json.dumps(r.details),
                        self.file_id,
                    )
                    for r in records
                ],
            )
        self.result.flags.update(r.flag_code for r in records)

    # -- cumulative meters ----------------------------------------------------------------------
    def _store_cumulative(self, rows: pd.DataFrame) -> pd.DataFrame:
        if rows.empty:
            return _empty_rejects()
        # The neighbour lookups below go by meter: the chunks written so far need their index.
        self._index_fresh_chunks()
        stats = rows.groupby("meter_key")["reading_at_us"].agg(["min", "max"])
        keys = [int(k) for k in stats.index]
        neighbours = self.conn.execute(
            queries.CUMULATIVE_NEIGHBOURS,
            {
                "keys": keys,
                "los": [_utc(int(v)) for v in stats["min"]],
                "his": [_utc(int(v)) for v in stats["max"]],
            },
        ).fetchall()
        decreases = {
            r["meter_id"]: to_epoch_us(r["reading_at"])
            for r in self.conn.execute(
                queries.LAST_REGISTER_DECREASE,
                ([self.meters_by_key[k].meter_id for k in keys],),
            ).fetchall()
            if r["reading_at"] is not None
        }
        stored_by_key: dict[int, list[cumulative.Register]] = {k: [] for k in keys}
        for r in neighbours:
            meter = self.meters_by_key[r["meter_key"]]
            stored_by_key[r["meter_key"]].append(
                cumulative.Register(
                    at_us=to_epoch_us(r["reading_at"]),
                    register_kwh=r["value"] * self.registry.factor(meter, r["unit"]),
                    energy_kwh=r["energy_kwh"],
                    since_us=None if r["since_at"] is None else to_epoch_us(r["since_at"]),
                )
            )
        accepted_rows: list[tuple[int, float | None, int | None]] = []
        quarantined: list[tuple[int, str, str, dict[str, Any]]] = []
        lo_hi: list[tuple[int, int, int]] = []
        for key, group in rows.groupby("meter_key", sort=True):
            meter = self.meters_by_key[int(key)]
            new = [
                cumulative.Register(
                    at_us=int(at),
                    register_kwh=float(reg),
                    row=int(pos),
                    replaces_stored=bool(rep),
                )
                for pos, at, reg, rep in zip(
                    group.index,
                    group["reading_at_us"],
                    group["register_kwh"],
                    group["replace"],
                    strict=True,
                )
            ]
            modulus = (
                meter.register_max * self.registry.factor(meter, meter.unit)
                if meter.register_max
                else None
            )
            outcome = cumulative.walk(
                stored_by_key[int(key)],
                new,
                meter.multiplier,
                modulus,
                decreases.get(meter.meter_id),
                self.rollover_max_share,
            )
            accepted_rows.extend(outcome.accepted)
            quarantined.extend(outcome.quarantined)
            for at_us, energy, since in outcome.updates:
                self.conn.execute(
                    queries.UPDATE_READING_ENERGY,
                    (energy, None if since is None else _utc(since), int(key), _utc(at_us)),
                )
                lo_hi.append((int(key), since if since is not None else at_us, at_us))
        self._insert_cumulative(rows, accepted_rows, lo_hi)
        if lo_hi:
            arr = np.array(lo_hi, dtype=np.int64)
            rollups.merge_touched(self.touched, arr[:, 0], arr[:, 1], arr[:, 2])
        return pd.DataFrame(
            {
                "row": [int(rows.at[q[0], "row"]) for q in quarantined],
                "reason_code": [q[1] for q in quarantined],
                "message": [q[2] for q in quarantined],
                "meter_id": None,
                "details": [
                    {
                        "code": codes.dotted(q[1]),
                        "reading_at": _utc(int(rows.at[q[0], "reading_at_us"])).isoformat(),
                        **{
                            k: (_utc(v).isoformat() if k.endswith("_at_us") else v)
                            for k, v in q[3].items()
                        },
                    }
                    for q in quarantined
                ],
            },
            columns=["row", "reason_code", "message", "meter_id", "details"],
        )

    def _insert_cumulative(
        self,
        rows: pd.DataFrame,
        accepted: list[tuple[int, float | None, int | None]],
        lo_hi: list[tuple[int, int, int]],
    ) -> None:
        if not accepted:
            return
        positions = np.array([a[0] for a in accepted], dtype=np.int64)
        energy = np.array([np.nan if a[1] is None else a[1] for a in accepted])
        since = np.array([0 if a[2] is None else a[2] for a in accepted], dtype=np.int64)
        sub = rows.loc[positions]
        keys = sub["meter_key"].to_numpy().astype(np.int64)
        times = sub["reading_at_us"].to_numpy()
        replace = sub["replace"].to_numpy()
        fresh = ~replace
        if fresh.any():
            self._copy_readings(
                queries.CUMULATIVE_COLUMNS,
                [
                    copybin.Column("int4", keys[fresh]),
                    copybin.Column("timestamptz", times[fresh]),
                    copybin.Column("float8", sub["value"].to_numpy()[fresh]),
                    copybin.Column("text", sub["unit"].to_numpy()[fresh]),
                    copybin.Column("float8", energy[fresh], np.isnan(energy[fresh])),
                    copybin.Column("int2", np.zeros(int(fresh.sum()), dtype=np.int64)),
                    copybin.Column("int8", np.full(int(fresh.sum()), self.file_id)),
                    copybin.Column("timestamptz", since[fresh], np.isnan(energy[fresh])),
                ],
                sub["register_kwh"].to_numpy()[fresh],
                sub["line_number"].to_numpy()[fresh],
            )
        for i in np.flatnonzero(replace):
            self._correct(
                int(keys[i]),
                int(times[i]),
                float(sub["value"].iat[i]),
                str(sub["unit"].iat[i]),
                None if np.isnan(energy[i]) else float(energy[i]),
                None if np.isnan(energy[i]) else int(since[i]),
            )
        self.result.rows_loaded += len(accepted)
        spans_lo = np.where(np.isnan(energy), times, since)
        lo_hi.extend(zip(keys.tolist(), spans_lo.tolist(), times.tolist(), strict=True))

    # -- writing readings -----------------------------------------------------------------------
    def _copy_readings(
        self,
        column_names: str,
        columns: list[copybin.Column],
        register_kwh: np.ndarray,
        line_number: np.ndarray,
    ) -> None:
        """COPY new readings (``columns[0]`` is meter_key, ``columns[1]`` reading_at,
        ``columns[2]`` the value) chunk by chunk, straight into each chunk table: that skips
        the hypertable's per-row chunk routing (measured 1.4-1.8x faster). A row whose chunk
        does not exist yet goes through the hypertable, which creates the chunk; the chunk's
        indexes are then switched off until the end of the load (:mod:`ingest.fresh`) and
        the rest of its rows follow directly."""
        times = columns[1].values
        remaining = np.ones(len(times), dtype=bool)
        lo, hi = int(times.min()), int(times.max())
        while remaining.any():
            for chunk in self._chunks_in_range(lo, hi):
                start, end = chunk["start"], chunk["end"]
                take = remaining & (times >= start) & (times < end)
                if take.any():
                    self._copy_into(chunk["chunk"], column_names, columns, take)
                    self._remember_fresh(chunk["chunk"], columns, register_kwh, line_number, take)
                    remaining &= ~take
            if remaining.any():
                first = np.zeros(len(times), dtype=bool)
                first[np.flatnonzero(remaining)[0]] = True
                self._copy_into("reading", column_names, columns, first)
                remaining &= ~first
                name = self._created_chunk(int(times[first][0]))
                self._remember_fresh(name, columns, register_kwh, line_number, first)

    def _chunks_in_range(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """reading's chunks overlapping [lo, hi] [µs], from a list read once per file and
        again after this load creates a chunk (loads hold the ingest lock: no other session
        creates one meanwhile)."""
        if self._chunks is None:
            self._chunks = [
                {
                    "chunk": row["chunk"],
                    "start": to_epoch_us(row["range_start"]),
                    "end": to_epoch_us(row["range_end"]),
                }
                for row in self.conn.execute(queries.READING_CHUNKS).fetchall()
            ]
        return [c for c in self._chunks if c["end"] > lo and c["start"] <= hi]

    def _created_chunk(self, at_us: int, slot: tuple[int, int] | None = None) -> str:
        """The chunk holding ``at_us``, just created by this transaction: with deferred
        indexes its indexes are switched off and it is tracked as fresh (unless its keys
        would not pack, see ingest/fresh.py). Returns its name.

        ``slot``: (meter key of the row written at ``at_us``, start of its chunk interval)
        when the chunks around are whole, aligned intervals (:meth:`_slots_fit`): the new
        chunk is then that interval and only its name is looked up (0.5 ms; the chunk list
        takes 3-4 ms after a chunk was created)."""
        if slot is None:
            self._chunks = None
            chunk = self._chunks_in_range(at_us, at_us)[0]
        else:
            meter_key, start = slot
            name = self.conn.execute(queries.CHUNK_OF_READING, (meter_key, _utc(at_us))).fetchone()[
                "chunk"
            ]
            chunk = {"chunk": name, "start": start, "end": start + self.chunk_interval_us}
            self._chunks_in_range(start, start)  # the list is loaded before adding to it
            assert self._chunks is not None
            self._chunks.append(chunk)
            self._chunks.sort(key=lambda c: c["start"])
        if self.fresh is not None:
            tracked = self.fresh.add_chunk(chunk["chunk"], chunk["start"], chunk["end"])
            if tracked is not None:
                self.conn.execute(queries.DISABLE_CHUNK_INDEXES, (chunk["chunk"],))
        return str(chunk["chunk"])

    def _remember_fresh(
        self,
        name: str,
        columns: list[copybin.Column],
        register_kwh: np.ndarray,
        line_number: np.ndarray,
        take: np.ndarray,
    ) -> None:
        """Record rows just written into chunk ``name`` when it is a fresh chunk."""
        chunk = self.fresh.chunks.get(name) if self.fresh is not None else None
        if chunk is None:
            return
        assert self.fresh is not None
        self.fresh.remember(
            name,
            chunk.written(
                columns[0].values[take],
                columns[1].values[take],
                register_kwh[take],
                columns[2].values[take],
                line_number[take],
            ),
        )

    def _copy_rows(self, table: str, column_names: str, parts: list[bytes | np.ndarray]) -> None:
        """COPY prepared binary rows (one header, the parts as they are, one trailer); a
        part is bytes or a structured array of rows (:func:`copybin.rows_array`)."""
        statement = sql.SQL(queries.COPY_READINGS).format(
            table=sql.SQL(".").join(sql.Identifier(part) for part in _split_name(table)),
            columns=sql.SQL(column_names),
        )
        with self.conn.cursor().copy(statement) as copy:
            copy.write(copybin.HEADER)
            for part in parts:
                if len(part):
                    copy.write(part if isinstance(part, bytes) else memoryview(part).cast("B"))
            copy.write(copybin.TRAILER)

    def _copy_into(
        self, table: str, column_names: str, columns: list[copybin.Column], take: np.ndarray
    ) -> None:
        """COPY the rows ``take`` (a mask) of ``columns``."""
        rows = copybin.rows_bytes([_take(c, take) for c in columns])
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
                copy.write_row(
                    (
                        self.file_id,
                        int(batch.line_numbers[row]),
                        batch.raw_text(row).replace("\x00", ""),
                        code,
                        message,
                        batch.meter_id[row] or None,
                        json.dumps(info, ensure_ascii=False),
                    )
                )


def _split_name(name: str) -> list[str]:
    """``schema.table`` (as format('%I.%I') writes it) into its unquoted parts."""
    parts = next(csv.reader([name], delimiter=".", quotechar='"'))
    return [p for p in parts if p]


def split_in_batch_duplicates(good: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Rows repeating an earlier row of a batch sorted by meter, instant and row: identical →
    duplicate, different → conflicting_duplicate (the first row of the file wins). Returns
    the other rows, the rejects and the number of duplicates."""
    keys = good["meter_key"].to_numpy()
    times = good["reading_at_us"].to_numpy()
    if len(good) < 2:
        return good, _empty_rejects(), 0
    repeat = np.zeros(len(good), dtype=bool)
    repeat[1:] = (keys[1:] == keys[:-1]) & (times[1:] == times[:-1])
    if not repeat.any():
        return good, _empty_rejects(), 0
    first = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(good))))
    reg = good["register_kwh"].to_numpy()
    same = np.isclose(reg, reg[first], rtol=1e-9, atol=1e-12)
    duplicate = repeat & same
    conflict = repeat & ~same
    rejects = _earlier_line_rejects(
        good["row"].to_numpy()[conflict],
        good["line_number"].to_numpy()[first[conflict]],
        good["value"].to_numpy()[first[conflict]],
    )
    return good[~repeat].reset_index(drop=True), rejects, int(duplicate.sum())


def _earlier_line_rejects(
    rows: np.ndarray, kept_lines: np.ndarray, kept_values: np.ndarray
) -> pd.DataFrame:
    """conflicting_duplicate rejects of batch ``rows`` that repeat an earlier line of the
    file (its line number and value as sent) with a different value."""
    return pd.DataFrame(
        {
            "row": rows,
            "reason_code": codes.CONFLICTING_DUPLICATE,
            "message": [
                f"line {ln} has the same meter and time with a different value" for ln in kept_lines
            ],
            "meter_id": None,
            "details": [
                {
                    "code": codes.dotted(codes.CONFLICTING_DUPLICATE),
                    "kept_line": int(ln),
                    "kept_value": float(v),
                }
                for ln, v in zip(kept_lines, kept_values, strict=True)
            ],
        },
        columns=["row", "reason_code", "message", "meter_id", "details"],
    )


_NO_REJECTS = pd.DataFrame(columns=["row", "reason_code", "message", "meter_id", "details"])


def _empty_rejects() -> pd.DataFrame:
    """No rejected rows (one shared frame: reject frames are only ever concatenated)."""
    return _NO_REJECTS


def _announce(text: str) -> None:
    """A line on stderr (used by the test pause hook so a test knows when to kill)."""
    import sys

    sys.stderr.write(text + "\n")
    sys.stderr.flush()
