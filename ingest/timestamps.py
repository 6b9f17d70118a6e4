"""Parsing reading timestamps (pure): text → microseconds since 1970-01-01 UTC.

Accepted forms:

- ISO 8601 with ``T`` or a space between date and time, optional seconds, optional fraction
  (``.`` or ``,``, digits beyond microseconds are truncated), optional offset
  (``Z``, ``+08:00``, ``+0800``, ``+08``);
- ``YYYY/MM/DD HH:MM[:SS]`` (month, day and hour may have one digit, as spreadsheets write
  them).

Without an offset the time is local time in the quota time zone. A local time that does not
exist (skipped by a daylight-saving change) or is ambiguous (repeated) is rejected, never
guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})"
    r"(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)
_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2}) (\d{1,2}):(\d{2})(?::(\d{2}))?$")


class TimestampError(ValueError):
    """The text is not a usable timestamp; the message says why."""


def _offset(text: str) -> timezone:
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise TimestampError(f"offset {text!r} is out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """``naive`` local time as an aware datetime in ``tz``; raises :class:`TimestampError`
    when that local time does not exist or occurs twice."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Either repeated (ambiguous) or skipped (non-existent): tell which.
        round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != naive:
            raise TimestampError(
                f"local time {naive.isoformat(sep=' ')} does not exist in {tz.key}"
            )
        raise TimestampError(f"local time {naive.isoformat(sep=' ')} is ambiguous in {tz.key}")
    return first


def parse_timestamp(text: str, tz: ZoneInfo) -> int:
    """The instant ``text`` names, in microseconds since 1970-01-01 UTC [µs]."""
    value = text.strip()
    try:
        match = _ISO.match(value)
        if match:
            year, month, day, hour, minute, second, fraction, offset = match.groups()
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            naive = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
            )
            aware = naive.replace(tzinfo=_offset(offset)) if offset else localize(naive, tz)
        else:
            match = _SLASH.match(value)
            if not match:
                raise TimestampError(
                    f"{value!r} is not an ISO 8601 timestamp or YYYY/MM/DD HH:MM[:SS]"
                )
            year, month, day, hour, minute, second = match.groups()
            naive = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
            )
            aware = localize(naive, tz)
    except ValueError as exc:  # datetime() range errors (month 13, hour 24, ...)
        if isinstance(exc, TimestampError):
            raise
        raise TimestampError(f"{value!r}: {exc}") from exc
    return (aware - EPOCH) // ONE_MICROSECOND


def to_datetime(epoch_us: int) -> datetime:
    """An aware UTC datetime from microseconds since 1970-01-01 UTC."""
    return EPOCH + timedelta(microseconds=int(epoch_us))


def to_epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC of an aware datetime [µs]."""
    return (moment - EPOCH) // ONE_MICROSECOND
