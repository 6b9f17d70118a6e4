"""evaluation_result references building and evaluation_run through statement-level checks
(sql/0021): the foreign-key guarantees hold without a per-row check."""

from __future__ import annotations

import psycopg
import pytest

from tests.quota.conftest import add_building

INSERT_RESULT = (
    "INSERT INTO evaluation_result (evaluation_id, building_id, basis, status)"
    " VALUES (%s, %s, 'electricity_kwh', 'within')"
)


def _run(conn: psycopg.Connection) -> int:
    return conn.execute(
        "INSERT INTO evaluation_run (year, as_of, timezone) VALUES (2025, '2025-06-30',"
        " 'Asia/Shanghai') RETURNING evaluation_id"
    ).fetchone()["evaluation_id"]


@pytest.fixture
def stored(db):
    """Buildings A and B, two runs with a result row for each building."""
    with db.connect() as conn:
        add_building(conn, "A")
        add_building(conn, "B")
        runs = [_run(conn), _run(conn)]
        for run in runs:
            for bid in ("A", "B"):
                conn.execute(INSERT_RESULT, (run, bid))
        conn.commit()
    db.runs = runs
    return db


def test_results_must_name_an_existing_building_and_run(stored):
    with stored.connect() as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="building Z"):
            conn.execute(INSERT_RESULT, (stored.runs[0], "Z"))
        conn.rollback()
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="run"):
            conn.execute(INSERT_RESULT, (stored.runs[1] + 100, "A"))
        conn.rollback()
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="building Z"):
            conn.execute("UPDATE evaluation_result SET building_id = 'Z' WHERE building_id = 'B'")
        conn.rollback()
        # COPY (the evaluation's path) is checked too
        with (
            pytest.raises(psycopg.errors.ForeignKeyViolation),
            conn.cursor() as cur,
            cur.copy(
                "COPY evaluation_result (evaluation_id, building_id, basis, status) FROM STDIN"
            ) as copy,
        ):
            copy.write_row((stored.runs[0], "Y", "energy_kgce", "within"))
        conn.rollback()
    assert stored.scalar("SELECT count(*) FROM evaluation_result") == 4


def test_deleting_a_building_or_run_deletes_its_results(stored):
    with stored.connect() as conn:
        conn.execute("DELETE FROM building WHERE building_id = 'A'")
        conn.commit()
    assert stored.query("SELECT DISTINCT building_id FROM evaluation_result") == [
        {"building_id": "B"}
    ]
    with stored.connect() as conn:
        conn.execute("DELETE FROM evaluation_run WHERE evaluation_id = %s", (stored.runs[0],))
        conn.commit()
    assert stored.query("SELECT evaluation_id, building_id FROM evaluation_result") == [
        {"evaluation_id": stored.runs[1], "building_id": "B"}
    ]
    with stored.connect() as conn:
        conn.execute("TRUNCATE evaluation_run")
        conn.commit()
    assert stored.scalar("SELECT count(*) FROM evaluation_result") == 0


def test_a_referenced_building_id_cannot_change(stored):
    with stored.connect() as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="building B"):
            conn.execute("UPDATE building SET building_id = 'B2' WHERE building_id = 'B'")
        conn.rollback()
        conn.execute("UPDATE building SET name = 'renamed' WHERE building_id = 'B'")
        conn.commit()
    assert stored.scalar("SELECT name FROM building WHERE building_id = 'B'") == "renamed"


def test_a_role_without_rights_on_the_rollup_or_update_rights_on_buildings_can_write(stored):
    """The triggers run with their owner's rights (like foreign-key checks do): writing daily
    rollups, storing results and deleting runs need no extra privileges."""
    with stored.connect() as conn:
        conn.execute("CREATE ROLE qw_writer")  # rolled back with the rest
        try:
            conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO qw_writer")
            conn.execute(
                "GRANT INSERT, DELETE ON building_daily, evaluation_run,"
                " evaluation_result TO qw_writer"
            )
            conn.execute("REVOKE ALL ON building_monthly FROM qw_writer")
            conn.execute("SET ROLE qw_writer")
            conn.execute(
                "INSERT INTO building_daily (building_id, energy_type, day,"
                " energy_kwh, reading_count, covered_hours, meter_count)"
                " VALUES ('A', 'electricity', '2025-01-02', 5, 24, 24, 1)"
            )
            run = _run(conn)
            conn.execute(INSERT_RESULT, (run, "A"))
            conn.execute("DELETE FROM evaluation_run WHERE evaluation_id = %s", (stored.runs[0],))
            conn.execute("RESET ROLE")
            assert conn.execute("SELECT energy_kwh FROM building_monthly").fetchone() == {
                "energy_kwh": 5.0
            }
            assert conn.execute("SELECT count(*) AS n FROM evaluation_result").fetchone() == {
                "n": 3
            }
        finally:
            conn.rollback()
