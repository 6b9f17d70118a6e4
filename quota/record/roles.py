"""Who may decide: the one home of the rule that only a regulator adjusts quotas, determines
a year and decides appeals, that an analyst (or a regulator) may propose quotas, and that a
manager appeals (for their own buildings).

The dashboard checks the logged-in user's role on the server; the command line checks the
role of the dashboard user named with ``--by NAME``. A command run without ``--by`` acts as
the operator (the operating-system user, who holds the database's credentials anyway).
"""

from __future__ import annotations

from typing import Any

import psycopg

from quota.record import decision_queries as q

ADJUST = "adjust"
DETERMINE = "determine"
PROPOSE = "propose"
APPEAL = "appeal"
DECIDE_APPEAL = "decide an appeal"

# The command line run without --by: the operator, who may do what a regulator may.
OPERATOR_ROLE = "operator"

ALLOWED_ROLES: dict[str, frozenset[str]] = {
    ADJUST: frozenset({"regulator", OPERATOR_ROLE}),
    DETERMINE: frozenset({"regulator", OPERATOR_ROLE}),
    PROPOSE: frozenset({"regulator", "analyst", OPERATOR_ROLE}),
    # A manager appeals for the buildings assigned to them (checked in quota.record.appeals).
    APPEAL: frozenset({"manager"}),
    DECIDE_APPEAL: frozenset({"regulator", OPERATOR_ROLE}),
}


class NotAllowedError(PermissionError):
    """The actor's role may not take this action."""


def may(role: str | None, action: str) -> bool:
    """True when ``role`` may take ``action`` (``adjust``, ``determine``, ``propose``)."""
    return role in ALLOWED_ROLES[action]


def require(role: str | None, action: str, actor: str) -> None:
    """Raise :class:`NotAllowedError` unless ``role`` may take ``action``."""
    if not may(role, action):
        allowed = " or ".join(sorted(ALLOWED_ROLES[action]))
        shown = role or "no dashboard user"
        raise NotAllowedError(f"{actor} ({shown}) may not {action}: only a {allowed} may")


def role_of(conn: psycopg.Connection[Any], username: str) -> str | None:
    """The dashboard role of ``username`` (None when there is no such user)."""
    row = conn.execute(q.USER_ROLE, {"username": username}).fetchone()
    return None if row is None else row["role"]


def require_user(conn: psycopg.Connection[Any], username: str, action: str) -> None:
    """Check that dashboard user ``username`` may take ``action``."""
    require(role_of(conn, username), action, username)
