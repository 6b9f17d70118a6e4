"""sql/0160: `reading` rebuilt with its columns in alignment order, on the real TimescaleDB.

Each test migrates a database to the schema before 0160, checks it, applies the rest, and
compares: the definition (constraints, indexes, triggers, chunk interval, view, privileges)
is unchanged but for the column order; stored readings, rollups and the view answer the
same; the loader goes on loading into the rebuilt table.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from ingest import rollups
from ingest.loader import ingest_paths
from quota.db import migrations

REBUILD_VERSION = 160
FIRST_DAY = date(2024, 3, 1)
NEW_ORDER = [
    "meter_key",
    "flags",
    "reading_at",
    "file_id",
    "energy_kwh",
    "value",
    "since_at",
    "unit",
]
OLD_ORDER = [
    "meter_key",
    "reading_at",
    "value",
    "unit",
    "energy_kwh",
    "flags",
    "file_id",
    "since_at",
]
METERS = [
    # meter_id, energy_type, unit, kind, multiplier, interval_minutes
    ("E1", "electricity", "kWh", "interval", 1.0, 60),  # stored with value, unit NULL
    ("E2", "electricity", "kWh", "interval", 40.0, 60),  # value and unit as sent
    ("G1", "natural_gas", "m3", "cumulative", 1.0, None),  # register: since_at
]


def _migrate_before_rebuild(conn: psycopg.Connection[Any], tmp_path: Path) -> None:
    """Apply every migration before 0160 (the schema a running installation has)."""
    older = tmp_path / "sql-before-0160"
    older.mkdir()
    for migration in migrations.discover():
        if migration.version < REBUILD_VERSION:
            shutil.copy(migration.path, older / migration.path.name)
    migrations.migrate(conn, older)
    assert max(migrations.applied(conn)) < REBUILD_VERSION


def _columns(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'reading'::regclass "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
    ).fetchall()
    return [r["attname"] for r in rows]


def _definition(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Everything that defines `reading` and its view, except the columns' positions."""

    def rows(query: str) -> list[tuple]:
        return sorted(tuple(r.values()) for r in conn.execute(query).fetchall())

    return {
        "columns": rows(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum), "
            "a.attstattarget "
            "FROM pg_attribute a LEFT JOIN pg_attrdef d "
            "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = 'reading'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        "constraints": rows(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'reading'::regclass"
        ),
        "indexes": rows(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = 'reading'::regclass"
        ),
        "triggers": rows(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = 'reading'::regclass"
        ),
        "meter_triggers": rows(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = 'meter'::regclass AND NOT tgisinternal"
        ),
        "dimensions": rows(
            "SELECT column_name::text, time_interval::text, num_partitions "
            "FROM timescaledb_information.dimensions WHERE hypertable_name = 'reading'"
        ),
        "view": rows("SELECT pg_get_viewdef('reading_as_sent'::regclass)"),
        "view_comment": rows("SELECT obj_description('reading_as_sent'::regclass, 'pg_class')"),
        "view_columns": rows(
            "SELECT attnum, attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'reading_as_sent'::regclass AND attnum > 0"
        ),
        "privileges": rows(
            "SELECT c.relname::text, pg_get_userbyid(c.relowner)::text, "
            "coalesce(c.relacl::text[], '{}') AS acl, coalesce(c.reloptions, '{}') AS opts "
            "FROM pg_class c "
            "WHERE c.oid IN ('reading'::regclass, 'reading_as_sent'::regclass)"
        ),
    }


def _chunk_indexes(conn: psycopg.Connection[Any]) -> list[tuple]:
    """Per chunk of reading: its index columns and whether the index is valid and unique."""
    return sorted(
        (r["chunk"], r["cols"], r["valid"], r["unique"])
        for r in conn.execute(
            "SELECT c.chunk_name AS chunk, "
            "pg_get_indexdef(i.indexrelid, 1, true) || ',' "
            "|| pg_get_indexdef(i.indexrelid, 2, true) AS cols, "
            "i.indisvalid AND i.indisready AS valid, i.indisunique AS unique "
            "FROM timescaledb_information.chunks c JOIN pg_index i "
            "ON i.indrelid = format('%I.%I', c.chunk_schema, c.chunk_name)::regclass "
            "WHERE c.hypertable_name = 'reading'"
        ).fetchall()
    )


