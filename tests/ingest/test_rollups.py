"""Daily increments of a batch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from ingest.rollups import daily_increments, span_increments
from ingest.timestamps import to_epoch_us


def us(*args: int, tz: ZoneInfo = UTC) -> int:  # type: ignore[assignment]
    return to_epoch_us(datetime(*args, tzinfo=tz))


SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("shuffled", [False, True])
def test_daily_increments_sum_each_meter_day(shuffled: bool) -> None:
    rng = np.random.default_rng(3)
    keys = np.repeat(np.array([2, 5, 9]), 60)
    # Hourly from 22:00 local on 31 December: the first two hours are in the old year.
    times = np.tile(us(2024, 12, 31, 14) + np.arange(60) * 3_600_000_000, 3)
    energy = rng.uniform(0, 5, len(keys))
    minutes = np.where(keys == 9, 30, 60)
    if shuffled:
        order = rng.permutation(len(keys))
        keys, times, energy, minutes = keys[order], times[order], energy[order], minutes[order]
    got = daily_increments(keys, times, energy, minutes, SHANGHAI)
    local_day = [datetime.fromtimestamp(t / 1e6, SHANGHAI).date().toordinal() for t in times]
    expected = (
        pd.DataFrame(
            {"meter_key": keys, "day": local_day, "energy_kwh": energy, "minutes": minutes}
        )
        .groupby(["meter_key", "day"], as_index=False)
        .agg(
            energy_kwh=("energy_kwh", "sum"),
            reading_count=("energy_kwh", "size"),
            covered_hours=("minutes", lambda m: m.sum() / 60),
        )
    )
    got = got.sort_values(["meter_key", "day"]).reset_index(drop=True)
    assert got[["meter_key", "day", "reading_count"]].values.tolist() == (
        expected[["meter_key", "day", "reading_count"]].values.tolist()
    )
    assert got["energy_kwh"].to_numpy() == pytest.approx(expected["energy_kwh"].to_numpy())
    assert got["covered_hours"].to_numpy() == pytest.approx(expected["covered_hours"].to_numpy())
    assert got["reading_count"].tolist()[:3] == [2, 24, 24]


def test_span_increments_split_register_spans_over_local_days_by_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")

    def local(*args: int) -> int:
        return us(*args, tz=berlin)

    # Meter 1: a baseline at 22:00 on 30 March, then 50 kWh over 25 hours (23:00 → 01:00
    # two days later; 31 March has 23 hours), then 3 kWh within 1 April. Meter 2: 10 kWh
    # over one midnight.
    result = span_increments(
        np.array([1, 1, 1, 2]),
        np.array([0, local(2024, 3, 30, 23), local(2024, 4, 1, 1), local(2024, 1, 1, 22)]),
        np.array(
            [
                local(2024, 3, 30, 22),
                local(2024, 4, 1, 1),
                local(2024, 4, 1, 4),
                local(2024, 1, 2, 2),
            ]
        ),
        np.array([np.nan, 50.0, 3.0, 10.0]),
        berlin,
    )
    rows = {
        (int(r.meter_key), date.fromordinal(int(r.day))): (
            r.energy_kwh,
            int(r.reading_count),
            r.covered_hours,
        )
        for r in result.itertuples()
    }
    assert rows == {
        (1, date(2024, 3, 30)): (pytest.approx(2.0), 1, pytest.approx(1.0)),
        (1, date(2024, 3, 31)): (pytest.approx(46.0), 0, pytest.approx(23.0)),
        (1, date(2024, 4, 1)): (pytest.approx(5.0), 2, pytest.approx(4.0)),
        (2, date(2024, 1, 1)): (pytest.approx(5.0), 0, pytest.approx(2.0)),
        (2, date(2024, 1, 2)): (pytest.approx(5.0), 1, pytest.approx(2.0)),
    }
