"""Hostile bills: every row gets an outcome and a broken file beside them is rejected with a
reason, through the real command line."""

from __future__ import annotations

import json


def test_hostile_bills_are_quarantined_and_the_rest_loads(db, tmp_path):
    (tmp_path / "b.csv").write_text(
        "building_id,name,district,building_type,floor_area_m2\nB,=1+2,D,office_commercial,10000\n"
    )
    db.cli("import", "buildings", str(tmp_path / "b.csv"), check=True)
    (tmp_path / "a.csv").write_text(
        "account_id,building_id,energy_type,unit\nA1,B,electricity,kWh\n"
    )
    db.cli("import", "accounts", str(tmp_path / "a.csv"), check=True)
    rows = [
        "account_id,period_start,period_end,value",
        "A1,0001-01-01,0001-01-31,10",  # year 1: before the earliest plausible date
        "A1,2025-01-01,2025-01-31,1e308",  # absurd energy for a month
        "A1,2025-02-01,2025-02-28,1\x002",  # a NUL byte in the value
        "A" * 5000 + ",2025-03-01,2025-03-31,5",  # an account id of 5,000 characters
        "A1,2025-04-01,2025-04-30,100",  # the one good bill
        ",,,",
    ]
    (tmp_path / "bills.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "broken.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")

    proc = db.cli("ingest", "--json", str(tmp_path / "bills.csv"), str(tmp_path / "broken.csv.gz"))
    assert "Traceback" not in proc.stderr
    files = {f["path"].rsplit("/", 1)[-1]: f for f in json.loads(proc.stdout)["files"]}
    bills = files["bills.csv"]
    assert bills["status"] == "loaded"
    assert bills["rows_read"] == 6
    assert (bills["rows_loaded"], bills["rows_duplicate"], bills["rows_quarantined"]) == (1, 0, 5)
    assert bills["quarantine_by_reason"] == {
        "implausible_timestamp": 1,
        "implausible_value": 1,
        "bad_value": 1,
        "unknown_account": 1,
        "malformed_row": 1,
    }
    assert files["broken.csv.gz"]["status"] == "rejected"
    assert "gzip" in files["broken.csv.gz"]["error"]
    assert db.scalar("SELECT count(*) FROM bill WHERE account_id = 'A1'") == 1
