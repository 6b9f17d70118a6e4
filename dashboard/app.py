"""The dashboard's app factory: one Dash app over one Flask server and one connection pool.

``create_app(settings, pool=None)`` wires the sign-in guard, the shell and the pages. Page
registrations (``dash.page_registry``) are process-wide, so run one app per process (tests
create them one after another).
"""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Input
from psycopg_pool import ConnectionPool

from dashboard import auth, callback_inputs, headers, ids, live, ops_routes, shell
from dashboard.pages import (
    appeals,
    audit,
    building,
    city,
    method,
    not_found_404,
    quality,
    retrofit,
)
from dashboard.services import Services
from dashboard.texts import t
from dashboard.users import LoginPolicy
from quota.settings import Settings

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
PAGES = (city, building, retrofit, quality, audit, appeals, method, not_found_404)


def create_app(
    settings: Settings,
    pool: ConnectionPool | None = None,
    *,
    login_policy: LoginPolicy | None = None,
) -> dash.Dash:
    """Build the dashboard. Without ``pool`` one is opened (and checked) for ``settings``."""
    if pool is None:
        from quota.db import make_pool

        pool = make_pool(settings)
    services = Services(settings=settings, pool=pool, login_policy=login_policy or LoginPolicy())
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS_DIR),
        title=f"{t('app_title', 'zh')} / QuotaWatch",
        update_title=None,
        suppress_callback_exceptions=True,
        routing_callback_inputs={"lang": Input(ids.LANG_STORE, "data")},
    )
    ops_routes.install(app.server, services)  # /healthz, /metrics, latency; before the guard
    auth.install(app.server, services)
    callback_inputs.install(app)  # after the sign-in guard
    app.index_string = shell.index_string(app.index_string)
    app.layout = shell.layout
    shell.register_callbacks(app)
    live.register_callbacks(app, services)
    for page in PAGES:
        page.register(app, services)
    headers.install(app)
    app.server.config["QUOTAWATCH_SERVICES"] = services
    return app
