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
    details (dict).

    The rows every check passes are found a column at a time (:func:`_clean_rows`); the
    others go through the checks row by row (:func:`_check_rows`), which give each its
    first reason code and message."""
    fast = _clean_rows(
        rows, accounts, natural_gas_kwh_per_m3, max_bill_days, earliest, max_power_kw
    )
    rest = np.flatnonzero(~fast["clean"])
    slow, rejects = _check_rows(
        rows, rest, accounts, natural_gas_kwh_per_m3, max_bill_days, earliest, max_power_kw
    )
    clean = fast["clean"]
    frame = pd.DataFrame(
        {
            "row": np.flatnonzero(clean),
            "line_number": rows.line_number[clean],
            "account_id": rows.account_id[clean],
            "period_start": fast["period_start"][clean],
            "period_end": fast["period_end"][clean],
            "days": fast["days"][clean],
            "value": fast["value"][clean],
            "unit": fast["unit"][clean],
            "energy_kwh": fast["energy_kwh"][clean],
            "estimated": fast["estimated"][clean],
        }
    )
    if len(slow):
        frame = pd.concat([frame, slow], ignore_index=True).sort_values("row", kind="stable")
        frame = frame.reset_index(drop=True)
    for name in ("row", "line_number", "period_start", "period_end", "days"):
        frame[name] = frame[name].astype(np.int64)
    frame["value"] = frame["value"].astype(np.float64)
    frame["energy_kwh"] = frame["energy_kwh"].astype(np.float64)
    frame["estimated"] = frame["estimated"].astype(bool)
    return frame, pd.DataFrame(rejects, columns=REJECT_COLUMNS)


def _clean_rows(
    rows: BillRows,
    accounts: dict[str, Account],
    natural_gas_kwh_per_m3: float,
    max_bill_days: int,
    earliest: date,
    max_power_kw: float,
) -> dict[str, np.ndarray]:
    """The rows that pass every check (``clean``) and their typed fields, computed once per
    distinct text (accounts, dates, flags, units) or per column (values). A row that is not
    certainly clean here is left to :func:`_check_rows`."""
    n = len(rows)
    clean = ~np.asarray(rows.malformed, dtype=bool)
    account_codes, account_ids = pd.factorize(rows.account_id)
    known = [accounts.get(str(a)) for a in account_ids]
    clean &= np.array([a is not None for a in known] or [False], dtype=bool)[account_codes]

    def ordinals(texts: np.ndarray) -> np.ndarray:
        text_codes, uniques = pd.factorize(texts)
        parsed = [parse_date(str(t)) for t in uniques]
        table = np.array([d.toordinal() if d else -1 for d in parsed] or [-1], dtype=np.int64)
        return table[text_codes]

    start, end = ordinals(rows.period_start), ordinals(rows.period_end)
    days = end - start + 1
    clean &= (start > 0) & (end > 0) & (start >= earliest.toordinal())
    clean &= (days >= 1) & (days <= max_bill_days)
    try:
        value = np.fromiter(map(float, rows.value), dtype=np.float64, count=n)
    except ValueError:  # a comma, a word: each distinct text on its own
        text_codes, uniques = pd.factorize(rows.value)
        parsed_values = [_number(str(t)) for t in uniques]
        table = np.array([np.nan if v is None else v for v in parsed_values] or [np.nan])
        value = table[text_codes]
    clean &= np.isfinite(value) & (value >= 0)
    flag_codes, flags = pd.factorize(np.array([str(t).strip().lower() for t in rows.estimated]))
    flag_known = np.array([f in ESTIMATED_TEXTS for f in flags] or [False], dtype=bool)
    flag_value = np.array([ESTIMATED_TEXTS.get(f, False) for f in flags] or [False], dtype=bool)
    clean &= flag_known[flag_codes]
    estimated = flag_value[flag_codes]
    energy_types = np.array([a.energy_type if a else "" for a in known] or [""], dtype=object)
    default_units = np.array([a.unit if a else "" for a in known] or [""], dtype=object)
    unit_text = np.where(rows.unit == "", default_units[account_codes], rows.unit).astype(object)
    pair_index: dict[tuple[str, str], int] = {}
    pair_codes = np.fromiter(
        (
            pair_index.setdefault(pair, len(pair_index))
            for pair in zip(energy_types[account_codes], unit_text, strict=True)
        ),
        dtype=np.int64,
        count=n,
    )
    units, factors = [], []
    for energy_type, text in pair_index:
        try:
            unit = canonical_unit(text)
            factor_of_pair = kwh_per_unit(energy_type, unit, natural_gas_kwh_per_m3)
        except UnitError:
            unit, factor_of_pair = "", np.nan
        units.append(unit)
        factors.append(factor_of_pair)
    factor = np.array(factors or [np.nan], dtype=np.float64)[pair_codes]
    clean &= np.isfinite(factor)
    energy_kwh = value * factor
    with np.errstate(invalid="ignore", divide="ignore"):
        clean &= energy_kwh / (np.maximum(days, 1) * 24) <= max_power_kw
    return {
        "clean": clean,
        "period_start": start,
        "period_end": end,
        "days": days,
        "value": value,
        "unit": np.array(units or [""], dtype=object)[pair_codes],
        "energy_kwh": energy_kwh,
        "estimated": estimated,
    }


def _check_rows(
    rows: BillRows,
    which: np.ndarray,
    accounts: dict[str, Account],
    natural_gas_kwh_per_m3: float,
    max_bill_days: int,
    earliest: date,
    max_power_kw: float,
) -> tuple[pd.DataFrame, list[tuple[int, str, str, dict[str, Any]]]]:
    """The checks row by row for the rows ``which``: (their valid bills, their rejects)."""
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
    for i in which.tolist():
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
    return pd.DataFrame(good), rejects


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
    """Decide, in file order, what each valid bill does (see the module docstring).

    Accounts are independent: the bills of an account with nothing stored whose periods in
    the file neither overlap nor repeat (a utility's usual export) are all loaded, decided
    together; the bills of every other account go through :func:`_resolve_in_order`."""
    plain = _plain_rows(good, {bill.account_id for bill in stored})
    out = _resolve_in_order(good[~plain], stored, corrections)
    if plain.any():
        out.loaded = sorted(out.loaded + good["row"].to_numpy()[plain].tolist())
    return out


def _plain_rows(good: pd.DataFrame, stored_accounts: set[str]) -> np.ndarray:
    """Rows of ``good`` whose account has no stored bill and whose periods in the file are
    disjoint (sorted by start, each ends before the next starts)."""
    if good.empty:
        return np.zeros(0, dtype=bool)
    account = good["account_id"].to_numpy()
    start = good["period_start"].to_numpy()
    end = good["period_end"].to_numpy()
    codes_, _uniques = pd.factorize(account)
    order = np.lexsort((start, codes_))
    a, st, en = codes_[order], start[order], end[order]
    clash = np.zeros(len(order), dtype=bool)
    same = a[1:] == a[:-1]
    touching = same & (st[1:] <= en[:-1])
    clash[1:] |= touching
    clash[:-1] |= touching
    bad_accounts = np.zeros(len(_uniques), dtype=bool)
    bad_accounts[a[clash]] = True
    if stored_accounts:
        bad_accounts |= pd.Index(_uniques).isin(list(stored_accounts))
    return ~bad_accounts[codes_]


def _resolve_in_order(
    good: pd.DataFrame, stored: list[StoredBill], corrections: bool
) -> Resolution:
    """Decide bill by bill, in file order (see the module docstring)."""
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
