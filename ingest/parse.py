"""Parsing reading files (pure): text lines → raw batches of fields with line numbers.

A readings file is long-format CSV with a header: ``meter_id,timestamp,value[,unit]`` (any
column order; a few aliases accepted). Encoding (UTF-8 with or without BOM, GB18030) and
gzip are handled by :mod:`quota.registry.textfiles`; the delimiter (comma or semicolon) is detected
from the header. Semicolon files may use a decimal comma in the value column.

The file is read in blocks of about ``batch_rows`` lines (cut at a line end), each split by
pandas' C parser (fast path). Every column but the value is text, kept as a
:class:`TextColumn` (per row a code into the block's distinct texts): the parser reads them
as categories, which decodes each distinct text once; where pandas makes the categories
numbers or booleans (meter id ``0042`` would become 42), that column is read as plain text,
in this block and the rest of the file. When a block has something the parser cannot line
up with the physical lines (more than one extra field, stray quotes), it is split line by
line with :mod:`csv` (same rules, slower). Blank lines are skipped and not counted. A row's
raw text is cut from the block only when asked for (quarantined rows).

Header: columns QuotaWatch does not know (a ``note``, say) are ignored; a known column may
appear once.

Row rules: a row whose meter_id, timestamp or value field is empty (a whitespace-only
timestamp or value is a bad timestamp or value instead), that has more non-empty fields
than the header, or whose fields hold a NUL byte or are longer than
:data:`MAX_FIELD_CHARS`, is ``malformed_row``; the optional unit may be missing or empty
(then the meter's unit applies); trailing empty fields are tolerated. A row of delimiters
only (``,,,``) is a row (malformed), not a blank line. These checks are made once per
distinct text of a column, like every other text check.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import pandas as pd

from quota.registry.textfiles import FileFormatError, normalise_header, sniff_delimiter

REQUIRED_COLUMNS = ("meter_id", "timestamp", "value")
# No meter id, timestamp, value or unit is longer than this; a longer field is a broken row
# (and would not fit a database index) [characters].
MAX_FIELD_CHARS = 200
OPTIONAL_COLUMNS = ("unit",)
# Blocks of at most this many lines read their text columns as plain text, coded here, not
# as pandas categories: a building's year has 8,760 distinct timestamps, and pandas'
# category set-up costs ≈ 1 µs a category (36 → 14 ms for such a file); categories pay off
# in large blocks with few distinct texts (1,000 meters and 100 hours in 100,000 lines).
SMALL_BLOCK_LINES = 20_000
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


@dataclass(frozen=True)
class TextColumn:
    """A text column of a batch: per row an index (``codes``) into the distinct texts
    (``texts``, an object array of ``str``). A batch of 100,000 hourly rows of 1,000 meters
    has 1,000 distinct meter ids and about 100 timestamps, so work on texts (stripping,
    registry and timestamp look-ups) is done once per distinct text."""

    codes: np.ndarray
    texts: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> TextColumn:
        """The column of an object array of ``str``."""
        codes, texts = pd.factorize(np.asarray(values, dtype=object), sort=False)
        return cls(codes.astype(np.intp), np.asarray(texts, dtype=object))

    @classmethod
    def constant(cls, text: str, n: int) -> TextColumn:
        """``n`` rows of ``text``."""
        return cls(np.zeros(n, dtype=np.intp), np.array([text], dtype=object))

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, index: int | np.integer) -> str: ...
    @overload
    def __getitem__(self, index: np.ndarray | slice) -> TextColumn: ...
    def __getitem__(self, index: Any) -> str | TextColumn:
        if isinstance(index, int | np.integer):
            return str(self.texts[self.codes[index]])
        return TextColumn(self.codes[index], self.texts)

    def to_numpy(self) -> np.ndarray:
        """The rows' texts as an object array."""
        return self.texts[self.codes] if len(self.texts) else np.zeros(len(self), dtype=object)

    def tolist(self) -> list[str]:
        return self.to_numpy().tolist()

    def is_empty(self) -> np.ndarray:
        """Per row: whether its text is ``""``."""
        return (self.texts == "")[self.codes] if len(self.texts) else np.zeros(len(self), bool)

    def map(self, function: Callable[[str], str]) -> TextColumn:
        """The column with ``function`` applied to every distinct text (texts that become
        equal share one code)."""
        mapped = np.array([function(t) for t in self.texts], dtype=object)
        codes, texts = pd.factorize(mapped, sort=False)
        if len(texts) == len(mapped):
            return TextColumn(self.codes, mapped)
        return TextColumn(codes.astype(np.intp)[self.codes], np.asarray(texts, dtype=object))


