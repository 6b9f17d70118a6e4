"""Parsing reading files: headers, rows, line numbers, batches and exact texts."""

from __future__ import annotations

import numpy as np
import pytest

from ingest import parse
from ingest.parse import TextColumn, parse_header, parse_text
from quota.registry.textfiles import FileFormatError


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


@pytest.mark.parametrize("small_block_lines", [0, parse.SMALL_BLOCK_LINES])
def test_texts_pandas_would_read_as_other_types_stay_exact_in_every_batch(
    monkeypatch: pytest.MonkeyPatch, small_block_lines: int
) -> None:
    # Text columns of large blocks are read as categories; where pandas makes the
    # categories numbers or booleans (a block of numeric-looking ids), the block is read
    # again as plain text. Small blocks are read as plain text from the start; both exact.
    monkeypatch.setattr(parse, "SMALL_BLOCK_LINES", small_block_lines)
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
