"""Quarantine messages read in the viewer's language: rendered from the reason code and the
stored details, the stored English text only for a code without a template."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from dashboard.quarantine_text import TEMPLATES, detail_code, quarantine_message
from dashboard.texts import TEXTS
from ingest import codes

SHANGHAI = ZoneInfo("Asia/Shanghai")
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_reason_code_of_readings_and_bills_has_a_template() -> None:
    assert {f"reading.{c}" for c in codes.REASONS} <= set(TEMPLATES)
    assert {f"bill.{c}" for c in codes.BILL_REASONS} <= set(TEMPLATES)
    # ...and a last variant that needs no detail, so no known code shows English in zh.
    for code, variants in TEMPLATES.items():
        assert variants[-1][0] == (), code
        for _needed, key in variants:
            assert key in TEXTS, (code, key)


@pytest.mark.parametrize(
    ("reason", "details", "zh", "en"),
    [
        (
            "negative_value",
            {"code": "reading.negative_value", "value": "-200.085", "unit": "kWh"},
            "读数 -200.085 为负值。",
            "Value -200.085 is negative.",
        ),
        (
            "unknown_meter",
            {"code": "reading.unknown_meter", "meter_id": "BJ90002-E1"},
            "计量表 BJ90002-E1 不在计量表登记册中。",
            "Meter BJ90002-E1 is not in the meter registry.",
        ),
        (
            "conflicting_duplicate",
            {"code": "reading.conflicting_duplicate", "kept_line": 21096, "kept_value": 1001.188},
            "本文件第 21,096 行已有同一计量表、同一时间的读数，数值不同（1,001.188）。",
            "Line 21,096 of this file has the same meter and time with a different value "
            "(1,001.188).",
        ),
        (
            "conflicting_duplicate",
            {
                "code": "reading.conflicting_duplicate",
                "stored_value": 17.816,
                "stored_unit": "kWh",
                "stored_file_id": 3,
            },
            "同一计量表、同一时间已存有不同的读数（17.816 kWh）。",
            "The same meter and time is already stored with a different value (17.816 kWh).",
        ),
        (
            "bad_period",
            {"code": "bill.bad_period", "days": 400, "max_bill_days": 92},
            "账期 400 天，超过上限 max_bill_days（92 天）。",
            "The period has 400 days, more than max_bill_days (92).",
        ),
        (
            "bad_unit",
            {"code": "bill.bad_unit", "energy_type": "natural_gas"},
            "单位不适用于该户号的能源类型（天然气）。",
            "The unit is not valid for the account's energy type (Natural gas).",
        ),
    ],
)
def test_messages_carry_the_details_in_both_languages(
    reason: str, details: dict[str, object], zh: str, en: str
) -> None:
    stored = "the stored English text"
    assert quarantine_message(reason, details, stored, "zh", SHANGHAI) == zh
    assert quarantine_message(reason, details, stored, "en", SHANGHAI) == en


def test_register_decrease_shows_its_instants_in_the_quota_time_zone() -> None:
    details = {
        "code": "reading.register_decrease",
        "earlier_at_us": "2026-09-15T16:00:00+00:00",
        "earlier_register_kwh": 2192066.014,
        "later_at_us": "2026-09-16T04:00:00+00:00",
        "later_register_kwh": 2191692.139,
    }
    zh = quarantine_message("register_decrease", details, "x", "zh", SHANGHAI)
    assert zh.startswith("累计读数下降：2026-09-16 00:00 为 2,192,066.014 kWh，")
    assert "2026-09-16 12:00 为 2,191,692.139 kWh" in zh


def test_missing_details_fall_back_to_a_plainer_template_not_to_english() -> None:
    # A row stored before details existed, its code in the dotted form.
    assert quarantine_message("reading.negative_value", None, "bad row", "zh") == "读数为负值。"
    # Details present but empty (a malformed row has no timestamp to quote).
    empty = {"code": "reading.bad_timestamp", "timestamp": ""}
    assert quarantine_message("bad_timestamp", empty, "x", "zh") == "时间无效。"
    # Rows moved out of the readings by migration 0041.
    moved = {"code": "reading.implausible_timestamp", "moved_from_reading": True}
    assert "0041" in quarantine_message("implausible_timestamp", moved, "x", "zh")


def test_a_code_without_a_template_shows_the_stored_text() -> None:
    assert quarantine_message("meter.unknown", None, "bad row", "zh") == "bad row"
    assert quarantine_message("x", {"code": "reading.new_code"}, "as stored", "zh") == "as stored"


def test_every_chinese_message_reads_in_chinese() -> None:
    for code, variants in TEMPLATES.items():
        for _needed, key in variants:
            assert HAN.search(TEXTS[key][0]), (code, key)


def test_detail_code() -> None:
    assert detail_code("bad_unit", {"code": "bill.bad_unit"}) == "bill.bad_unit"
    assert detail_code("bad_unit", None) == "reading.bad_unit"
    assert detail_code("reading.bad_unit", {}) == "reading.bad_unit"
