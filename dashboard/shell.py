"""The frame around every page: skip link, title, navigation, who is signed in, language
switch, logout (a POST form carrying the CSRF token), and the page container (the ``<main>``
landmark). The language is kept in the browser's local storage; ``<html lang>`` and each
page's ``<title>`` follow it.

dashboard/assets/a11y.js repairs the markup of Dash's own components and adds the keyboard
behaviour (see docs/dashboard.md, "Accessibility"); the clientside callback here calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

import dash
from dash import ClientsideFunction, Input, Output, State, dcc, html
from dash.exceptions import MissingCallbackContextException

from dashboard import csrf, ids, live
from dashboard.services import current_viewer
from dashboard.texts import DEFAULT_LANG, normalise_lang, role_label, t

# BCP 47 tags of the dashboard's languages, for <html lang>.
LANG_TAGS = {"zh": "zh-CN", "en": "en"}


def index_string(default: str) -> str:
    """Dash's page template with ``<html lang>`` set for the default language (the
    language switch then keeps it in step, in the browser)."""
    return default.replace("<html>", f'<html lang="{LANG_TAGS[DEFAULT_LANG]}">', 1)


def routing_lang() -> str:
    """The language of the page being routed: the language store's value as the routing
    callback received it (Chinese outside a callback)."""
    try:
        value = dash.ctx.inputs.get(f"{ids.LANG_STORE}.data")
    except (MissingCallbackContextException, AttributeError, LookupError, RuntimeError):
        value = None
    return normalise_lang(value)


def page_title(name_key: str) -> Callable[..., str]:
    """A page's ``<title>`` for ``dash.register_page(title=...)``: the page's name, then the
    application's, in the current language. ``name_key`` may use the page's path variables
    (``{building_id}``)."""

    def title(**path_variables: str) -> str:
        lang = routing_lang()
        values = {key: unquote(value or "") for key, value in path_variables.items()}
        return f"{t(name_key, lang, **values)} – {t('app_title', lang)}"

    return title


def home_link(lang: str) -> dcc.Link:
    """The link back to the first page, named as the navigation names it: the city page,
    or "My buildings" for a manager."""
    try:
        sees_all = current_viewer().sees_all
    except Exception:  # no signed-in viewer (the page is shown anyway)
        sees_all = True
    return dcc.Link(t("back_to_city" if sees_all else "back_to_my_buildings", lang), href="/")


def layout() -> html.Div:
    """The static shell; its texts are filled by :func:`register_callbacks` in the chosen
    language (Chinese until the browser says otherwise)."""
    return html.Div(
        [
            html.A(
                t("skip_to_content", DEFAULT_LANG),
                href=f"#{ids.MAIN}",
                id=ids.SKIP_LINK,
                className="qw-skip",
            ),
            dcc.Store(id=ids.LANG_STORE, storage_type="local", data=DEFAULT_LANG),
            dcc.Store(id=ids.LANG_TAG, data=LANG_TAGS[DEFAULT_LANG]),
            *live.components(),
            html.Header(
                [
                    html.H1(t("app_title", DEFAULT_LANG), id=ids.APP_TITLE),
                    html.Nav(
                        [
                            dcc.Link(t("nav_city", DEFAULT_LANG), href="/", id=ids.NAV_CITY),
                            dcc.Link(
                                t("nav_retrofit", DEFAULT_LANG),
                                href="/retrofit",
                                id=ids.NAV_RETROFIT,
                            ),
                            dcc.Link(
                                t("nav_quality", DEFAULT_LANG), href="/quality", id=ids.NAV_QUALITY
                            ),
                        ],
                        id=ids.NAV,
                    ),
                    html.Div(
                        [
                            html.Span(id=ids.WHOAMI),
                            html.Button(
                                t("switch_language", DEFAULT_LANG),
                                id=ids.LANG_TOGGLE,
                                n_clicks=0,
                                lang=LANG_TAGS["en"],
                            ),
                            # Signing out is a POST carrying the CSRF token (dashboard/csrf.py).
                            html.Form(
                                html.Button(
                                    t("logout", DEFAULT_LANG),
                                    id=ids.NAV_LOGOUT,
                                    type="submit",
                                    name=csrf.FIELD,
                                    value=csrf.token(),
                                ),
                                method="post",
                                action="/logout",
                                className="qw-logout",
                            ),
                        ],
                        className="qw-user",
                    ),
                ],
                className="qw-header",
            ),
            html.Main(dash.page_container, id=ids.MAIN, className="qw-main", tabIndex="-1"),
        ]
    )


def register_callbacks(app: dash.Dash) -> None:
    @app.callback(
        Output(ids.LANG_STORE, "data"),
        Input(ids.LANG_TOGGLE, "n_clicks"),
        State(ids.LANG_STORE, "data"),
        prevent_initial_call=True,
    )
    def toggle_language(_clicks: int, lang: str | None) -> str:
        return "zh" if normalise_lang(lang) == "en" else "en"

    @app.callback(
        Output(ids.APP_TITLE, "children"),
        Output(ids.NAV_CITY, "children"),
        Output(ids.NAV_RETROFIT, "children"),
        Output(ids.NAV_RETROFIT, "style"),
        Output(ids.NAV_QUALITY, "children"),
        Output(ids.WHOAMI, "children"),
        Output(ids.LANG_TOGGLE, "children"),
        Output(ids.LANG_TOGGLE, "lang"),
        Output(ids.NAV_LOGOUT, "children"),
        Output(ids.SKIP_LINK, "children"),
        Input(ids.LANG_STORE, "data"),
    )
    def shell_texts(lang: str | None) -> tuple[object, ...]:
        lang = normalise_lang(lang)
        viewer = current_viewer()
        return (
            t("app_title", lang),
            t("nav_city" if viewer.sees_all else "nav_my_buildings", lang),
            t("nav_retrofit", lang),
            {} if viewer.may_view_retrofit else {"display": "none"},
            t("nav_quality", lang),
            t("signed_in_as", lang, user=viewer.username, role=role_label(viewer.role, lang)),
            t("switch_language", lang),
            LANG_TAGS["zh" if lang == "en" else "en"],  # the switch names the other language
            t("logout", lang),
            t("skip_to_content", lang),
        )

    # <html lang> in step with the language switch (a function of assets/a11y.js, so the
    # page needs no inline script).
    app.clientside_callback(
        ClientsideFunction(namespace="quotawatch_a11y", function_name="set_lang"),
        Output(ids.LANG_TAG, "data"),
        Input(ids.LANG_STORE, "data"),
    )
