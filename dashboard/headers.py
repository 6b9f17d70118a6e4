"""Security headers on every response of the dashboard's server.

- ``Content-Security-Policy``: scripts only from this site plus Dash's own inline scripts,
  allowed one by one by their SHA-256 (``Dash.csp_hashes()``: the renderer's start-up line
  and the clientside callbacks); no plugins; no framing; forms post only to this site.
  Styles allow ``'unsafe-inline'`` because Plotly and AG Grid insert ``<style>`` elements
  at run time, and the sign-in page has its own.
- ``X-Frame-Options: DENY`` (older browsers' form of ``frame-ancestors 'none'``),
- ``X-Content-Type-Options: nosniff``,
- ``Referrer-Policy: same-origin``.

The policy is computed at the first response, after every page has registered its
callbacks, so a clientside callback added to a page is covered without a change here.
"""

from __future__ import annotations

from collections.abc import Sequence

import dash
import flask

STATIC_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def content_security_policy(script_hashes: Sequence[str]) -> str:
    """The CSP header value, allowing the inline scripts with these ``'sha256-...'`` hashes."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def install(app: dash.Dash) -> None:
    """Add the headers to every response of ``app``'s Flask server (pages, callbacks,
    assets, the sign-in form, errors)."""
    policy: list[str] = []

    @app.server.after_request
    def add_security_headers(response: flask.Response) -> flask.Response:
        if not policy:
            policy.append(content_security_policy(app.csp_hashes()))
        response.headers["Content-Security-Policy"] = policy[0]
        for name, value in STATIC_HEADERS.items():
            response.headers[name] = value
        return response
