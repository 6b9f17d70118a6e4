"""Interval readings of a file: each batch prepared per chunk slot (in the reader thread),
then written with binary COPY straight into its chunks; the chunks a load creates are
written without index upkeep and indexed once (:mod:`ingest.fresh`).

One part of the file transaction (:mod:`ingest.loader`): :class:`IntervalStore` is mixed
into the loader and works on its connection, settings and per-file state.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from psycopg import sql

from ingest import copybin, queries, rollups
from ingest.flags import compute_flags
from ingest.fresh import WrittenRows
from ingest.stored_checks import split_name
from ingest.timestamps import to_datetime, to_epoch_us
from quota.registry.units import UNITS_BY_TYPE, kwh_per_unit


@dataclass(frozen=True)
class SlotRows:
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
class PreparedSlots:
    """A batch's interval readings worked out by the reader thread (see
    :meth:`_FileLoader._prepare_interval`): valid while all ``n_rows`` rows are new."""

    n_rows: int
    flags: np.ndarray
    records: list[Any]
    increments: pd.DataFrame
    column_names: str
    slots: dict[int, SlotRows]
    # The structured-array field of the rows' file id (None: some rows are bytes).
    file_id_field: str | None = None

    def for_file(self, file_id: int) -> PreparedSlots | None:
        """The same rows with ``file_id`` as their file (prepared before the file was
        claimed); None when rows are bytes, which cannot be changed in place."""
        name = self.file_id_field
        parts = [part for slot in self.slots.values() for part in (slot.first, slot.rest)]
        if name is None or not all(isinstance(part, np.ndarray) for part in parts):
            return None
        for part in parts:
            assert isinstance(part, np.ndarray)
            part[name] = file_id
        return self


@dataclass(frozen=True)
class PrepareParams:
    """What preparing a batch's interval write needs besides its rows: interval minutes by
    meter key, the flag parameters, the time zone and the chunk interval [µs]."""

    interval_minutes_by_key: np.ndarray
    flag_params: Any
    tz: Any
    chunk_interval_us: int


def prepare_interval(
    good: pd.DataFrame, params: PrepareParams, file_id: int
) -> PreparedSlots | None:
    """The write of a batch of interval readings worked out in advance (pure), on the
    assumption that none of them is stored yet (the usual case; the loader uses it only
    when that turns out true): energy, flags, daily increments and the COPY rows of file
    ``file_id`` per chunk-interval slot. None for an empty batch or one with cumulative
    meters."""
    if good.empty or good["is_cumulative"].to_numpy().any():
        return None
    keys = good["meter_key"].to_numpy().astype(np.int64)
    times = good["reading_at_us"].to_numpy()
    energy = good["register_kwh"].to_numpy() * good["multiplier"].to_numpy()
    minutes = params.interval_minutes_by_key[keys]
    flags, records = compute_flags(keys, times, energy, minutes, params.flag_params)
    increments = rollups.daily_increments(keys, times, energy, minutes, params.tz)
    columns = interval_columns(good, keys, times, energy, flags, file_id)
    column_names = queries.INTERVAL_COLUMNS
    if not flags.any():  # the column's default: one field less per row to send and read
        columns = columns[:5] + columns[6:]
        column_names = queries.INTERVAL_COLUMNS_UNFLAGGED
    register = good["register_kwh"].to_numpy()
    value = good["value"].to_numpy()
    lines = good["line_number"].to_numpy()
    width = params.chunk_interval_us
    slots: dict[int, SlotRows] = {}
    slot_of = times - np.mod(times, width)
    # The rows of every slot, in batch order: a building's year spans 52 slots, so the
    # COPY rows are built once for the batch and taken per slot.
    if (slot_of == slot_of[0]).all():  # the batch lies in one chunk interval (most)
        order, starts, bounds = np.arange(len(times)), slot_of[:1], np.array([0, len(times)])
    else:
        order = np.argsort(slot_of, kind="stable")
        starts, bounds = np.unique(slot_of[order], return_index=True)
        bounds = np.concatenate((bounds, [len(order)]))
    all_rows = copybin.rows_array(columns)
    for i, start in enumerate(starts.tolist()):
        rows = order[bounds[i] : bounds[i + 1]]
        array = None
        if all_rows is not None:  # one row layout (the usual case): taken, not rebuilt
            contiguous = int(rows[-1]) - int(rows[0]) + 1 == len(rows)
            array = all_rows[int(rows[0]) : int(rows[-1]) + 1] if contiguous else all_rows[rows]
        elif len(starts) > 1:
            array = copybin.rows_array([c.take(rows) for c in columns])
        if array is not None:
            first, rest = array[:1], array[1:]
        else:
            first = copybin.rows_bytes([c.take(rows[:1]) for c in columns])
            rest = copybin.rows_bytes([c.take(rows[1:]) for c in columns])
        slots[int(start)] = SlotRows(
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
    return PreparedSlots(
        len(good),
        flags,
        records,
        increments,
        column_names,
        slots,
        file_id_field=f"v{len(columns) - 1}",  # the last column (copybin field names)
    )


def interval_columns(
    rows: pd.DataFrame,
    keys: np.ndarray,
    times: np.ndarray,
    energy: np.ndarray,
    flags: np.ndarray,
    file_id: int,
) -> list[copybin.Column]:
    """COPY columns (:data:`queries.INTERVAL_COLUMNS`) of new interval readings of file
    ``file_id``, the file id last. A reading sent in kWh with no multiplier has its value
    as energy_kwh: value and unit are stored NULL (sql/0030)."""
    unit = rows["unit"].array
    as_energy = np.asarray(unit == "kWh") & (rows["multiplier"].to_numpy() == 1.0)
    return [
        copybin.Column("int4", keys),
        copybin.Column("timestamptz", times),
        copybin.Column("float8", rows["value"].to_numpy(), as_energy),
        copybin.Column("text", unit, as_energy),
        copybin.Column("float8", energy),
        copybin.Column("int2", flags),
        copybin.Column("int8", np.full(len(keys), file_id)),
    ]


def _chunk_end(chunk: dict[str, Any]) -> int:
    return int(chunk["end"])


class IntervalStore:
    """Preparing and COPYing a file's interval readings (mixed into the file loader)."""

    def _prepare_interval(self, good: pd.DataFrame) -> PreparedSlots | None:
        """The batch's interval write prepared for this file (:func:`prepare_interval`);
        None for corrections files, which look stored rows up one by one."""
        if self.corrections:
            return None
        return prepare_interval(good, self.prepare_params, self.file_id)

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
    def _slots_fit(self, prepared: PreparedSlots) -> bool:
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

    def _store_prepared(self, prepared: PreparedSlots) -> None:
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
            if self.pending is not None:  # held back, one COPY per chunk (ingest/pending.py)
                self.pending.add(
                    chunk,
                    prepared.column_names,
                    parts,
                    sum(len(p) for p in parts),
                    slot.written.meters,
                )
            else:
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
                [
                    c.take(fresh)
                    for c in interval_columns(rows, keys, times, energy, flags, self.file_id)
                ],
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
        # The list is sorted by start, and chunks of one time dimension do not overlap, so
        # by end too: a bisection finds the first (a building-year asks 52 times a file).
        chunks = self._chunks
        i = bisect.bisect_right(chunks, lo, key=_chunk_end)
        out = []
        while i < len(chunks) and chunks[i]["start"] <= hi:
            out.append(chunks[i])
            i += 1
        return out

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
            name = self.conn.execute(
                queries.CHUNK_OF_READING, (meter_key, to_datetime(at_us))
            ).fetchone()["chunk"]
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

    def _index_chunk(self, name: str) -> None:
        """Build the indexes of a fresh chunk and stop tracking it (later rows for it take
        the indexed path)."""
        assert self.fresh is not None
        self._write_pending(name)
        table = sql.SQL(".").join(sql.Identifier(part) for part in split_name(name))
        self.conn.execute(sql.SQL(queries.REINDEX_CHUNK).format(chunk=table))
        del self.fresh.chunks[name]

    def _write_pending(self, chunk: str | None = None) -> None:
        """COPY the rows held back (:mod:`ingest.pending`) for ``chunk``, or all of them."""
        if self.pending is None:
            return
        for name, column_names, parts in self.pending.take(chunk):
            self._copy_rows(name, column_names, parts)

    def _index_fresh_chunks(self) -> None:
        if self.fresh is not None:
            for name in list(self.fresh.chunks):
                self._index_chunk(name)
