"""Migrations against the real TimescaleDB: from empty, re-run no-op, edited file refused,
concurrent runs serialised."""

import shutil
import threading
from pathlib import Path

import pytest

from quota.db import migrations
from quota.settings import SQL_DIR


def test_migrate_from_empty_then_rerun_is_noop(empty_db) -> None:
    with empty_db.connect(autocommit=True) as conn:
        applied = migrations.migrate(conn)
        assert [m.version for m in applied] == [m.version for m in migrations.discover()]
        assert migrations.migrate(conn) == []
        ext = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        assert ext is not None
        hyper = conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables"
        ).fetchall()
        assert {"reading"} <= {h["hypertable_name"] for h in hyper}
        count = conn.execute("SELECT count(*) AS n FROM schema_migration").fetchone()["n"]
        assert count == len(migrations.discover())


def test_edited_applied_migration_is_refused(empty_db, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    with empty_db.connect(autocommit=True) as conn:
        migrations.migrate(conn, sql_dir)
        first = sorted(sql_dir.glob("0001_*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(migrations.MigrationError, match="edited after it was applied"):
            migrations.migrate(conn, sql_dir)


def test_new_migration_applies_and_failed_one_rolls_back(empty_db, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    with empty_db.connect(autocommit=True) as conn:
        migrations.migrate(conn, sql_dir)
        (sql_dir / "9001_extra.sql").write_text("CREATE TABLE extra_table (x int);")
        assert [m.version for m in migrations.migrate(conn, sql_dir)] == [9001]
        (sql_dir / "9002_broken.sql").write_text(
            "CREATE TABLE half_done (x int);\nSELECT no_such_function();"
        )
        with pytest.raises(migrations.MigrationError, match=r"9002_broken\.sql failed"):
            migrations.migrate(conn, sql_dir)
        assert conn.execute("SELECT to_regclass('half_done') AS t").fetchone()["t"] is None
        assert 9002 not in migrations.applied(conn)


def test_badly_named_migration_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_oops.sql").write_text("SELECT 1;")
    with pytest.raises(migrations.MigrationError, match=r"NNNN_name\.sql"):
        migrations.discover(tmp_path)


def test_concurrent_migrations_apply_once(empty_db) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with empty_db.connect(autocommit=True) as conn:
                results.append(len(migrations.migrate(conn)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [0, 0, len(migrations.discover())]
