"""Sign-in for the Flask server under Dash: login form, logout, and a guard on every request.

The guard runs before every request: the login form and its stylesheet are the only things
reachable without a session. Pages redirect to ``/login``; Dash's own endpoints
(``/_dash-layout``, ``/_dash-update-component``, ...) answer 401. The session cookie is signed
with ``settings.secret_key`` or with a secret generated once under ``settings.home`` (0600).
The viewer is reloaded from the database on every request, so removing a user or changing
their buildings takes effect immediately.
"""

from __future__ import annotations

import html
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

import flask

from dashboard.queries import AccessDeniedError
from dashboard.services import Services
from dashboard.texts import t
from dashboard.users import authenticate, load_viewer
from quota.settings import Settings

SECRET_FILE_NAME = "dashboard_secret_key"
SESSION_LIFETIME = timedelta(hours=12)
PUBLIC_PATHS = frozenset({"/login", "/logout"})
BUILDING_PREFIX = "/building/"


def resolve_secret_key(settings: Settings) -> str:
    """The session-signing secret: from settings, else read from (or first written to)
    ``<home>/dashboard_secret_key`` with mode 0600."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.home) / SECRET_FILE_NAME
    if path.is_file():
        secret = path.read_text(encoding="ascii").strip()
        if secret:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    path.chmod(0o600)
    return secret


def safe_next(target: str | None) -> str:
    """A same-site path to go to after signing in (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _is_dash_internal(path: str) -> bool:
    return path.startswith(("/_dash", "/_reload-hash"))


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       background: #f4f6f8; display: flex; justify-content: center; padding-top: 10vh; }}
form {{ background: #fff; padding: 2rem 2.5rem; border-radius: 8px;
        box-shadow: 0 1px 4px rgba(0,0,0,.15); min-width: 20rem; }}
h1 {{ font-size: 1.25rem; margin: 0 0 1.25rem; }}
label {{ display: block; margin: .75rem 0 .25rem; }}
input {{ width: 100%; padding: .5rem; box-sizing: border-box; font-size: 1rem; }}
button {{ margin-top: 1.25rem; width: 100%; padding: .6rem; font-size: 1rem;
          background: #0072B2; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }}
.error {{ color: #b00020; margin-top: 1rem; }}
</style></head>
<body><form method="post" action="/login">
<h1>{title}</h1>
<input type="hidden" name="next" value="{next}">
<label for="username">{username}</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">{password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="login-submit" type="submit">{button}</button>
{error}
</form></body></html>
"""


def _both(key: str, **values: object) -> str:
    return f"{t(key, 'zh', **values)} / {t(key, 'en', **values)}"


def render_login(next_path: str, error: str = "") -> str:
    """The bilingual sign-in form (Chinese first)."""
    return LOGIN_PAGE.format(
        title=html.escape(_both("app_title")) + " — " + html.escape(_both("login_title")),
        next=html.escape(next_path, quote=True),
        username=html.escape(_both("username")),
        password=html.escape(_both("password")),
        button=html.escape(_both("login_button")),
        error=f'<p class="error" id="login-error">{html.escape(error)}</p>' if error else "",
    )


def install(server: flask.Flask, services: Services) -> None:
    """Add the session secret, the login/logout routes, the guard and the 403 handler."""
    server.secret_key = resolve_secret_key(services.settings)
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="quotawatch_session",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )

    @server.before_request
    def require_login() -> flask.Response | None:
        path = flask.request.path
        if path in PUBLIC_PATHS:
            return None
        username = flask.session.get("username")
        viewer = None
        if username:
            with services.connection() as conn:
                viewer = load_viewer(conn, username)
        if viewer is None:
            flask.session.clear()
            if _is_dash_internal(path) or flask.request.method != "GET":
                return flask.Response("sign in required", status=401, mimetype="text/plain")
            target = flask.request.full_path if flask.request.query_string else path
            return flask.redirect("/login?next=" + quote(safe_next(target), safe="/?=&"))
        flask.g.viewer = viewer
        if path.startswith(BUILDING_PREFIX):
            building_id = unquote(path[len(BUILDING_PREFIX) :])
            if not viewer.may_see(building_id):
                # The page's shell (navigation, the user's language) still loads; its
                # layout says in words that the building is not theirs. Nothing of the
                # building is in the shell, and every callback re-checks access.
                flask.g.forbidden_page = True
        return None

    @server.after_request
    def forbidden_status(response: flask.Response) -> flask.Response:
        if flask.g.get("forbidden_page"):
            response.status_code = 403
        return response

    @server.route("/login", methods=["GET", "POST"])
    def login() -> flask.Response | str:
        if flask.request.method == "GET":
            return render_login(safe_next(flask.request.args.get("next")))
        form = flask.request.form
        username = form.get("username", "").strip()
        next_path = safe_next(form.get("next"))
        with services.connection() as conn:
            result = authenticate(
                conn,
                username,
                form.get("password", ""),
                datetime.now(UTC),
                services.login_policy,
            )
        if not result.ok:
            if result.locked_for_s > 0:
                message = _both("login_locked", seconds=int(result.locked_for_s + 0.999))
            else:
                message = _both("login_failed")
            return flask.Response(
                render_login(next_path, message), status=401, mimetype="text/html"
            )
        flask.session.clear()
        flask.session.permanent = True
        flask.session["username"] = result.viewer.username  # type: ignore[union-attr]
        return flask.redirect(next_path)

    @server.route("/logout", methods=["GET", "POST"])
    def logout() -> flask.Response:
        flask.session.clear()
        return flask.redirect("/login")

    @server.errorhandler(AccessDeniedError)
    def forbidden(_exc: AccessDeniedError) -> flask.Response:
        return flask.Response("forbidden", status=403, mimetype="text/plain")
