"""Cumulative (register) meters (pure): consumption between register readings.

A register reading is the meter's total at an instant. The use between two readings is the
difference of the registers, converted to kWh, times the meter's multiplier; the span
(previous instant, this instant] is later allocated to local days in proportion to time
(:mod:`ingest.rollups`), so a midnight or a New Year inside a span splits exactly.

A decrease is a rollover only when the meter has a register maximum (``register_max``: the
largest value the register shows, in the meter's unit: 99999 for a five-digit register) and
the wrapped use ``modulus - previous + current`` (modulus = ``register_max + 1``, the value at
which the register wraps to 0: 99990 → 5 is 15 units) is at most ``rollover_max_share`` of
the modulus (a wrap that would mean using most of the register's range in one span does not
explain the drop). Otherwise the reading is quarantined as ``register_decrease`` and the next
reading of the meter is stored as a new baseline (no use counted for its span).

A use whose average power over its span is above the meter's ceiling (``max_power_kw``) is
quarantined as ``implausible_value``; the meter's sequence goes on from the reading before.

New readings that arrive between stored ones are checked against both neighbours, and the
following stored reading's use is recomputed.

:func:`walk` goes through one meter's readings one at a time. :func:`walk_meters` walks a
batch of many meters: the meters whose new readings simply continue their sequence (the
common case, see :func:`straight_meters`) are computed with NumPy over the whole batch at
once, the others go through :func:`walk`; the outcomes are the same either way (tested
reading by reading in tests/ingest/test_cumulative_straight.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingest import codes
from ingest.plausibility import describe_power, too_powerful

ROLLOVER_MAX_SHARE = 0.5
# Whether walk_meters takes the array path for straight meters (off: every meter is walked
# one reading at a time; the outcomes are the same, tests compare both).
STRAIGHT_WALK = True


@dataclass(frozen=True)
class Register:
    """One reading in a meter's sequence.

    ``register_kwh`` is the register value converted to kWh (before the multiplier);
    ``row`` identifies a new reading in its batch (None for stored readings);
    ``energy_kwh``/``since_us`` are a stored reading's current values (``energy_kwh`` None
    for a stored baseline).
    """

    at_us: int
    register_kwh: float
    row: int | None = None
    energy_kwh: float | None = None
    since_us: int | None = None
    replaces_stored: bool = False

    @property
    def is_new(self) -> bool:
        return self.row is not None


@dataclass
class ChainResult:
    """Outcome for one meter: accepted new rows, quarantined rows, stored rows to update."""

    accepted: list[tuple[int, float | None, int | None]] = field(default_factory=list)
    quarantined: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)
    updates: list[tuple[int, float | None, int | None]] = field(default_factory=list)


def register_use_kwh(
    previous_kwh: float,
    current_kwh: float,
    modulus_kwh: float | None,
    rollover_max_share: float = ROLLOVER_MAX_SHARE,
) -> float | None:
    """Register use between two readings [kWh, before the multiplier], or None when the
    decrease is not explained by a rollover. ``modulus_kwh``: the value at which the register
    wraps to 0 (``register_max + 1`` in the meter's unit), converted to kWh."""
    if current_kwh >= previous_kwh:
        return current_kwh - previous_kwh
    if modulus_kwh is None or previous_kwh > modulus_kwh:
        return None
    wrapped = modulus_kwh - previous_kwh + current_kwh
    if wrapped > rollover_max_share * modulus_kwh:
        return None
    return wrapped


def walk(
    stored: list[Register],
    new: list[Register],
    multiplier: float,
    modulus_kwh: float | None,
    last_decrease_us: int | None = None,
    rollover_max_share: float = ROLLOVER_MAX_SHARE,
    max_power_kw: float = math.inf,
) -> ChainResult:
    """Merge a meter's new register readings into its stored sequence.

    ``stored``: the stored readings around the new ones (the last one before them, any
    between, the first one after), ``new``: new readings (``replaces_stored`` for a
    correction of a stored reading at the same instant). ``last_decrease_us``: instant of
    the latest reading of this meter already quarantined as ``register_decrease``.
    ``max_power_kw``: the meter's power ceiling [kW] (a use above it over its span is
    ``implausible_value``). Returns energies in kWh with the multiplier applied.
    """
    replaced = {r.at_us for r in new if r.replaces_stored}
    originals = {r.at_us: r for r in stored if r.at_us in replaced}
    items = sorted(
        [r for r in stored if r.at_us not in replaced] + list(new),
        key=lambda r: (r.at_us, r.is_new),
    )
    # The first stored reading after each position, from one backward pass: looking ahead
    # from every new reading made a meter's walk quadratic in its readings (a meter's month
    # of hourly registers: 744² steps).
    next_stored: list[Register | None] = [None] * len(items)
    ahead: Register | None = None
    for position in range(len(items) - 1, -1, -1):
        next_stored[position] = ahead
        if not items[position].is_new:
            ahead = items[position]
    result = ChainResult()
    prev: Register | None = None
    prev_changed = False
    pending_baseline = False

    def use(a: Register, b: Register) -> float | None:
        return register_use_kwh(a.register_kwh, b.register_kwh, modulus_kwh, rollover_max_share)

    for index, item in enumerate(items):
        if not item.is_new:
            if prev_changed and prev is not None and item.energy_kwh is not None:
                delta = use(prev, item)
                energy = None if delta is None else delta * multiplier
                since = None if delta is None else prev.at_us
                if energy != item.energy_kwh or since != item.since_us:
                    result.updates.append((item.at_us, energy, since))
                item = Register(item.at_us, item.register_kwh, None, energy, since)
            prev, prev_changed, pending_baseline = item, False, False
            continue
        row = int(item.row)  # type: ignore[arg-type]
        if (
            last_decrease_us is not None
            and (prev is None or prev.at_us < last_decrease_us)
            and (last_decrease_us < item.at_us)
        ):
            pending_baseline = True
        if prev is None or pending_baseline:
            energy, since = None, None
        else:
            delta = use(prev, item)
            if delta is None:
                result.quarantined.append(_decrease(row, prev, item, "the previous reading"))
                pending_baseline = True
                if item.replaces_stored:
                    prev = originals[item.at_us]
                continue
            energy, since = delta * multiplier, prev.at_us
            if bool(too_powerful(energy, item.at_us - since, max_power_kw)):
                result.quarantined.append(
                    (
                        row,
                        codes.IMPLAUSIBLE_VALUE,
                        describe_power(energy, item.at_us - since, max_power_kw),
                        {
                            "previous_at_us": prev.at_us,
                            "previous_register_kwh": prev.register_kwh,
                            "energy_kwh": energy if math.isfinite(energy) else None,
                        },
                    )
                )
                if item.replaces_stored:
                    prev = originals[item.at_us]
                continue
        following = next_stored[index]
        if (
            following is not None
            and following.energy_kwh is not None
            and (use(item, following) is None)
        ):
            result.quarantined.append(_decrease(row, item, following, "the next stored reading"))
            if item.replaces_stored:
                prev = originals[item.at_us]
            continue
        result.accepted.append((row, energy, since))
        prev, prev_changed, pending_baseline = item, True, False
    return result


def _decrease(
    row: int, earlier: Register, later: Register, neighbour: str
) -> tuple[int, str, str, dict[str, Any]]:
    return (
        row,
        codes.REGISTER_DECREASE,
        f"register decreases against {neighbour} and register_max does not explain a rollover",
        {
            "earlier_at_us": earlier.at_us,
            "earlier_register_kwh": earlier.register_kwh,
            "later_at_us": later.at_us,
            "later_register_kwh": later.register_kwh,
        },
    )


@dataclass(frozen=True)
class MeterWalk:
    """What the walk of one meter needs besides its new readings: its stored neighbours
    (as for :func:`walk`), multiplier, register modulus [kWh] (None: no register maximum),
    the instant [µs] of its latest reading quarantined ``register_decrease`` (None: none)
    and its power ceiling [kW]."""

    stored: list[Register]
    multiplier: float
    modulus_kwh: float | None
    last_decrease_us: int | None
    max_power_kw: float


@dataclass
class BatchWalk:
    """Outcome of :func:`walk_meters`: accepted rows as arrays (``row`` labels,
    ``energy_kwh`` with NaN for a baseline, ``since_us`` meaningful where the energy is not
    NaN), in meter order and each meter's time order, and whether each is of a straight
    meter (nothing stored after it: its days only gain); quarantined rows and stored
    readings to update (``(meter_key, at_us, energy_kwh, since_us)``) of the meters walked
    one reading at a time."""

    rows: np.ndarray
    energy_kwh: np.ndarray
    since_us: np.ndarray
    quarantined: list[tuple[int, str, str, dict[str, Any]]]
    updates: list[tuple[int, int, float | None, int | None]]
    straight_meters: int = 0
    is_straight: np.ndarray | None = None  # per accepted row: of a straight meter


def straight_meters(
    starts: np.ndarray,
    at_us: np.ndarray,
    register_kwh: np.ndarray,
    replaces_stored: np.ndarray,
    meters: list[MeterWalk],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which meters of a batch are straight, and their use, computed over the whole batch.

    The batch holds each meter's new readings contiguously (meter ``i``'s rows from
    ``starts[i]`` on), ``at_us`` [µs] and ``register_kwh`` [kWh, before the multiplier].
    A meter is straight when its new readings are in strictly increasing time order, none
    replaces a stored reading, no stored reading lies at or after its first new reading, no
    register decrease quarantined earlier lies at or after its first new reading, and no
    reading decreases (no rollover either) or has an average power above the meter's
    ceiling over its span. Then :func:`walk` accepts every reading with the use since the
    one before it, and nothing else: the first reading is a baseline when the meter has no
    stored reading before it or a register decrease was quarantined after that one.

    Returns (per meter: straight; per row: energy [kWh, multiplier applied], NaN for a
    baseline; per row: the previous reading's instant [µs]). Rows of meters that are not
    straight carry meaningless values.
    """
    n, m = len(at_us), len(starts)
    counts = np.diff(np.append(starts, n))
    meter = np.repeat(np.arange(m), counts)
    has_previous = np.zeros(m, dtype=bool)
    previous_at = np.zeros(m, dtype=np.int64)
    previous_register = np.zeros(m, dtype=np.float64)
    later_stored = np.zeros(m, dtype=bool)
    decrease_at = np.full(m, np.iinfo(np.int64).min, dtype=np.int64)
    has_decrease = np.zeros(m, dtype=bool)
    multiplier = np.empty(m, dtype=np.float64)
    ceiling_kw = np.empty(m, dtype=np.float64)
    first_at = at_us[starts]
    for i, walk_of in enumerate(meters):
        first = int(first_at[i])
        for r in walk_of.stored:
            if r.at_us >= first:
                later_stored[i] = True
            elif not has_previous[i] or r.at_us > previous_at[i]:
                has_previous[i] = True
                previous_at[i] = r.at_us
                previous_register[i] = r.register_kwh
        if walk_of.last_decrease_us is not None:
            has_decrease[i] = True
            decrease_at[i] = walk_of.last_decrease_us
        multiplier[i] = walk_of.multiplier
        ceiling_kw[i] = walk_of.max_power_kw
    before_at = np.empty(n, dtype=np.int64)
    before_at[1:] = at_us[:-1]
    before_at[starts] = previous_at
    before_register = np.empty(n, dtype=np.float64)
    before_register[1:] = register_kwh[:-1]
    before_register[starts] = previous_register
    is_first = np.zeros(n, dtype=bool)
    is_first[starts] = True
    # walk: a decrease quarantined between the stored reading and the first new one makes
    # the first new reading a baseline; one at or after the first new reading is not
    # straight (it may fall between new readings).
    baseline_first = ~has_previous | (
        has_decrease & (previous_at < decrease_at) & (decrease_at < first_at)
    )
    baseline = is_first & baseline_first[meter]
    straight = ~later_stored & ~(has_decrease & (decrease_at >= first_at))
    use_kwh = register_kwh - before_register
    energy = use_kwh * multiplier[meter]
    span_us = at_us - before_at
    with np.errstate(invalid="ignore", over="ignore"):
        bad = replaces_stored | (~is_first & (span_us <= 0))
        bad |= ~baseline & ((use_kwh < 0) | too_powerful(energy, span_us, ceiling_kw[meter]))
    if n:
        straight &= ~np.logical_or.reduceat(bad, starts)
    energy[baseline] = np.nan
    return straight, energy, before_at


def walk_meters(
    keys: np.ndarray,
    rows: np.ndarray,
    at_us: np.ndarray,
    register_kwh: np.ndarray,
    replaces_stored: np.ndarray,
    meters: dict[int, MeterWalk],
    rollover_max_share: float = ROLLOVER_MAX_SHARE,
) -> BatchWalk:
    """Merge a batch of many meters' new register readings into their stored sequences:
    the same outcomes as :func:`walk` per meter, straight meters (:func:`straight_meters`)
    computed over the whole batch with NumPy, the others one reading at a time.

    ``keys`` (meter keys), ``rows`` (row labels), ``at_us`` [µs], ``register_kwh`` [kWh]
    and ``replaces_stored`` are per new reading, in any order; ``meters`` holds each
    meter's :class:`MeterWalk`.
    """
    order = np.lexsort((at_us, keys))
    keys, rows = keys[order], rows[order]
    at_us, register_kwh, replaces_stored = at_us[order], register_kwh[order], replaces_stored[order]
    n = len(keys)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if n else np.zeros(0, int)
    meter_keys = keys[starts]
    walks = [meters[int(k)] for k in meter_keys]
    if STRAIGHT_WALK:
        straight, energy, since = straight_meters(
            starts, at_us, register_kwh, replaces_stored, walks
        )
    else:
        straight = np.zeros(len(starts), dtype=bool)
        energy = np.full(n, np.nan)
        since = np.zeros(n, dtype=np.int64)
    counts = np.diff(np.append(starts, n))
    take = np.repeat(straight, counts)
    out_rows, out_energy, out_since = [rows[take]], [energy[take]], [since[take]]
    out_keys = [keys[take]]
    out_straight = [np.ones(int(take.sum()), dtype=bool)]
    quarantined: list[tuple[int, str, str, dict[str, Any]]] = []
    updates: list[tuple[int, int, float | None, int | None]] = []
    for i in np.flatnonzero(~straight):
        lo, hi = int(starts[i]), int(starts[i] + counts[i])
        w = walks[i]
        outcome = walk(
            w.stored,
            [
                Register(at_us=at, register_kwh=reg, row=row, replaces_stored=rep)
                for at, reg, row, rep in zip(
                    at_us[lo:hi].tolist(),
                    register_kwh[lo:hi].tolist(),
                    rows[lo:hi].tolist(),
                    replaces_stored[lo:hi].tolist(),
                    strict=True,
                )
            ],
            w.multiplier,
            w.modulus_kwh,
            w.last_decrease_us,
            rollover_max_share,
            w.max_power_kw,
        )
        if outcome.accepted:
            out_rows.append(np.array([a[0] for a in outcome.accepted], dtype=np.int64))
            out_energy.append(
                np.array([np.nan if a[1] is None else a[1] for a in outcome.accepted])
            )
            out_since.append(
                np.array([0 if a[2] is None else a[2] for a in outcome.accepted], dtype=np.int64)
            )
            out_keys.append(np.full(len(outcome.accepted), meter_keys[i]))
            out_straight.append(np.zeros(len(outcome.accepted), dtype=bool))
        quarantined.extend(outcome.quarantined)
        key = int(meter_keys[i])
        updates.extend((key, at, e, s) for at, e, s in outcome.updates)
    all_keys = np.concatenate(out_keys)
    by_meter = np.argsort(all_keys, kind="stable")  # each meter's rows in its path's order
    return BatchWalk(
        rows=np.concatenate(out_rows).astype(np.int64)[by_meter],
        energy_kwh=np.concatenate(out_energy).astype(np.float64)[by_meter],
        since_us=np.concatenate(out_since).astype(np.int64)[by_meter],
        quarantined=quarantined,
        updates=updates,
        straight_meters=int(straight.sum()),
        is_straight=np.concatenate(out_straight)[by_meter],
    )
