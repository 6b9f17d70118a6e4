"""Quota versions, determinations, roles and the audit log, end to end on the real database
(the `quotawatch` command line in a subprocess against a cloned, migrated database)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import psycopg
import pytest

from dashboard import users
from tests.quota.conftest import add_daily, add_meter, day_range

BUILDINGS = (
    "building_id,name,district,building_type,floor_area_m2\n"
    "A,甲楼,朝阳区,office_commercial,10000\n"
    "B,乙楼,海淀区,office_commercial,10000\n"
)
# A uses 100 kWh a day: 36,500 kWh in 2023 and 2025, 36,600 in 2024 (leap year).
QUOTAS = (
    "building_id,year,basis,limit_value\n"
    "A,2023,electricity_kwh,30000\n"
    "A,2024,electricity_kwh,30000\n"
    "A,2025,electricity_kwh,30000\n"
    "B,2025,electricity_kwh,50000\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_json(db, *args: str) -> dict:
    proc = db.cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def city_template(make_template, tmp_path_factory) -> str:
    """Buildings A and B imported, their meters, three years of daily use and the three
    roles' users: built once, in a template database."""
    folder = tmp_path_factory.mktemp("decisions_city")

    def seed(db) -> None:
        db.cli("import", "buildings", str(write(folder, "b.csv", BUILDINGS)), check=True)
        db.cli("import", "quotas", str(write(folder, "quotas.csv", QUOTAS)), check=True)
        with db.connect() as conn:
            add_meter(conn, "A-E", "A")
            add_meter(conn, "B-E", "B")
            add_daily(conn, "A", day_range(date(2023, 1, 1), date(2025, 12, 31)), 100.0)
            add_daily(conn, "B", day_range(date(2023, 1, 1), date(2025, 12, 31)), 100.0)
            users.add_user(conn, "reg", "regulator", "password-reg")
            users.add_user(conn, "ana", "analyst", "password-ana")
            users.add_user(conn, "man", "manager", "password-man", ["A"])
            conn.commit()

    return make_template("decisions_city", seed)


@pytest.fixture
def city(city_template, clone_db):
    """A database of this test's own, cloned from the city template."""
    return clone_db(city_template)


def versions(db, building_id: str, year: int) -> list[dict]:
    return run_json(db, "quota", "history", building_id, "--year", str(year))["versions"]


def audit_actions(db, building_id: str | None = None) -> list[str]:
    args = ["audit"] + (["--building", building_id] if building_id else [])
    return [e["action"] for e in run_json(db, *args)["entries"]]


def test_versions_reimport_adjust_and_evaluation_read_the_version_in_force(city, tmp_path):
    first = versions(city, "A", 2025)
    assert [(v["source"], v["limit_value"]) for v in first] == [("imported", 30000.0)]
    checksum = hashlib.sha256(QUOTAS.encode("utf-8")).hexdigest()
    assert first[0]["file"] == "quotas.csv" and first[0]["checksum"] == checksum
    assert {"limit_value", "source", "reason", "by", "at", "file", "checksum"} <= set(first[0])

    # The same file again adds nothing; a changed limit adds an imported version.
    city.cli("import", "quotas", str(write(tmp_path, "quotas.csv", QUOTAS)), check=True)
    assert len(versions(city, "A", 2025)) == 1
    changed = QUOTAS.replace("A,2025,electricity_kwh,30000", "A,2025,electricity_kwh,31000")
    summary = run_json(city, "import", "quotas", str(write(tmp_path, "q2.csv", changed)))
    assert summary["files"][0]["rows_updated"] == 1
    assert [(v["source"], v["limit_value"], v["file"]) for v in versions(city, "A", 2025)] == [
        ("imported", 30000.0, "quotas.csv"),
        ("imported", 31000.0, "q2.csv"),
    ]

    adjusted = run_json(
        city,
        "quota", "adjust", "A", "--year", "2025", "--basis", "electricity_kwh",
        "--limit-value", "40000", "--reason", "extension of opening hours", "--by", "reg",
    )  # fmt: skip
    assert adjusted["source"] == "adjusted" and adjusted["by"] == "reg"
    history = versions(city, "A", 2025)
    assert [v["source"] for v in history] == ["imported", "imported", "adjusted"]
    assert history[-1]["limit_value"] == 40000.0
    assert history[-1]["reason"] == "extension of opening hours"
    assert [v["in_force"] for v in history] == [False, False, True]

    # Every reader of quotas sees the version in force.
    assert city.scalar(
        "SELECT limit_value FROM quota_effective WHERE building_id = 'A' AND year = 2025"
    ) == pytest.approx(40000.0)
    evaluation = run_json(city, "evaluate", "--year", "2025", "--no-store")
    row = next(b for b in evaluation["buildings"] if b["building_id"] == "A")
    assert row["limit_value"] == pytest.approx(40000.0) and row["quota_source"] == "adjusted"

    # A later re-import of an unchanged file leaves the adjustment in force.
    city.cli("import", "quotas", str(write(tmp_path, "q2.csv", changed)), check=True)
    assert versions(city, "A", 2025)[-1]["source"] == "adjusted"

    entries = run_json(city, "audit", "--building", "A")["entries"]
    quota_entries = [e for e in entries if e["action"].startswith("quota.")]
    assert [e["action"] for e in quota_entries] == [
        "quota.imported",  # 2023
        "quota.imported",  # 2024
        "quota.imported",  # 2025
        "quota.imported",  # 2025, changed limit
        "quota.adjusted",
    ]
    last = quota_entries[-1]
    assert last["actor"] == "reg" and last["reason"] == "extension of opening hours"
    assert last["before"]["limit_value"] == 31000.0 and last["after"]["limit_value"] == 40000.0
    assert quota_entries[3]["after"]["file"] == "q2.csv"
    assert quota_entries[3]["actor"].startswith("cli:")  # an import names the operator


