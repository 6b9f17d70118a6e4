"""Dashboard sessions recorded on the server (table ``web_session``, sql/0050).

The browser keeps a random token in its signed cookie; the database keeps the token's
SHA-256 with the user and an expiry. A request is signed in only while that row exists, so
ending a session on the server ends it for the browser at once:

- signing out deletes every session of the user (:func:`end_user_sessions`);
- ``quotawatch users remove`` deletes them by cascade;
- a new password (``quotawatch users add --replace``, or any UPDATE of ``password_hash``)
  deletes them through the trigger of sql/0050.

Functions take a connection and never commit on their own.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import psycopg

from dashboard.users import Viewer

SESSION_LIFETIME = timedelta(hours=12)

PURGE_EXPIRED = "DELETE FROM web_session WHERE expires_at <= now()"
INSERT_SESSION = """
INSERT INTO web_session (token_sha256, username, expires_at)
VALUES (%(digest)s, %(username)s, now() + %(lifetime)s)
"""
SELECT_VIEWER = """
SELECT u.username, u.role,
       coalesce(array_agg(ub.building_id) FILTER (WHERE ub.building_id IS NOT NULL), '{}')
           AS building_ids
  FROM web_session s
  JOIN app_user u USING (username)
  LEFT JOIN user_building ub USING (username)
 WHERE s.token_sha256 = %(digest)s AND s.expires_at > now()
 GROUP BY u.username
"""
DELETE_USER_SESSIONS_BY_TOKEN = """
DELETE FROM web_session
 WHERE username = (SELECT username FROM web_session WHERE token_sha256 = %(digest)s)
"""
DELETE_USER_SESSIONS = "DELETE FROM web_session WHERE username = %(username)s"


def token_digest(token: str) -> bytes:
    """The SHA-256 of a session token, as stored (32 bytes)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def start_session(
    conn: psycopg.Connection[Any], username: str, lifetime: timedelta = SESSION_LIFETIME
) -> str:
    """Record a new session of ``username`` valid for ``lifetime``; returns its token (the
    only copy: the database keeps its digest). Expired sessions of anyone are deleted."""
    conn.execute(PURGE_EXPIRED)
    token = secrets.token_urlsafe(32)
    conn.execute(
        INSERT_SESSION,
        {"digest": token_digest(token), "username": username, "lifetime": lifetime},
    )
    return token


def viewer_for_token(conn: psycopg.Connection[Any], token: str) -> Viewer | None:
    """The signed-in user of a session token, or None when the session has ended, expired
    or never existed. Reads the user afresh, so role and buildings are always current."""
    row = conn.execute(SELECT_VIEWER, {"digest": token_digest(token)}).fetchone()
    if row is None:
        return None
    return Viewer(row["username"], row["role"], frozenset(row["building_ids"]))


def end_sessions_of_token(conn: psycopg.Connection[Any], token: str) -> int:
    """Sign out: end every session of the user that ``token`` belongs to; returns how many."""
    return conn.execute(DELETE_USER_SESSIONS_BY_TOKEN, {"digest": token_digest(token)}).rowcount


def end_user_sessions(conn: psycopg.Connection[Any], username: str) -> int:
    """End every session of ``username``; returns how many."""
    return conn.execute(DELETE_USER_SESSIONS, {"username": username}).rowcount
