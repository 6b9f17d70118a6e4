"""WSGI entry point for production servers: ``waitress-serve dashboard.wsgi:application``
(or ``gunicorn dashboard.wsgi:application``). Settings come from the environment."""

from __future__ import annotations

from dashboard.app import create_app
from quota.settings import get_settings

app = create_app(get_settings())
application = app.server
