"""The scratch database the benchmarks in bench/ measure in, shared by bench/ingest.py and
bench/bills.py.

A benchmark creates a fresh, migrated database of its own on the configured cluster
(:func:`create_database`), connects to it through :func:`settings_for`, writes out dirty
pages between timed steps (:func:`settle`) and drops it at the end (:func:`drop_database`).
"""

from __future__ import annotations

import contextlib
import dataclasses

import psycopg
from psycopg import sql

from quota import db as qdb
from quota.db import migrations
from quota.settings import Settings


def settings_for(settings: Settings, name: str) -> Settings:
    """``settings`` pointed at the database ``name`` of the same cluster or server."""
    if settings.database_url:
        return dataclasses.replace(
            settings, database_url=qdb.conninfo(settings, name), database_name=name
        )
    return dataclasses.replace(settings, database_name=name)


def create_database(settings: Settings, name: str) -> Settings:
    """(Re)create the database ``name`` empty, apply every migration, and return the
    settings that connect to it."""
    drop_database(settings, name)
    with qdb.connect(settings, "postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    bench = settings_for(settings, name)
    with qdb.connect(bench, autocommit=True) as conn:
        migrations.migrate(conn)
    return bench


def drop_database(settings: Settings, name: str) -> None:
    """Drop the database ``name`` if it exists (closing its connections)."""
    with qdb.connect(settings, "postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def settle(settings: Settings) -> None:
    """Write out the pages earlier steps left dirty (CHECKPOINT), so that neither timed side
    pays for the other's writes; needs a superuser (the embedded cluster's role is one),
    skipped otherwise."""
    with qdb.connect(settings, autocommit=True) as conn, contextlib.suppress(psycopg.Error):
        conn.execute("CHECKPOINT")


def write_buildings(conn: psycopg.Connection, count: int, digits: int) -> None:
    """COPY ``count`` bench buildings ``BB0…`` (ids of ``digits`` digits), 20,000 m² offices."""
    with conn.cursor().copy(
        "COPY building (building_id, name, district, building_type, floor_area_m2) FROM STDIN"
    ) as copy:
        for b in range(count):
            copy.write_row((f"BB{b:0{digits}d}", f"Bench {b}", "Bench", "office_commercial", 20000))
