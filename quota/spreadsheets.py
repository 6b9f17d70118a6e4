"""CSV and XLSX files that a spreadsheet opens as data and never runs.

Building names, meter ids and quarantined raw rows come from outside. A text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read by Excel,
LibreOffice or WPS as a formula (``=HYPERLINK(...)``, ``=cmd|...``). This module is the one
home of that rule (OWASP "CSV injection"), used by every export and download:

- CSV: such a cell is written with a leading apostrophe (``'=HYPERLINK(...)``), which the
  spreadsheet shows as text;
- XLSX: every Python ``str`` is stored as a string cell (never a formula), and such a cell
  also gets the "quote prefix" style, so editing it in Excel keeps it text.

Numbers, dates and booleans are written as they are: a negative number is a number, not
text.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_TEXT_MARK = "'"


def is_formula_text(value: Any) -> bool:
    """True when ``value`` is text a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def plain_value(value: Any) -> Any:
    """``value`` as a plain Python value: numpy scalars unwrapped, NaN/NaT as None."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        import pandas as pd

        if value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return value


def csv_value(value: Any) -> Any:
    """One CSV cell: missing as empty, formula-like text with a leading apostrophe."""
    value = plain_value(value)
    if value is None:
        return ""
    if is_formula_text(value):
        return CSV_TEXT_MARK + value
    return value


def write_csv_rows(handle: Any, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> None:
    """Write ``header`` and ``rows`` to a text ``handle`` as CSV, every cell made safe."""
    writer = csv.writer(handle)
    writer.writerow([csv_value(v) for v in header])
    for row in rows:
        writer.writerow([csv_value(v) for v in row])


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV in UTF-8 with a byte-order mark (Excel then shows Chinese text intact)."""
    buffer = io.StringIO(newline="")
    write_csv_rows(buffer, header, rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_text(value: str) -> str:
    """Text as an XLSX cell can hold it: control characters XML forbids become U+FFFD."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def append_row(sheet: Any, values: Sequence[Any]) -> None:
    """Append ``values`` as the next row of an openpyxl worksheet, text always as text."""
    plain = [plain_value(v) for v in values]
    sheet.append([xlsx_text(v) if isinstance(v, str) else v for v in plain])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            # openpyxl stores text starting with "=" as a formula and "#N/A" as an error.
            cell.data_type = "s"
            if is_formula_text(cell.value):
                cell.quotePrefix = True


def format_sheet(sheet: Any) -> None:
    """Make a written sheet easy to read in Excel: a bold, frozen header row with an
    autofilter, number formats (whole numbers ``#,##0``, decimals ``#,##0.0``) and column
    widths from the headers (CJK characters count double)."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, (header,) in enumerate(sheet.iter_cols(min_row=1, max_row=1, values_only=True), start=1):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
            if isinstance(cell.value, bool):
                continue
            if isinstance(cell.value, int):
                cell.number_format = "#,##0"
            elif isinstance(cell.value, float):
                cell.number_format = "#,##0.0"
        wide = sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(header or ""))
        sheet.column_dimensions[get_column_letter(i)].width = min(max(wide + 2, 10), 40)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def xlsx_bytes(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], sheet_name: str = "QuotaWatch"
) -> bytes:
    """An XLSX workbook with one sheet: the header row and the rows, text as text, formatted
    by :func:`format_sheet`."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name[:31]
    append_row(sheet, [str(v) for v in header])
    for row in rows:
        append_row(sheet, list(row))
    format_sheet(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
