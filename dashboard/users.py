"""Dashboard users: who they are, what they may see, and how they sign in.

Passwords are hashed with Argon2id (argon2-cffi, salted, parameters inside the hash).
Failed sign-ins are slowed down per user: after ``max_failures`` failures in a row the account
is locked for a time that doubles with each further failure (capped), and every failure costs
a fixed delay (slept by the caller, after its transaction). Attempts on one user are checked
one after another (the user's row is locked while its password is checked), so concurrent
wrong passwords cannot all be tried before the lock applies. An unknown user, a wrong
password and a locked account cost one Argon2 verification each and get the same answer.
Functions take a connection and never commit on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from quota.record import audit

ROLES = ("regulator", "analyst", "manager")
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD_LENGTH = 8

_HASHER = PasswordHasher()
# Verified against when the username is unknown, so that a wrong name costs as much as a
# wrong password and does not reveal which names exist.
_DUMMY_HASH = _HASHER.hash("quotawatch-dummy-password")


class UserInputError(ValueError):
    """A user-management request is invalid; the message says why."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as every dashboard query sees it.

    ``building_ids`` lists a manager's assigned buildings; regulators and analysts see every
    building and their set is empty.
    """

    username: str
    role: str
    building_ids: frozenset[str] = frozenset()

    @property
    def sees_all(self) -> bool:
        """Regulators and analysts see every building; managers only their own."""
        return self.role in ("regulator", "analyst")

    @property
    def can_export(self) -> bool:
        """Only analysts download lists."""
        return self.role == "analyst"

    @property
    def may_view_retrofit(self) -> bool:
        return self.role in ("regulator", "analyst")

    @property
    def may_view_operations(self) -> bool:
        """Ingest and job runs concern the whole city's data feed."""
        return self.role in ("regulator", "analyst")

    def may_see(self, building_id: str) -> bool:
        return self.sees_all or building_id in self.building_ids


@dataclass(frozen=True)
class LoginPolicy:
    """How failed sign-ins are slowed down.

    ``failure_delay_s`` [s] is slept after every failure; from ``max_failures`` failures in a
    row the account is locked for ``lock_base_s`` × 2^(failures − max_failures) seconds, at
    most ``lock_max_s``.
    """

    max_failures: int = 5
    lock_base_s: float = 30.0
    lock_max_s: float = 900.0
    failure_delay_s: float = 0.5


@dataclass(frozen=True)
class LoginResult:
    viewer: Viewer | None
    locked_for_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.viewer is not None


