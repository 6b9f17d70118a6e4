"""What every callback needs besides its inputs: settings, the connection pool, the viewer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from dashboard.cache import PageCache
from dashboard.users import LoginPolicy, Viewer
from quota.settings import Settings


class NotSignedInError(RuntimeError):
    """A dashboard function ran outside a signed-in request."""


@dataclass
class Services:
    """Process-wide resources of one dashboard app (one pool per process)."""

    settings: Settings
    pool: ConnectionPool
    login_policy: LoginPolicy = field(default_factory=LoginPolicy)
    cache: PageCache = field(default_factory=PageCache)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled autocommit connection (dict rows) for one request."""
        with self.pool.connection() as conn:
            yield conn


def current_viewer() -> Viewer:
    """The viewer of the current request, set by the sign-in guard before any page or
    callback runs; raises :class:`NotSignedInError` outside such a request."""
    import flask

    viewer = flask.g.get("viewer") if flask.has_request_context() else None
    if viewer is None:
        raise NotSignedInError("no signed-in viewer for this request")
    return viewer
