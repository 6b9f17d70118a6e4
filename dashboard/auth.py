"""Sign-in for the Flask server under Dash: login form, logout, and a guard on every request.

The guard runs before every request: the paths in :data:`PUBLIC_PATHS` (the login and logout
forms, and the operator endpoints ``/healthz`` and ``/metrics``, which show no building
data) are the only things reachable without a
session. Pages redirect to ``/login``; Dash's own endpoints (``/_dash-layout``,
``/_dash-update-component``, ...) answer 401.

Sessions are recorded on the server (:mod:`dashboard.sessions`): the cookie, signed with
``settings.secret_key`` or with a secret generated once under ``settings.home`` (0600),
carries a random token whose row must exist in ``web_session``. Signing out, a new password
and removing the user end every session of that user. The viewer is reloaded from the
database on every request, so removing a user or changing their buildings takes effect
immediately. The login and logout forms carry a CSRF token (:mod:`dashboard.csrf`); the
cookie is ``HttpOnly``, ``SameSite=Lax`` and, with ``settings.cookie_secure``, ``Secure``.
See docs/security.md.
"""

from __future__ import annotations

import html
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import flask

from dashboard import csrf, sessions
from dashboard.queries import AccessDeniedError
from dashboard.services import Services
from dashboard.texts import t
from dashboard.users import Viewer, authenticate
from quota.settings import Settings

SECRET_FILE_NAME = "dashboard_secret_key"
SESSION_LIFETIME = sessions.SESSION_LIFETIME
# Paths answered without a session. Add an endpoint here (e.g. "/healthz") only when it
# shows nothing about buildings or users.
PUBLIC_PATHS: frozenset[str] = frozenset({"/login", "/logout", "/healthz", "/metrics"})
SESSION_TOKEN_KEY = "token"
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
    """A same-site path to go to after signing in; anything else becomes ``/``.

    Only an absolute path on this site passes: no scheme or host (``https://x``,
    ``//x``), no backslash (``/\\x``, read as ``//x`` by browsers), and no control
    character or space anywhere (browsers drop tabs and newlines, so ``/%09/x`` would
    become ``//x``). Percent-escapes are checked after decoding as well.
    """
    if not target or not isinstance(target, str):
        return "/"
    for text in (target, unquote(target)):
        if not text.startswith("/") or text.startswith("//") or "\\" in text:
            return "/"
        if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in text):
            return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def _is_dash_internal(path: str) -> bool:
    return path.startswith(("/_dash", "/_reload-hash"))


PAGE_STYLE = """<style>
body { font-family: system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       background: #f4f6f8; display: flex; justify-content: center; padding-top: 10vh; }
form { background: #fff; padding: 2rem 2.5rem; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0,0,0,.15); min-width: 20rem; }
h1 { font-size: 1.25rem; margin: 0 0 1.25rem; }
label { display: block; margin: .75rem 0 .25rem; }
input { width: 100%; padding: .5rem; box-sizing: border-box; font-size: 1rem; }
button { margin-top: 1.25rem; width: 100%; padding: .6rem; font-size: 1rem;
         background: #0072B2; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
.error { color: #b00020; margin-top: 1rem; }
</style>"""

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{style}</head>
<body><main>
<form method="post" action="/login">
<h1>{heading}</h1>
<input type="hidden" name="next" value="{next}">
<input type="hidden" name="{csrf_field}" value="{csrf}">
<label for="username">{username}</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">{password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="login-submit" type="submit">{button}</button>
{error}
</form>
</main></body></html>
"""

LOGOUT_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{style}</head>
<body><main>
<form method="post" action="/logout">
<h1>{heading}</h1>
<p>{question}</p>
<input type="hidden" name="{csrf_field}" value="{csrf}">
<button id="logout-submit" type="submit">{button}</button>
{error}
</form>
</main></body></html>
"""


def _both(key: str, **values: object) -> str:
    """Chinese / English, as plain text (for ``<title>``)."""
    return f"{t(key, 'zh', **values)} / {t(key, 'en', **values)}"


def _both_html(key: str, **values: object) -> str:
    """Chinese / English as HTML: the English half is marked ``lang="en"`` so a screen
    reader switches voice (WCAG 3.1.2); the page itself is ``zh-CN``."""
    zh, en = (html.escape(t(key, lang, **values)) for lang in ("zh", "en"))
    return f'{zh} / <span lang="en">{en}</span>'


