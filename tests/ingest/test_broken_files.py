"""Files that cannot be read at all are rejected with a reason a person understands; the
other files of the run still load, and the command prints its JSON summary."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

GOOD = "meter_id,timestamp,value\nE1,2024-03-01 00:00,1\nE1,2024-03-01 01:00,2\n"


def _broken_folder(folder: Path) -> dict[str, str]:
    """A folder of broken files and one good one; {file name: what its reason must say}."""
    folder.mkdir()
    whole = gzip.compress((GOOD * 50).encode())
    (folder / "a_truncated.csv.gz").write_bytes(whole[: len(whole) // 2])
    (folder / "b_not_gzip.csv.gz").write_text(GOOD + "E1,2024-03-01 02:00,3\n", encoding="utf-8")
    (folder / "c_utf16.csv").write_bytes(GOOD.encode("utf-16"))
    (folder / "d_utf16_no_bom.csv").write_bytes(GOOD.encode("utf-16-le"))
    (folder / "e_binary.csv").write_bytes(bytes(range(256)) * 20)
    (folder / "f_empty.csv").write_bytes(b"")
    (folder / "z_good.csv").write_text(GOOD, encoding="utf-8")
    return {
        "a_truncated.csv.gz": "truncated",
        "b_not_gzip.csv.gz": "not a gzip file",
        "c_utf16.csv": "UTF-16 is not supported: save as UTF-8 or GB18030",
        "d_utf16_no_bom.csv": "UTF-16 is not supported: save as UTF-8 or GB18030",
        "e_binary.csv": "UTF-8 or GB18030",
        "f_empty.csv": "empty",
    }


def test_a_folder_with_broken_files_loads_the_good_one_and_explains_the_rest(registered, tmp_path):
    expected = _broken_folder(tmp_path / "in")
    proc = registered.cli("ingest", "--json", str(tmp_path / "in"))
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1  # some files could not be used
    data = json.loads(proc.stdout)
    by_name = {f["file"]: f for f in data["files"]}
    assert by_name["z_good.csv"]["status"] == "loaded"
    assert by_name["z_good.csv"]["rows_loaded"] == 2
    for name, says in expected.items():
        assert by_name[name]["status"] == "rejected", by_name[name]
        assert says in by_name[name]["error"], by_name[name]["error"]
        assert "codec" not in by_name[name]["error"]  # no codec dump
    assert data["outcome"] == "partial"
    assert registered.scalar("SELECT count(*) FROM reading") == 2
    recorded = registered.query("SELECT file_name, status, error FROM ingest_file")
    assert {r["file_name"] for r in recorded if r["status"] == "rejected"} == set(expected)


def test_a_rejected_file_is_tried_again_when_sent_again(registered, tmp_path):
    path = tmp_path / "later.csv"
    path.write_bytes(GOOD.encode("utf-16"))
    first = json.loads(registered.cli("ingest", "--json", str(path)).stdout)
    assert first["files"][0]["status"] == "rejected"
    # The same bytes again: tried again (not skipped as "already loaded"), rejected again.
    again = json.loads(registered.cli("ingest", "--json", str(path)).stdout)
    assert again["files"][0]["status"] == "rejected"
    assert registered.scalar("SELECT count(*) FROM ingest_file") == 1


def test_a_file_truncated_after_its_first_megabyte_is_rejected_whole(registered, tmp_path):
    lines = ["meter_id,timestamp,value"] + [
        f"E1,2024-{1 + h // (24 * 28):02d}-{1 + (h // 24) % 28:02d} {h % 24:02d}:00,{h % 9}.25"
        for h in range(24 * 28 * 6)
    ]
    data = gzip.compress(("\n".join(lines) + "\n").encode() * 8, compresslevel=0)
    path = tmp_path / "big.csv.gz"
    path.write_bytes(data[: int(len(data) * 0.8)])
    proc = registered.cli("ingest", "--json", str(path))
    assert "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)["files"][0]
    assert result["status"] == "rejected"
    assert "truncated" in result["error"]
    assert registered.scalar("SELECT count(*) FROM reading") == 0  # nothing of it half-loaded
