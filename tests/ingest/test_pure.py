"""Pure parts of ingest, tested on in-memory strings and tiny arrays (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from ingest import codes
from ingest.cumulative import Register, register_use_kwh, walk
from ingest.flags import DEFAULTS, compute_flags
from ingest.parse import TextColumn, parse_header, parse_text
from ingest.rollups import daily_increments
from ingest.timestamps import TimestampError, parse_timestamp, to_epoch_us
from ingest.validate import MeterInfo, Registry, validate_batch
from quota.registry.textfiles import FileFormatError

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def us(*args: int, tz: ZoneInfo = UTC) -> int:  # type: ignore[assignment]
    return to_epoch_us(datetime(*args, tzinfo=tz))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01 08:00", us(2024, 1, 1, 0)),
        ("2024-01-01T08:00:00", us(2024, 1, 1, 0)),
        ("2024-01-01T08:00:00.5", us(2024, 1, 1, 0) + 500_000),
        ("2024-01-01 00:00+00:00", us(2024, 1, 1, 0)),
        ("2024-01-01T00:00:00Z", us(2024, 1, 1, 0)),
        ("2024-01-01T09:00:00+0900", us(2024, 1, 1, 0)),
        ("2023-12-31T19:00:00-05", us(2024, 1, 1, 0)),
        ("2024/1/1 8:00", us(2024, 1, 1, 0)),
        ("2024/01/01 08:00:30", us(2024, 1, 1, 0) + 30_000_000),
    ],
)
def test_timestamp_forms_offsets_and_local_time(text: str, expected: int) -> None:
    assert parse_timestamp(text, SHANGHAI) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2024-03-31 02:30", "does not exist"),  # skipped hour in Berlin
        ("2024-10-27 02:30", "ambiguous"),  # repeated hour in Berlin
        ("01.03.2024 10:00", "not an ISO 8601"),
        ("2024-02-30 10:00", "day is out of range"),
        ("2024-01-01 10:00+25:00", "out of range"),
    ],
)
def test_bad_timestamps_are_rejected_not_guessed(text: str, why: str) -> None:
    with pytest.raises(TimestampError, match=why):
        parse_timestamp(text, BERLIN)


def test_dst_local_time_with_offset_is_fine() -> None:
    assert parse_timestamp("2024-10-27 02:30+01:00", BERLIN) == us(2024, 10, 27, 1, 30)


def test_header_aliases_order_and_errors() -> None:
    layout = parse_header("Value;Time;Meter")
    assert layout.delimiter == ";"
    assert layout.positions == {"value": 0, "timestamp": 1, "meter_id": 2}
    with pytest.raises(FileFormatError, match="lacks value"):
        parse_header("meter_id,timestamp")
    # Extra columns are ignored (README: "Extra columns are ignored").
    extra = parse_header("meter_id,quality,timestamp,value,note")
    assert extra.positions == {"meter_id": 0, "timestamp": 2, "value": 3}
    with pytest.raises(FileFormatError, match="unknown column 'when' ignored"):
        parse_header("meter_id,when,value")
    with pytest.raises(FileFormatError, match="appears twice"):
        parse_header("meter_id,timestamp,value,ts")


def test_rows_line_numbers_blank_lines_and_malformed() -> None:
    text = (
        "meter_id,timestamp,value\nE1,2024-01-01 00:00,1\n\n"
        '"E,2",2024-01-01 01:00,2\nE1,x\nE1,a,1,2,3\n'
    )
    [batch] = parse_text(text)
    assert batch.line_numbers.tolist() == [2, 4, 5, 6]
    assert batch.meter_id.tolist() == ["E1", "E,2", "E1", "E1"]
    assert batch.malformed_message.tolist() == [
        "",
        "",
        "missing value",
        "more fields than the header",
    ]
    assert batch.raw_text(1) == '"E,2",2024-01-01 01:00,2'


def test_semicolon_file_decimal_comma() -> None:
    [batch] = parse_text("meter_id;timestamp;value\nE1;2024-01-01 00:00;1,25\n")
    assert batch.value.tolist() == [1.25]
    [batch] = parse_text("meter_id;timestamp;value\nE1;2024-01-01 00:00;1,25\nE1;x;?\n")
    assert batch.value.tolist() == ["1.25", "?"]


REGISTRY = Registry(
    {
        "E1": MeterInfo(1, "E1", "B1", "electricity", "kWh", multiplier=40.0),
        "G1": MeterInfo(2, "G1", "B1", "natural_gas", "m3", "cumulative", 1.0, 999.0),  # 0…999
    },
    natural_gas_kwh_per_m3=10.0,
)


def test_validation_reasons_in_order_and_units() -> None:
    text = (
        "meter_id,timestamp,value,unit\n"
        "E1,2024-01-01 00:00,1,MWh\n"
        "G1,2024-01-01 00:00,12.5,m³\n"
        "X9,bad,bad,bad\n"  # unknown meter wins over everything after it
        "E1,bad,-1,\n"  # bad timestamp before value checks
        "E1,2024-01-01 01:00,-1,m3\n"  # negative before unit
        "E1,2024-01-01 01:00,1,furlong\n"
        "G1,2024-01-01 02:00,1000,\n"  # above the largest value the register shows
    )
    [batch] = parse_text(text)
    now = us(2025, 1, 1)
    good, rejects = validate_batch(batch, REGISTRY, SHANGHAI, now)
    assert good["unit"].tolist() == ["MWh", "m3"]
    assert good["kwh_per_unit"].tolist() == [1000.0, 10.0]
    assert good["multiplier"].tolist() == [40.0, 1.0]
    assert rejects["reason_code"].tolist() == [
        codes.UNKNOWN_METER,
        codes.BAD_TIMESTAMP,
        codes.NEGATIVE_VALUE,
        codes.BAD_UNIT,
        codes.ABOVE_REGISTER_MAX,
    ]


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


def test_flags_zero_run_and_spike() -> None:
    n = 72
    keys = np.ones(n, dtype=np.int64)
    times = np.arange(n, dtype=np.int64) * 3_600_000_000
    energy = np.full(n, 2.0)
    energy[10:36] = 0.0  # 26 hours of zeros
    energy[40] = 500.0
    minutes = np.full(n, 60)
    flags, records = compute_flags(keys, times, energy, minutes, dict(DEFAULTS))
    assert (flags[10:36] & codes.FLAG_ZERO_RUN).all()
    assert not (flags[:10] & codes.FLAG_ZERO_RUN).any()
    assert flags[40] & codes.FLAG_SPIKE
    assert [r.flag_code for r in records] == ["zero_run", "spike"]
    assert records[0].end_us - records[0].start_us == 26 * 3_600_000_000


@pytest.mark.parametrize("sorted_by_meter", [True, False])
def test_spikes_are_those_above_ratio_times_the_meters_median(sorted_by_meter: bool) -> None:
    # Meters with steady use, with spikes, with a few readings only, with zeros.
    rng = np.random.default_rng(11)
    keys = np.repeat(np.arange(1, 9), 40)
    times = np.tile(np.arange(40, dtype=np.int64) * 3_600_000_000, 8)
    energy = rng.uniform(1, 3, len(keys))
    energy[keys == 2] *= rng.choice([1, 30], size=40, p=[0.9, 0.1])
    energy[(keys == 3) & (times > 30 * 3_600_000_000)] = 0.0
    energy[keys == 4] = np.where(rng.random(40) < 0.5, 0.0, 1.0)
    energy[np.flatnonzero(keys == 4)[-1]] = 50.0
    energy[(keys == 5) & (times > 20 * 3_600_000_000)] = 0.0  # too few readings for a level
    energy[np.flatnonzero(keys == 5)[3]] = 90.0
    if not sorted_by_meter:
        order = rng.permutation(len(keys))
        keys, times, energy = keys[order], times[order], energy[order]
    flags, records = compute_flags(keys, times, energy, np.full(len(keys), 60), dict(DEFAULTS))
    frame = pd.DataFrame({"k": keys, "e": energy})
    positive = frame[frame["e"] > 0].groupby("k")["e"].agg(["median", "size"])
    level = positive["median"].where(positive["size"] >= DEFAULTS["spike_min_readings"])
    expected = energy > DEFAULTS["spike_ratio"] * level.reindex(keys).to_numpy()
    assert expected.sum() >= 3
    assert ((flags & codes.FLAG_SPIKE) != 0).tolist() == expected.tolist()
    assert sum(r.flag_code == "spike" for r in records) == expected.sum()


@pytest.mark.parametrize(
    "text",
    [
        "meter_id,timestamp,value\n" + "".join(f"E{i},2024-01-01 00:00,{i}\n" for i in range(50)),
        # \r\n and lone \r line ends, blank lines, no final newline
        "meter_id,timestamp,value\r\n"
        + "".join(f"E{i},2024-01-01 00:00,{i}\r\n" for i in range(20))
        + "\r\nE98,2024-01-01 00:00,1\rE99,2024-01-01 00:00,2",
        # a line far longer than a block, quoted fields, malformed rows
        "meter_id,timestamp,value\nE1,2024-01-01 00:00," + "9" * 5000 + "\n"
        '"E,2",2024-01-01 01:00,2\nE3,x\n' + "".join(f"E{i},x,1\n" for i in range(30)),
    ],
)
def test_batches_of_any_size_give_the_rows_of_one_batch(text: str) -> None:
    whole = parse_text(text, batch_rows=1_000_000)
    assert len(whole) == 1
    for batch_rows in (1, 2, 3, 7):
        batches = parse_text(text, batch_rows=batch_rows)
        assert len(batches) > 1
        rows = [
            (int(b.line_numbers[i]), b.raw_text(i), b.meter_id[i], str(b.value[i]))
            for b in batches
            for i in range(len(b))
        ]
        expected = [
            (int(whole[0].line_numbers[i]), whole[0].raw_text(i), whole[0].meter_id[i])
            for i in range(len(whole[0]))
        ]
        assert [r[:3] for r in rows] == expected


def test_numeric_looking_meter_ids_stay_text() -> None:
    for text in (
        "meter_id,timestamp,value\n0042,2024-01-01 00:00,1\n1001,2024-01-01 00:00,2\n",
        "meter_id;timestamp;value\n0042;2024-01-01 00:00;1,5\n1001;2024-01-01 00:00;x\n",
    ):
        [batch] = parse_text(text)
        assert batch.meter_id.tolist() == ["0042", "1001"]


def test_texts_pandas_would_read_as_other_types_stay_exact_in_every_batch() -> None:
    # Text columns are read as categories; where pandas makes the categories numbers or
    # booleans (a block of numeric-looking ids), the block is read again as plain text.
    sent = [("E1", "kWh"), ("E2", "kWh"), ("0042", "1"), ("42", "1.0"), ("True", "kWh")]
    sent += [("False", "kWh"), ("1e5", "kWh"), ("E1", " kWh ")]
    text = "meter_id,timestamp,value,unit\n" + "".join(
        f"{m},2024-01-01 0{h}:00,1,{u}\n" for h, (m, u) in enumerate(sent)
    )
    batches = parse_text(text, batch_rows=2)
    assert len(batches) >= 3
    rows = [(b.meter_id[i], b.unit[i]) for b in batches for i in range(len(b))]
    assert rows == [
        ("E1", "kWh"),
        ("E2", "kWh"),
        ("0042", "1"),
        ("42", "1.0"),
        ("True", "kWh"),
        ("False", "kWh"),
        ("1e5", "kWh"),
        ("E1", "kWh"),
    ]


def test_text_column_codes_distinct_texts_once() -> None:
    column = TextColumn.of(np.array([" a", "b", " a", "a", ""], dtype=object))
    assert len(column.texts) == 4
    stripped = column.map(str.strip)
    assert stripped.tolist() == ["a", "b", "a", "a", ""]
    assert len(stripped.texts) == 3
    assert stripped.is_empty().tolist() == [False, False, False, False, True]
    assert stripped[np.array([1, 3])].tolist() == ["b", "a"]
    assert stripped[4] == ""
    assert TextColumn.constant("kWh", 3).tolist() == ["kWh"] * 3


@pytest.mark.parametrize("shuffled", [False, True])
def test_daily_increments_sum_each_meter_day(shuffled: bool) -> None:
    rng = np.random.default_rng(3)
    keys = np.repeat(np.array([2, 5, 9]), 60)
    # Hourly from 22:00 local on 31 December: the first two hours are in the old year.
    times = np.tile(us(2024, 12, 31, 14) + np.arange(60) * 3_600_000_000, 3)
    energy = rng.uniform(0, 5, len(keys))
    minutes = np.where(keys == 9, 30, 60)
    if shuffled:
        order = rng.permutation(len(keys))
        keys, times, energy, minutes = keys[order], times[order], energy[order], minutes[order]
    got = daily_increments(keys, times, energy, minutes, SHANGHAI)
    local_day = [datetime.fromtimestamp(t / 1e6, SHANGHAI).date().toordinal() for t in times]
    expected = (
        pd.DataFrame(
            {"meter_key": keys, "day": local_day, "energy_kwh": energy, "minutes": minutes}
        )
        .groupby(["meter_key", "day"], as_index=False)
        .agg(
            energy_kwh=("energy_kwh", "sum"),
            reading_count=("energy_kwh", "size"),
            covered_hours=("minutes", lambda m: m.sum() / 60),
        )
    )
    got = got.sort_values(["meter_key", "day"]).reset_index(drop=True)
    assert got[["meter_key", "day", "reading_count"]].values.tolist() == (
        expected[["meter_key", "day", "reading_count"]].values.tolist()
    )
    assert got["energy_kwh"].to_numpy() == pytest.approx(expected["energy_kwh"].to_numpy())
    assert got["covered_hours"].to_numpy() == pytest.approx(expected["covered_hours"].to_numpy())
    assert got["reading_count"].tolist()[:3] == [2, 24, 24]


def test_digests_are_computed_ahead_and_match_the_files(tmp_path) -> None:
    import hashlib

    from ingest.files import Digests

    paths = []
    for i in range(3):
        path = tmp_path / f"r{i}.csv"
        path.write_bytes(b"meter_id,timestamp,value\n" * (i + 1) * 50_000)
        paths.append(path)
    gone = tmp_path / "gone.csv"
    digests = Digests([*paths, gone])
    for path in paths:
        assert digests.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    later = tmp_path / "later.csv"
    later.write_text("x")
    assert digests.sha256(later) == hashlib.sha256(b"x").hexdigest()
    with pytest.raises(OSError):
        digests.sha256(gone)


def test_copy_rows_as_one_array_are_the_same_bytes() -> None:
    from ingest import copybin

    n = 5
    columns = [
        copybin.Column("int4", np.arange(n)),
        copybin.Column("timestamptz", np.arange(n) * 3_600_000_000),
        copybin.Column("float8", np.linspace(0, 1, n), np.ones(n, dtype=bool)),
        copybin.Column("text", np.array(["kWh"] * n, dtype=object)),
    ]
    array = copybin.rows_array(columns)
    assert array is not None
    assert array.tobytes() == copybin.rows_bytes(columns)
    assert array[2:].tobytes() == copybin.rows_bytes(
        [
            copybin.Column(c.kind, c.values[2:], None if c.null is None else c.null[2:])
            for c in columns
        ]
    )
    # Rows of another shape (a NULL here) are not one array.
    columns[2] = copybin.Column("float8", np.linspace(0, 1, n), np.arange(n) == 1)
    assert copybin.rows_array(columns) is None
    assert copybin.rows_array([copybin.Column("int4", np.zeros(0))]) is None
