"""CSRF tokens of the sign-in and sign-out forms.

Each browser gets a random token in its signed session cookie; every form that changes
who is signed in (``/login``, ``/logout``) carries it in the field ``csrf_token``, and a
POST whose field does not match the cookie's token is refused. Another site can make a
browser post to QuotaWatch, but cannot read the token to put in the form.

Dash's own callback requests need none: they are JSON POSTs, which a cross-site form cannot
send, and the session cookie is ``SameSite=Lax`` (see docs/security.md).
"""

from __future__ import annotations

import secrets

import flask

FIELD = "csrf_token"
SESSION_KEY = "csrf"


def token() -> str:
    """This browser's CSRF token (created on first use); empty outside a request."""
    if not flask.has_request_context():
        return ""
    value = flask.session.get(SESSION_KEY)
    if not isinstance(value, str) or not value:
        value = secrets.token_urlsafe(32)
        flask.session[SESSION_KEY] = value
    return value


def form_is_valid() -> bool:
    """True when the posted form's ``csrf_token`` matches this browser's token."""
    expected = flask.session.get(SESSION_KEY)
    given = flask.request.form.get(FIELD, "")
    return (
        isinstance(expected, str)
        and bool(expected)
        and secrets.compare_digest(expected.encode(), given.encode())
    )


def renew() -> str:
    """A fresh token (after signing in, so a token seen before does not carry over)."""
    value = secrets.token_urlsafe(32)
    flask.session[SESSION_KEY] = value
    return value