@dataclass
class RawBatch:
    """A batch of data rows as text fields.

    ``line_numbers`` are 1-based physical line numbers (the header is line 1); ``lines``
    the block's physical lines as read (line endings included; the first is line
    ``first_line_number``), or a callable giving them (split on first use); ``n_lines``
    the block's physical lines, blank ones included; ``value`` holds numbers when the whole
    batch's values parsed as plain numbers, else text; ``malformed`` marks rows that fail
    the field-count rules and ``malformed_message`` says why (``""`` for good rows).
    """

    line_numbers: np.ndarray
    lines: list[str] | Callable[[], list[str]]
    first_line_number: int
    n_lines: int
    meter_id: TextColumn
    timestamp: TextColumn
    value: np.ndarray
    unit: TextColumn
    malformed: np.ndarray
    malformed_message: np.ndarray
    delimiter: str = ","

    def __len__(self) -> int:
        return len(self.line_numbers)

    def raw_text(self, row: int) -> str:
        """Row ``row`` as it was in the file, without its line ending."""
        if callable(self.lines):
            self.lines = self.lines()
        return self.lines[int(self.line_numbers[row]) - self.first_line_number].rstrip("\r\n")

    def value_text(self, row: int) -> str:
        """The value field of row ``row`` as text."""
        value = self.value[row]
        return repr(float(value)) if isinstance(value, float) else str(value)


def parse_header(line: str) -> Layout:
    """The layout of a file from its header line; raises ``FileFormatError`` when a required
    column is missing or a known column appears twice (other columns are ignored)."""
    delimiter = sniff_delimiter(line)
    names = normalise_header(next(csv.reader([line], delimiter=delimiter)))
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for index, name in enumerate(names):
        canonical = HEADER_ALIASES.get(name, name)
        if canonical not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            unknown.append(name)  # extra columns (a note, a gateway's own fields) are ignored
            continue
        if canonical in positions:
            raise FileFormatError(f"column {canonical!r} appears twice in the header")
        positions[canonical] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        ignored = f" (unknown column {', '.join(map(repr, unknown))} ignored)" if unknown else ""
        raise FileFormatError(
            f"the header lacks {', '.join(missing)}{ignored}; "
            "expected meter_id,timestamp,value[,unit]"
        )
    return Layout(delimiter=delimiter, n_fields=len(names), positions=positions)


