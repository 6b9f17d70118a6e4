"""The batch walk of register meters (ingest.cumulative.walk_meters) against the walk one
reading at a time (ingest.cumulative.walk): the same outcome for every reading, over many
generated meters with the cases that leave the straight path (stored readings inside or
after the batch, decreases, rollovers, resets, power above the ceiling, repeated instants,
replaced readings, an earlier quarantined decrease) and those that keep it (first reading
ever, a stored reading before, gaps)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from ingest import codes, cumulative
from ingest.cumulative import MeterWalk, Register, walk, walk_meters
from ingest.loader import ingest_paths

HOUR_US = 3_600_000_000


def _meter_case(rng: np.random.Generator, key: int, first_row: int) -> dict[str, Any]:
    """One meter's stored neighbours, parameters and new readings, with random features."""
    kind = rng.choice(
        [
            "plain",
            "plain",
            "plain",
            "first_ever",
            "gap",
            "decrease",
            "rollover",
            "reset",
            "too_powerful",
            "duplicate",
            "stored_inside",
            "stored_after",
            "stored_at_new",
            "replace",
            "decrease_before",
            "decrease_inside",
            "unordered",
        ]
    )
    n = int(rng.integers(1, 30))
    start_us = int(rng.integers(0, 1000)) * HOUR_US
    steps = np.full(n, HOUR_US, dtype=np.int64)
    if kind == "gap":
        steps[rng.integers(0, n)] = int(rng.integers(2, 500)) * HOUR_US
    at = start_us + np.cumsum(steps)
    use = np.round(rng.uniform(0, 50, n), 2)
    if rng.random() < 0.1:
        use[rng.integers(0, n)] = 0.0  # no use in an hour
    base = float(np.round(rng.uniform(100, 5000), 2))
    register = np.round(base + np.cumsum(use), 2)
    modulus = None
    if kind in ("rollover", "decrease", "reset") or rng.random() < 0.2:
        modulus = float(register.max() + rng.choice([1.0, 50.0, 5000.0]))
    if kind in ("decrease", "rollover", "reset") and n > 1:
        i = int(rng.integers(1, n))
        if kind == "decrease":
            register[i:] -= float(rng.uniform(1, 80))
        elif kind == "reset":
            register[i:] -= register[i - 1]  # the register restarts from about 0
        else:  # past the modulus: a rollover when it is small against the range
            register[i:] = np.round(register[i:] + 40 - (modulus or 0), 2)
        register = np.maximum(register, 0.0)
    multiplier = float(rng.choice([1.0, 2.0, 40.0, 0.5, 0.1]))
    max_power_kw = float(rng.choice([math.inf, 100_000.0, 2_000.0]))
    if kind == "too_powerful" and n > 1:
        i = int(rng.integers(1, n))
        register[i:] += 1_000_000.0 / multiplier
        max_power_kw = 100_000.0
    stored: list[Register] = []
    if kind != "first_ever" and rng.random() < 0.85:
        before_at = int(at[0] - rng.integers(1, 48) * HOUR_US)
        previous = float(np.round(register[0] - rng.uniform(0, 30), 2))
        if rng.random() < 0.1:
            previous = float(register[0] + 5.0)  # the first new reading decreases
        stored.append(Register(before_at, max(previous, 0.0), energy_kwh=None))
    if kind == "stored_inside" and n > 2:
        i = int(rng.integers(1, n - 1))
        inside_at = int((at[i - 1] + at[i]) // 2)
        stored.append(Register(inside_at, float(register[i - 1] + 0.5), 1.0, None, int(at[0])))
    if kind == "stored_after":
        after_at = int(at[-1] + HOUR_US)
        value = float(register[-1] + rng.choice([3.0, -3.0]))
        stored.append(Register(after_at, value, energy_kwh=2.0, since_us=int(at[-1])))
    replaces = np.zeros(n, dtype=bool)
    if kind in ("stored_at_new", "replace"):
        i = int(rng.integers(0, n))
        stored.append(Register(int(at[i]), float(register[i] - 1.0), energy_kwh=1.0, since_us=0))
        replaces[i] = kind == "replace"
    last_decrease = None
    if kind == "decrease_before" and stored:
        last_decrease = int(stored[0].at_us + HOUR_US // 2)
        if last_decrease >= at[0]:
            last_decrease = int(at[0] - 1)
    elif kind == "decrease_inside" and n > 1:
        last_decrease = int(at[int(rng.integers(0, n))] + HOUR_US // 3)
    elif rng.random() < 0.1:
        last_decrease = int(at[0] - 1000 * HOUR_US)  # long before: no effect
    order = np.arange(n)
    if kind == "duplicate" and n > 1:
        i = int(rng.integers(1, n))
        at[i] = at[i - 1]
    if kind == "unordered" and n > 1:
        order = rng.permutation(n)
    rows = first_row + np.arange(n)
    return {
        "key": key,
        "walk": MeterWalk(stored, multiplier, modulus, last_decrease, max_power_kw),
        "at": at[order],
        "register": register[order],
        "replaces": replaces[order],
        "rows": rows,
    }


def _as_tuples(accepted: list[tuple[int, float | None, int | None]]) -> list[tuple]:
    return [(row, energy, since if energy is not None else None) for row, energy, since in accepted]


def _batch_tuples(result: cumulative.BatchWalk) -> list[tuple]:
    return [
        (int(r), None if math.isnan(e) else float(e), None if math.isnan(e) else int(s))
        for r, e, s in zip(result.rows, result.energy_kwh, result.since_us, strict=True)
    ]


@pytest.mark.parametrize("seed", range(40))
def test_batch_walk_gives_every_reading_the_outcome_of_the_walk(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cases, row = [], 0
    for key in rng.permutation(60) + 1:
        case = _meter_case(rng, int(key), row)
        cases.append(case)
        row += len(case["rows"])
    # The batch in an arbitrary order, as a file may send it.
    shuffle = rng.permutation(row)
    keys = np.concatenate([np.full(len(c["rows"]), c["key"]) for c in cases])[shuffle]
    result = walk_meters(
        keys.astype(np.int64),
        np.concatenate([c["rows"] for c in cases])[shuffle],
        np.concatenate([c["at"] for c in cases])[shuffle],
        np.concatenate([c["register"] for c in cases])[shuffle],
        np.concatenate([c["replaces"] for c in cases])[shuffle],
        {c["key"]: c["walk"] for c in cases},
    )
    # The walk of each meter gets its readings in the batch's order (of two readings at
    # one instant, the walk keeps the first it is given).
    place = np.empty(row, dtype=np.int64)
    place[shuffle] = np.arange(row)
    accepted, quarantined, updates = [], [], []
    for case in sorted(cases, key=lambda c: c["key"]):
        w = case["walk"]
        sent = np.argsort(place[case["rows"]])
        one = walk(
            w.stored,
            [
                Register(int(a), float(r), row=int(row), replaces_stored=bool(rep))
                for a, r, row, rep in zip(
                    case["at"][sent],
                    case["register"][sent],
                    case["rows"][sent],
                    case["replaces"][sent],
                    strict=True,
                )
            ],
            w.multiplier,
            w.modulus_kwh,
            w.last_decrease_us,
            max_power_kw=w.max_power_kw,
        )
        accepted += _as_tuples(one.accepted)
        quarantined += one.quarantined
        updates += [(case["key"], at, e, s) for at, e, s in one.updates]
    assert _batch_tuples(result) == accepted  # values bit for bit, the same order
    assert result.quarantined == quarantined  # codes, messages and details
    assert result.updates == updates
    # Both paths ran: straight meters and meters walked one reading at a time.
    assert 0 < result.straight_meters < len(cases)


def test_batch_walk_straight_cases_and_the_ones_that_leave_it() -> None:
    stored = [Register(0, 100.0)]
    hour = HOUR_US

    def run(new: list[tuple[int, float]], **kw: Any) -> cumulative.BatchWalk:
        meter = MeterWalk(
            kw.get("stored", stored), 2.0, kw.get("modulus"), kw.get("decrease"), 1_000.0
        )
        return walk_meters(
            np.full(len(new), 7, dtype=np.int64),
            np.arange(len(new), dtype=np.int64),
            np.array([a for a, _ in new], dtype=np.int64),
            np.array([r for _, r in new], dtype=np.float64),
            np.zeros(len(new), dtype=bool),
            {7: meter},
        )

    plain = run([(hour, 110.0), (2 * hour, 111.0), (30 * hour, 200.0)])
    assert plain.straight_meters == 1
    assert _batch_tuples(plain) == [(0, 20.0, 0), (1, 2.0, hour), (2, 178.0, 2 * hour)]
    first_ever = run([(hour, 110.0), (2 * hour, 111.0)], stored=[])
    assert first_ever.straight_meters == 1
    assert _batch_tuples(first_ever) == [(0, None, None), (1, 2.0, hour)]
    after_decrease = run([(hour, 110.0), (2 * hour, 111.0)], decrease=hour // 2)
    assert _batch_tuples(after_decrease) == [(0, None, None), (1, 2.0, hour)]
    # A decrease leaves the straight path and is quarantined by the walk.
    decrease = run([(hour, 110.0), (2 * hour, 105.0), (3 * hour, 106.0)])
    assert decrease.straight_meters == 0
    assert [q[1] for q in decrease.quarantined] == [codes.REGISTER_DECREASE]
    rollover = run([(hour, 990.0), (2 * hour, 5.0)], modulus=1000.0, stored=[Register(0, 980.0)])
    assert rollover.straight_meters == 0 and _batch_tuples(rollover)[1] == (1, 30.0, hour)
    # 600 kWh × 2 in an hour is 1,200 kW, above the 1,000 kW ceiling.
    too_powerful = run([(hour, 110.0), (2 * hour, 710.0), (3 * hour, 711.0)])
    assert too_powerful.straight_meters == 0
    assert [q[1] for q in too_powerful.quarantined] == [codes.IMPLAUSIBLE_VALUE]
    # The sequence goes on from the reading before: 601 kWh × 2 over two hours.
    assert _batch_tuples(too_powerful) == [(0, 20.0, 0), (2, 1202.0, hour)]
    assert run([]).rows.size == 0


# -- the same files loaded both ways into the real database --------------------------------

METERS = [
    # suffix, unit, multiplier, register_max, max_power_kw
    ("A", "kWh", 1.0, None, None),
    ("B", "kWh", 40.0, None, None),
    ("C", "kWh", 1.0, 999.99, None),  # wraps at 1000
    ("D", "kWh", 2.0, None, 50.0),  # a 50 kW ceiling
    ("E", "kWh", 1.0, None, None),
    ("F", "kWh", 1.0, None, None),
]
HISTORY = """meter_id,timestamp,value
{p}A,2024-03-01 00:00,100
{p}B,2024-03-01 00:00,10
{p}C,2024-03-01 00:00,900
{p}D,2024-03-01 00:00,10
{p}E,2024-03-01 00:00,10
{p}E,2024-03-01 06:00,20
{p}F,2024-03-01 00:00,50
{p}F,2024-03-01 05:00,40
"""
MONTH = """meter_id,timestamp,value
{p}A,2024-03-01 01:00,101.5
{p}A,2024-03-01 02:00,103
{p}A,2024-03-01 09:00,110
{p}B,2024-03-01 01:00,10.2
{p}B,2024-03-01 02:00,10.1
{p}B,2024-03-01 03:00,10.3
{p}C,2024-03-01 01:00,990
{p}C,2024-03-01 02:00,5
{p}C,2024-03-01 03:00,7
{p}D,2024-03-01 01:00,20
{p}D,2024-03-01 02:00,60
{p}D,2024-03-01 03:00,25
{p}E,2024-03-01 01:00,12
{p}E,2024-03-01 02:00,14
{p}F,2024-03-01 06:00,41
{p}F,2024-03-01 07:00,43
{p}G,2024-03-01 01:00,500
{p}G,2024-03-01 02:00,501
{p}G,2024-03-01 02:00,501
{p}G,2024-03-01 03:00,502
{p}H,2024-03-29 22:00,1000
{p}H,2024-03-30 23:30,1010
{p}H,2024-04-01 05:00,1033.3
{p}H,2024-04-03 00:00,1100
"""


def _register(conn: Any, prefix: str) -> None:
    conn.execute(
        "INSERT INTO building (building_id, name, district, building_type, floor_area_m2) "
        "VALUES (%s, %s, 'Dongcheng', 'office_government', 12000)",
        (f"B{prefix}", f"Building {prefix}"),
    )
    for suffix, unit, mult, reg_max, max_kw in [
        *METERS,
        ("G", "kWh", 1.0, None, None),
        ("H", "kWh", 3.0, None, None),  # spans over several local days and a clock change
    ]:
        conn.execute(
            "INSERT INTO meter (meter_id, building_id, energy_type, unit, reading_kind, "
            "multiplier, register_max, max_power_kw) "
            "VALUES (%s, %s, 'electricity', %s, 'cumulative', %s, %s, %s)",
            (f"{prefix}{suffix}", f"B{prefix}", unit, mult, reg_max, max_kw),
        )


def _outcome(db: Any, prefix: str) -> dict[str, list]:
    readings = db.query(
        "SELECT substr(m.meter_id, 2) AS meter, r.reading_at, r.value, r.energy_kwh, "
        "r.since_at, r.flags FROM reading r JOIN meter m USING (meter_key) "
        "WHERE m.meter_id LIKE %s ORDER BY 1, 2",
        (f"{prefix}%",),
    )
    quarantine = db.query(
        "SELECT line_number, substr(raw_row, 2) AS raw, reason_code, message, details "
        "FROM quarantine WHERE meter_id LIKE %s ORDER BY line_number",
        (f"{prefix}%",),
    )
    days = db.query(
        "SELECT substr(m.meter_id, 2) AS meter, d.day, d.energy_kwh, d.reading_count, "
        "d.covered_hours "
        "FROM meter_daily d JOIN meter m USING (meter_key) WHERE m.meter_id LIKE %s "
        "ORDER BY 1, 2",
        (f"{prefix}%",),
    )
    return {"readings": readings, "quarantine": quarantine, "days": days}


def _same(got: dict[str, list], expected: dict[str, list]) -> None:
    """Equal outcomes; meter-days' sums to 1e-12 relative (the straight meters' days are
    summed in the loader, the others in SQL, possibly in another order)."""
    assert got["readings"] == expected["readings"]
    assert got["quarantine"] == expected["quarantine"]
    assert len(got["days"]) == len(expected["days"])
    for a, b in zip(got["days"], expected["days"], strict=True):
        assert (a["meter"], a["day"], a["reading_count"]) == (
            b["meter"],
            b["day"],
            b["reading_count"],
        )
        assert a["energy_kwh"] == pytest.approx(b["energy_kwh"], rel=1e-12, abs=1e-12)
        assert a["covered_hours"] == pytest.approx(b["covered_hours"], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("timezone", ["Asia/Shanghai", "Europe/Berlin"])
def test_files_load_the_same_with_and_without_the_straight_walk(
    db: Any, write_file: Any, monkeypatch: pytest.MonkeyPatch, timezone: str
) -> None:
    settings = dataclasses.replace(db.settings, timezone_name=timezone)
    with db.connect() as conn:
        _register(conn, "S")  # loaded with the straight walk
        _register(conn, "W")  # loaded one reading at a time
        conn.commit()
    summaries = {}
    for prefix, straight in (("S", True), ("W", False)):
        monkeypatch.setattr(cumulative, "STRAIGHT_WALK", straight)
        history = write_file(HISTORY.format(p=prefix), f"history-{prefix}.csv")
        month = write_file(MONTH.format(p=prefix), f"month-{prefix}.csv")
        ingest_paths(settings, [history], trigger="test")
        summaries[prefix] = ingest_paths(settings, [month], trigger="test").to_dict()
    s, w = _outcome(db, "S"), _outcome(db, "W")
    _same(s, w)
    # History: 7 loaded, F's decrease quarantined; the month: 21 loaded, B's decrease and
    # D's 80 kW step quarantined, G's repeated line a duplicate.
    assert len(s["readings"]) == 7 + 21
    # H's use, 3 × 100 kWh, is all in the meter-days (a clock change does not lose any).
    h = [d for d in s["days"] if d["meter"] == "H"]
    assert sum(d["energy_kwh"] for d in h) == pytest.approx(300.0)
    assert len(h) == 6
    assert [q["reason_code"] for q in s["quarantine"]] == [
        "register_decrease",
        "register_decrease",
        "implausible_value",
    ]
    assert summaries["S"]["rows_duplicate"] == 1
    for key in ("rows_read", "rows_loaded", "rows_duplicate", "rows_quarantined"):
        assert summaries["S"][key] == summaries["W"][key]
