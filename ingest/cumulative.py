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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ingest import codes
from ingest.plausibility import describe_power, too_powerful

ROLLOVER_MAX_SHARE = 0.5


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
