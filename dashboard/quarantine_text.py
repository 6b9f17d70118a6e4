"""Quarantine messages in the viewer's language (pure).

A quarantined row keeps its reason code, an English message and ``details`` with the data
that reproduce the decision (``ingest/codes.py``: ``details.code`` is ``reading.CODE`` or
``bill.CODE``). The data-quality page shows the message rendered from the code and those
details through the dashboard's texts (``qmsg_*`` in :mod:`dashboard.texts`), so a Chinese
user reads Chinese. Each code lists variants, most specific first: the first whose details
are all present is used. Only a code without any template shows the stored text.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from dashboard.texts import t

# details.code → ((detail fields the text needs, text key), ...), most specific first.
TEMPLATES: Final[dict[str, tuple[tuple[tuple[str, ...], str], ...]]] = {
    "reading.malformed_row": (((), "qmsg_malformed_row"),),
    "reading.unknown_meter": (
        (("meter_id",), "qmsg_unknown_meter"),
        ((), "qmsg_unknown_meter_any"),
    ),
    "reading.bad_timestamp": (
        (("timestamp",), "qmsg_bad_timestamp"),
        ((), "qmsg_bad_timestamp_any"),
    ),
    "reading.implausible_timestamp": (
        (("moved_from_reading",), "qmsg_implausible_timestamp_moved"),
        (("timestamp",), "qmsg_implausible_timestamp"),
        ((), "qmsg_implausible_timestamp_any"),
    ),
    "reading.bad_value": ((("value",), "qmsg_bad_value"), ((), "qmsg_bad_value_any")),
    "reading.negative_value": ((("value",), "qmsg_negative_value"), ((), "qmsg_negative_any")),
    "reading.bad_unit": ((("unit",), "qmsg_bad_unit"), ((), "qmsg_bad_unit_any")),
    "reading.implausible_value": (
        (("energy_kwh", "previous_at"), "qmsg_implausible_value_register"),
        (("value", "unit"), "qmsg_implausible_value"),
        ((), "qmsg_implausible_value_any"),
    ),
    "reading.future_timestamp": (
        (("timestamp",), "qmsg_future_timestamp"),
        ((), "qmsg_future_timestamp_any"),
    ),
    "reading.above_register_max": (
        (("value", "unit"), "qmsg_above_register_max"),
        ((), "qmsg_above_register_max_any"),
    ),
    "reading.conflicting_duplicate": (
        (("kept_line", "kept_value"), "qmsg_duplicate_in_file"),
        (("stored_value", "stored_unit"), "qmsg_duplicate_stored"),
        ((), "qmsg_duplicate_any"),
    ),
    "reading.register_decrease": (
        (("earlier_at", "earlier_kwh", "later_at", "later_kwh"), "qmsg_register_decrease"),
        ((), "qmsg_register_decrease_any"),
    ),
    "bill.malformed_row": (((), "qmsg_bill_malformed_row"),),
    "bill.unknown_account": (
        (("account_id",), "qmsg_bill_unknown_account"),
        ((), "qmsg_bill_unknown_account_any"),
    ),
    "bill.bad_period": (
        (("days", "max_bill_days"), "qmsg_bill_period_too_long"),
        ((), "qmsg_bill_bad_period"),
    ),
    "bill.implausible_timestamp": (
        (("earliest",), "qmsg_bill_too_early"),
        ((), "qmsg_implausible_timestamp_any"),
    ),
    "bill.bad_value": (((), "qmsg_bill_bad_value"),),
    "bill.negative_value": (((), "qmsg_negative_any"),),
    "bill.bad_unit": ((("energy",), "qmsg_bill_bad_unit"), ((), "qmsg_bad_unit_any")),
    "bill.implausible_value": (
        (("average_kw", "max_power_kw"), "qmsg_bill_implausible_value"),
        ((), "qmsg_implausible_value_any"),
    ),
    "bill.overlapping_bill": (
        (("overlapped_start", "overlapped_end"), "qmsg_bill_overlapping"),
        ((), "qmsg_bill_overlapping_any"),
    ),
}

# Placeholder → the detail it is read from, where the names differ.
_ALIASES: Final = {
    "earlier_at": "earlier_at_us",
    "later_at": "later_at_us",
    "previous_at": "previous_at_us",
    "earlier_kwh": "earlier_register_kwh",
    "later_kwh": "later_register_kwh",
    "overlapped_start": "overlapped_period_start",
    "overlapped_end": "overlapped_period_end",
    "energy": "energy_type",
}
_INSTANTS: Final = {"earlier_at", "later_at", "previous_at"}


def detail_code(reason_code: str, details: dict[str, Any] | None) -> str:
    """The dotted code of a quarantined row (``reading.CODE`` when the details lack it)."""
    code = (details or {}).get("code")
    if code:
        return str(code)
    return reason_code if "." in reason_code else f"reading.{reason_code}"


def _number(value: float) -> str:
    """A number with thousands separators and at most three decimals."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _instant(text: str, tz: ZoneInfo | None) -> str:
    """An ISO instant as ``YYYY-MM-DD HH:MM`` in ``tz`` (the quota time zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if tz is not None and moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime("%Y-%m-%d %H:%M")


def _field(name: str, details: dict[str, Any], lang: str, tz: ZoneInfo | None) -> str | None:
    """The detail behind placeholder ``name`` as shown, None when missing or empty."""
    value = details.get(_ALIASES.get(name, name))
    if value is None or value == "" or value is False:
        return None
    if name in _INSTANTS:
        return _instant(str(value), tz)
    if name == "energy":
        try:
            return t(f"energy_{value}", lang)
        except KeyError:
            return str(value)
    if isinstance(value, bool):
        return "✓"
    if isinstance(value, int | float):
        return None if isinstance(value, float) and not math.isfinite(value) else _number(value)
    return str(value)


def quarantine_message(
    reason_code: str,
    details: dict[str, Any] | None,
    stored_message: str,
    lang: str,
    tz: ZoneInfo | None = None,
) -> str:
    """The message of a quarantined row in ``lang``, from its code and ``details``
    (instants shown in ``tz``); ``stored_message`` only for a code without a template."""
    variants = TEMPLATES.get(detail_code(reason_code, details))
    if not variants:
        return stored_message
    info = details or {}
    for needed, key in variants:
        values = {name: _field(name, info, lang, tz) for name in needed}
        if all(v is not None for v in values.values()):
            return t(key, lang, **values) if values else t(key, lang)
    return stored_message
