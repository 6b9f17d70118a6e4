"""Helpers shared by the command modules: JSON or human output, progress on a terminal."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO, TypeVar

T = TypeVar("T")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print a machine-readable JSON summary on stdout"
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: Any) -> str:
    """JSON text for scripts: UTF-8 (Chinese names kept readable), NaN written as null."""
    return json.dumps(_nan_to_none(data), ensure_ascii=False, indent=2, default=_default)


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_to_none(v) for v in value]
    return value


def emit(args: argparse.Namespace, data: Any, human: str, stream: TextIO | None = None) -> None:
    """Print ``data`` as JSON when ``--json`` was given, else the human text."""
    out = stream or sys.stdout
    if getattr(args, "json", False):
        out.write(to_json(data) + "\n")
    else:
        out.write(human.rstrip("\n") + "\n")


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain aligned text table (width counts CJK characters as two columns)."""
    if not rows:
        return "(none)"

    def width(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
        return str(value)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(width(c), *(width(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(values, widths, strict=True))

    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


class Progress:
    """A one-line progress indicator on stderr, shown only on a terminal."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None):
        self.label = label
        self.total = total
        self.count = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last = 0.0
        self._start = time.monotonic()

    def update(self, advance: int = 1, note: str = "") -> None:
        self.count += advance
        now = time.monotonic()
        if not self.enabled or now - self._last < 0.2:
            return
        self._last = now
        rate = self.count / max(now - self._start, 1e-9)
        if self.total:
            share = min(self.count / self.total, 1.0)
            filled = int(share * 30)
            bar = "#" * filled + "." * (30 - filled)
            text = f"\r{self.label} [{bar}] {share:6.1%} {self.count:,}/{self.total:,}"
        else:
            text = f"\r{self.label} {self.count:,}"
        self.stream.write(f"{text} ({rate:,.0f}/s) {note}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` while showing progress on a terminal."""
    with Progress(label, total) as progress:
        for item in items:
            yield item
            progress.update()