def test_proposals_are_proposed_versions_and_an_analyst_may_propose(city, tmp_path):
    out = tmp_path / "proposals.csv"
    run_json(city, "quota", "propose", "--year", "2026", "-o", str(out), "--by", "ana")
    history = versions(city, "A", 2026)
    assert history and {v["source"] for v in history} == {"proposed"}
    assert {v["by"] for v in history} == {"ana"}
    proc = city.cli("quota", "propose", "--year", "2026", "-o", str(out), "--by", "man")
    assert proc.returncode != 0 and "may not propose" in proc.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reason", "x", "--by", "ana"], "may not adjust"),
        (["--reason", "x", "--by", "man"], "may not adjust"),
        (["--reason", "   ", "--by", "reg"], "needs a reason"),
        (["--reason", "x", "--by", "nobody"], "no such dashboard user"),
        (["--reason", "x", "--by", "reg", "--year", "1800"], "a quota year lies in"),
    ],
)
def test_refused_adjustments_change_nothing(city, extra, message):
    before = city.scalar("SELECT count(*) FROM audit_entry")
    proc = city.cli(
        "quota", "adjust", "A", "--year", "2025", "--basis", "electricity_kwh",
        "--limit-value", "99999", *extra,
    )  # fmt: skip
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert [v["source"] for v in versions(city, "A", 2025)] == ["imported"]
    assert city.scalar("SELECT count(*) FROM audit_entry") == before


def test_adjustment_without_reason_option_is_refused(city):
    proc = city.cli(
        "quota", "adjust", "A", "--year", "2025", "--basis", "electricity_kwh", "--limit", "1"
    )
    assert proc.returncode != 0 and "--reason" in proc.stderr
    assert len(versions(city, "A", 2025)) == 1


def test_adjust_takes_the_older_option_spelling_limit_and_hides_it(city):
    """--limit-value is the option; --limit, its older spelling, still works for scripts."""
    adjusted = run_json(
        city,
        "quota", "adjust", "A", "--year", "2025", "--basis", "electricity_kwh",
        "--limit", "41000", "--reason", "an old script", "--by", "reg",
    )  # fmt: skip
    assert adjusted["limit_value"] == 41000.0
    assert versions(city, "A", 2025)[-1]["limit_value"] == 41000.0
    help_text = city.cli("quota", "adjust", "--help", check=True).stdout
    assert "--limit-value" in help_text and "--limit " not in help_text
    proc = city.cli(
        "quota", "adjust", "A", "--year", "2025", "--basis", "electricity_kwh", "--reason", "x"
    )
    assert proc.returncode != 0 and "--limit-value" in proc.stderr


