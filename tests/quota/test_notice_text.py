"""The notice's text (pure): what it states in each language, and what it says without a
determination."""

from __future__ import annotations

import tomllib
from datetime import date, datetime

import pytest

from quota.record import notice_text, roles
from quota.record.notices import consequences
from quota.settings import RULES_DEFAULT_PATH


def load_rules() -> dict:
    return tomllib.loads(RULES_DEFAULT_PATH.read_text(encoding="utf-8"))


def facts(determined: bool = True) -> dict:
    return {
        "building": {
            "building_id": "B7",
            "name": "七号楼",
            "district": "朝阳区",
            "type_zh": "商业办公",
            "type_en": "Commercial office",
            "floor_area_m2": 12000.0,
        },
        "managers": [],
        "year": 2025,
        "determination": {
            "determination_id": 4,
            "at": datetime(2026, 1, 5, 9, 30),
            "as_of": date(2025, 12, 31),
            "by": "reg",
            "reason": "late readings",
        }
        if determined
        else None,
        "results": [
            {
                "basis": "electricity_kwh",
                "status": "over_20",
                "use_value": 1_300_000.0,
                "limit_value": 1_000_000.0,
                "quota_version_id": 9,
                "quota_source": "imported",
                "quota_file": "quotas-2025.csv",
                "quota_checksum": "ab" * 32,
                "utilization": 1.3,
                "completeness": 0.95,
                "excess": 300_000.0,
            }
        ]
        if determined
        else [],
        "meters": [],
        "files": [],
        "bills": [],
        "tier_rules": {
            "zh": consequences(load_rules(), "zh"),
            "en": consequences(load_rules(), "en"),
        },
        "rules_source": "京建发〔2014〕17号",
    }


def joined(blocks: list[tuple[str, str]]) -> str:
    return "\n".join(text for _, text in blocks)


def test_a_determined_notice_states_quota_use_tier_and_what_it_triggers() -> None:
    en = joined(notice_text.notice_blocks(facts(), "en", date(2026, 1, 6)))
    assert "B7  七号楼 (朝阳区, Commercial office, 12,000 m²)" in en
    assert "Owner or manager: not registered" in en
    assert "Quota in force: 1,000,000 kWh (version 9, imported)" in en
    assert "Imported from quotas-2025.csv, SHA-256 " + "ab" * 32 in en
    assert "Use in the year: 1,300,000 kWh" in en
    assert "Utilisation of the quota: 130.0 %" in en
    assert "Tier: over quota by more than 20 %" in en
    assert "What the rules trigger: the authority may order an energy audit" in en
    assert "Determination 4, made 2026-01-05 09:30 (through 2025-12-31) by reg" in en
    assert "Superseding reason: late readings" in en
    assert "No reading files for the year." in en and "Bills: none" in en
    zh = joined(notice_text.notice_blocks(facts(), "zh", date(2026, 1, 6)))
    assert "有效限额：1,000,000 千瓦时" in zh and "认定等级：超限额 20% 以上" in zh
    assert "主管部门可责令开展能源审计并实施节能改造" in zh
    assert "认定编号 4" in zh


def test_without_a_determination_the_notice_says_so_and_states_no_result() -> None:
    blocks = notice_text.notice_blocks(facts(determined=False), "zh", date(2026, 1, 6))
    assert ("note", "2025 年度尚无有效认定：本通知不构成认定结论，以下无限额执行结果。") in blocks
    assert "有效限额" not in joined(blocks)
    with pytest.raises(ValueError):
        notice_text.notice_blocks(facts(), "fr", date(2026, 1, 6))


def test_only_managers_appeal_and_only_regulators_decide() -> None:
    assert roles.may("manager", roles.APPEAL)
    assert not roles.may("regulator", roles.APPEAL)
    assert roles.may("regulator", roles.DECIDE_APPEAL)
    for role in ("manager", "analyst", None):
        assert not roles.may(role, roles.DECIDE_APPEAL)
