"""Validating bills (pure): rows of text → typed bills or reason codes, then what each new
bill does to the stored ones.

Per row, the first code that applies (:data:`ingest.codes.BILL_REASONS`): ``malformed_row``,
``unknown_account``, ``bad_period`` (a date that is not ``YYYY-MM-DD`` or ``YYYY/MM/DD``,
the end before the start, or more than ``max_bill_days`` days), ``bad_value`` (not a finite
number, or an ``estimated`` flag other than 1/0, true/false, E/A, empty), ``negative_value``,
``bad_unit`` (not a unit of the account's energy type; empty means the account's unit).

Then :func:`resolve` decides against the stored bills and the earlier rows of the file, in
file order:

- identical to a stored bill or an earlier row (same account, period, value and estimated
  flag) → duplicate;
- no active bill of the account overlaps the period → loaded;
- an actual bill overlapping only estimates → loaded; the estimates are superseded by it;
- otherwise (an actual overlapping an actual, or an estimate overlapping any bill) →
  ``overlapping_bill``, the stored bill stays; in a corrections file the new bill is loaded
  and replaces every bill it overlaps (actual ones are recorded as corrected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ingest import codes
from ingest.bills_parse import BillRows
from ingest.plausibility import DEFAULT_EARLIEST_READING_DATE, DEFAULT_MAX_POWER_KW
from quota.registry.units import UnitError, canonical_unit, kwh_per_unit

ESTIMATED_TEXTS = {"1": True, "true": True, "e": True, "0": False, "false": False, "a": False}
ESTIMATED_TEXTS[""] = False  # default: actual


@dataclass(frozen=True)
class Account:
    """What validation needs of an account: its energy type and default unit."""

    account_id: str
    energy_type: str
    unit: str


def parse_date(text: str) -> date | None:
    """A local date from ``YYYY-MM-DD`` or ``YYYY/MM/DD`` (None when it is not one)."""
    parts = text.strip().replace("/", "-").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def _number(text: str) -> float | None:
    """A finite number; ``1,234.5`` (thousands separator) and ``1234,5`` (decimal comma, as
    in semicolon files) are read too."""
    text = text.replace(",", "") if "." in text else text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


REJECT_COLUMNS = ["row", "reason_code", "message", "details"]


def validate_bills(
    rows: BillRows,
    accounts: dict[str, Account],
    natural_gas_kwh_per_m3: float,
    max_bill_days: int,
    earliest: date = DEFAULT_EARLIEST_READING_DATE,
    max_power_kw: float = DEFAULT_MAX_POWER_KW,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(good, rejects). The plausibility limits of readings apply to bills too
    (:mod:`ingest.plausibility`): a period starting before ``earliest`` is
    ``implausible_timestamp``; a bill whose average power over its period is above
    ``max_power_kw`` [kW] is ``implausible_value``. ``good``: one row per valid bill, in
    file order, with row (position in ``rows``), line_number, account_id, period_start and
    period_end (date ordinals),
    days, value, unit, energy_kwh [kWh], estimated. ``rejects``: row, reason_code, message,
    details (dict)."""
    dates: dict[str, date | None] = {}
    numbers: dict[str, float | None] = {}
    factors: dict[tuple[str, str], tuple[str, float] | None] = {}
    good: dict[str, list[Any]] = {
        k: []
        for k in (
            "row",
            "line_number",
            "account_id",
            "period_start",
            "period_end",
            "days",
            "value",
            "unit",
            "energy_kwh",
            "estimated",
        )
    }
    rejects: list[tuple[int, str, str, dict[str, Any]]] = []
    for i in range(len(rows)):
        account_id = str(rows.account_id[i])
        if rows.malformed[i]:
            rejects.append((i, codes.MALFORMED_ROW, "the row lacks a required field", {}))
            continue
        account = accounts.get(account_id)
        if account is None:
            rejects.append(
                (i, codes.UNKNOWN_ACCOUNT, f"account {account_id!r} is not registered", {})
            )
            continue
        start_text, end_text = str(rows.period_start[i]), str(rows.period_end[i])
        if start_text not in dates:
            dates[start_text] = parse_date(start_text)
        if end_text not in dates:
            dates[end_text] = parse_date(end_text)
        start, end = dates[start_text], dates[end_text]
        if start is None or end is None:
            rejects.append((i, codes.BAD_PERIOD, "a period date is not YYYY-MM-DD", {}))
            continue
        if start < earliest:
            rejects.append(
                (
                    i,
                    codes.IMPLAUSIBLE_TIMESTAMP,
                    f"the period starts {start}, before the earliest plausible date {earliest}",
                    {"earliest": earliest.isoformat()},
                )
            )
            continue
        days = end.toordinal() - start.toordinal() + 1
        if days < 1:
            rejects.append((i, codes.BAD_PERIOD, "the period ends before it starts", {}))
            continue
        if days > max_bill_days:
            rejects.append(
                (
                    i,
                    codes.BAD_PERIOD,
                    f"the period has {days} days, more than max_bill_days {max_bill_days}",
                    {"days": days, "max_bill_days": max_bill_days},
                )
            )
            continue
        value_text = str(rows.value[i])
        if value_text not in numbers:
            numbers[value_text] = _number(value_text)
        value = numbers[value_text]
        if value is None:
            rejects.append((i, codes.BAD_VALUE, f"value {value_text!r} is not a number", {}))
            continue
        flag_text = str(rows.estimated[i]).strip().lower()
        if flag_text not in ESTIMATED_TEXTS:
            rejects.append(
                (
                    i,
                    codes.BAD_VALUE,
                    f"estimated {rows.estimated[i]!r} is not 1/0, true/false or E/A",
                    {},
                )
            )
            continue
        if value < 0:
            rejects.append((i, codes.NEGATIVE_VALUE, f"value {value_text} is negative", {}))
            continue
        unit_text = str(rows.unit[i]) or account.unit
        key = (account.energy_type, unit_text)
        if key not in factors:
            try:
                unit = canonical_unit(unit_text)
                factors[key] = (
                    unit,
                    kwh_per_unit(account.energy_type, unit, natural_gas_kwh_per_m3),
                )
            except UnitError:
                factors[key] = None
        converted = factors[key]
        if converted is None:
            rejects.append(
                (
                    i,
                    codes.BAD_UNIT,
                    f"unit {unit_text!r} is not valid for {account.energy_type}",
                    {"energy_type": account.energy_type},
                )
            )
            continue
        energy_kwh = value * converted[1]
        average_kw = energy_kwh / (days * 24)
        if not average_kw <= max_power_kw:
            rejects.append(
                (
                    i,
                    codes.IMPLAUSIBLE_VALUE,
                    f"{value_text} {converted[0]} over {days} days is an average of "
                    f"{average_kw:.3g} kW, above {max_power_kw:g} kW",
                    {"average_kw": average_kw, "max_power_kw": max_power_kw},
                )
            )
            continue
        good["row"].append(i)
        good["line_number"].append(int(rows.line_number[i]))
        good["account_id"].append(account_id)
        good["period_start"].append(start.toordinal())
        good["period_end"].append(end.toordinal())
        good["days"].append(days)
        good["value"].append(value)
        good["unit"].append(converted[0])
        good["energy_kwh"].append(energy_kwh)
        good["estimated"].append(ESTIMATED_TEXTS[flag_text])
    frame = pd.DataFrame(good)
    for name in ("row", "line_number", "period_start", "period_end", "days"):
        frame[name] = frame[name].astype(np.int64)
    frame["value"] = frame["value"].astype(np.float64)
    frame["energy_kwh"] = frame["energy_kwh"].astype(np.float64)
    frame["estimated"] = frame["estimated"].astype(bool)
    return frame, pd.DataFrame(rejects, columns=REJECT_COLUMNS)