# Named columns: the checksums do not depend on where a column is stored.
READING_DIGEST = """
SELECT count(*) AS n,
       md5(string_agg(concat_ws('|', meter_key, reading_at, value, unit, energy_kwh, flags,
                                file_id, since_at), E'\\n' ORDER BY meter_key, reading_at)) AS md5
  FROM reading
"""
VIEW_DIGEST = """
SELECT count(*) AS n,
       md5(string_agg(concat_ws('|', meter_key, meter_id, reading_at, value, unit, energy_kwh,
                                flags, file_id, since_at), E'\\n' ORDER BY meter_key, reading_at))
       AS md5
  FROM reading_as_sent
"""
ROLLUP_DIGEST = """
SELECT (SELECT md5(string_agg(concat_ws('|', meter_key, day, energy_kwh, reading_count,
                                        covered_hours), E'\\n' ORDER BY meter_key, day))
          FROM meter_daily) AS meter_daily,
       (SELECT md5(string_agg(concat_ws('|', building_id, energy_type, day, energy_kwh,
                                        reading_count, covered_hours, meter_count),
                              E'\\n' ORDER BY building_id, energy_type, day))
          FROM building_daily) AS building_daily
"""


def _rollup_rows(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT meter_key::text AS key, day, energy_kwh, reading_count, covered_hours, "
        "NULL::integer AS meter_count FROM meter_daily "
        "UNION ALL SELECT building_id || '/' || energy_type, day, energy_kwh, reading_count, "
        "covered_hours, meter_count FROM building_daily ORDER BY 1, 2"
    ).fetchall()


# Per chunk, whether its rows lie in the heap in primary-key order.
HEAP_IN_KEY_ORDER = """
SELECT bool_and(in_order) AS in_order FROM (
    SELECT (meter_key, reading_at) >= lag((meter_key, reading_at))
             OVER (PARTITION BY tableoid ORDER BY ctid)
           IS NOT FALSE AS in_order
      FROM reading) r
"""


def _register(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "INSERT INTO building (building_id, name, district, building_type, floor_area_m2) "
        "VALUES ('B1', 'Building B1', 'Dongcheng', 'office_government', 12000)"
    )
    for meter_id, energy_type, unit, kind, multiplier, minutes in METERS:
        conn.execute(
            "INSERT INTO meter (meter_id, building_id, energy_type, unit, reading_kind, "
            "multiplier, interval_minutes) VALUES (%s, 'B1', %s, %s, %s, %s, %s)",
            (meter_id, energy_type, unit, kind, multiplier, minutes),
        )