def test_determination_supersede_and_listing(city):
    made = run_json(city, "determine", "--year", "2024", "--by", "reg")
    first_id = made["determination_id"]
    a = next(b for b in made["buildings"] if b["building_id"] == "A")
    # 2023 was over 120 % too (computed: no 2023 determination).
    assert a["status"] == "over_20_repeat" and a["utilization"] == pytest.approx(36600 / 30000)
    stored = city.query(
        "SELECT status, use_value, completeness, quota_version_id, utilization"
        " FROM determination_result WHERE determination_id = %s AND building_id = 'A'",
        (first_id,),
    )[0]
    version_id = city.scalar(
        "SELECT version_id FROM quota_effective WHERE building_id = 'A' AND year = 2024"
    )
    assert stored["quota_version_id"] == version_id and stored["use_value"] == 36600.0
    assert stored["completeness"] == pytest.approx(1.0)
    rules = city.query("SELECT rules, factors FROM determination")[0]
    assert rules["rules"]["over_20_ratio"] == 1.2
    assert rules["factors"]["electricity_kgce_per_kwh"] > 0

    again = city.cli("determine", "--year", "2024", "--by", "reg")
    assert again.returncode != 0 and "already determined" in again.stderr
    no_reason = city.cli("determine", "--year", "2024", "--supersede", "--by", "reg")
    assert no_reason.returncode != 0 and "needs a reason" in no_reason.stderr
    for who in ("ana", "man"):
        refused = city.cli("determine", "--year", "2023", "--by", who)
        assert refused.returncode != 0 and "may not determine" in refused.stderr
    unfinished = city.cli("determine", "--year", str(date.today().year + 1))
    assert unfinished.returncode != 0 and "has not ended" in unfinished.stderr
    ancient = city.cli("determine", "--year", "1800")
    assert ancient.returncode != 0 and "a quota year lies in" in ancient.stderr

    second = run_json(
        city, "determine", "--year", "2024", "--supersede", "--reason", "meter fixed", "--by", "reg"
    )
    listing = run_json(city, "determinations", "--year", "2024")["determinations"]
    assert [(d["determination_id"], d["superseded_by"]) for d in listing] == [
        (first_id, second["determination_id"]),
        (second["determination_id"], None),
    ]
    assert listing[1]["reason"] == "meter fixed" and listing[1]["by"] == "reg"
    assert {"determination_id", "at", "by", "reason", "superseded_by"} <= set(listing[0])
    actions = audit_actions(city)
    assert actions.count("determination.made") == 1
    assert actions.count("determination.superseded") == 1
    # Old determinations are never deleted or rewritten.
    with city.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM determination WHERE determination_id = %s", (first_id,))
    with city.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE determination_result SET status = 'within'")


def test_repeat_offender_uses_previous_determination_in_force(city):
    def status_2025() -> tuple[str, str]:
        result = run_json(city, "evaluate", "--year", "2025", "--no-store")
        a = next(b for b in result["buildings"] if b["building_id"] == "A")
        rows = city.query("SELECT 1")  # the database is reachable between runs
        assert rows
        return a["status"], a["previous_utilization"]

    # Without a 2024 determination: computed from 2024's use and quota (122 % → repeat).
    assert status_2025()[0] == "over_20_repeat"
    # 2024 determined over 120 %; then its quota is raised: the computed previous year would
    # be within, but the determination in force still counts.
    run_json(city, "determine", "--year", "2024", "--by", "reg")
    run_json(
        city,
        "quota", "adjust", "A", "--year", "2024", "--basis", "electricity_kwh",
        "--limit-value", "40000", "--reason", "late correction", "--by", "reg",
    )  # fmt: skip
    status, previous = status_2025()
    assert status == "over_20_repeat" and previous == pytest.approx(36600 / 30000)
    # Superseding 2024 with the corrected quota makes 2025 a first offence.
    run_json(
        city,
        "determine", "--year", "2024", "--supersede", "--reason", "quota corrected",
        "--by", "reg",
    )  # fmt: skip
    status, previous = status_2025()
    assert status == "over_20" and previous == pytest.approx(36600 / 40000)
    made = run_json(city, "determine", "--year", "2025", "--by", "reg")
    a = next(b for b in made["buildings"] if b["building_id"] == "A")
    assert a["status"] == "over_20"


