"""Giving a load's freed memory back to the operating system.

glibc keeps memory a process has freed for its own reuse instead of returning it: arrays
below its (self-raising, up to 32 MB) mmap threshold come from the heap arenas, and the
reader thread allocates from an arena of its own, which the loading thread never reuses.
Over a large file that freed-but-kept memory is about 100 MB of resident size (the first
monthly file of the 20,000-building city: 259 MB resident when its rollups start, 163 MB
after a trim), and the summing of the daily increments comes on top of it.
:func:`release` asks glibc to return it (``malloc_trim(0)``, every arena), at the points
where a load is about to need a lot at once. Elsewhere (no glibc) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where there is none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release() -> bool:
    """Return the process's freed heap memory to the operating system (a few ms for a
    few hundred MB of heap). Returns whether it could be asked (False without glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
