"""File digests."""

from __future__ import annotations

import pytest


def test_digests_are_computed_ahead_and_match_the_files(tmp_path) -> None:
    import hashlib

    from ingest.files import Digests

    paths = []
    for i in range(3):
        path = tmp_path / f"r{i}.csv"
        path.write_bytes(b"meter_id,timestamp,value\n" * (i + 1) * 50_000)
        paths.append(path)
    gone = tmp_path / "gone.csv"
    digests = Digests([*paths, gone])
    for path in paths:
        assert digests.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    later = tmp_path / "later.csv"
    later.write_text("x")
    assert digests.sha256(later) == hashlib.sha256(b"x").hexdigest()
    with pytest.raises(OSError):
        digests.sha256(gone)
