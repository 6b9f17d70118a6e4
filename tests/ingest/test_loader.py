"""Loading files into the real database: reason codes, duplicates, rollups, accounting."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ingest.loader import ingest_paths
from tests.ingest.support import rebuild_rollups_from_nothing, same_rows


def _check_accounting(summary: Any) -> None:
    data = summary.to_dict()
    assert (
        data["rows_read"] == data["rows_loaded"] + data["rows_duplicate"] + data["rows_quarantined"]
    )
    assert sum(data["quarantine_by_reason"].values()) == data["rows_quarantined"]
    for f in data["files"]:
        assert f["rows_read"] == f["rows_loaded"] + f["rows_duplicate"] + f["rows_quarantined"]


def test_every_reason_code_is_quarantined_with_line_and_raw_text(registered, write_file):
    text = (
        "meter_id,timestamp,value,unit\n"
        "E1,2024-03-01 00:00,1.5,\n"  # 2 good
        "E1,2024-03-01 01:00\n"  # 3 malformed_row
        "NOPE,2024-03-01 01:00,1,\n"  # 4 unknown_meter
        "E1,2024-03-01 25:00,1,\n"  # 5 bad_timestamp
        "E1,2099-03-01 01:00,1,\n"  # 6 future_timestamp
        "E1,2024-03-01 02:00,nan,\n"  # 7 bad_value
        "E1,2024-03-01 03:00,-2,\n"  # 8 negative_value
        "E1,2024-03-01 04:00,2,m3\n"  # 9 bad_unit
        "E1,2024-03-01 00:00,9,\n"  # 10 conflicting_duplicate (in the file)
        "G1,2024-03-01 00:00,100,\n"  # 11 good baseline
        "G1,2024-03-01 06:00,90,\n"  # 12 register_decrease
    )
    summary = ingest_paths(registered.settings, [write_file(text)], trigger="test")
    _check_accounting(summary)
    assert summary.rows_loaded == 2
    assert summary.quarantine_by_reason == {
        "bad_timestamp": 1,
        "bad_unit": 1,
        "bad_value": 1,
        "conflicting_duplicate": 1,
        "future_timestamp": 1,
        "malformed_row": 1,
        "negative_value": 1,
        "register_decrease": 1,
        "unknown_meter": 1,
    }
    rows = registered.query(
        "SELECT line_number, raw_row, reason_code, details->>'code' AS dotted "
        "FROM quarantine ORDER BY line_number"
    )
    by_line = {r["line_number"]: r for r in rows}
    assert by_line[4]["raw_row"] == "NOPE,2024-03-01 01:00,1,"
    assert by_line[4]["reason_code"] == "unknown_meter"
    assert by_line[12]["reason_code"] == "register_decrease"
    assert by_line[9]["dotted"] == "reading.bad_unit"
    assert registered.scalar("SELECT count(*) FROM reading") == 2


def test_rerun_is_idempotent_and_overlap_adds_only_new(registered, write_file):
    first = write_file(
        "meter_id,timestamp,value\nE1,2024-03-01 00:00,1\nE1,2024-03-01 01:00,2\n", "a.csv"
    )
    s1 = ingest_paths(registered.settings, [first], trigger="test")
    assert (s1.rows_loaded, s1.rows_duplicate) == (2, 0)
    s2 = ingest_paths(registered.settings, [first], trigger="test")
    assert s2.files[0].status == "skipped"
    assert s2.rows_read == 0
    overlap = write_file(
        "meter_id;timestamp;value\nE1;2024-03-01 01:00;2,0\nE1;2024-03-01 02:00;3\n"
        "E1;2024-03-01 00:00;1.5\n",
        "b.csv",
    )
    s3 = ingest_paths(registered.settings, [overlap], trigger="test")
    _check_accounting(s3)
    assert (s3.rows_loaded, s3.rows_duplicate, s3.rows_quarantined) == (1, 1, 1)
    assert s3.quarantine_by_reason == {"conflicting_duplicate": 1}
    assert registered.scalar("SELECT count(*) FROM reading") == 3
    assert registered.scalar("SELECT sum(energy_kwh) FROM meter_daily") == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("name", "encoding", "text"),
    [
        ("bom.csv", "utf-8-sig", "meter_id,timestamp,value\nE1,2024-03-01 00:00,1\n"),
        ("gbk.csv", "gbk", "meter_id,timestamp,value,unit\nE1,2024-03-01 00:00,1,度\n"),
        ("semi.csv.gz", "utf-8", "meter_id;timestamp;value\nE1;2024-03-01 00:00;1,0\n"),
        ("crlf.csv", "utf-8", "meter_id,timestamp,value\r\nE1,2024-03-01 00:00,1\r\n"),
    ],
)
def test_encodings_delimiters_and_gzip(registered, write_file, name, encoding, text):
    summary = ingest_paths(registered.settings, [write_file(text, name, encoding)], trigger="test")
    assert (summary.rows_read, summary.rows_loaded) == (1, 1)
    assert registered.scalar("SELECT energy_kwh FROM reading") == 1.0


def test_unusable_file_is_recorded_as_rejected(registered, write_file):
    path = write_file("meter,when,amount\nE1,2024-03-01 00:00,1\n", "odd.csv")
    summary = ingest_paths(registered.settings, [path], trigger="test")
    assert summary.files[0].status == "rejected"
    assert "unknown column" in summary.files[0].error
    row = registered.query("SELECT status, error FROM ingest_file")[0]
    assert row["status"] == "rejected"


def test_offsets_and_local_time_name_the_same_instant(registered, write_file):
    text = (
        "meter_id,timestamp,value\n"
        "E1,2024-03-01 08:00,1\n"  # local (Asia/Shanghai)
        "E1,2024-03-01T00:00:00Z,1\n"  # the same instant: duplicate
        "E1,2024-03-01T01:00:00+00:00,2\n"  # 09:00 local
    )
    summary = ingest_paths(registered.settings, [write_file(text)], trigger="test")
    assert (summary.rows_loaded, summary.rows_duplicate) == (2, 1)
    times = registered.query(
        "SELECT to_char(reading_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS t "
        "FROM reading ORDER BY reading_at"
    )
    assert [t["t"] for t in times] == ["08:00", "09:00"]


def test_interval_start_convention_across_a_year_boundary(registered, write_file):
    text = (
        "meter_id,timestamp,value\n"
        "E2,2023-12-31 23:00,1\n"  # interval 23:00-24:00 belongs to 2023
        "E2,2024-01-01 00:00,2\n"  # interval 00:00-01:00 belongs to 2024
    )
    summary = ingest_paths(registered.settings, [write_file(text)], trigger="test")
    assert set(summary.affected) == {2023, 2024}
    days = registered.query("SELECT day::text, energy_kwh FROM meter_daily ORDER BY day")
    # multiplier 40 applied
    assert [(d["day"], d["energy_kwh"]) for d in days] == [
        ("2023-12-31", 40.0),
        ("2024-01-01", 80.0),
    ]
    b = registered.query("SELECT day::text, energy_kwh, meter_count FROM building_daily")
    assert {r["day"]: r["energy_kwh"] for r in b} == {"2023-12-31": 40.0, "2024-01-01": 80.0}


def test_cumulative_allocation_across_midnight_and_new_year(registered, write_file):
    # C1: electricity register, multiplier 2. 18:00 → 06:00 over New Year: 12 h, 6 each side.
    text = (
        "meter_id,timestamp,value\n"
        "C1,2023-12-31 18:00,1000\n"
        "C1,2024-01-01 06:00,1120\n"  # 120 kWh register × 2 = 240 kWh over 12 h
        "C1,2024-01-02 12:00,1180\n"  # 60 × 2 = 120 kWh over 30 h: 18 h on 1 Jan, 12 h on 2 Jan
    )
    ingest_paths(registered.settings, [write_file(text)], trigger="test")
    days = {
        r["day"]: r
        for r in registered.query(
            "SELECT day::text AS day, energy_kwh, reading_count, covered_hours FROM meter_daily"
        )
    }
    assert days["2023-12-31"]["energy_kwh"] == pytest.approx(120.0)
    assert days["2024-01-01"]["energy_kwh"] == pytest.approx(120.0 + 72.0)
    assert days["2024-01-02"]["energy_kwh"] == pytest.approx(48.0)
    assert days["2024-01-01"]["covered_hours"] == pytest.approx(24.0)
    assert days["2023-12-31"]["reading_count"] == 1
    total = registered.scalar("SELECT sum(energy_kwh) FROM meter_daily")
    assert total == pytest.approx(360.0)


def test_cumulative_previous_reading_from_an_earlier_file(registered, write_file):
    a = write_file("meter_id,timestamp,value\nG1,2024-03-01 00:00,100\n", "a.csv")
    b = write_file("meter_id,timestamp,value\nG1,2024-03-02 00:00,110.5\n", "b.csv")
    ingest_paths(registered.settings, [a], trigger="test")
    ingest_paths(registered.settings, [b], trigger="test")
    gas = registered.settings.rules["units"]["natural_gas_kwh_per_m3"]
    assert registered.scalar(
        "SELECT energy_kwh FROM meter_daily WHERE day = '2024-03-01'"
    ) == pytest.approx(10.5 * gas)


def test_rollover_with_register_maximum_and_decrease_without(registered, write_file):
    text = (
        "meter_id,timestamp,value\n"
        "H1,2024-03-01 00:00,990\n"
        "H1,2024-03-01 12:00,4\n"  # H1 wraps at 1000 GJ: 14 GJ used
        "G1,2024-03-01 00:00,990\n"
        "G1,2024-03-01 12:00,4\n"  # G1 has no register maximum: quarantined
        "G1,2024-03-01 18:00,10\n"  # next reading: a new baseline, no use counted
        "G1,2024-03-01 20:00,12\n"  # 2 m3 used
    )
    summary = ingest_paths(registered.settings, [write_file(text)], trigger="test")
    assert summary.quarantine_by_reason == {"register_decrease": 1}
    energy = {
        r["meter_id"]: r["energy_kwh"]
        for r in registered.query(
            "SELECT m.meter_id, sum(d.energy_kwh) AS energy_kwh FROM meter_daily d "
            "JOIN meter m USING (meter_key) GROUP BY m.meter_id"
        )
    }
    gas = registered.settings.rules["units"]["natural_gas_kwh_per_m3"]
    assert energy["H1"] == pytest.approx(14 * 1e9 / 3.6e6)
    assert energy["G1"] == pytest.approx(2 * gas)


def test_duplicates_within_a_file_and_across_files(registered, write_file):
    a = write_file(
        "meter_id,timestamp,value\nE1,2024-03-01 00:00,1\nE1,2024-03-01 00:00,1.0\n", "a.csv"
    )
    b = write_file(
        "meter_id,timestamp,value,unit\nE1,2024-03-01 00:00,0.001,MWh\nE1,2024-03-01 01:00,4,kWh\n",
        "b.csv",
    )
    summary = ingest_paths(registered.settings, [a, b], trigger="test")
    _check_accounting(summary)
    assert [(f.rows_loaded, f.rows_duplicate) for f in summary.files] == [(1, 1), (1, 1)]


def test_readings_sent_in_kwh_as_their_energy_store_value_and_unit_null(registered, write_file):
    sent = write_file(
        "meter_id,timestamp,value,unit\n"
        "E1,2024-03-01 00:00,1.5,\n"  # kWh, no multiplier: value = energy_kwh
        "E1,2024-03-01 01:00,0.002,MWh\n"
        "E2,2024-03-01 00:00,3,kWh\n"  # multiplier 40
        "C1,2024-03-01 00:00,100,\n",  # cumulative register
        "a.csv",
    )
    assert ingest_paths(registered.settings, [sent], trigger="test").rows_loaded == 4
    stored = (
        "SELECT m.meter_id, r.value, r.unit, r.energy_kwh FROM reading r "
        "JOIN meter m USING (meter_key) ORDER BY m.meter_id, r.reading_at"
    )
    assert [tuple(r.values()) for r in registered.query(stored)] == [
        ("C1", 100.0, "kWh", None),
        ("E1", None, None, 1.5),
        ("E1", 0.002, "MWh", 2.0),
        ("E2", 3.0, "kWh", 120.0),
    ]
    as_sent = "SELECT meter_id, value, unit FROM reading_as_sent ORDER BY meter_id, reading_at"
    assert [tuple(r.values()) for r in registered.query(as_sent)] == [
        ("C1", 100.0, "kWh"),
        ("E1", 1.5, "kWh"),
        ("E1", 0.002, "MWh"),
        ("E2", 3.0, "kWh"),
    ]
    # The same reading sent again in Wh is a duplicate; another value a conflict that names
    # the stored reading as it was sent; a correction keeps that as the previous value.
    again = write_file("meter_id,timestamp,value,unit\nE1,2024-03-01 00:00,1500,Wh\n", "b.csv")
    other = write_file("meter_id,timestamp,value\nE1,2024-03-01 00:00,1.6\n", "c.csv")
    summary = ingest_paths(registered.settings, [again, other], trigger="test")
    assert [(f.rows_duplicate, f.rows_quarantined) for f in summary.files] == [(1, 0), (0, 1)]
    details = registered.scalar("SELECT details FROM quarantine")
    assert (details["stored_value"], details["stored_unit"]) == (1.5, "kWh")
    fix = write_file("meter_id,timestamp,value\nE1,2024-03-01 00:00,1.7\n", "d.csv")
    ingest_paths(registered.settings, [fix], trigger="test", corrections=True)
    assert registered.query("SELECT previous_value, new_value FROM reading_correction") == [
        {"previous_value": 1.5, "new_value": 1.7}
    ]
    assert registered.query(as_sent)[1] == {"meter_id": "E1", "value": 1.7, "unit": "kWh"}


def test_corrections_replace_values_and_keep_an_audit(registered, write_file):
    ingest_paths(
        registered.settings,
        [write_file("meter_id,timestamp,value\nE1,2024-03-01 00:00,1\nE1,2024-03-01 01:00,2\n")],
        trigger="test",
    )
    fix = write_file(
        "meter_id,timestamp,value\nE1,2024-03-01 00:00,5\nE1,2024-03-01 01:00,2\n", "fix.csv"
    )
    summary = ingest_paths(registered.settings, [fix], trigger="test", corrections=True)
    _check_accounting(summary)
    assert (summary.rows_loaded, summary.rows_duplicate) == (1, 1)
    audit = registered.query("SELECT previous_value, new_value FROM reading_correction")
    assert audit == [{"previous_value": 1.0, "new_value": 5.0}]
    assert registered.scalar("SELECT energy_kwh FROM meter_daily") == pytest.approx(7.0)


def test_flags_are_kept_not_rejected(registered, write_file):
    lines = ["meter_id,timestamp,value"]
    for hour in range(72):
        value = 0 if 10 <= hour < 40 else (900 if hour == 50 else 3)
        lines.append(f"E1,2024-03-{1 + hour // 24:02d} {hour % 24:02d}:00,{value}")
    summary = ingest_paths(registered.settings, [write_file("\n".join(lines))], trigger="test")
    assert summary.rows_loaded == 72
    assert summary.files[0].flags == {"zero_run": 1, "spike": 1}
    assert registered.scalar("SELECT count(*) FROM reading WHERE flags & 1 = 1") == 30
    assert registered.scalar("SELECT count(*) FROM reading_flag") == 2


def test_rollups_rebuild_matches_incremental(registered, write_file):
    text = "meter_id,timestamp,value\n" + "".join(
        f"E1,2024-03-0{1 + h // 24} {h % 24:02d}:00,{h}\nC1,2024-03-0{1 + h // 24} "
        f"{h % 24:02d}:30,{h * 10}\n"
        for h in range(0, 72, 5)
    )
    ingest_paths(registered.settings, [write_file(text)], trigger="test")
    query = "SELECT meter_key, day, energy_kwh, reading_count, covered_hours FROM meter_daily"
    before = sorted(registered.query(query), key=lambda r: (r["meter_key"], r["day"]))
    b_before = registered.query("SELECT * FROM building_daily ORDER BY energy_type, day")
    rebuild_rollups_from_nothing(registered)
    after = sorted(registered.query(query), key=lambda r: (r["meter_key"], r["day"]))
    same_rows(after, before)
    same_rows(registered.query("SELECT * FROM building_daily ORDER BY energy_type, day"), b_before)


def test_rollups_of_new_days_written_as_new_rows_match_a_rebuild(
    registered, write_file, monkeypatch
):
    from ingest import rollups
    from tests.ingest.conftest import register_meters

    with registered.connect() as conn:
        register_meters(conn, "B2", [("F1", "electricity", "kWh", "interval", 1.0, None, 30)])
        conn.commit()
    new_days = []
    add_new_days = rollups._add_new_days
    monkeypatch.setattr(
        rollups, "_add_new_days", lambda *a: new_days.append(add_new_days(*a)) or new_days[-1]
    )
    # New days across New Year (local time): meter-days and building-days are new rows.
    first = write_file(
        "meter_id,timestamp,value\n"
        + "".join(
            f"{m},{(2023, 12, 31)[0] + (h >= 24)}-{12 if h < 24 else 1:02d}-"
            f"{31 if h < 24 else 1:02d} {h % 24:02d}:00,{v * h}\n"
            for h in range(18, 30)
            for m, v in (("E1", 1.5), ("E2", 0.25), ("F1", 2))
        ),
        "a.csv",
    )
    # More of the same days (another meter of building B1): rollups updated and recomputed.
    second = write_file(
        "meter_id,timestamp,value\n" + "".join(f"E1,2024-01-01 {h:02d}:30,1\n" for h in range(6)),
        "b.csv",
    )
    query = "SELECT * FROM meter_daily ORDER BY meter_key, day"
    b_query = "SELECT * FROM building_daily ORDER BY building_id, energy_type, day"
    for path, written_as_new in ((first, True), (second, False)):
        summary = ingest_paths(registered.settings, [path], trigger="test")
        assert new_days[-1] is written_as_new
        assert summary.affected == (
            {2023: {"B1", "B2"}, 2024: {"B1", "B2"}} if written_as_new else {2024: {"B1"}}
        )
        loaded, b_loaded = registered.query(query), registered.query(b_query)
        assert registered.cli("rollups", "rebuild").returncode == 0
        same_rows(registered.query(query), loaded)
        same_rows(registered.query(b_query), b_loaded)
    assert [r["meter_count"] for r in b_loaded if r["building_id"] == "B1"] == [2, 2]
    assert [r["covered_hours"] for r in b_loaded if r["building_id"] == "B2"] == [3.0, 3.0]


def test_cumulative_correction_recomputes_the_next_reading(registered, write_file):
    ingest_paths(
        registered.settings,
        [
            write_file(
                "meter_id,timestamp,value\nC1,2024-03-01 00:00,100\n"
                "C1,2024-03-01 12:00,110\nC1,2024-03-02 00:00,130\n"
            )
        ],
        trigger="test",
    )
    fix = write_file("meter_id,timestamp,value\nC1,2024-03-01 12:00,120\n", "fix.csv")
    summary = ingest_paths(registered.settings, [fix], trigger="test", corrections=True)
    assert summary.rows_loaded == 1
    energies = [
        r["energy_kwh"]
        for r in registered.query("SELECT energy_kwh FROM reading ORDER BY reading_at")
    ]
    assert energies == [None, 40.0, 20.0]  # multiplier 2
    audit = registered.query("SELECT previous_value, previous_energy_kwh FROM reading_correction")
    assert audit == [{"previous_value": 110.0, "previous_energy_kwh": 20.0}]
    assert registered.scalar("SELECT sum(energy_kwh) FROM meter_daily") == pytest.approx(60.0)


def test_daylight_saving_day_has_its_real_length(registered, write_file):
    settings = dataclasses.replace(registered.settings, timezone_name="Europe/Berlin")
    text = (
        "meter_id,timestamp,value\n"
        "C1,2024-03-31 00:00,0\n"
        "C1,2024-04-01 00:00,23\n"  # a 23-hour local day: all of it on 31 March
        "E1,2024-03-31 02:30,1\n"  # this local time does not exist in Berlin
    )
    summary = ingest_paths(settings, [write_file(text)], trigger="test")
    assert summary.quarantine_by_reason == {"bad_timestamp": 1}
    day = registered.query(
        "SELECT energy_kwh, covered_hours FROM meter_daily WHERE day = '2024-03-31'"
    )[0]
    assert day["energy_kwh"] == pytest.approx(46.0)
    assert day["covered_hours"] == pytest.approx(23.0)


def test_increments_staged_on_the_server_give_the_same_rollups(registered, write_file, monkeypatch):
    from ingest import rollups

    text = "meter_id,timestamp,value\n" + "".join(
        f"{m},2024-03-{d:02d} {h:02d}:00,{d + h / 100}\n"
        for d in range(1, 6)
        for h in range(0, 24, 3)
        for m in ("E1", "E2")
    )
    settings = dataclasses.replace(registered.settings, ingest_batch_rows=7)
    ingest_paths(settings, [write_file(text, "a.csv")], trigger="test")
    in_memory = registered.query("SELECT * FROM meter_daily ORDER BY meter_key, day")
    buildings = registered.query("SELECT * FROM building_daily ORDER BY energy_type, day")
    with registered.connect() as conn:
        for table in ("reading", "meter_daily", "building_daily"):
            conn.execute(f"TRUNCATE {table} CASCADE")
        conn.execute("DELETE FROM ingest_file")
        conn.commit()
    monkeypatch.setattr(rollups, "INCREMENTS_IN_MEMORY", 4)  # stage every few batches
    staged = []
    stage = rollups.Increments._stage
    monkeypatch.setattr(
        rollups.Increments,
        "_stage",
        lambda self, frame: (staged.append(len(frame)), stage(self, frame)),
    )
    ingest_paths(settings, [write_file(text, "b.csv")], trigger="test")
    assert len(staged) > 1
    assert len(in_memory) == 10
    same_rows(registered.query("SELECT * FROM meter_daily ORDER BY meter_key, day"), in_memory)
    same_rows(registered.query("SELECT * FROM building_daily ORDER BY energy_type, day"), buildings)


def test_ingest_limits_come_from_the_rules(registered, write_file):
    from datetime import UTC, datetime, timedelta

    def with_rules(**ingest: float) -> Any:
        rules = {**registered.settings.rules, "ingest": {**registered.settings.rules["ingest"]}}
        rules["ingest"].update(ingest)
        return dataclasses.replace(registered.settings, rules=rules)

    soon = (datetime.now(UTC) + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    ahead = write_file(f"meter_id,timestamp,value\nE1,{soon},1\n", "ahead.csv")
    strict = ingest_paths(with_rules(future_tolerance_minutes=0), [ahead], trigger="test")
    assert strict.quarantine_by_reason == {"future_timestamp": 1}
    lenient = ingest_paths(registered.settings, [write_file(f"{ahead.read_text()}\n", "b.csv")])
    assert (lenient.rows_loaded, lenient.rows_quarantined) == (1, 0)  # default: 5 minutes

    # H1 wraps at 1000 GJ: 900 -> 300 implies 400 GJ, 40 % of the register range.
    wrap = "meter_id,timestamp,value\nH1,2024-03-01 00:00,900\nH1,2024-03-01 12:00,300\n"
    narrow = ingest_paths(with_rules(rollover_max_share=0.3), [write_file(wrap, "w1.csv")])
    assert narrow.quarantine_by_reason == {"register_decrease": 1}