def _error(key: str) -> str:
    return f'<p class="error" id="login-error" role="alert">{_both_html(key)}</p>'


def render_login(next_path: str, error: str = "") -> str:
    # ``error``: the texts key of the message to show, if any
    """The bilingual sign-in form (Chinese first), with this browser's CSRF token."""
    return LOGIN_PAGE.format(
        title=html.escape(_both("app_title")) + " — " + html.escape(_both("login_title")),
        heading=_both_html("app_title") + " — " + _both_html("login_title"),
        style=PAGE_STYLE,
        next=html.escape(next_path, quote=True),
        csrf_field=csrf.FIELD,
        csrf=html.escape(csrf.token(), quote=True),
        username=_both_html("username"),
        password=_both_html("password"),
        button=_both_html("login_button"),
        error=_error(error) if error else "",
    )


def render_logout(error: str = "") -> str:
    # ``error``: the texts key of the message to show, if any
    """The bilingual sign-out confirmation (for a sign-out that did not come from the
    dashboard's own button, or whose form had expired)."""
    return LOGOUT_PAGE.format(
        title=html.escape(_both("logout_title")),
        heading=_both_html("logout_title"),
        style=PAGE_STYLE,
        question=_both_html("logout_question"),
        csrf_field=csrf.FIELD,
        csrf=html.escape(csrf.token(), quote=True),
        button=_both_html("logout"),
        error=_error(error) if error else "",
    )


def _html(body: str, status: int = 200) -> flask.Response:
    return flask.Response(body, status=status, mimetype="text/html")


def _signed_in_viewer(services: Services) -> Viewer | None:
    """The viewer of this request's session token, or None (no token, or its session has
    ended on the server)."""
    token = flask.session.get(SESSION_TOKEN_KEY)
    if not isinstance(token, str) or not token:
        return None
    with services.connection() as conn:
        return sessions.viewer_for_token(conn, token)


def install(server: flask.Flask, services: Services) -> None:
    """Add the session secret, the login/logout routes, the guard and the 403 handler."""
    server.secret_key = resolve_secret_key(services.settings)
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=services.settings.cookie_secure,
        SESSION_COOKIE_NAME="quotawatch_session",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )

    @server.before_request
    def require_login() -> flask.Response | None:
        path = flask.request.path
        if path in PUBLIC_PATHS:
            return None
        viewer = _signed_in_viewer(services)
        if viewer is None:
            if SESSION_TOKEN_KEY in flask.session:
                flask.session.pop(SESSION_TOKEN_KEY)
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
    def login() -> flask.Response:
        if flask.request.method == "GET":
            return _html(render_login(safe_next(flask.request.args.get("next"))))
        form = flask.request.form
        next_path = safe_next(form.get("next"))
        if not csrf.form_is_valid():
            return _html(render_login(next_path, "form_expired"), 400)
        username = form.get("username", "").strip()
        policy = services.login_policy
        token = None
        with services.connection() as conn, conn.transaction():
            result = authenticate(
                conn, username, form.get("password", ""), datetime.now(UTC), policy
            )
            if result.viewer is not None:
                token = sessions.start_session(conn, result.viewer.username, SESSION_LIFETIME)
        if token is None:
            time.sleep(policy.failure_delay_s)
            return _html(render_login(next_path, "login_failed"), 401)
        flask.session.clear()
        flask.session.permanent = True
        flask.session[SESSION_TOKEN_KEY] = token
        csrf.renew()
        return flask.redirect(next_path)

    @server.route("/logout", methods=["GET", "POST"])
    def logout() -> flask.Response:
        if flask.request.method == "GET":
            return _html(render_logout())
        if not csrf.form_is_valid():
            return _html(render_logout("form_expired"), 400)
        token = flask.session.get(SESSION_TOKEN_KEY)
        if isinstance(token, str) and token:
            with services.connection() as conn:
                sessions.end_sessions_of_token(conn, token)
        flask.session.clear()
        return flask.redirect("/login")

    @server.errorhandler(AccessDeniedError)
    def forbidden(_exc: AccessDeniedError) -> flask.Response:
        return flask.Response("forbidden", status=403, mimetype="text/plain")
