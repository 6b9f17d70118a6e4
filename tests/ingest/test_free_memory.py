"""Freed memory given back to the operating system (ingest/free_memory.py)."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

# A thread frees most of 240 MB it allocated in blocks below glibc's raised mmap threshold:
# glibc keeps it (resident) until asked to give it back.
SCRIPT = """
import os, threading
from ingest import free_memory
page = os.sysconf("SC_PAGE_SIZE")
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page / 2**20
kept = []
def work():
    block = bytearray(8 << 20)  # a freed mmapped block raises the mmap threshold
    del block
    blocks = [bytearray(os.urandom(1024) * 200) for _ in range(1200)]
    kept.extend(blocks[::20])
    blocks.clear()
thread = threading.Thread(target=work)
thread.start()
thread.join()
before = rss_mb()
asked = free_memory.release()
print(asked, round(before), round(rss_mb()))
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
    reason="glibc only",
)
def test_release_gives_a_threads_freed_memory_back() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    ).stdout.split()
    asked, before_mb, after_mb = out[0] == "True", int(out[1]), int(out[2])
    assert asked
    assert before_mb - after_mb > 100  # most of the 228 MB freed was resident, and is not
