"""Parsing bill files (pure): text → rows of text fields with their line numbers.

A bills file is CSV with a header holding ``account_id,period_start,period_end,value`` and
optionally ``unit`` and ``estimated`` (any column order, extra columns ignored). Encodings
(UTF-8 with or without BOM, GB18030) and gzip are handled by
:mod:`quota.registry.textfiles`, the delimiter (comma or semicolon) is taken from the header.
``quotawatch ingest`` and the inbox tell a bills file from a readings file by this header
(:func:`is_bills_header`).

Row rules: a row whose account_id, period_start, period_end or value field is empty, or that
has more non-empty fields than the header, is ``malformed_row``; missing trailing optional
fields are empty. Blank lines are skipped and not counted.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from quota.registry.textfiles import (
    FileFormatError,
    decode,
    normalise_header,
    read_bytes,
    sniff_delimiter,
)

REQUIRED_COLUMNS = ("account_id", "period_start", "period_end", "value")
OPTIONAL_COLUMNS = ("unit", "estimated")


def is_bills_header(header: list[str]) -> bool:
    """Whether a (normalised) header is that of a bills file."""
    return all(column in header for column in REQUIRED_COLUMNS)


def header_of(first_line: str) -> list[str]:
    """The normalised column names of a header line."""
    line = first_line.lstrip("\ufeff").rstrip("\r\n")
    if not line.strip():
        return []
    return normalise_header(next(csv.reader([line], delimiter=sniff_delimiter(line))))


def is_bills_file(path: Path) -> bool:
    """Whether the file's first line is a bills header (False when it cannot be read: the
    readings loader then reports why the file is unusable). Column names are ASCII, so
    the first line is read as UTF-8 ignoring anything else."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
        if path.suffix == ".gz" or head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                head = handle.read(4096)
    except (OSError, EOFError):
        return False
    first = head.split(b"\n", 1)[0]
    return is_bills_header(header_of(first.decode("utf-8-sig", errors="ignore")))


@dataclass(frozen=True)
class BillRows:
    """The data rows of a bills file as text fields (object arrays of ``str``, one entry
    per row; ``malformed`` rows have empty fields)."""

    line_number: np.ndarray  # int64, 1-based physical line (the header is line 1)
    raw: list[str]
    account_id: np.ndarray
    period_start: np.ndarray
    period_end: np.ndarray
    value: np.ndarray
    unit: np.ndarray
    estimated: np.ndarray
    malformed: np.ndarray  # bool
    encoding: str = ""

    def __len__(self) -> int:
        return len(self.line_number)


def parse_bills_text(text: str, encoding: str = "") -> BillRows:
    """Split a bills file's text into rows. Raises ``FileFormatError`` without a bills
    header."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise FileFormatError("the file is empty or has no header row")
    delimiter = sniff_delimiter(lines[0].lstrip("\ufeff"))
    header = header_of(lines[0])
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise FileFormatError(
            f"bills file lacks column(s) {', '.join(missing)}; expected header "
            f"{','.join(REQUIRED_COLUMNS)}[,{','.join(OPTIONAL_COLUMNS)}]"
        )
    position = {name: i for i, name in enumerate(header) if name}
    wanted = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    numbers: list[int] = []
    raws: list[str] = []
    fields_by_column: dict[str, list[str]] = {name: [] for name in wanted}
    malformed: list[bool] = []
    numbered = [(number, line) for number, line in enumerate(lines[1:], start=2) if line.strip()]
    # A line is a record: one reader over every line, unless a quote could make a record run
    # on to the next line (then each line is read on its own).
    texts = (line for _number, line in numbered)
    records: Any = (
        (next(csv.reader([line], delimiter=delimiter)) for line in texts)
        if '"' in text
        else csv.reader(texts, delimiter=delimiter)
    )
    records = list(records)
    width = len(header)
    if all(len(fields) == width for fields in records):  # the common case, column-wise
        return _columns(header, numbered, records, encoding)
    for (number, line), raw_fields in zip(numbered, records, strict=True):
        fields = [f.strip() for f in raw_fields]
        bad = len(fields) > len(header) and any(fields[len(header) :])
        for name in wanted:
            i = position.get(name)
            fields_by_column[name].append(fields[i] if i is not None and i < len(fields) else "")
        bad = bad or any(not fields_by_column[name][-1] for name in REQUIRED_COLUMNS)
        numbers.append(number)
        raws.append(line)
        malformed.append(bad)

    def column(name: str) -> np.ndarray:
        return np.array(fields_by_column[name], dtype=object)

    return BillRows(
        line_number=np.array(numbers, dtype=np.int64),
        raw=raws,
        account_id=column("account_id"),
        period_start=column("period_start"),
        period_end=column("period_end"),
        value=column("value"),
        unit=column("unit"),
        estimated=column("estimated"),
        malformed=np.array(malformed, dtype=bool),
        encoding=encoding,
    )


def _columns(
    header: list[str], numbered: list[tuple[int, str]], records: list[list[str]], encoding: str
) -> BillRows:
    """:func:`parse_bills_text` for rows that all have the header's number of fields: the
    same rows, taken a column at a time."""
    position = {name: i for i, name in enumerate(header) if name}
    by_column = list(zip(*records, strict=True)) if records else [() for _ in header]
    empty = np.full(len(records), "", dtype=object)

    def column(name: str) -> np.ndarray:
        i = position.get(name)
        if i is None:
            return empty.copy()
        return np.array([f.strip() for f in by_column[i]], dtype=object)

    columns = {name: column(name) for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
    malformed = np.zeros(len(records), dtype=bool)
    for name in REQUIRED_COLUMNS:
        malformed |= columns[name] == ""
    return BillRows(
        line_number=np.array([number for number, _line in numbered], dtype=np.int64),
        raw=[line for _number, line in numbered],
        account_id=columns["account_id"],
        period_start=columns["period_start"],
        period_end=columns["period_end"],
        value=columns["value"],
        unit=columns["unit"],
        estimated=columns["estimated"],
        malformed=malformed,
        encoding=encoding,
    )


def read_bills_file(path: Path) -> BillRows:
    """Decode and split a bills file (``FileFormatError`` when it cannot be used)."""
    text, encoding = decode(read_bytes(path), path.name)
    return parse_bills_text(text, encoding)
