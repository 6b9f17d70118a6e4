"""How the figures are calculated: the evaluation method of docs/quota-engine.md and the
rule parameters in force (scope, tiers and what follows each), linked from every note on
the building page."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import dash
from dash import dcc, html

from dashboard.services import Services
from dashboard.shell import home_link
from dashboard.texts import consequence, normalise_lang, status_label, t

METHOD_DOC = Path(__file__).resolve().parents[2] / "docs" / "quota-engine.md"
SECTION = "## Evaluation method"


def method_text() -> str:
    """The "Evaluation method" section of docs/quota-engine.md ("" when not installed)."""
    try:
        text = METHOD_DOC.read_text(encoding="utf-8")
    except OSError:
        return ""
    start = text.find(SECTION)
    if start < 0:
        return ""
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end > 0 else len(text)]


def layout(services: Services, lang: str | None = None, **_query: Any) -> html.Div:
    lang = normalise_lang(lang)
    rules = services.settings.rules
    scope, tiers = rules.get("scope", {}), rules.get("tiers", {})
    facts = [
        html.Li(
            t(
                "method_scope",
                lang,
                area=f"{float(scope.get('min_floor_area_m2', 3000)):,.0f}",
                share=f"{float(scope.get('min_public_use_share', 0.5)) * 100:.0f}",
            )
        ),
        *[
            html.Li(f"{status_label(tier, lang)}: {consequence(tier, lang, rules)}")
            for tier in ("over", "over_20", "over_20_repeat")
        ],
        html.Li(
            t("method_tiers", lang, over=f"{float(tiers.get('over_20_ratio', 1.2)) * 100:.0f}")
        ),
    ]
    return html.Div(
        [
            html.H2(t("method_title", lang)),
            html.Ul(facts),
            dcc.Markdown(method_text(), className="qw-panel"),
            home_link(lang),
        ]
    )


def register(_app: dash.Dash, services: Services) -> None:

    dash.register_page(
        __name__,
        path="/method",
        name="method",
        title="QuotaWatch",
        layout=partial(layout, services),
    )
