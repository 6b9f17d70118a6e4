"""Utility accounts and monthly bills of the demo city (pure, deterministic).

A third of the demo buildings are billed monthly and have no meters: every third building
(``BJ00002``, ``BJ00005``, …) unless one of its meters carries a planted fault or is a
register with a maximum (those stay metered so the faults show) or it is the building
commissioned this year; others (``BJ00001``, ``BJ00004``, …) make up the third. Each
billed building has one account per energy carrier it uses (electricity in kWh, natural
gas in m³, district heat in GJ). The first pairs of billed
buildings share one electricity account, split by their use of the first year (e.g. 0.62 /
0.38).

A bill covers a calendar month, and its value is the carriers' modelled use of that month
(the same model as the readings). The utility delivers a month's bills on the 5th of the
next month (:data:`BILL_DAY`); about one bill in eight is first delivered as an estimate
(last month's figure ± 10 %) and its actual figure follows with the next month's delivery.

Files: ``accounts.csv`` (UTF-8; Chinese account names and utilities), ``bills/YYYY-MM.csv``
— the delivery of month YYYY-MM: its bills plus the actual bills replacing the previous
month's estimates (file names sort in delivery order, so an estimate is always loaded before
its replacement).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

BILL_DAY = 5  # the utility delivers a month's bills on this day of the next month
BILLED_EVERY = 3  # every third building is billed
SHARED_PAIRS = 2  # pairs of billed buildings that share an electricity account
ESTIMATE_RATE = 0.125  # share of bills first delivered as estimates
ACCOUNT_COLUMNS = ["account_id", "building_id", "energy_type", "unit", "share", "utility"]
ACCOUNT_COLUMNS += ["account_name"]
BILL_HEADER = "account_id,period_start,period_end,value,unit,estimated\n"
UNITS = {"electricity": "kWh", "natural_gas": "m3", "district_heat": "GJ"}
DECIMALS = {"electricity": 0, "natural_gas": 0, "district_heat": 2}
PREFIX = {"electricity": "E", "natural_gas": "G", "district_heat": "H"}
UTILITIES = {
    "electricity": "国网北京市电力公司",
    "natural_gas": "北京燃气集团",
    "district_heat": "北京热力集团",
}
NAME_SUFFIX = {"electricity": "电费户", "natural_gas": "燃气户", "district_heat": "热费户"}


def billed_building_ids(city: Any) -> list[str]:
    """The buildings billed monthly, without meters (module docstring)."""
    meters = city.meters
    special = set(
        meters.loc[
            meters["model_fault"].astype(bool) | meters["register_max"].notna(), "building_id"
        ]
    )
    new = set(
        city.buildings.loc[
            city.buildings["commissioned_year"] >= city.spec.current_year, "building_id"
        ]
    )
    ids = city.buildings["building_id"].tolist()
    eligible = {b for b in ids if b not in special and b not in new}
    wanted = round(len(ids) / BILLED_EVERY)
    first = [b for i, b in enumerate(ids) if i % BILLED_EVERY == 1 and b in eligible]
    more = [b for i, b in enumerate(ids) if i % BILLED_EVERY == 0 and b in eligible]
    chosen = set(first[:wanted] + more[: max(wanted - len(first), 0)])
    return [b for b in ids if b in chosen]


def metered_buildings(city: Any) -> pd.DataFrame:
    """The buildings whose meters send readings (all but the billed ones)."""
    billed = set(billed_building_ids(city))
    return city.buildings[~city.buildings["building_id"].isin(billed)]


def metered_meters(city: Any) -> pd.DataFrame:
    """The meters of the registry file: those of the metered buildings."""
    billed = set(billed_building_ids(city))
    return city.meters[~city.meters["building_id"].isin(billed)]


@dataclass(frozen=True)
class Account:
    account_id: str
    energy_type: str
    shares: tuple[tuple[str, float], ...]  # (building_id, share)


MonthlyUse = Callable[[Any, int], dict[str, np.ndarray]]


class CityBills:
    """The accounts of a city's billed buildings and their modelled monthly use.

    ``monthly_use(building_row, year)``: use per carrier and calendar month [account unit]
    (12 values per carrier), from the same model as the readings."""

    def __init__(self, city: Any, monthly_use: MonthlyUse):
        self.city = city
        billed = billed_building_ids(city)
        rows = city.buildings.set_index("building_id", drop=False)
        carriers = {
            b: sorted(set(city.meters.loc[city.meters["building_id"] == b, "energy_type"]))
            for b in billed
        }
        self.use = {
            (b, year): monthly_use(next(rows.loc[[b]].itertuples(index=False)), year)
            for b in billed
            for year in city.spec.data_years
        }
        pairs: list[list[str]] = []
        if len(billed) >= 2 * SHARED_PAIRS + 2:
            pairs = [billed[i : i + 2] for i in range(0, 2 * SHARED_PAIRS, 2)]
        shared = {b for p in pairs for b in p}
        first = city.spec.first_year
        self.accounts: list[Account] = []
        for a, b in pairs:
            ua = self.use[(a, first)]["electricity"].sum()
            ub = self.use[(b, first)]["electricity"].sum()
            share_a = round(float(ua / (ua + ub)), 2)
            self.accounts.append(
                Account(
                    f"E{a[2:]}{b[-2:]}", "electricity", ((a, share_a), (b, round(1 - share_a, 2)))
                )
            )
        for b in billed:
            for energy_type in carriers[b]:
                if energy_type == "electricity" and b in shared:
                    continue
                self.accounts.append(
                    Account(f"{PREFIX[energy_type]}{b[2:]}", energy_type, ((b, 1.0),))
                )

    def accounts_csv_bytes(self) -> bytes:
        """The accounts file (UTF-8, Chinese account names and utilities)."""
        names = self.city.buildings.set_index("building_id")["name"]
        lines = [",".join(ACCOUNT_COLUMNS) + "\n"]
        for account in self.accounts:
            first_name = names[account.shares[0][0]]
            for building_id, share in account.shares:
                lines.append(
                    f"{account.account_id},{building_id},{account.energy_type},"
                    f"{UNITS[account.energy_type]},{share:g},{UTILITIES[account.energy_type]},"
                    f"{first_name}{NAME_SUFFIX[account.energy_type]}\n"
                )
        return "".join(lines).encode("utf-8")

    def value(self, account: Account, month: tuple[int, int]) -> float:
        """The modelled use of ``account`` in ``month`` [account unit]."""
        return sum(
            float(self.use[(building_id, month[0])][account.energy_type][month[1] - 1])
            for building_id, _share in account.shares
        )

    def delivery_text(self, month: tuple[int, int]) -> tuple[str, int]:
        """(CSV text, bills) delivered for ``month``: the month's bills (some as estimates)
        and the actual bills replacing the previous month's estimates."""
        seed, first = self.city.spec.seed, self.city.spec.first_year
        year, m = month
        previous = (year - (m == 1), 12 if m == 1 else m - 1)
        lines: list[str] = []
        for account in self.accounts:
            decimals = DECIMALS[account.energy_type]
            unit = UNITS[account.energy_type]
            if previous[0] >= first and is_estimated(seed, account.account_id, previous):
                actual = round(self.value(account, previous), decimals)
                lines.append(
                    f"{account.account_id},{date(*previous, 1)},{_month_end(*previous)},"
                    f"{actual:.{decimals}f},{unit},A\n"
                )
            value, flag = self.value(account, month), "A"
            if is_estimated(seed, account.account_id, month):
                rng = np.random.default_rng([seed, 8, year, m])
                last = self.value(account, previous) if previous[0] >= first else value
                value, flag = last * float(rng.uniform(0.9, 1.1)), "E"
            lines.append(
                f"{account.account_id},{date(year, m, 1)},{_month_end(year, m)},"
                f"{round(value, decimals):.{decimals}f},{unit},{flag}\n"
            )
        return BILL_HEADER + "".join(lines), len(lines)