def test_mid_history_floor_area_change(city, tmp_path):
    # B's floor area changes from 10,000 m² to 2,000 m² (below the 3,000 m² scope) from
    # 1 July 2025; A doubles to 20,000 m² from the same day.
    changed = (
        "building_id,name,district,building_type,floor_area_m2,effective_from\n"
        "A,甲楼,朝阳区,office_commercial,20000,2025-07-01\n"
        "B,乙楼,海淀区,office_commercial,2000,2025-07-01\n"
    )
    city.cli("import", "buildings", str(write(tmp_path, "b2.csv", changed)), check=True)

    def rows(year: int) -> dict[str, dict]:
        result = run_json(city, "evaluate", "--year", str(year), "--no-store")
        return {b["building_id"]: b for b in result["buildings"]}

    y2024 = rows(2024)
    assert y2024["A"]["eui_kwh_per_m2"] == pytest.approx(36600 / 10000)
    assert y2024["B"]["status"] != "out_of_scope"
    y2025 = rows(2025)
    assert y2025["A"]["eui_kwh_per_m2"] == pytest.approx(36500 / 20000)
    assert y2025["B"]["status"] == "out_of_scope"
    # Before the change takes effect (as of June 2025), the old values are in force.
    mid = run_json(city, "evaluate", "--year", "2025", "--as-of", "2025-06-30", "--no-store")
    b = next(r for r in mid["buildings"] if r["building_id"] == "B")
    assert b["status"] != "out_of_scope"
    entry = run_json(city, "audit", "--building", "B")["entries"][-1]
    assert entry["action"] == "registry.building_changed"
    assert entry["before"]["floor_area_m2"] == 10000 and entry["after"]["floor_area_m2"] == 2000


def test_audit_log_is_append_only_even_for_the_superuser(city):
    assert city.scalar("SELECT count(*) FROM audit_entry") > 0
    for statement in (
        "UPDATE audit_entry SET reason = 'rewritten'",
        "DELETE FROM audit_entry",
        "TRUNCATE audit_entry",
    ):
        with city.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    with city.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE quota_version SET limit_value = 1")
    assert city.scalar("SELECT count(*) FROM audit_entry WHERE reason = 'rewritten'") == 0


def test_reading_corrections_and_user_changes_are_audited(city, tmp_path):
    readings = "meter_id,timestamp,value\nA-E,2026-03-01T08:00:00+08:00,5\n"
    fixed = "meter_id,timestamp,value\nA-E,2026-03-01T08:00:00+08:00,6\n"
    city.cli("ingest", str(write(tmp_path, "r.csv", readings)), check=True)
    city.cli("ingest", "--corrections", str(write(tmp_path, "fix.csv", fixed)), check=True)
    with city.connect() as conn:
        users.add_user(conn, "man", "manager", "password-new", ["A", "B"], replace=True)
        users.remove_user(conn, "ana")
        conn.commit()
    entries = run_json(city, "audit")["entries"]
    corrected = [e for e in entries if e["action"] == "reading.corrected"]
    assert corrected and corrected[0]["building_id"] == "A"
    assert corrected[0]["before"]["value"] == 5 and corrected[0]["after"]["value"] == 6
    changed = [e for e in entries if e["action"] == "user.changed"][-1]
    assert changed["before"]["building_ids"] == ["A"]
    assert changed["after"]["building_ids"] == ["A", "B"]
    assert changed["after"]["password_changed"] is True
    assert "password_hash" not in json.dumps(changed)
    assert [e["before"]["username"] for e in entries if e["action"] == "user.removed"] == ["ana"]
    added = [e["after"]["username"] for e in entries if e["action"] == "user.added"]
    assert added == ["reg", "ana", "man"]
    since = run_json(city, "audit", "--since", "2999-01-01")["entries"]
    assert since == []


def test_human_output_and_help(city):
    made = city.cli("determine", "--year", "2023")
    assert made.returncode == 0, made.stderr
    assert "determination 1 of 2023 by cli:" in made.stdout
    for args in (
        ("quota", "history", "A", "--year", "2025"),
        ("determinations", "--year", "2023"),
        ("audit", "--building", "A"),
    ):
        proc = city.cli(*args)
        assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr
    assert "quota.imported" in city.cli("audit", "--building", "A").stdout
    for command in (("quota", "adjust"), ("quota", "history"), ("determine",), ("audit",)):
        assert city.cli(*command, "--help").returncode == 0


def test_concurrent_determinations_of_one_year_leave_one_in_force(city):
    import threading

    from quota.record import determinations

    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        with city.connect() as conn:
            barrier.wait()
            try:
                determinations.determine(conn, city.settings, 2024, actor="reg", role="regulator")
                conn.commit()
                outcomes.append("made")
            except determinations.DeterminationError:
                conn.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["made", "refused"]
    assert city.scalar("SELECT count(*) FROM determination WHERE superseded_by IS NULL") == 1
