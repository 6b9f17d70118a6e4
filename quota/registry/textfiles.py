"""Reading the CSV files people and gateways send: encodings and delimiters.

Chinese tools export GB18030/GBK, others UTF-8 with or without a byte-order mark; some use
semicolons. Decoding is kept apart from parsing so parsers are tested on in-memory strings.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from pathlib import Path

ENCODINGS = ("utf-8-sig", "gb18030")


class FileFormatError(ValueError):
    """A file cannot be used at all (undecodable, no header, wrong columns)."""


def read_bytes(path: Path) -> bytes:
    """The file's bytes, transparently un-gzipped for ``*.gz``."""
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise FileFormatError(f"{path.name}: not a valid gzip file ({exc})") from exc
    return data


def decode(data: bytes, name: str = "file") -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM optional) first, then GB18030 (a superset of GBK)."""
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig" and not data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8"
        return text, encoding
    raise FileFormatError(f"{name}: not UTF-8 or GB18030 text")


def open_text(path: Path) -> tuple[io.TextIOBase, str]:
    """A streaming text reader and its encoding, for files too large to hold in memory.

    The encoding is decided from the first 1 MiB (UTF-8 unless that is invalid, then
    GB18030); a later invalid byte raises ``FileFormatError`` while reading.
    """
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")  # noqa: SIM115
    head = raw.read(1 << 20)
    raw.seek(0)
    encoding = "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        encoding = "gb18030"
    return io.TextIOWrapper(raw, encoding=encoding, newline=""), encoding  # type: ignore[arg-type]


def sniff_delimiter(header_line: str) -> str:
    """``;`` when the header uses semicolons rather than commas, else ``,``."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def normalise_header(fields: list[str]) -> list[str]:
    """Header names lower-cased and stripped (a BOM left by a double encoding removed)."""
    return [f.strip().lstrip("\ufeff").strip().lower() for f in fields]


def read_csv_rows(text: str) -> tuple[list[str], list[tuple[int, list[str], str]]]:
    """(header, rows) of a whole CSV text; each row is (line number, fields, raw line).

    Line numbers are 1-based physical lines of the file (the header is line 1). Blank lines
    are skipped.
    """
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise FileFormatError("the file is empty or has no header row")
    delimiter = sniff_delimiter(lines[0])
    header = normalise_header(next(csv.reader([lines[0]], delimiter=delimiter)))
    rows: list[tuple[int, list[str], str]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = next(csv.reader([line], delimiter=delimiter))
        rows.append((number, [f.strip() for f in fields], line))
    return header, rows
