"""The frame around every page: title, navigation, who is signed in, language switch,
logout, and the page container. The language is kept in the browser's local storage."""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc, html

from dashboard import ids, live
from dashboard.services import current_viewer
from dashboard.texts import DEFAULT_LANG, normalise_lang, role_label, t


def layout() -> html.Div:
    """The static shell; its texts are filled by :func:`register_callbacks` in the chosen
    language (Chinese until the browser says otherwise)."""
    return html.Div(
        [
            dcc.Store(id=ids.LANG_STORE, storage_type="local", data=DEFAULT_LANG),
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
                                t("switch_language", DEFAULT_LANG), id=ids.LANG_TOGGLE, n_clicks=0
                            ),
                            html.A(t("logout", DEFAULT_LANG), href="/logout", id=ids.NAV_LOGOUT),
                        ],
                        className="qw-user",
                    ),
                ],
                className="qw-header",
            ),
            html.Main(dash.page_container, className="qw-main"),
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
        Output(ids.NAV_LOGOUT, "children"),
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
            t("logout", lang),
        )
