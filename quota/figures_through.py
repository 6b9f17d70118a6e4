"""The day a building's figures run to, when it is evaluated from bills alone (pure).

A building and energy type with utility accounts but no interval meters has data only on the
days its bills cover (``ingest.proration``): between the last bill and the as-of date its use
to date stands still while the expected share of the year keeps growing, so use ÷ expected
share would read low until the next bill. Like is compared with like instead: such a
building is evaluated **through its last covered day** — use to date, expected share,
projection, utilisation and excess are those of an evaluation as of that day — and the
result says so (``figures_through``). Completeness stays covered days ÷ elapsed days through
the as-of date (a late bill still shows as missing data).

Per basis:

- ``electricity_kwh``: the last covered day of the building's electricity, when electricity
  is billed-only and that day is before the as-of date;
- ``energy_kgce``: the earliest of the last covered days of the building's billed-only
  carriers (before the as-of date); every carrier of the basis, metered ones included, is
  then counted through that day.

A billed-only carrier without any covered day in the year sets no day (the building has no
data to run figures to; its completeness says so).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

BILLED_COLUMNS = ("building_id", "energy_type", "last_day")


def through_days(billed: pd.DataFrame | None, as_of: date) -> pd.DataFrame:
    """Per building with a figures-through day for at least one basis: ``building_id``,
    ``electricity_kwh`` and ``energy_kgce`` (``datetime.date`` or None per basis).

    ``billed``: one row per billed-only (building, energy type) with ``last_day``, its last
    local day with data in the year through ``as_of`` (None or NaT when none)."""
    empty = pd.DataFrame(columns=["building_id", "electricity_kwh", "energy_kgce"])
    if billed is None or billed.empty:
        return empty
    last = pd.to_datetime(billed["last_day"])
    early = billed.assign(last_day=last)[last.notna() & (last < pd.Timestamp(as_of))]
    if early.empty:
        return empty
    grouped = early.groupby("building_id", sort=True)["last_day"].min()
    elec = early[early["energy_type"] == "electricity"].set_index("building_id")["last_day"]
    out = pd.DataFrame({"building_id": grouped.index})
    out["electricity_kwh"] = [_day(elec.get(b)) for b in grouped.index]
    out["energy_kgce"] = [_day(v) for v in grouped.to_numpy()]
    return out


def _day(value: object) -> date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def days_to_load(days: pd.DataFrame) -> list[date]:
    """The distinct figures-through days of :func:`through_days` (the as-of dates whose
    rollup aggregates an evaluation needs besides its own), ascending."""
    values = {d for col in ("electricity_kwh", "energy_kgce") for d in days.get(col, []) if d}
    return sorted(values)


def row_days(days: pd.DataFrame, building_ids: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """The figures-through day of each result row (building, basis), None when its figures
    run to the as-of date (object array of ``datetime.date`` or None)."""
    out = np.full(len(building_ids), None, dtype=object)
    if days.empty or not len(building_ids):
        return out
    indexed = days.set_index("building_id")
    pos = indexed.index.get_indexer(building_ids)
    for name in ("electricity_kwh", "energy_kgce"):
        values = indexed[name].to_numpy(dtype=object)
        rows = (pos >= 0) & (basis == name)
        out[rows] = values[pos[rows]]
    return out