def lock_duration_s(failed_logins: int, policy: LoginPolicy) -> float:
    """Seconds an account stays locked after ``failed_logins`` failures in a row (0 = none)."""
    if failed_logins < policy.max_failures:
        return 0.0
    return min(policy.lock_base_s * 2 ** (failed_logins - policy.max_failures), policy.lock_max_s)


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` with a fresh salt."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


INSERT_USER = """
INSERT INTO app_user (username, role, password_hash) VALUES (%(username)s, %(role)s, %(hash)s)
ON CONFLICT (username) DO UPDATE
   SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash,
       failed_logins = 0, locked_until = NULL
RETURNING (xmax = 0) AS inserted
"""
USER_EXISTS = "SELECT 1 FROM app_user WHERE username = %(username)s"
DELETE_ASSIGNMENTS = "DELETE FROM user_building WHERE username = %(username)s"
INSERT_ASSIGNMENTS = """
INSERT INTO user_building (username, building_id)
SELECT %(username)s, unnest(%(building_ids)s::text[])
ON CONFLICT DO NOTHING
"""
UNKNOWN_BUILDINGS = """
SELECT id FROM unnest(%(building_ids)s::text[]) AS id
 WHERE NOT EXISTS (SELECT 1 FROM building b WHERE b.building_id = id)
"""
LIST_USERS = """
SELECT u.username, u.role, u.created_at, u.last_login_at, u.failed_logins, u.locked_until,
       coalesce(array_agg(ub.building_id ORDER BY ub.building_id)
                FILTER (WHERE ub.building_id IS NOT NULL), '{}') AS building_ids
  FROM app_user u LEFT JOIN user_building ub USING (username)
 GROUP BY u.username
 ORDER BY u.username
"""
DELETE_USER = "DELETE FROM app_user WHERE username = %(username)s"
SELECT_USER = """
SELECT u.username, u.role, u.password_hash, u.failed_logins, u.locked_until,
       coalesce(array_agg(ub.building_id) FILTER (WHERE ub.building_id IS NOT NULL), '{}')
           AS building_ids
  FROM app_user u LEFT JOIN user_building ub USING (username)
 WHERE u.username = %(username)s
 GROUP BY u.username
"""
SELECT_USER_FOR_SIGN_IN = """
SELECT username, role, password_hash, failed_logins, locked_until
  FROM app_user
 WHERE username = %(username)s
   FOR UPDATE
"""
SELECT_BUILDINGS = "SELECT building_id FROM user_building WHERE username = %(username)s"
RECORD_FAILURE = """
UPDATE app_user SET failed_logins = failed_logins + 1,
       locked_until = %(locked_until)s
 WHERE username = %(username)s
"""
RECORD_SUCCESS = """
UPDATE app_user SET failed_logins = 0, locked_until = NULL, last_login_at = %(now)s,
       password_hash = coalesce(%(new_hash)s, password_hash)
 WHERE username = %(username)s
"""


def add_user(
    conn: psycopg.Connection[Any],
    username: str,
    role: str,
    password: str,
    building_ids: Iterable[str] = (),
    *,
    replace: bool = False,
) -> bool:
    """Create (or with ``replace`` overwrite) a user; returns True when newly created.

    Managers must name at least one building; every named building must exist.
    """
    if not USERNAME_PATTERN.match(username):
        raise UserInputError(
            f"user name {username!r}: use 1-64 letters, digits or _ . @ - characters"
        )
    if role not in ROLES:
        raise UserInputError(f"role {role!r}: one of {', '.join(ROLES)}")
    ids = sorted(set(building_ids))
    if role == "manager" and not ids:
        raise UserInputError("a manager needs at least one --building")
    if role != "manager" and ids:
        raise UserInputError(f"a {role} sees every building; --building is for managers only")
    unknown = [r["id"] for r in conn.execute(UNKNOWN_BUILDINGS, {"building_ids": ids})]
    if unknown:
        raise UserInputError(f"unknown building(s): {', '.join(unknown)}")
    if not replace and conn.execute(USER_EXISTS, {"username": username}).fetchone():
        raise UserInputError(f"user {username!r} exists (use --replace to overwrite)")
    before = audit.user_snapshot(conn, username)
    row = conn.execute(
        INSERT_USER, {"username": username, "role": role, "hash": hash_password(password)}
    ).fetchone()
    conn.execute(DELETE_ASSIGNMENTS, {"username": username})
    if ids:
        conn.execute(INSERT_ASSIGNMENTS, {"username": username, "building_ids": ids})
    audit.record_user_change(conn, username, before)
    return bool(row and _value(row, "inserted"))


def list_users(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every user with role, assigned buildings and sign-in state (no password hashes)."""
    return [dict(r) for r in conn.execute(LIST_USERS)]


def remove_user(conn: psycopg.Connection[Any], username: str) -> bool:
    """Delete a user (and their building assignments); False when there was none."""
    before = audit.user_snapshot(conn, username)
    removed = conn.execute(DELETE_USER, {"username": username}).rowcount > 0
    audit.record_user_change(conn, username, before)
    return removed


def load_viewer(conn: psycopg.Connection[Any], username: str) -> Viewer | None:
    """The user as a :class:`Viewer`, or None when the user no longer exists."""
    row = conn.execute(SELECT_USER, {"username": username}).fetchone()
    if row is None:
        return None
    return Viewer(row["username"], row["role"], frozenset(row["building_ids"]))


def authenticate(
    conn: psycopg.Connection[Any],
    username: str,
    password: str,
    now: datetime,
    policy: LoginPolicy | None = None,
) -> LoginResult:
    """Check a sign-in, record its outcome and apply the throttling ``policy``.

    Call it inside a transaction: the user's row stays locked until the transaction ends,
    so concurrent attempts on one user are checked one after another, each seeing the
    failures before it. A locked account is refused whatever the password; the result then
    says how many seconds remain (for logs and tests: the sign-in page gives every failure
    the same answer). Every path verifies one Argon2 hash, so an unknown or locked user
    costs what a wrong password costs. The caller sleeps ``policy.failure_delay_s`` after a
    failure, once the transaction has ended. ``now`` must be timezone-aware.
    """
    policy = policy or LoginPolicy()
    row = conn.execute(SELECT_USER_FOR_SIGN_IN, {"username": username}).fetchone()
    if row is None:
        verify_password(_DUMMY_HASH, password)
        return LoginResult(None)
    locked_until = row["locked_until"]
    if locked_until is not None and locked_until > now:
        verify_password(_DUMMY_HASH, password)
        return LoginResult(None, locked_for_s=(locked_until - now).total_seconds())
    if not verify_password(row["password_hash"], password):
        duration_s = lock_duration_s(row["failed_logins"] + 1, policy)
        conn.execute(
            RECORD_FAILURE,
            {
                "username": username,
                "locked_until": now + timedelta(seconds=duration_s) if duration_s else None,
            },
        )
        return LoginResult(None, locked_for_s=duration_s)
    new_hash = _HASHER.hash(password) if _HASHER.check_needs_rehash(row["password_hash"]) else None
    conn.execute(RECORD_SUCCESS, {"username": username, "now": now, "new_hash": new_hash})
    buildings = conn.execute(SELECT_BUILDINGS, {"username": username}).fetchall()
    return LoginResult(
        Viewer(row["username"], row["role"], frozenset(_value(b, "building_id") for b in buildings))
    )


def _value(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, dict) else row[0]
