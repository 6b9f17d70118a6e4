"""The building page's header (pure): status, the remaining allowance under the quota and
under the 120 % line, what happens next, and every note explained in plain words with a
link to the method. A closed year (evaluated as of 31 December) shows final figures.

Energies are in the basis's unit (``unit``: kWh or kgce).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
from dash import dcc, html

from dashboard.components import number_text
from dashboard.texts import consequence, status_label, t
from quota.allowance import Allowance, remaining_allowance

METHOD_HREF = "/method"


def _pct(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value) * 100:.1f} %"


def _used(result: Mapping[str, Any]) -> float | None:
    """Use to date in the result's basis unit."""
    key = "energy_kgce" if result.get("basis") == "energy_kgce" else "energy_kwh"
    value = result.get(key)
    return None if value is None or pd.isna(value) else float(value)


def is_closed_year(year: int, as_of: date | None) -> bool:
    """True when the evaluation covers the whole year (as of 31 December)."""
    return as_of is not None and as_of >= date(year, 12, 31)


def allowance_line(allowance: Allowance, unit: str, lang: str) -> str:
    """One sentence: what may still be used each day to stay under the limit."""
    key = "allowance_quota" if allowance.ratio == 1.0 else "allowance_120"
    if allowance.exceeded:
        return t(
            f"{key}_exceeded",
            lang,
            value=f"{number_text(-allowance.remaining)} {unit}",
        )
    per_day = f"{number_text(allowance.per_day_left)} {unit}"
    gap = allowance.below_pace_pct
    if gap is None:
        pace = ""
    elif gap >= 0:
        pace = t("pace_below", lang, pct=f"{gap:.0f}")
    else:
        pace = t("pace_above", lang, pct=f"{-gap:.0f}")
    return t(key, lang, per_day=per_day, pace=pace)


def allowance_block(
    result: Mapping[str, Any], year: int, as_of: date, unit: str, lang: str, over_20_ratio: float
) -> list[Any]:
    """Quota, use so far, what remains, and the daily allowance to stay within 100 % and
    within the 120 % line (open year only)."""
    limit_value, used = result.get("limit_value"), _used(result)
    if limit_value is None or pd.isna(limit_value) or float(limit_value) <= 0 or used is None:
        return []
    within = remaining_allowance(float(limit_value), used, year, as_of)
    line_120 = remaining_allowance(float(limit_value), used, year, as_of, ratio=over_20_ratio)
    return [
        html.P(
            t(
                "allowance_summary",
                lang,
                quota=f"{number_text(limit_value)} {unit}",
                used=f"{number_text(used)} {unit}",
                remaining=(
                    f"{number_text(within.remaining)} {unit}"
                    if not within.exceeded
                    else t("remaining_none", lang)
                ),
                as_of=as_of.isoformat(),
                days=within.days_left,
            ),
            className="qw-allowance",
        ),
        html.Ul(
            [
                html.Li(allowance_line(within, unit, lang)),
                html.Li(allowance_line(line_120, unit, lang)),
            ],
            className="qw-allowance",
        ),
    ]


def rule_group_name(section: str, lang: str) -> str:
    """A rule-parameter section (``[data]``) in words, the section kept for reference:
    "数据充分性 [data]"; the section alone when it has no name."""
    key = "rule_group_" + section.strip("[]").split(".")[0]
    try:
        return f"{t(key, lang)} {section}"
    except KeyError:
        return section


def method_link(lang: str) -> Any:
    return dcc.Link(t("method_link", lang), href=METHOD_HREF)


def note(text: str, lang: str) -> html.P:
    """A note in plain words with the link to the method."""
    return html.P([text, " ", method_link(lang)], className="qw-note")