def _malformed(
    fields: dict[str, Any], too_many: np.ndarray, unusable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(per row whether it is malformed, and why: ``""`` for good rows). ``unusable``: per
    row the message of a field with a NUL byte or too long (``""`` if none)."""
    empty = {name: _is_empty(fields[name]) for name in REQUIRED_COLUMNS}
    bad_text = unusable != ""
    malformed = too_many | bad_text
    for mask in empty.values():
        malformed |= mask
    messages = np.full(len(too_many), "", dtype=object)
    if malformed.any():
        messages[too_many] = "more fields than the header"
        for name in reversed(REQUIRED_COLUMNS):
            messages[empty[name] & ~too_many] = f"missing {name}"
        messages[bad_text] = unusable[bad_text]
    return malformed, messages


def _unusable_text(text: str) -> str:
    """Why a field's text cannot be a reading's field (``""`` when it can)."""
    if "\x00" in text:
        return "the row holds a NUL byte"
    if len(text) > MAX_FIELD_CHARS:
        return f"a field is longer than {MAX_FIELD_CHARS} characters"
    return ""


def _all_usable(texts: np.ndarray) -> bool:
    """Whether no text of ``texts`` (distinct ``str``) holds a NUL byte or is longer than
    :data:`MAX_FIELD_CHARS` (one pass in C instead of a Python call per text)."""
    values = texts.tolist()
    longest = max(map(len, values), default=0)
    return longest <= MAX_FIELD_CHARS and "\x00" not in "".join(values)


def _unusable(columns: list[TextColumn | np.ndarray], n: int) -> np.ndarray:
    """Per row the message of its first field with a NUL byte or longer than
    :data:`MAX_FIELD_CHARS` (``""`` if none); text columns are checked per distinct text."""
    out = np.full(n, "", dtype=object)
    for column in columns:
        if isinstance(column, TextColumn):
            if not len(column.texts) or _all_usable(column.texts):
                continue
            why = np.array([_unusable_text(str(t)) for t in column.texts], dtype=object)
            if (why == "").all():
                continue
            per_row = why[column.codes]
        elif column.dtype == object:  # value texts (mostly distinct): pandas' string loops
            texts = pd.Series(column, dtype=object).astype(str)
            hit = (
                texts.str.contains("\x00", regex=False) | (texts.str.len() > MAX_FIELD_CHARS)
            ).to_numpy(dtype=bool)
            if not hit.any():
                continue
            per_row = np.full(n, "", dtype=object)
            per_row[hit] = [_unusable_text(t) for t in texts[hit]]
        else:
            continue  # numbers
        take = (out == "") & (per_row != "")
        out[take] = per_row[take]
    return out


def _columns(frame_values: list[Any], layout: Layout) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
        if name in layout.positions:
            columns[name] = frame_values[layout.positions[name]]
    return columns


class _InexactCategoriesError(Exception):
    """pandas gave a text column's categories a type (numbers, booleans): the texts are not
    exact ('0042' became 42), so the block is read again with those columns as plain text."""


def _split_fast(
    text: str, n_lines: int, layout: Layout, plain: set[int]
) -> list[TextColumn | np.ndarray] | None:
    """Fields with pandas' C parser, or None when it cannot line the rows up with the
    ``n_lines`` physical lines (a stray quote, more than one extra field).

    Text columns are read as categories (each distinct text decoded once, rows as codes),
    except those in ``plain``, read as text and coded here; a column whose categories pandas
    inferred as another type (all numbers, say) is added to ``plain`` and the block read
    again. The value column is first parsed as numbers by the C parser (with a decimal comma
    in semicolon files); any value that is not a plain number (empty, text, padded with
    spaces) makes that fail, and the column is read as text instead."""
    width = max(layout.n_fields + 1, _first_line_fields(text, layout.delimiter))
    value_index = layout.positions["value"]
    data = text.encode("utf-8")
    common: dict[str, Any] = {
        "sep": layout.delimiter,
        "header": None,
        "names": list(range(width)),
        "keep_default_na": False,
        "na_filter": False,
        "skip_blank_lines": False,
        "index_col": False,  # never take surplus leading fields as an index
        "engine": "c",
        "encoding": "utf-8",
    }
    texts = {i: (object if i in plain else "category") for i in range(width) if i != value_index}
    frame = None
    for value_type in (np.float64, object):
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                dtype={**texts, value_index: value_type},
                decimal="," if layout.delimiter == ";" and value_type is np.float64 else ".",
                **common,
            )
            break
        except (pd.errors.ParserError, ValueError, TypeError):
            if value_type is object:
                return None
    if frame is None or len(frame) != n_lines:
        return None
    inexact = {
        i
        for i in range(width)
        if i != value_index and i not in plain and not _exact_texts(frame[i].array.categories)
    }
    if inexact:
        plain |= inexact
        raise _InexactCategoriesError
    columns: list[TextColumn | np.ndarray] = []
    for i in range(width):
        if i == value_index:
            column = frame[i].to_numpy(dtype=np.float64 if frame[i].dtype.kind == "f" else object)
            columns.append(column)
        elif i in plain:
            columns.append(TextColumn.of(frame[i].to_numpy(dtype=object)))
        else:
            coded = frame[i].array
            columns.append(
                TextColumn(coded.codes.astype(np.intp), np.asarray(coded.categories, dtype=object))
            )
    return columns


def _first_line_fields(text: str, delimiter: str) -> int:
    """Fields on the block's first line (pandas sizes its columns by the first row: a
    first row with more fields than the names given would shift every row)."""
    head = text[:65536]  # a first line longer than this takes the slow path anyway
    first = head.split("\n", 1)[0].split("\r", 1)[0]
    try:
        return len(next(csv.reader([first], delimiter=delimiter), []))
    except csv.Error:  # a quoted field over several lines: the slow path sorts it out
        return 0


def _exact_texts(categories: pd.Index) -> bool:
    """Whether categories are the texts as read (not numbers or booleans made of them)."""
    if categories.dtype == object:
        return all(isinstance(c, str) for c in categories)
    return pd.api.types.is_string_dtype(categories.dtype)


def _split_slow(lines: list[str], layout: Layout) -> list[TextColumn | np.ndarray]:
    """Fields with the csv module, one physical line at a time."""
    width = layout.n_fields + 1
    out = [np.full(len(lines), "", dtype=object) for _ in range(width)]
    for row, line in enumerate(lines):
        fields = next(csv.reader([line], delimiter=layout.delimiter), [])
        for i, text in enumerate(fields[: layout.n_fields]):
            out[i][row] = text
        rest = "".join(f.strip() for f in fields[layout.n_fields :])
        out[layout.n_fields][row] = rest
    value_index = layout.positions["value"]
    return [column if i == value_index else TextColumn.of(column) for i, column in enumerate(out)]


def split_block(
    text: str, first_line_number: int, layout: Layout, plain: set[int] | None = None
) -> RawBatch:
    """A :class:`RawBatch` from a block of whole physical lines of the file (the last may
    lack its line end only at the end of the file), the first being line
    ``first_line_number``; blank lines are dropped. ``plain``: the columns to read as plain
    text (see :func:`_split_fast`; updated here for the blocks that follow)."""
    n_lines = _count_lines(text)
    if text and not text.endswith(("\n", "\r")):
        text += "\n"  # the last line of a file without a final newline
    plain = set() if plain is None else plain
    if n_lines <= SMALL_BLOCK_LINES:  # every text column as plain text (see the constant)
        plain = set(range(max(layout.n_fields + 1, _first_line_fields(text, layout.delimiter))))
    try:
        values = _split_fast(text, n_lines, layout, plain)
    except _InexactCategoriesError:
        values = _split_fast(text, n_lines, layout, plain)
    if values is None:
        lines = _physical_lines(text)
        values = _split_slow([line.rstrip("\r\n") for line in lines], layout)
        return _batch(values, lines, n_lines, first_line_number, layout)
    return _batch(values, lambda: _physical_lines(text), n_lines, first_line_number, layout)


def _count_lines(text: str) -> int:
    """Physical lines in ``text``: ends are \\n, \\r\\n or a lone \\r (as Python's
    universal newlines); a last line without an end counts."""
    ends = text.count("\n")
    if "\r" in text:
        ends += text.count("\r") - text.count("\r\n")
    return ends + (1 if text and not text.endswith(("\n", "\r")) else 0)


def _physical_lines(text: str) -> list[str]:
    return io.StringIO(text, newline="").readlines()


def _batch(
    values: list[TextColumn | np.ndarray],
    lines: list[str] | Callable[[], list[str]],
    n_lines: int,
    first_line_number: int,
    layout: Layout,
) -> RawBatch:
    columns = _columns(values, layout)
    too_many = np.zeros(n_lines, dtype=bool)
    for extra in values[layout.n_fields :]:
        assert isinstance(extra, TextColumn)
        too_many |= ~extra.map(lambda t: str(t).strip()).is_empty()
    numbers = np.arange(first_line_number, first_line_number + n_lines, dtype=np.int64)
    # Blank (or whitespace-only) lines come back as rows of empty fields: not rows at all.
    # A row of delimiters only (",,,") looks the same and is a (malformed) row.
    rest_empty = ~too_many
    for column in values[1 : layout.n_fields]:
        rest_empty &= _is_empty(column)
    blank = np.zeros(n_lines, dtype=bool)
    maybe_blank = np.flatnonzero(rest_empty)
    if len(maybe_blank):
        if callable(lines):
            lines = lines()
        for row in maybe_blank:
            blank[row] = not lines[row].strip()
    keep = np.flatnonzero(~blank) if blank.any() else None

    def take(array: Any) -> Any:
        return array if keep is None else array[keep]

    meter_id = take(columns["meter_id"]).map(str.strip)
    timestamp = take(columns["timestamp"])
    value = take(columns["value"])
    unit = (
        take(columns["unit"]).map(str.strip)
        if "unit" in columns
        else TextColumn.constant("", len(meter_id))
    )
    fields = {"meter_id": meter_id, "timestamp": timestamp, "value": value}
    unusable = _unusable([meter_id, timestamp, value, unit], len(meter_id))
    malformed, malformed_message = _malformed(fields, take(too_many), unusable)
    if value.dtype == object and layout.delimiter == ";" and len(value):
        value = pd.Series(value, dtype=object).str.replace(",", ".", regex=False).to_numpy(object)
    return RawBatch(
        line_numbers=take(numbers),
        lines=lines,
        first_line_number=first_line_number,
        n_lines=n_lines,
        meter_id=meter_id,
        timestamp=timestamp,
        value=value,
        unit=unit,
        malformed=malformed,
        malformed_message=malformed_message,
        delimiter=layout.delimiter,
    )


def _is_empty(column: TextColumn | np.ndarray) -> np.ndarray:
    if isinstance(column, TextColumn):
        return column.is_empty()
    if column.dtype.kind == "f":
        return np.zeros(len(column), dtype=bool)
    return column == ""


def iter_batches(stream: io.TextIOBase, batch_rows: int) -> Iterator[tuple[Layout, RawBatch]]:
    """Read the header from ``stream`` (a text stream opened with ``newline=""``) and yield
    its data rows in batches of about ``batch_rows`` physical lines.

    Blocks are read by size (the running mean line length × ``batch_rows``, so memory stays
    bounded whatever the line length) and cut after their last line end; a line longer than
    a block makes the block grow until the line ends."""
    header = stream.readline().rstrip("\r\n")
    if not header.strip():
        raise FileFormatError("the file is empty or has no header row")
    layout = parse_header(header)
    line_number = 2
    plain: set[int] = set()  # text columns read as plain text (see _split_fast)
    carry = ""
    chars_per_line = max(len(header) + 1.0, 16.0)  # until blocks tell: about the header's
    while True:
        want = int(min(max(batch_rows * chars_per_line, 64), 1 << 26))
        block = carry + stream.read(want)
        if not block:
            return
        at_end = len(block) < len(carry) + want
        while not at_end and _last_line_end(block) < 0:  # one line longer than the block
            more = stream.read(want)
            at_end = not more
            block += more
        cut = len(block) if at_end else _last_line_end(block) + 1
        text, carry = block[:cut], block[cut:]
        batch = split_block(text, line_number, layout, plain)
        n_lines = batch.n_lines
        line_number += n_lines
        chars_per_line = 0.5 * chars_per_line + 0.5 * len(text) / max(n_lines, 1)
        if len(batch):
            yield layout, batch
        if at_end and not carry:
            return


def _last_line_end(block: str) -> int:
    """Index of the last line end in ``block`` that is surely complete: a final \\r may be
    the first half of \\r\\n (cut before it), -1 when there is none."""
    return max(block.rfind("\n"), block.rfind("\r", 0, len(block) - 1))


def parse_text(text: str, batch_rows: int = 100_000) -> list[RawBatch]:
    """All batches of an in-memory file text (for tests and small inputs)."""
    return [batch for _, batch in iter_batches(io.StringIO(text, newline=""), batch_rows)]