def _readings_file(path: Path, days: int, first_day: int = 0) -> Path:
    """Hourly E1 and E2 (E1 with a zero run and a spike: flags) and a daily gas register
    over ``days`` days from 2024-03-01 + ``first_day``: several 7-day chunks."""
    lines = ["meter_id,timestamp,value"]
    for day in range(first_day, first_day + days):
        date = (FIRST_DAY + timedelta(days=day)).isoformat()
        for hour in range(24):
            h = day * 24 + hour
            e1 = 0 if 10 <= h < 40 else (900 if h == 50 else 3 + (h % 5) * 0.25)
            lines.append(f"E1,{date} {hour:02d}:00,{e1}")
            lines.append(f"E2,{date} {hour:02d}:00,{0.1 + (h % 7) * 0.01:.2f}")
        lines.append(f"G1,{date} 06:00,{1000 + day * 12.5}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def reader_role(empty_db) -> Any:
    """A role with privileges on reading and its view (dropped with what it was granted)."""
    role = f"qwtest_reader_{os.getpid()}"
    with empty_db.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        with empty_db.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_rebuilt_table_has_the_new_order_and_the_same_definition(
    empty_db, tmp_path, reader_role
) -> None:
    with empty_db.connect(autocommit=True) as conn:
        _migrate_before_rebuild(conn, tmp_path)
        role = sql.Identifier(reader_role)
        conn.execute(sql.SQL("GRANT SELECT ON reading TO {}").format(role))
        conn.execute("ALTER TABLE reading SET (autovacuum_vacuum_insert_scale_factor = 0.05)")
        conn.execute(
            sql.SQL("GRANT SELECT ON reading_as_sent TO {} WITH GRANT OPTION").format(role)
        )
        assert _columns(conn) == OLD_ORDER
        before = _definition(conn)

        assert next(m.version for m in migrations.migrate(conn)) == REBUILD_VERSION
        assert _columns(conn) == NEW_ORDER
        after = _definition(conn)
        assert after == before
        assert any(
            reader_role in acl for _n, _o, acls, _opts in after["privileges"] for acl in acls
        )
        assert ["autovacuum_vacuum_insert_scale_factor=0.05"] in [p[3] for p in after["privileges"]]
        # No time-only index came back with the new hypertable (sql/0011).
        assert [name for name, _ in after["indexes"]] == ["reading_pkey"]
        assert after["dimensions"] == [("reading_at", "7 days", None)]
        assert conn.execute(
            "SELECT has_table_privilege(%s, 'reading_as_sent', 'SELECT WITH GRANT OPTION') AS ok",
            (reader_role,),
        ).fetchone()["ok"]


def test_rebuild_keeps_every_reading_rollup_and_view(empty_db, tmp_path, reader_role) -> None:
    settings = empty_db.settings
    with empty_db.connect(autocommit=True) as conn:
        _migrate_before_rebuild(conn, tmp_path)
        _register(conn)
        conn.execute(sql.SQL("GRANT SELECT ON reading TO {}").format(sql.Identifier(reader_role)))
    first = ingest_paths(settings, [_readings_file(tmp_path / "a.csv", 30)], trigger="test")
    assert first.files[0].status == "loaded" and first.rows_quarantined == 0
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("ANALYZE reading")
        assert _columns(conn) == OLD_ORDER
        readings = conn.execute(READING_DIGEST).fetchone()
        view = conn.execute(VIEW_DIGEST).fetchone()
        daily = conn.execute(ROLLUP_DIGEST).fetchone()
        chunks_before = _chunk_indexes(conn)
        kinds = conn.execute(
            "SELECT count(*) FILTER (WHERE value IS NULL) AS as_energy, "
            "count(*) FILTER (WHERE unit IS NOT NULL) AS as_sent, "
            "count(*) FILTER (WHERE since_at IS NOT NULL) AS register, "
            "count(*) FILTER (WHERE flags <> 0) AS flagged, "
            "count(DISTINCT tableoid) AS chunks FROM reading"
        ).fetchone()
        # Every kind of row is there: value/unit NULL, sent, registers, flags; 5 chunks.
        assert min(kinds.values()) > 0 and kinds["chunks"] >= 5
        size_before = conn.execute(
            "SELECT DISTINCT pg_column_size(r.*) AS b FROM reading r "
            "WHERE value IS NULL AND since_at IS NULL"
        ).fetchall()

        migrations.migrate(conn)

        assert _columns(conn) == NEW_ORDER
        assert conn.execute(READING_DIGEST).fetchone() == readings
        assert conn.execute(VIEW_DIGEST).fetchone() == view
        assert conn.execute(ROLLUP_DIGEST).fetchone() == daily
        # Every chunk of the same interval again, each with its primary key, valid.
        chunks_after = _chunk_indexes(conn)
        assert [c[1:] for c in chunks_after] == [c[1:] for c in chunks_before]
        assert all(valid and unique for _c, _cols, valid, unique in chunks_after)
        assert {c[1] for c in chunks_after} == {"meter_key,reading_at"}
        # The chunks have the hypertable's privileges.
        assert conn.execute(
            "SELECT bool_and(has_table_privilege(%s, format('%%I.%%I', chunk_schema, "
            "chunk_name), 'SELECT')) AS ok FROM timescaledb_information.chunks "
            "WHERE hypertable_name = 'reading'",
            (reader_role,),
        ).fetchone()["ok"]
        # Each chunk's rows were copied in primary-key order.
        assert conn.execute(HEAP_IN_KEY_ORDER).fetchone()["in_order"] is True
        # 8 bytes less a reading sent in kWh: 64 -> 56 B a row (24 B header + data).
        size_after = conn.execute(
            "SELECT DISTINCT pg_column_size(r.*) AS b FROM reading r "
            "WHERE value IS NULL AND since_at IS NULL"
        ).fetchall()
        assert (size_before, size_after) == ([{"b": 64}], [{"b": 56}])
        # The meter delete guard (sql/0011) still sees the readings.
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="has readings"):
            conn.execute("DELETE FROM meter WHERE meter_id = 'E1'")
        # The rollups rebuilt from the rebuilt table are the ones stored (to 1e-9: sums may
        # add in another order).
        stored = _rollup_rows(conn)
        with conn.transaction():
            rollups.rebuild(conn, settings.tz, None, None)
        rebuilt = _rollup_rows(conn)
        assert len(rebuilt) == len(stored)
        for got, want in zip(rebuilt, stored, strict=True):
            assert (got["key"], got["day"]) == (want["key"], want["day"])
            assert (got["reading_count"], got["meter_count"]) == (
                want["reading_count"],
                want["meter_count"],
            )
            assert got["energy_kwh"] == pytest.approx(want["energy_kwh"], rel=1e-9)
            assert got["covered_hours"] == pytest.approx(want["covered_hours"], rel=1e-9)

    # The loader goes on: a file over the last two stored days (their rows duplicates) and
    # eight new ones, into a stored chunk and new ones.
    more = ingest_paths(
        settings, [_readings_file(tmp_path / "b.csv", 10, first_day=28)], trigger="test"
    )
    assert more.files[0].status == "loaded"
    assert more.rows_duplicate == 2 * (24 * 2 + 1) and more.rows_quarantined == 0
    with empty_db.connect(autocommit=True) as conn:
        after = conn.execute(READING_DIGEST).fetchone()
        assert after["n"] == readings["n"] + 8 * (24 * 2 + 1)
        # Chunks created since carry the primary key too.
        chunks = _chunk_indexes(conn)
        assert len(chunks) > len(chunks_after)
        assert {(cols, valid, unique) for _c, cols, valid, unique in chunks} == {
            ("meter_key,reading_at", True, True)
        }
        gas = conn.execute(
            "SELECT value, unit, energy_kwh IS NOT NULL AS has_energy, since_at "
            "FROM reading_as_sent WHERE meter_id = 'G1' ORDER BY reading_at DESC LIMIT 1"
        ).fetchone()
        assert (gas["value"], gas["unit"], gas["has_energy"]) == (1000 + 37 * 12.5, "m3", True)
        assert gas["since_at"] is not None


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (
            "CREATE VIEW reading_last AS SELECT meter_key, max(reading_at) AS last_at "
            "FROM reading_as_sent GROUP BY meter_key",
            "view reading_last",
        ),
        ("CREATE INDEX reading_file_idx ON reading (file_id)", "index reading_file_idx"),
    ],
)
def test_rebuild_refuses_what_it_would_not_recreate(
    empty_db, tmp_path, statement: str, named: str
) -> None:
    with empty_db.connect(autocommit=True) as conn:
        _migrate_before_rebuild(conn, tmp_path)
        conn.execute(statement)
        with pytest.raises(migrations.MigrationError, match=named):
            migrations.migrate(conn)
        assert _columns(conn) == OLD_ORDER  # nothing changed
        assert max(migrations.applied(conn)) < REBUILD_VERSION
