"""Cumulative registers: use between readings, rollovers and the walk through stored readings."""

from __future__ import annotations

from ingest import codes
from ingest.cumulative import Register, register_use_kwh, walk


def test_register_use_rollover_only_when_explained() -> None:
    assert register_use_kwh(10.0, 15.0, None) == 5.0
    assert register_use_kwh(990.0, 5.0, 1000.0) == 15.0  # wrap past 1000
    assert register_use_kwh(990.0, 5.0, None) is None  # no register maximum
    assert register_use_kwh(300.0, 200.0, 1000.0) is None  # wrap would mean 900 used


def test_walk_decrease_quarantines_and_next_reading_is_baseline() -> None:
    stored = [Register(at_us=0, register_kwh=100.0, energy_kwh=None)]
    new = [
        Register(10, 110.0, row=0),
        Register(20, 50.0, row=1),  # decrease
        Register(30, 60.0, row=2),  # new baseline
        Register(40, 70.0, row=3),
    ]
    result = walk(stored, new, multiplier=2.0, modulus_kwh=None)
    assert [q[0] for q in result.quarantined] == [1]
    assert result.quarantined[0][1] == codes.REGISTER_DECREASE
    assert result.accepted == [(0, 20.0, 0), (2, None, None), (3, 20.0, 30)]


def test_walk_inserting_between_stored_readings_updates_the_next() -> None:
    stored = [Register(0, 100.0), Register(20, 130.0, energy_kwh=30.0, since_us=0)]
    result = walk(stored, [Register(10, 110.0, row=0)], multiplier=1.0, modulus_kwh=None)
    assert result.accepted == [(0, 10.0, 0)]
    assert result.updates == [(20, 20.0, 10)]
    too_high = walk(stored, [Register(10, 140.0, row=0)], multiplier=1.0, modulus_kwh=None)
    assert too_high.accepted == []
    assert too_high.quarantined[0][1] == codes.REGISTER_DECREASE


def test_walk_remembers_an_earlier_quarantined_decrease() -> None:
    stored = [Register(0, 100.0)]
    result = walk(stored, [Register(20, 150.0, row=0)], 1.0, None, last_decrease_us=10)
    assert result.accepted == [(0, None, None)]


def test_walk_checks_each_new_reading_against_the_next_stored_one_however_far() -> None:
    # Stored readings at 0 and 50; four new readings between them. Each new reading is
    # checked against the stored reading at 50, several positions ahead: the one at 40
    # (register 130 > 120 stored at 50) is a decrease against it, the others pass.
    stored = [
        Register(at_us=0, register_kwh=100.0, energy_kwh=None),
        Register(at_us=50, register_kwh=120.0, energy_kwh=20.0, since_us=0),
    ]
    new = [
        Register(10, 105.0, row=0),
        Register(20, 110.0, row=1),
        Register(30, 115.0, row=2),
        Register(40, 130.0, row=3),
    ]
    result = walk(stored, new, multiplier=1.0, modulus_kwh=None)
    assert [(q[0], q[1]) for q in result.quarantined] == [(3, codes.REGISTER_DECREASE)]
    assert "next stored reading" in result.quarantined[0][2]
    assert result.accepted == [(0, 5.0, 0), (1, 5.0, 10), (2, 5.0, 20)]
    # The stored reading at 50 now follows the one at 30: its use is 5 kWh since 30.
    assert result.updates == [(50, 5.0, 30)]


def test_walk_of_a_long_run_of_new_readings_after_the_last_stored_one() -> None:
    # A meter's month of hourly registers after its last stored reading: every new reading
    # accepted with the hour's use, nothing to update.
    stored = [Register(at_us=0, register_kwh=1000.0, energy_kwh=None)]
    hour = 3_600_000_000
    new = [Register(h * hour, 1000.0 + 2.5 * h, row=h - 1) for h in range(1, 745)]
    result = walk(stored, new, multiplier=1.0, modulus_kwh=None)
    assert result.quarantined == [] and result.updates == []
    assert len(result.accepted) == 744
    assert all(energy == 2.5 and since == (row) * hour for row, energy, since in result.accepted)
