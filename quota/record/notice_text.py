"""The text of a notice, in Chinese (default) or English: pure, from ``quota.record.notices`` facts.

:func:`notice_blocks` returns ``(kind, text)`` pairs in reading order, ``kind`` one of
``title``, ``heading``, ``line``, ``note``; the PDF writer only lays them out. Use and limits
are printed in the basis's unit (kWh for ``electricity_kwh``, kgce for ``energy_kgce``),
utilisation and completeness as percentages.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

LANGS = ("zh", "en")

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("公共建筑年度能耗限额执行情况通知书", "Notice of annual energy quota determination"),
    "building": ("建筑", "Building"),
    "building_line": (
        "{id}  {name}（{district}，{type}，{area} 平方米）",
        "{id}  {name} ({district}, {type}, {area} m²)",
    ),
    "managers": ("管理单位/负责人", "Owner or manager"),
    "no_manager": ("未登记", "not registered"),
    "year": ("限额年度", "Quota year"),
    "determination": ("认定", "Determination"),
    "det_line": (
        "认定编号 {id}，认定日期 {at}（截至 {as_of}），认定人 {by}",
        "Determination {id}, made {at} (through {as_of}) by {by}",
    ),
    "det_reason": ("替代原认定的理由：{reason}", "Superseding reason: {reason}"),
    "no_determination": (
        "{year} 年度尚无有效认定：本通知不构成认定结论，以下无限额执行结果。",
        "There is no determination in force for {year}: this notice states no result.",
    ),
    "no_rows": (
        "该年度的认定中没有本建筑的结果。",
        "The year's determination has no result for this building.",
    ),
    "basis_electricity_kwh": ("用电量（千瓦时）", "Electricity (kWh)"),
    "basis_energy_kgce": ("综合能耗（千克标准煤）", "Total energy (kgce)"),
    "quota": (
        "有效限额：{limit_value} {unit}（版本 {version}，来源：{source}）",
        "Quota in force: {limit_value} {unit} (version {version}, {source})",
    ),
    "quota_none": ("无有效限额", "No quota in force"),
    "quota_reason": (
        "限额调整理由：{reason}（{by}，{at}）",
        "Quota adjusted because: {reason} ({by}, {at})",
    ),
    "quota_file": (
        "导入文件：{file}，SHA-256 {checksum}",
        "Imported from {file}, SHA-256 {checksum}",
    ),
    "use": ("年度用量：{use} {unit}", "Use in the year: {use} {unit}"),
    "utilization": ("限额使用率：{utilization}", "Utilisation of the quota: {utilization}"),
    "tier": ("认定等级：{tier}", "Tier: {tier}"),
    "excess": ("超出限额：{excess} {unit}", "Above the quota by: {excess} {unit}"),
    "triggers": ("依规定的后果：{text}", "What the rules trigger: {text}"),
    "triggers_none": ("依规定的后果：无", "What the rules trigger: nothing"),
    "coverage": ("数据完整率：{completeness}", "Data coverage: {completeness}"),
    "sources": ("数据来源", "Data sources"),
    "meters": ("计量表：{meters}", "Meters: {meters}"),
    "no_meters": ("计量表：无", "Meters: none"),
    "file_line": (
        "{file}（表 {meter}，{readings} 条读数，SHA-256 {checksum}）",
        "{file} (meter {meter}, {readings} readings, SHA-256 {checksum})",
    ),
    "no_files": ("本年度无读数文件。", "No reading files for the year."),
    "no_bills": ("账单：无", "Bills: none"),
    "bill_line": (
        "账单 {account}：{start} 至 {end}，{value} {unit}{estimated}（本建筑分摊 {share}；"
        "{file}，SHA-256 {checksum}）",
        "Bill {account}: {start} to {end}, {value} {unit}{estimated} (this building's share "
        "{share}; {file}, SHA-256 {checksum})",
    ),
    "estimated_mark": ("，估计值", ", estimated"),
    "rules_source": ("依据：{source}", "Rules: {source}"),
    "appeal": (
        "如对本认定有异议，可在监管平台的建筑页面提出申诉（理由及申请的限额）。",
        "To appeal this determination, submit an appeal (reason, requested quota) on the "
        "building's page of the dashboard.",
    ),
    "issued": ("出具日期：{day}", "Issued: {day}"),
}

STATUS: dict[str, tuple[str, str]] = {
    "no_quota": ("无限额", "no quota"),
    "out_of_scope": ("不在管理范围", "out of scope"),
    "insufficient_data": ("数据不足", "insufficient data"),
    "within": ("限额内", "within quota"),
    "at_risk": ("有超限风险", "at risk"),
    "over": ("超限额", "over quota"),
    "over_20": ("超限额 20% 以上", "over quota by more than 20 %"),
    "over_20_repeat": ("连续两年超限额 20% 以上", "over by more than 20 %, two years running"),
}

SOURCE: dict[str, tuple[str, str]] = {
    "imported": ("导入", "imported"),
    "adjusted": ("调整", "adjusted"),
    "proposed": ("建议", "proposed"),
}

UNIT = {"electricity_kwh": ("千瓦时", "kWh"), "energy_kgce": ("千克标准煤", "kgce")}


def text(key: str, lang: str, **values: Any) -> str:
    """The text ``key`` in ``lang`` (``zh`` or ``en``) with ``values`` filled in."""
    zh, en = TEXTS[key]
    return (zh if lang == "zh" else en).format(**values)


def _pick(table: dict[str, tuple[str, str]], key: str | None, lang: str) -> str:
    if key is None:
        return "-"
    pair = table.get(key)
    return key if pair is None else pair[0 if lang == "zh" else 1]


def number(value: float | None) -> str:
    """A quantity with thousands separators: whole units from 100 up, else 2 decimals."""
    if value is None or value != value:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def percent(value: float | None) -> str:
    """A share as a percentage with one decimal."""
    if value is None or value != value:
        return "-"
    return f"{value * 100:.1f} %"


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def notice_blocks(facts: dict[str, Any], lang: str, issued: date) -> list[tuple[str, str]]:
    """The notice as ``(kind, text)`` blocks in ``lang`` (``zh`` or ``en``)."""
    if lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}")
    b = facts["building"]
    blocks: list[tuple[str, str]] = [("title", text("title", lang))]
    blocks.append(("heading", text("building", lang)))
    blocks.append(
        (
            "line",
            text(
                "building_line",
                lang,
                id=b["building_id"],
                name=b["name"],
                district=b["district"],
                type=b["type_zh"] if lang == "zh" else b["type_en"],
                area=number(b["floor_area_m2"]),
            ),
        )
    )
    managers = ", ".join(facts["managers"]) or text("no_manager", lang)
    blocks.append(("line", f"{text('managers', lang)}: {managers}"))
    blocks.append(("line", f"{text('year', lang)}: {facts['year']}"))

    blocks.append(("heading", text("determination", lang)))
    det = facts["determination"]
    if det is None:
        blocks.append(("note", text("no_determination", lang, year=facts["year"])))
    else:
        blocks.append(
            (
                "line",
                text(
                    "det_line",
                    lang,
                    id=det["determination_id"],
                    at=_when(det["at"]),
                    as_of=_when(det["as_of"]),
                    by=det["by"],
                ),
            )
        )
        if det.get("reason"):
            blocks.append(("line", text("det_reason", lang, reason=det["reason"])))
        if not facts["results"]:
            blocks.append(("note", text("no_rows", lang)))
    for row in facts["results"]:
        blocks.extend(_result_blocks(row, facts["tier_rules"][lang], lang))

    blocks.append(("heading", text("sources", lang)))
    meters = facts["meters"]
    if meters:
        shown = ", ".join(f"{m['meter_id']} ({m['energy_type']}, {m['unit']})" for m in meters)
        blocks.append(("line", text("meters", lang, meters=shown)))
    else:
        blocks.append(("line", text("no_meters", lang)))
    for f in facts["files"]:
        blocks.append(
            (
                "line",
                text(
                    "file_line",
                    lang,
                    file=f["file_name"],
                    meter=f["meter_id"],
                    readings=f"{int(f['readings']):,}",
                    checksum=f["sha256"],
                ),
            )
        )
    if not facts["files"]:
        blocks.append(("line", text("no_files", lang)))
    for b in facts["bills"]:
        blocks.append(
            (
                "line",
                text(
                    "bill_line",
                    lang,
                    account=b["account_id"],
                    start=b["period_start"].isoformat(),
                    end=b["period_end"].isoformat(),
                    value=f"{float(b['value']):,.0f}",
                    unit=b["unit"],
                    estimated=text("estimated_mark", lang) if b["estimated"] else "",
                    share=f"{float(b['share']):.0%}",
                    file=b["file_name"],
                    checksum=b["sha256"],
                ),
            )
        )
    if not facts["bills"]:
        blocks.append(("line", text("no_bills", lang)))
    if facts.get("rules_source"):
        blocks.append(("note", text("rules_source", lang, source=facts["rules_source"])))
    blocks.append(("note", text("appeal", lang)))
    blocks.append(("note", text("issued", lang, day=issued.isoformat())))
    return blocks


def _result_blocks(
    row: dict[str, Any], tier_rules: dict[str, str], lang: str
) -> list[tuple[str, str]]:
    basis = row["basis"]
    unit = _pick(UNIT, basis, lang)
    out: list[tuple[str, str]] = [("heading", _pick_basis(basis, lang))]
    if row["limit_value"] is None:
        out.append(("line", text("quota_none", lang)))
    else:
        out.append(
            (
                "line",
                text(
                    "quota",
                    lang,
                    limit_value=number(row["limit_value"]),
                    unit=unit,
                    version=row["quota_version_id"] or "-",
                    source=_pick(SOURCE, row.get("quota_source"), lang),
                ),
            )
        )
        if row.get("quota_source") == "adjusted" and row.get("quota_reason"):
            out.append(
                (
                    "line",
                    text(
                        "quota_reason",
                        lang,
                        reason=row["quota_reason"],
                        by=row.get("quota_by") or "-",
                        at=_when(row.get("quota_at")),
                    ),
                )
            )
        if row.get("quota_source") == "imported" and row.get("quota_file"):
            out.append(
                (
                    "note",
                    text(
                        "quota_file", lang, file=row["quota_file"], checksum=row["quota_checksum"]
                    ),
                )
            )
    out.append(("line", text("use", lang, use=number(row["use_value"]), unit=unit)))
    out.append(("line", text("utilization", lang, utilization=percent(row["utilization"]))))
    out.append(("line", text("tier", lang, tier=_pick(STATUS, row["status"], lang))))
    if row.get("excess") and row["excess"] > 0:
        out.append(("line", text("excess", lang, excess=number(row["excess"]), unit=unit)))
    consequence = tier_rules.get(row["status"])
    if consequence:
        out.append(("line", text("triggers", lang, text=consequence)))
    else:
        out.append(("line", text("triggers_none", lang)))
    out.append(("line", text("coverage", lang, completeness=percent(row["completeness"]))))
    return out


def _pick_basis(basis: str, lang: str) -> str:
    key = f"basis_{basis}"
    return text(key, lang) if key in TEXTS else basis