# -- new bills against stored ones ---------------------------------------------------------------
@dataclass(frozen=True)
class StoredBill:
    """A stored bill (active or superseded) of an account the file names."""

    bill_id: int
    account_id: str
    period_start: int  # date ordinal
    period_end: int  # date ordinal
    value: float
    estimated: bool
    active: bool


@dataclass
class Resolution:
    """What a file's valid bills do. Bills are named by stored ``bill_id`` (> 0) or, for a
    bill of this file, by ``-(row + 1)`` (its position among the file's rows)."""

    loaded: list[int] = field(default_factory=list)  # rows to store, in file order
    duplicates: list[int] = field(default_factory=list)  # rows
    rejects: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)
    superseded: list[tuple[int, int]] = field(default_factory=list)  # (old bill, new row)
    corrected: list[tuple[int, int]] = field(default_factory=list)  # (old bill, new row)


def new_bill_ref(row: int) -> int:
    """The reference of this file's bill at ``row`` (negative; stored bills are > 0)."""
    return -(row + 1)


def resolve(good: pd.DataFrame, stored: list[StoredBill], corrections: bool) -> Resolution:
    """Decide, in file order, what each valid bill does (see the module docstring)."""
    out = Resolution()
    by_account: dict[str, list[StoredBill]] = {}
    for bill in stored:
        by_account.setdefault(bill.account_id, []).append(bill)
    records = zip(
        good["row"].tolist(),
        good["account_id"].tolist(),
        good["period_start"].tolist(),
        good["period_end"].tolist(),
        good["value"].tolist(),
        good["estimated"].tolist(),
        strict=True,
    )
    for row, account_id, start, end, value, estimated in records:
        bills = by_account.get(account_id)
        if bills is None:  # the common case: nothing stored or earlier in the file
            by_account[account_id] = [
                StoredBill(new_bill_ref(row), account_id, start, end, value, estimated, True)
            ]
            out.loaded.append(row)
            continue
        if any(
            b.period_start == start
            and b.period_end == end
            and b.estimated == estimated
            and math.isclose(b.value, value, rel_tol=1e-9, abs_tol=1e-9)
            for b in bills
        ):
            out.duplicates.append(row)
            continue
        overlapping = [
            b for b in bills if b.active and b.period_start <= end and b.period_end >= start
        ]
        replaces = (
            not overlapping
            or corrections
            or (not estimated and all(b.estimated for b in overlapping))
        )
        if not replaces:
            first = min(overlapping, key=lambda b: b.period_start)
            out.rejects.append(
                (
                    row,
                    codes.OVERLAPPING_BILL,
                    f"the {'estimated' if first.estimated else 'actual'} bill "
                    f"{date.fromordinal(first.period_start)}..{date.fromordinal(first.period_end)}"
                    f" of account {account_id!r} overlaps this period",
                    {
                        "overlapped_bill_id": first.bill_id if first.bill_id > 0 else None,
                        "overlapped_period_start": date.fromordinal(first.period_start).isoformat(),
                        "overlapped_period_end": date.fromordinal(first.period_end).isoformat(),
                        "overlapped_estimated": first.estimated,
                    },
                )
            )
            continue
        for old in overlapping:
            pair = (old.bill_id, row)
            (out.superseded if old.estimated and not estimated else out.corrected).append(pair)
        if overlapping:
            gone = {b.bill_id for b in overlapping}
            bills[:] = [
                b
                if b.bill_id not in gone
                else StoredBill(
                    b.bill_id,
                    b.account_id,
                    b.period_start,
                    b.period_end,
                    b.value,
                    b.estimated,
                    False,
                )
                for b in bills
            ]
        bills.append(StoredBill(new_bill_ref(row), account_id, start, end, value, estimated, True))
        out.loaded.append(row)
    return out