def out_of_scope_reason(info: Mapping[str, Any], rules: Mapping[str, Any], lang: str) -> str:
    """Why a building is outside the quota scheme, from ``[scope]``."""
    scope = rules.get("scope", {})
    min_area = float(scope.get("min_floor_area_m2", 3000.0))
    min_share = float(scope.get("min_public_use_share", 0.5))
    area = info.get("floor_area_m2")
    share = info.get("public_use_share")
    reasons = []
    if area is not None and not pd.isna(area) and float(area) < min_area:
        reasons.append(t("scope_area", lang, area=number_text(area), min=number_text(min_area)))
    if share is not None and not pd.isna(share) and float(share) < min_share:
        reasons.append(
            t("scope_share", lang, share=f"{float(share) * 100:.0f}", min=f"{min_share * 100:.0f}")
        )
    return t("out_of_scope_why", lang, reasons="; ".join(reasons) or t("scope_unknown", lang))


def peer_note(peers: Mapping[str, Any], min_peers: int, lang: str) -> str | None:
    """The building's place among the other buildings of its type, in words."""
    count = int(peers.get("peer_count") or 0)
    others = max(count - 1, 0)
    if count == 0 or peers.get("eui_kwh_per_m2") is None:
        return None
    if others < min_peers:
        return t("peer_too_few", lang, count=others, min=min_peers)
    rank = peers.get("percent_rank")
    if rank is None:
        return None
    return t("peer_position", lang, pct=round(float(rank) * 100), count=others)


def header_children(
    *,
    result: Mapping[str, Any] | None,
    info: Mapping[str, Any],
    peers: Mapping[str, Any],
    year: int,
    as_of: date | None,
    unit: str,
    lang: str,
    rules: Mapping[str, Any],
    has_trajectory: bool,
    has_meters: bool,
    empty_message: Any,
) -> list[Any]:
    """Everything above the charts for one building, year and basis."""
    header: list[Any] = []
    tiers = rules.get("tiers", {})
    over_20_ratio = float(tiers.get("over_20_ratio", 1.2))
    min_peers = int(rules.get("data", {}).get("min_peer_count", 5))
    if not result:
        header.append(empty_message)
    else:
        status = str(result["status"])
        closed = is_closed_year(year, as_of)
        if closed:
            line = t(
                "building_final_line",
                lang,
                year=year,
                status=status_label(status, lang),
                util=_pct(result.get("utilization")),
                used=f"{number_text(_used(result))} {unit}",
                quota=f"{number_text(result.get('limit_value'))} {unit}",
            )
        else:
            line = t(
                "building_status_line",
                lang,
                year=year,
                status=status_label(status, lang),
                util=_pct(result.get("utilization")),
                projected=f"{number_text(result.get('projected'))} {unit}",
                as_of=as_of.isoformat() if as_of else "–",
            )
        header.append(html.P(html.Strong(line)))
        through = (result.get("details") or {}).get("figures_through")
        if through:  # a billed-only building between bills (quota/figures_through.py)
            header.append(note(t("figures_through_note", lang, day=through), lang))
        next_step = consequence(status, lang, rules)  # type: ignore[arg-type]
        if next_step:
            header.append(html.P(t("next_step", lang, text=next_step), className="qw-next"))
        if status == "out_of_scope":
            header.append(note(out_of_scope_reason(info, rules, lang), lang))
        elif closed:
            excess = result.get("excess")
            if excess is not None and not pd.isna(excess) and float(excess) > 0:
                header.append(
                    html.P(t("final_excess", lang, value=f"{number_text(excess)} {unit}"))
                )
        elif as_of is not None:
            figures_day = date.fromisoformat(through) if through else as_of
            header.extend(allowance_block(result, year, figures_day, unit, lang, over_20_ratio))
        details = result.get("details") or {}
        if isinstance(details, dict) and details.get("unverified"):
            labels = details["unverified"]
            groups = (
                [re.match(r"\[[^\]]+\]", str(x)) for x in labels]
                if isinstance(labels, list)
                else []
            )
            sections = dict.fromkeys(m.group(0) for m in groups if m)
            listed = ("、" if lang != "en" else ", ").join(
                rule_group_name(section, lang) for section in sections
            )
            header.append(note(t("unverified_explained", lang, groups=listed), lang))
    if not has_trajectory:
        header.append(note(t("empty_no_trajectory", lang), lang))
    peer_text = peer_note(peers, min_peers, lang)
    if peer_text:
        header.append(note(peer_text, lang))
    if not has_meters:
        header.append(html.P(t("empty_no_meters", lang), className="qw-note"))
    return header