def _month_end(year: int, month: int) -> date:
    return date.fromordinal(date(year + (month == 12), month % 12 + 1, 1).toordinal() - 1)


def delivery_date(month: tuple[int, int]) -> date:
    """When the bills of ``month`` arrive: the :data:`BILL_DAY` of the next month."""
    year, m = month
    return date(year + (m == 12), m % 12 + 1, BILL_DAY)


def is_estimated(seed: int, account_id: str, month: tuple[int, int]) -> bool:
    """Whether the bill of ``account_id`` for ``month`` is first delivered as an estimate."""
    digits = int("".join(c for c in account_id if c.isdigit()) or 0)
    rng = np.random.default_rng([seed, 7, digits, month[0], month[1]])
    return bool(rng.random() < ESTIMATE_RATE)


def history_months(spec: Any) -> list[tuple[int, int]]:
    """The billed months whose delivery lies before the end of the history."""
    months = []
    for year in spec.data_years:
        for m in range(1, 13):
            if delivery_date((year, m)) < spec.end_date:
                months.append((year, m))
    return months


def due_months(
    spec: Any, delivered_until: tuple[int, int] | None, today: date
) -> list[tuple[int, int]]:
    """Months after ``delivered_until`` whose bills are due by ``today`` (oldest first)."""
    out: list[tuple[int, int]] = []
    year, m = delivered_until or (spec.first_year - 1, 12)
    while True:
        year, m = (year + (m == 12), m % 12 + 1)
        if delivery_date((year, m)) > today or year > spec.current_year:
            return out
        out.append((year, m))
