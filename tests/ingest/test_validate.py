"""Validation of a batch: reasons in order and units."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ingest import codes
from ingest.parse import parse_text
from ingest.timestamps import to_epoch_us
from ingest.validate import MeterInfo, Registry, validate_batch


def us(*args: int, tz: ZoneInfo = UTC) -> int:  # type: ignore[assignment]
    return to_epoch_us(datetime(*args, tzinfo=tz))


SHANGHAI = ZoneInfo("Asia/Shanghai")


REGISTRY = Registry(
    {
        "E1": MeterInfo(1, "E1", "B1", "electricity", "kWh", multiplier=40.0),
        "G1": MeterInfo(2, "G1", "B1", "natural_gas", "m3", "cumulative", 1.0, 999.0),  # 0…999
    },
    natural_gas_kwh_per_m3=10.0,
)


def test_validation_reasons_in_order_and_units() -> None:
    text = (
        "meter_id,timestamp,value,unit\n"
        "E1,2024-01-01 00:00,1,MWh\n"
        "G1,2024-01-01 00:00,12.5,m³\n"
        "X9,bad,bad,bad\n"  # unknown meter wins over everything after it
        "E1,bad,-1,\n"  # bad timestamp before value checks
        "E1,2024-01-01 01:00,-1,m3\n"  # negative before unit
        "E1,2024-01-01 01:00,1,furlong\n"
        "G1,2024-01-01 02:00,1000,\n"  # above the largest value the register shows
    )
    [batch] = parse_text(text)
    now = us(2025, 1, 1)
    good, rejects = validate_batch(batch, REGISTRY, SHANGHAI, now)
    assert good["unit"].tolist() == ["MWh", "m3"]
    assert good["kwh_per_unit"].tolist() == [1000.0, 10.0]
    assert good["multiplier"].tolist() == [40.0, 1.0]
    assert rejects["reason_code"].tolist() == [
        codes.UNKNOWN_METER,
        codes.BAD_TIMESTAMP,
        codes.NEGATIVE_VALUE,
        codes.BAD_UNIT,
        codes.ABOVE_REGISTER_MAX,
    ]
