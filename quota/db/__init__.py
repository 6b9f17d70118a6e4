"""Database access: the one place that turns settings into a PostgreSQL connection.

Library functions elsewhere take a ``psycopg.Connection`` and never commit on their own;
the caller (a CLI command, a job, a dashboard request) owns the transaction. psycopg errors
that reach a user are wrapped in :class:`DatabaseError` with a message saying what to do.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from quota.settings import Settings

EMBEDDED_SUPERUSER = "quotawatch"


class DatabaseError(RuntimeError):
    """The database could not be reached or refused an operation; the message says why."""


def embedded_conninfo(settings: Settings, dbname: str | None = None) -> str:
    """Connection string of the embedded cluster under ``settings.home`` (Unix socket)."""
    from quota.db.cluster import Cluster  # the cluster module knows its socket folder and port

    cluster = Cluster.from_settings(settings)
    return make_conninfo(
        host=str(cluster.socket_dir),
        port=str(cluster.port()),
        user=EMBEDDED_SUPERUSER,
        dbname=dbname or settings.database_name,
    )


def conninfo(settings: Settings, dbname: str | None = None) -> str:
    """The connection string for ``settings``, optionally for another database on the same
    server (used by tests to reach their cloned databases)."""
    if settings.database_url:
        if dbname is None:
            return settings.database_url
        params = conninfo_to_dict(settings.database_url)
        params["dbname"] = dbname
        return make_conninfo(**params)
    return embedded_conninfo(settings, dbname)


def describe(settings: Settings) -> str:
    """A human description of where the database is, with any password hidden."""
    info = conninfo_to_dict(conninfo(settings))
    info.pop("password", None)
    host = info.get("host", "localhost")
    return f"{info.get('dbname', '')} on {host}:{info.get('port', 5432)} as {info.get('user', '')}"


def connect(
    settings: Settings, dbname: str | None = None, *, autocommit: bool = False, **kwargs: Any
) -> psycopg.Connection[Any]:
    """Open a connection (rows as dicts), raising :class:`DatabaseError` with a hint."""
    try:
        return psycopg.connect(
            conninfo(settings, dbname), autocommit=autocommit, row_factory=dict_row, **kwargs
        )
    except psycopg.OperationalError as exc:
        hint = (
            "start it with `quotawatch db up`"
            if settings.is_embedded
            else "check QUOTAWATCH_DATABASE_URL"
        )
        raise DatabaseError(f"cannot connect to {describe(settings)}: {exc}; {hint}") from exc


# Bytes a bulk writer may queue in the kernel towards the server (the kernel caps it at
# net.core.wmem_max, 4 MiB on Debian).
BULK_SEND_BUFFER = 4 << 20


def widen_send_buffer(conn: psycopg.Connection[Any], size: int = BULK_SEND_BUFFER) -> None:
    """Let the kernel queue up to ``size`` bytes [B] written to ``conn`` (default 208 KiB).

    A bulk COPY then hands the server more data each time the writing thread runs: with the
    default the server drained the queue in ~2 ms and waited whenever the writer (a Python
    thread sharing the interpreter lock with a busy parser) came back later. A 5 M-row
    ingest's COPY went from 2.8 s to 2.5 s. Best effort: a socket that refuses is left as is.
    """
    try:
        with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    except OSError:
        pass


@contextmanager
def transaction(settings: Settings, dbname: str | None = None) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose work commits on success and rolls back on error."""
    conn = connect(settings, dbname)
    try:
        with conn.transaction():
            yield conn
    finally:
        conn.close()


POOL_APPLICATION_NAME = "quotawatch"


def make_pool(settings: Settings, *, min_size: int = 1, max_size: int = 8) -> ConnectionPool:
    """One pool per process (the dashboard's), opened and checked before use.

    Every connection is checked as it is handed out (``ConnectionPool.check_connection``, a
    round trip of an empty query): one the server has closed since (a database restart, a
    terminated backend, a dropped network link) is discarded and replaced, so a restart
    costs no failed request. Connections show ``application_name`` "quotawatch" in
    ``pg_stat_activity``.
    """
    pool = ConnectionPool(
        conninfo(settings),
        min_size=min_size,
        max_size=max_size,
        kwargs={
            "row_factory": dict_row,
            "autocommit": True,
            "application_name": POOL_APPLICATION_NAME,
        },
        check=ConnectionPool.check_connection,
        open=False,
        name="quotawatch",
    )
    try:
        pool.open(wait=True, timeout=15)
    except psycopg.pool.PoolTimeout as exc:  # type: ignore[attr-defined]
        raise DatabaseError(f"cannot open a connection pool to {describe(settings)}") from exc
    pool.check()
    return pool


def url_for_display(conn_string: str) -> str:
    """A postgresql:// URL equivalent to ``conn_string`` with the password masked."""
    info = conninfo_to_dict(conn_string)
    host = info.get("host", "localhost")
    netloc_host = "" if host.startswith("/") else host
    query = f"?host={quote(host)}" if host.startswith("/") else ""
    port = info.get("port", "5432")
    return (
        f"postgresql://{info.get('user', '')}@{netloc_host}:{port}/{info.get('dbname', '')}{query}"
    )
