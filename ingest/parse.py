"""Parsing reading files (pure): text lines → raw batches of fields with line numbers.

A readings file is long-format CSV with a header: ``meter_id,timestamp,value[,unit]`` (any
column order; a few aliases accepted). Encoding (UTF-8 with or without BOM, GB18030) and
gzip are handled by :mod:`quota.textfiles`; the delimiter (comma or semicolon) is detected
from the header. Semicolon files may use a decimal comma in the value column.

Rows are split with pandas' C parser in batches (fast path) and, when a batch has something
that parser cannot line up with the physical lines (extra fields, stray quotes), line by line
with :mod:`csv` (same rules, slower). Blank lines are skipped and not counted.

Row rules: a row whose meter_id, timestamp or value field is empty (a whitespace-only
timestamp or value is a bad timestamp or value instead), or that has more non-empty fields
than the header, is ``malformed_row``; the optional unit may be missing or
empty (then the meter's unit applies); one trailing empty field is tolerated.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quota.textfiles import FileFormatError, normalise_header, sniff_delimiter

REQUIRED_COLUMNS = ("meter_id", "timestamp", "value")
OPTIONAL_COLUMNS = ("unit",)
HEADER_ALIASES = {
    "meter": "meter_id",
    "meter_code": "meter_id",
    "meterid": "meter_id",
    "time": "timestamp",
    "ts": "timestamp",
    "datetime": "timestamp",
    "reading_at": "timestamp",
    "reading": "value",
}


@dataclass(frozen=True)
class Layout:
    """Where the columns are in a file: delimiter, field count and column positions."""

    delimiter: str
    n_fields: int
    positions: dict[str, int]

    @property
    def has_unit(self) -> bool:
        return "unit" in self.positions


@dataclass
class RawBatch:
    """A batch of data rows as text fields (one array element per row).

    ``line_numbers`` are 1-based physical line numbers (the header is line 1); ``raw`` the
    line text as read (line ending included); ``value`` holds numbers when the whole
    batch's values parsed as plain numbers, else text; ``malformed`` marks rows that fail
    the field-count rules and ``malformed_message`` says why (``""`` for good rows).
    """

    line_numbers: np.ndarray
    raw: list[str]
    meter_id: np.ndarray
    timestamp: np.ndarray
    value: np.ndarray
    unit: np.ndarray
    malformed_message: np.ndarray
    delimiter: str = ","

    def __len__(self) -> int:
        return len(self.raw)

    def raw_text(self, row: int) -> str:
        """Row ``row`` as it was in the file, without its line ending."""
        return self.raw[row].rstrip("\r\n")

    def value_text(self, row: int) -> str:
        """The value field of row ``row`` as text."""
        value = self.value[row]
        return repr(float(value)) if isinstance(value, float) else str(value)

    @property
    def malformed(self) -> np.ndarray:
        return self.malformed_message != ""


def parse_header(line: str) -> Layout:
    """The layout of a file from its header line; raises ``FileFormatError`` when a required
    column is missing or a column is not one QuotaWatch knows."""
    delimiter = sniff_delimiter(line)
    names = normalise_header(next(csv.reader([line], delimiter=delimiter)))
    positions: dict[str, int] = {}
    for index, name in enumerate(names):
        canonical = HEADER_ALIASES.get(name, name)
        if canonical not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            raise FileFormatError(
                f"unknown column {name!r} in the header; expected meter_id,timestamp,value[,unit]"
            )
        if canonical in positions:
            raise FileFormatError(f"column {canonical!r} appears twice in the header")
        positions[canonical] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise FileFormatError(
            f"the header lacks {', '.join(missing)}; expected meter_id,timestamp,value[,unit]"
        )
    return Layout(delimiter=delimiter, n_fields=len(names), positions=positions)


def _malformed_messages(fields: dict[str, np.ndarray], extra: np.ndarray) -> np.ndarray:
    """Per row: why it is malformed, or ``""``."""
    messages = np.full(len(extra), "", dtype=object)
    too_many = extra != ""
    messages[too_many] = "more fields than the header"
    for name in reversed(REQUIRED_COLUMNS):
        empty = _is_empty(fields[name])
        messages[empty & ~too_many] = f"missing {name}"
    return messages


def _columns(frame_values: list[np.ndarray], layout: Layout) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
        if name in layout.positions:
            columns[name] = frame_values[layout.positions[name]]
    return columns


def _strip(values: np.ndarray) -> np.ndarray:
    codes, uniques = pd.factorize(values, sort=False)
    stripped = np.array([u.strip() for u in uniques], dtype=object)
    return stripped[codes] if len(stripped) else values.astype(object)


def _split_fast(text: str, n_lines: int, layout: Layout) -> list[np.ndarray] | None:
    """Fields with pandas' C parser, or None when it cannot line the rows up with the
    ``n_lines`` physical lines (a stray quote, more than one extra field).

    First try with the value column parsed as numbers by the C parser (with a decimal comma
    in semicolon files); any value that is not a plain number (empty, text, padded with
    spaces) makes that fail, and the column is read as text instead."""
    width = layout.n_fields + 1
    value_index = layout.positions["value"]
    common: dict[str, Any] = {
        "sep": layout.delimiter,
        "header": None,
        "names": list(range(width)),
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": False,
        "engine": "c",
    }
    frame = None
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype={i: (np.float64 if i == value_index else str) for i in range(width)},
            decimal="," if layout.delimiter == ";" else ".",
            **common,
        )
    except (pd.errors.ParserError, ValueError, TypeError):
        frame = None
    if frame is None:
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, **common)
        except (pd.errors.ParserError, ValueError):
            return None
    if len(frame) != n_lines:
        return None
    return [
        frame[i].to_numpy(dtype=np.float64 if frame[i].dtype.kind == "f" else object)
        for i in range(width)
    ]


def _split_slow(lines: list[str], layout: Layout) -> list[np.ndarray]:
    """Fields with the csv module, one physical line at a time."""
    width = layout.n_fields + 1
    out = [np.full(len(lines), "", dtype=object) for _ in range(width)]
    for row, line in enumerate(lines):
        fields = next(csv.reader([line], delimiter=layout.delimiter), [])
        for i, text in enumerate(fields[: layout.n_fields]):
            out[i][row] = text
        rest = "".join(f.strip() for f in fields[layout.n_fields :])
        out[layout.n_fields][row] = rest
    return out


def split_lines(lines: list[str], first_line_number: int, layout: Layout) -> RawBatch:
    """A :class:`RawBatch` from consecutive physical ``lines`` as read from the file (each
    ending in its newline, except perhaps the file's last), the first being line
    ``first_line_number``; blank lines are dropped."""
    text = "".join(lines)
    if lines and not lines[-1].endswith(("\n", "\r")):
        text += "\n"  # the last line of a file without a final newline
    values = _split_fast(text, len(lines), layout) if lines else None
    if values is None:
        values = _split_slow([line.rstrip("\r\n") for line in lines], layout)
    columns = _columns(values, layout)
    extra = values[layout.n_fields]
    if len(extra) and (extra != "").any():
        extra = _strip(extra)
    numbers = np.arange(first_line_number, first_line_number + len(lines), dtype=np.int64)
    # Blank (or whitespace-only) lines come back as rows of empty fields: not rows at all.
    rest_empty = np.ones(len(lines), dtype=bool)
    for column in values[1:]:
        rest_empty &= _is_empty(column)
    blank = rest_empty & _is_empty(values[0])
    for row in np.flatnonzero(rest_empty & ~blank):
        blank[row] = not lines[row].strip()
    keep = np.flatnonzero(~blank) if blank.any() else None

    def take(array: np.ndarray) -> np.ndarray:
        return array if keep is None else array[keep]

    meter_id = _strip(take(columns["meter_id"]))
    timestamp = take(columns["timestamp"])
    value = take(columns["value"])
    unit = (
        _strip(take(columns["unit"])) if "unit" in columns else np.full(len(meter_id), "", object)
    )
    fields = {"meter_id": meter_id, "timestamp": timestamp, "value": value}
    if value.dtype == object and layout.delimiter == ";" and len(value):
        value = pd.Series(value, dtype=object).str.replace(",", ".", regex=False).to_numpy(object)
    return RawBatch(
        line_numbers=take(numbers),
        raw=lines if keep is None else [lines[i] for i in keep],
        meter_id=meter_id,
        timestamp=timestamp,
        value=value,
        unit=unit,
        malformed_message=_malformed_messages(fields, take(extra)),
        delimiter=layout.delimiter,
    )


def _is_empty(column: np.ndarray) -> np.ndarray:
    if column.dtype.kind == "f":
        return np.zeros(len(column), dtype=bool)
    return column == ""


def iter_batches(stream: Iterable[str], batch_rows: int) -> Iterator[tuple[Layout, RawBatch]]:
    """Read the header from ``stream`` and yield its data rows in batches of about
    ``batch_rows`` physical lines."""
    iterator = iter(stream)
    header = next(iterator, "").rstrip("\r\n")
    if not header.strip():
        raise FileFormatError("the file is empty or has no header row")
    layout = parse_header(header)
    line_number = 2
    while True:
        lines = list(itertools.islice(iterator, batch_rows))
        if not lines:
            return
        batch = split_lines(lines, line_number, layout)
        line_number += len(lines)
        if len(batch):
            yield layout, batch


def parse_text(text: str, batch_rows: int = 100_000) -> list[RawBatch]:
    """All batches of an in-memory file text (for tests and small inputs)."""
    return [batch for _, batch in iter_batches(io.StringIO(text, newline=""), batch_rows)]
