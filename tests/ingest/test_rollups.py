"""Daily increments of a batch."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from ingest.rollups import daily_increments
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
