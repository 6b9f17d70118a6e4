"""Reading the CSV files people and gateways send: encodings and delimiters.

Chinese tools export GB18030/GBK, others UTF-8 with or without a byte-order mark; some use
semicolons. Decoding is kept apart from parsing so parsers are tested on in-memory strings.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
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


UTF16_MESSAGE = "UTF-16 is not supported: save as UTF-8 or GB18030"
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def unreadable_reason(exc: BaseException, encoding: str = "UTF-8 or GB18030") -> str:
    """What a person needs to know about a read error of a (gzipped) text file: the gzip
    error in words, or which encoding failed, never a codec dump."""
    if isinstance(exc, FileFormatError):
        return str(exc)
    if isinstance(exc, gzip.BadGzipFile):
        return "not a gzip file although its name ends in .gz (rename it to .csv if it is text)"
    if isinstance(exc, EOFError):
        return "the gzip file is truncated (it ends before its end marker): send it again"
    if isinstance(exc, zlib.error):
        return "the gzip file is damaged (its compressed data cannot be read): send it again"
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"the file is not valid {encoding} text (a byte sequence at position "
            f"{exc.start} of a block cannot be decoded): save it as UTF-8 or GB18030"
        )
    if isinstance(exc, OSError):
        return f"the file cannot be read: {exc.strerror or exc}"
    return f"the file cannot be read ({type(exc).__name__})"


def _check_text_head(head: bytes) -> None:
    """Refuse, with a reason a person understands, the start of a file that is not text in
    an encoding QuotaWatch reads: UTF-16/32 (byte-order mark or every other byte NUL) and
    binary data (many NUL bytes). A single NUL byte is a broken row, not a broken file."""
    if head.startswith(_WIDE_BOMS):
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            raise FileFormatError("UTF-32 is not supported: save as UTF-8 or GB18030")
        raise FileFormatError(UTF16_MESSAGE)
    sample = head[:4096]
    if len(sample) >= 8:
        odd_nul = sample[1::2].count(0) / len(sample[1::2])
        even_nul = sample[0::2].count(0) / len(sample[0::2])
        if max(odd_nul, even_nul) > 0.4 and min(odd_nul, even_nul) < 0.1:
            raise FileFormatError(UTF16_MESSAGE)
        if sample.count(0) > max(2, len(sample) // 100):
            raise FileFormatError(
                "not a text file (binary content): a CSV file in UTF-8 or GB18030 is needed"
            )


def open_text(path: Path) -> tuple[io.TextIOBase, str]:
    """A streaming text reader and its encoding, for files too large to hold in memory.

    The encoding is decided from the first 1 MiB (UTF-8 unless that is invalid, then
    GB18030); a file that is not text in either (UTF-16, binary, a broken gzip file) raises
    ``FileFormatError`` with a reason a person understands (:func:`unreadable_reason`); a
    later invalid byte or gzip error raises while reading (translate it with
    :func:`unreadable_reason`).
    """
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")  # noqa: SIM115
    try:
        head = raw.read(1 << 20)
        raw.seek(0)
    except (OSError, EOFError, zlib.error) as exc:
        raw.close()
        raise FileFormatError(unreadable_reason(exc)) from exc
    try:
        _check_text_head(head)
    except FileFormatError:
        raw.close()
        raise
    encoding = "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        encoding = "gb18030"
        try:
            codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        except UnicodeDecodeError as exc:
            raw.close()
            raise FileFormatError(
                "not UTF-8 or GB18030 text (binary content, or another encoding): save it "
                "as UTF-8 or GB18030"
            ) from exc
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
