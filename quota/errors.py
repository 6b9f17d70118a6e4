"""Errors every part of QuotaWatch may raise for a person to read.

A :class:`UserError` is caused by input or state the user can fix (a missing file, a bad
option, a year without data); the command line prints its message without a traceback and
exits with status 2. It lives here, apart from the command line, so that the domain, ingest
and the dashboard can raise it without importing the command line.
"""

from __future__ import annotations


class UserError(Exception):
    """An error caused by input or state the user can fix; printed without a traceback."""
