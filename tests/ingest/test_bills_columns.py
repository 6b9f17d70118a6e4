"""The column-wise paths of bills parsing, validation and overlap decisions give exactly what
the row-by-row paths give (pure, generated inputs with every kind of bad field), and billed
days split into runs (hand-computed)."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pandas as pd

from ingest.bills_parse import parse_bills_text
from ingest.bills_validate import (
    Account,
    StoredBill,
    _check_rows,
    _resolve_in_order,
    resolve,
    validate_bills,
)
from ingest.day_runs import split_runs
from ingest.plausibility import DEFAULT_EARLIEST_READING_DATE, DEFAULT_MAX_POWER_KW
from ingest.proration import GroupDays

ACCOUNTS = {
    "A1": Account("A1", "electricity", "kWh"),
    "A2": Account("A2", "electricity", "MWh"),
    "G1": Account("G1", "natural_gas", "m3"),
    "H1": Account("H1", "district_heat", "GJ"),
}
HEADER = "account_id,period_start,period_end,value,unit,estimated\n"


def _random_lines(rng: random.Random, n: int) -> list[str]:
    accounts = ["A1", "A2", "G1", "H1", "NOPE", ""]
    starts = ["2024-01-01", "2024-02-10", "2024/03/01", "2024-13-01", "1850-01-01", "", "x"]
    ends = ["2024-01-31", "2024-02-09", "2024-03-31", "2024-09-30", "2024/03/31", ""]
    values = ["310", "1.5", "0", "-4", "abc", "1e309", "nan", "2,5", "1,234.5", "", "9e12", "7"]
    units = ["", "kWh", "MWh", "m3", "GJ", "MJ", "Wh", "furlong"]
    flags = ["", "1", "0", "E", "a", "TRUE", "false", "maybe"]
    lines = []
    for _ in range(n):
        if rng.random() < 0.4:  # a good bill
            month = rng.randint(1, 12)
            lines.append(
                f"{rng.choice(['A1', 'A2', 'G1'])},2024-{month:02d}-01,2024-{month:02d}-28,"
                f"{rng.uniform(0, 1000):.3f},,{rng.choice(flags[:-1])}"
            )
            continue
        fields = [
            rng.choice(accounts),
            rng.choice(starts),
            rng.choice(ends),
            rng.choice(values),
            rng.choice(units),
            rng.choice(flags),
        ]
        lines.append(",".join(f'"{f}"' if "," in f else f for f in fields))
    return lines


def test_columns_and_rows_validate_alike():
    rng = random.Random(11)
    seen_codes: set[str] = set()
    loaded = 0
    for _ in range(20):
        rows = parse_bills_text(HEADER + "\n".join(_random_lines(rng, 200)) + "\n")
        good, rejects = validate_bills(rows, ACCOUNTS, 10.0, 100)
        every = np.arange(len(rows))
        slow_good, slow_rejects = _check_rows(
            rows, every, ACCOUNTS, 10.0, 100, DEFAULT_EARLIEST_READING_DATE, DEFAULT_MAX_POWER_KW
        )
        assert len(good) + len(rejects) == len(rows)
        assert good["row"].tolist() == slow_good["row"].tolist()
        for column in ("line_number", "account_id", "period_start", "period_end", "days"):
            assert good[column].tolist() == slow_good[column].tolist(), column
        for column in ("value", "energy_kwh"):
            assert good[column].tolist() == slow_good[column].tolist(), column
        assert good["unit"].tolist() == slow_good["unit"].tolist()
        assert good["estimated"].tolist() == slow_good["estimated"].tolist()
        assert [tuple(r) for r in rejects.itertuples(index=False)] == slow_rejects
        seen_codes |= set(rejects["reason_code"])
        loaded += len(good)
    assert loaded > 100
    assert seen_codes >= {
        "malformed_row",
        "unknown_account",
        "bad_period",
        "bad_value",
        "negative_value",
        "bad_unit",
        "implausible_timestamp",
        "implausible_value",
    }


def test_ragged_rows_parse_as_the_column_path_would():
    """A row with too few fields goes through the row-by-row reader; the other rows come
    out the same as when every row has the header's fields."""
    lines = ["A1,2024-01-01,2024-01-31,310,,", "G1,2024-02-01,2024-02-29,5,m3,E"]
    even = parse_bills_text(HEADER + "\n".join(lines) + "\n")
    ragged = parse_bills_text(HEADER + "\n".join([*lines, "A1,2024-03-01"]) + "\n")
    assert ragged.malformed.tolist() == [False, False, True]
    for name in ("account_id", "period_start", "period_end", "value", "unit", "estimated"):
        assert getattr(ragged, name)[:2].tolist() == getattr(even, name).tolist(), name
    assert even.line_number.tolist() == [2, 3]
    assert even.raw == lines


