"""The inbox through `quotawatch scheduler --once`: a broken file goes to rejected/ with its
reason and is not retried until moved back; files still being written are left alone; one
file never stops the flow."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

from ingest.jobs import is_settled_reading_file

GOOD = "meter_id,timestamp,value\nE1,2024-03-01 00:00,1\nE1,2024-03-01 01:00,2\n"


def _age(path: Path, seconds: float = 120) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def _once(db: Any, inbox: Path, **env: str) -> dict[str, Any]:
    proc = db.cli("scheduler", "--once", "--json", QUOTAWATCH_INBOX=str(inbox), **env)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_broken_file_moves_to_rejected_with_its_reason_and_waits_there(registered, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    whole = gzip.compress(GOOD.encode() * 40)
    broken = inbox / "a_cut.csv.gz"
    broken.write_bytes(whole[: len(whole) // 2])
    good = inbox / "b_good.csv"
    good.write_text(GOOD, encoding="utf-8")
    _age(broken)
    _age(good)

    counts = _once(registered, inbox)
    assert (counts["files_loaded"], counts["files_rejected"]) == (1, 1)
    assert (inbox / "archive" / "b_good.csv").exists()
    rejected = inbox / "rejected" / "a_cut.csv.gz"
    assert rejected.exists() and not broken.exists()
    reason = (inbox / "rejected" / "a_cut.csv.gz.reason.txt").read_text(encoding="utf-8")
    assert "truncated" in reason
    assert registered.scalar("SELECT count(*) FROM reading") == 2

    # Not retried automatically: the next run does not see it.
    counts = _once(registered, inbox)
    assert counts["files_seen"] == 0
    # Moved back into the inbox, it is tried again (and rejected again, still broken).
    rejected.rename(broken)
    _age(broken)
    counts = _once(registered, inbox)
    assert (counts["files_seen"], counts["files_rejected"]) == (1, 1)
    # Loading it by hand also tries it again.
    proc = registered.cli("ingest", "--json", str(inbox / "rejected" / "a_cut.csv.gz"))
    assert json.loads(proc.stdout)["files"][0]["status"] == "rejected"


def test_files_being_written_are_left_for_a_later_run(registered, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fresh = inbox / "fresh.csv"
    fresh.write_text(GOOD, encoding="utf-8")  # just modified: may still be being written
    waiting = {
        "upload.csv.part": GOOD,
        "upload.csv.tmp": GOOD,
        ".hidden.csv": GOOD,
        "half.csv.part": "meter_id,timestamp,value\nE1,2024-03-01 02:00,12",  # cut mid-value
    }
    for name, text in waiting.items():
        (inbox / name).write_text(text, encoding="utf-8")
        _age(inbox / name)

    counts = _once(registered, inbox)  # default settle time: 30 s
    assert counts["files_seen"] == 0
    assert fresh.exists() and all((inbox / name).exists() for name in waiting)
    assert registered.scalar("SELECT count(*) FROM reading") == 0

    _age(fresh, 31)
    counts = _once(registered, inbox)
    assert (counts["files_seen"], counts["files_loaded"]) == (1, 1)
    # The transfer completes: renamed to its final name, it is loaded whole.
    (inbox / "half.csv.part").write_text(
        "meter_id,timestamp,value\nE1,2024-03-01 02:00,128.456\n", encoding="utf-8"
    )
    (inbox / "half.csv.part").rename(inbox / "half.csv")
    _age(inbox / "half.csv")
    counts = _once(registered, inbox)
    assert counts["files_loaded"] == 1
    value = registered.scalar(
        "SELECT value FROM reading_as_sent WHERE reading_at = '2024-03-01 02:00+08'"
    )
    assert value == 128.456


def test_settle_time_is_a_setting(registered, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "now.csv").write_text(GOOD, encoding="utf-8")
    counts = _once(registered, inbox, QUOTAWATCH_INBOX_SETTLE_SECONDS="0")
    assert counts["files_loaded"] == 1


def test_which_inbox_names_are_ready() -> None:
    assert is_settled_reading_file("a.csv", 31, 30)
    assert is_settled_reading_file("A.CSV.GZ", 31, 30)
    assert not is_settled_reading_file("a.csv", 29, 30)
    assert not is_settled_reading_file(".a.csv", 31, 30)
    assert not is_settled_reading_file("a.csv.part", 31, 30)
    assert not is_settled_reading_file("a.csv.tmp", 31, 30)
    assert not is_settled_reading_file("a.txt", 31, 30)


def test_a_file_failing_on_a_database_error_moves_to_rejected_and_the_others_load(
    registered, tmp_path
):
    with registered.connect() as conn:  # the database refuses this file's quarantine rows
        conn.execute(
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.meter_id = 'BOOM' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; "
            "RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON quarantine "
            "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
        )
        conn.commit()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a_boom.csv").write_text(GOOD + "BOOM,2024-03-01 03:00,1\n", encoding="utf-8")
    (inbox / "b_good.csv").write_text(GOOD, encoding="utf-8")
    for path in inbox.iterdir():
        _age(path)
    counts = _once(registered, inbox)
    assert (counts["files_failed"], counts["files_loaded"]) == (1, 1)
    reason = (inbox / "rejected" / "a_boom.csv.reason.txt").read_text(encoding="utf-8")
    assert "failed to load" in reason and "refused by a test trigger" in reason
    assert (inbox / "archive" / "b_good.csv").exists()
    assert registered.scalar("SELECT count(*) FROM reading") == 2
    # Not retried automatically.
    assert _once(registered, inbox)["files_seen"] == 0
    # The same through `quotawatch ingest`: the failing file is reported, the next one loads.
    (tmp_path / "c_boom.csv").write_text("meter_id,timestamp,value\nBOOM,x,1\n", encoding="utf-8")
    (tmp_path / "d_good.csv").write_text(
        "meter_id,timestamp,value\nE1,2024-03-02 00:00,1\n", encoding="utf-8"
    )
    proc = registered.cli(
        "ingest", "--json", str(tmp_path / "c_boom.csv"), str(tmp_path / "d_good.csv")
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert [f["status"] for f in data["files"]] == ["failed", "loaded"]
    for part in [data, *data["files"]]:
        assert part["rows_read"] == (
            part["rows_loaded"] + part["rows_duplicate"] + part["rows_quarantined"]
        )
