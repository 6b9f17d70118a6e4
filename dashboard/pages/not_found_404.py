"""The page shown for an unknown address."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard.services import Services
from dashboard.shell import home_link, page_title
from dashboard.texts import normalise_lang, t


def layout(lang: str | None = None, **_query: Any) -> html.Div:
    lang = normalise_lang(lang)
    return html.Div([html.H2(t("not_found", lang)), home_link(lang)])


def register(_app: dash.Dash, _services: Services) -> None:
    dash.register_page(
        __name__, path="/404", name="not_found", title=page_title("not_found"), layout=layout
    )
