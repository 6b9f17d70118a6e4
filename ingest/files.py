"""Reading files: finding them, and their SHA-256 digests computed ahead of their load.

A file's digest decides whether it was loaded before, so it is needed before any of its rows
are written. Hashing is file reading and C code that lets go of the interpreter lock, so
:class:`Digests` computes the digests in a background thread while the process does other
work: importing its libraries at start, loading the previous file of a run. (SHA-256 of a
179 MB file: 0.16 s, a few % of its load.) This module imports nothing heavy, so the command
line can start the digests before the loader's libraries are imported.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path

from quota.ops.queries import INBOX_SUFFIXES

READING_SUFFIXES = INBOX_SUFFIXES


def find_reading_files(paths: Iterable[Path]) -> list[Path]:
    """The reading files among ``paths`` (folders give their ``*.csv``/``*.csv.gz``, sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and is_reading_file(p)))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def is_reading_file(path: Path) -> bool:
    return path.name.lower().endswith(READING_SUFFIXES)


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes as stored (a gzip file is hashed compressed)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Digests:
    """SHA-256 digests of ``paths``, computed one after the other in a background thread
    from the moment this is made; :meth:`sha256` waits for a file's digest (or computes it
    there, for a path not given). The thread is a daemon: a process that stops early does
    not wait for the digests of files it will not load."""

    def __init__(self, paths: Iterable[Path]):
        self._paths = [Path(p) for p in paths]
        self._done = {path: threading.Event() for path in self._paths}
        self._results: dict[Path, str | OSError] = {}
        threading.Thread(target=self._run, name="ingest-digest", daemon=True).start()

    def _run(self) -> None:
        for path in self._paths:
            try:
                self._results[path] = file_sha256(path)
            except OSError as exc:
                self._results[path] = exc
            self._done[path].set()

    def sha256(self, path: Path) -> str:
        """The file's digest (an unreadable file raises ``OSError`` here)."""
        done = self._done.get(Path(path))
        if done is None:
            return file_sha256(path)
        done.wait()
        result = self._results[Path(path)]
        if isinstance(result, OSError):
            raise result
        return result