def _frame(bills: list[tuple[int, str, int, int, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        bills, columns=["row", "account_id", "period_start", "period_end", "value", "estimated"]
    )


def test_disjoint_accounts_are_decided_together_as_in_file_order():
    rng = random.Random(5)
    base = date(2024, 1, 1).toordinal()
    for _ in range(200):
        bills, stored = [], []
        for row in range(rng.randint(1, 25)):
            start = base + rng.randint(0, 120)
            bills.append(
                (
                    row,
                    rng.choice(["A", "B", "C", "D"]),
                    start,
                    start + rng.randint(0, 40),
                    float(rng.choice([100, 200, 300])),
                    rng.random() < 0.3,
                )
            )
        for bill_id in range(1, rng.randint(0, 3) + 1):
            start = base + rng.randint(0, 120)
            stored.append(
                StoredBill(
                    bill_id,
                    rng.choice(["A", "B"]),
                    start,
                    start + 30,
                    100.0,
                    rng.random() < 0.5,
                    True,
                )
            )
        good = _frame(bills)
        for corrections in (False, True):
            fast = resolve(good, stored, corrections)
            slow = _resolve_in_order(good, stored, corrections)
            assert sorted(fast.loaded) == sorted(slow.loaded)
            assert fast.duplicates == slow.duplicates
            assert fast.rejects == slow.rejects
            assert fast.superseded == slow.superseded
            assert fast.corrected == slow.corrected


def test_a_utility_export_is_loaded_whole_without_the_row_path():
    bills = [
        (i, f"A{i // 12}", 100 + 31 * (i % 12), 130 + 31 * (i % 12), 1.0, False) for i in range(48)
    ]
    out = resolve(_frame(bills), [], corrections=False)
    assert out.loaded == list(range(48))
    assert not out.duplicates and not out.rejects


def _days(rows: list[tuple[int, int, float, str]]) -> GroupDays:
    group, day, energy, source = zip(*rows, strict=True)
    n = len(rows)
    return GroupDays(
        group=np.array(group, dtype=np.int64),
        day=np.array(day, dtype=np.int64),
        energy_kwh=np.array(energy),
        reading_count=np.ones(n, dtype=np.int64),
        covered_hours=np.full(n, 24.0),
        meter_count=np.zeros(n, dtype=np.int64),
        source=np.array(source, dtype=object),
    )


def test_billed_days_split_into_runs_of_equal_consecutive_days():
    days = _days(
        [
            (0, 10, 5.0, "bills"),
            (0, 11, 5.0, "bills"),
            (0, 12, 5.0, "bills"),
            (0, 13, 7.0, "bills"),  # another bill: a new run
            (0, 14, 9.0, "provisional"),  # not billed: a day row
            (0, 16, 7.0, "bills"),  # a gap: a new run
            (1, 17, 7.0, "bills"),  # another group: a new run
            (1, 18, 7.0, "bills"),
        ]
    )
    runs, others = split_runs(days, days.source == "bills")
    assert list(zip(runs.group, runs.first_day, runs.last_day, runs.energy_kwh, strict=True)) == [
        (0, 10, 12, 5.0),
        (0, 13, 13, 7.0),
        (0, 16, 16, 7.0),
        (1, 17, 18, 7.0),
    ]
    assert runs.day_count == 7
    assert others.day.tolist() == [14] and others.source.tolist() == ["provisional"]
    empty_runs, all_days = split_runs(days, np.zeros(len(days), dtype=bool))
    assert len(empty_runs) == 0 and len(all_days) == len(days)
