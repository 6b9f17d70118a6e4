"""Timestamps: the accepted forms, offsets, local time and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.timestamps import TimestampError, parse_timestamp, to_epoch_us


def us(*args: int, tz: ZoneInfo = UTC) -> int:  # type: ignore[assignment]
    return to_epoch_us(datetime(*args, tzinfo=tz))


SHANGHAI = ZoneInfo("Asia/Shanghai")


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01 08:00", us(2024, 1, 1, 0)),
        ("2024-01-01T08:00:00", us(2024, 1, 1, 0)),
        ("2024-01-01T08:00:00.5", us(2024, 1, 1, 0) + 500_000),
        ("2024-01-01 00:00+00:00", us(2024, 1, 1, 0)),
        ("2024-01-01T00:00:00Z", us(2024, 1, 1, 0)),
        ("2024-01-01T09:00:00+0900", us(2024, 1, 1, 0)),
        ("2023-12-31T19:00:00-05", us(2024, 1, 1, 0)),
        ("2024/1/1 8:00", us(2024, 1, 1, 0)),
        ("2024/01/01 08:00:30", us(2024, 1, 1, 0) + 30_000_000),
    ],
)
def test_timestamp_forms_offsets_and_local_time(text: str, expected: int) -> None:
    assert parse_timestamp(text, SHANGHAI) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2024-03-31 02:30", "does not exist"),  # skipped hour in Berlin
        ("2024-10-27 02:30", "ambiguous"),  # repeated hour in Berlin
        ("01.03.2024 10:00", "not an ISO 8601"),
        ("2024-02-30 10:00", "day is out of range"),
        ("2024-01-01 10:00+25:00", "out of range"),
    ],
)
def test_bad_timestamps_are_rejected_not_guessed(text: str, why: str) -> None:
    with pytest.raises(TimestampError, match=why):
        parse_timestamp(text, BERLIN)


def test_dst_local_time_with_offset_is_fine() -> None:
    assert parse_timestamp("2024-10-27 02:30+01:00", BERLIN) == us(2024, 10, 27, 1, 30)
