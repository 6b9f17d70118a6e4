"""Bills without a database: parsing, validation, overlap decisions, proration (hand-computed)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ingest import codes
from ingest.bills_parse import header_of, is_bills_header, parse_bills_text
from ingest.bills_rollups import monthly_sums, whole_months
from ingest.bills_validate import Account, StoredBill, new_bill_ref, resolve, validate_bills
from ingest.proration import GroupDays, combine, local_day_hours, prorate
from quota.registry.parse import parse_registry

TZ = ZoneInfo("Asia/Shanghai")
ACCOUNTS = {
    "A1": Account("A1", "electricity", "kWh"),
    "G1": Account("G1", "natural_gas", "m3"),
}


def d(text: str) -> int:
    return date.fromisoformat(text).toordinal()


def test_header_recognition():
    assert is_bills_header(header_of("account_id,period_start,period_end,value,unit,estimated"))
    assert is_bills_header(header_of("\ufeffVALUE;Account_ID;period_end;period_start"))
    assert not is_bills_header(header_of("meter_id,timestamp,value"))


def _validate(text: str, max_days: int = 100):
    rows = parse_bills_text(text)
    return rows, *validate_bills(rows, ACCOUNTS, 10.0, max_days)


def test_every_row_reason_in_order():
    rows, good, rejects = _validate(
        "account_id,period_start,period_end,value,unit,estimated\n"
        "A1,2024-01-01,2024-01-31,310,,\n"  # 2 good
        "A1,2024-02-01,,5\n"  # 3 malformed_row
        "NOPE,2024-01-01,2024-01-31,1\n"  # 4 unknown_account
        "A1,2024-02-10,2024-02-01,1\n"  # 5 bad_period: end before start
        "A1,2024-01-01,2024-06-30,1\n"  # 6 bad_period: 182 days > 100
        "A1,2024-13-01,2024-13-31,1\n"  # 7 bad_period: not a date
        "A1,2024-01-01,2024-01-31,abc\n"  # 8 bad_value
        "A1,2024-01-01,2024-01-31,-4\n"  # 9 negative_value
        "A1,2024-01-01,2024-01-31,4,m3\n"  # 10 bad_unit
        "A1,2024-01-01,2024-01-31,4,,maybe\n"  # 11 bad_value (estimated flag)
        "G1,2024/01/01,2024/01/31,100,,E\n"  # 12 good: gas m3 → kWh, estimated
        "A1,2024-03-01,2024-03-31,1.5,MWh,false\n"  # 13 good: MWh
    )
    by_line = {
        int(rows.line_number[r]): code
        for r, code in zip(rejects["row"], rejects["reason_code"], strict=True)
    }
    assert by_line == {
        3: codes.MALFORMED_ROW,
        4: codes.UNKNOWN_ACCOUNT,
        5: codes.BAD_PERIOD,
        6: codes.BAD_PERIOD,
        7: codes.BAD_PERIOD,
        8: codes.BAD_VALUE,
        9: codes.NEGATIVE_VALUE,
        10: codes.BAD_UNIT,
        11: codes.BAD_VALUE,
    }
    assert good["line_number"].tolist() == [2, 12, 13]
    assert good["days"].tolist() == [31, 31, 31]
    assert good["energy_kwh"].tolist() == pytest.approx([310.0, 1000.0, 1500.0])
    assert good["estimated"].tolist() == [False, True, False]
    assert good["unit"].tolist() == ["kWh", "m3", "MWh"]


def test_max_bill_days_is_a_parameter():
    _rows, good, rejects = _validate(
        "account_id,period_start,period_end,value\nA1,2024-01-01,2024-01-31,1\n", max_days=30
    )
    assert good.empty and rejects["reason_code"].tolist() == [codes.BAD_PERIOD]


def _good(lines: str):
    _rows, good, rejects = _validate("account_id,period_start,period_end,value,estimated\n" + lines)
    assert rejects.empty
    return good


def test_resolve_duplicates_supersession_and_overlaps():
    good = _good(
        "A1,2024-01-01,2024-01-31,310,A\n"  # row 0: identical to stored bill 1 → duplicate
        "A1,2024-02-01,2024-02-29,290,A\n"  # row 1: replaces stored estimate 2
        "A1,2024-03-10,2024-04-09,300,A\n"  # row 2: overlaps stored actual 3 → quarantined
        "A1,2024-05-01,2024-05-31,31,E\n"  # row 3: new estimate
        "A1,2024-05-01,2024-05-31,33,A\n"  # row 4: replaces row 3 (same file)
        "A1,2024-05-01,2024-05-31,33,A\n"  # row 5: duplicate of row 4
    )
    stored = [
        StoredBill(1, "A1", d("2024-01-01"), d("2024-01-31"), 310.0, False, True),
        StoredBill(2, "A1", d("2024-02-01"), d("2024-02-29"), 280.0, True, True),
        StoredBill(3, "A1", d("2024-03-01"), d("2024-03-31"), 300.0, False, True),
    ]
    out = resolve(good, stored, corrections=False)
    assert out.duplicates == [0, 5]
    assert out.loaded == [1, 3, 4]
    assert out.superseded == [(2, 1), (new_bill_ref(3), 4)]
    assert out.corrected == []
    assert [(r[0], r[1]) for r in out.rejects] == [(2, codes.OVERLAPPING_BILL)]
    assert out.rejects[0][3]["overlapped_bill_id"] == 3

    fixed = resolve(good, stored, corrections=True)
    assert (2, codes.OVERLAPPING_BILL) not in [(r[0], r[1]) for r in fixed.rejects]
    assert (3, 2) in fixed.corrected


def test_an_estimate_never_replaces_a_bill_without_corrections():
    good = _good("A1,2024-01-15,2024-02-14,100,E\n")
    stored = [StoredBill(1, "A1", d("2024-01-01"), d("2024-01-31"), 310.0, True, True)]
    out = resolve(good, stored, corrections=False)
    assert out.loaded == [] and out.rejects[0][1] == codes.OVERLAPPING_BILL


def _prorated(start: str, end: str, value: float, share: float = 1.0):
    _g, day, energy, _count = prorate(
        np.array([0]),
        np.array([d(start)]),
        np.array([d(end)]),
        np.array([value]),
        np.array([share]),
    )
    return {date.fromordinal(int(x)): float(e) for x, e in zip(day, energy, strict=True)}


def test_proration_across_month_end():
    # 15 Jan - 14 Feb 2024: 17 + 14 = 31 days; 3,100 kWh → 100 kWh/day.
    days = _prorated("2024-01-15", "2024-02-14", 3100.0)
    assert len(days) == 31
    assert sum(v for k, v in days.items() if k.month == 1) == pytest.approx(1700.0)
    assert sum(v for k, v in days.items() if k.month == 2) == pytest.approx(1400.0)


def test_proration_across_new_year():
    # 20 Dec 2023 - 19 Jan 2024: 12 + 19 = 31 days; 620 kWh → 20 kWh/day.
    days = _prorated("2023-12-20", "2024-01-19", 620.0)
    assert sum(v for k, v in days.items() if k.year == 2023) == pytest.approx(240.0)
    assert sum(v for k, v in days.items() if k.year == 2024) == pytest.approx(380.0)


def test_proration_leap_february():
    days = _prorated("2024-02-01", "2024-02-29", 2900.0)
    assert len(days) == 29 and days[date(2024, 2, 29)] == pytest.approx(100.0)
    assert len(_prorated("2023-02-01", "2023-02-28", 2800.0)) == 28


def test_proration_shared_account_and_window():
    g, _day, energy, count = prorate(
        np.array([1, 0]),
        np.array([d("2024-03-01")] * 2),
        np.array([d("2024-03-31")] * 2),
        np.array([3100.0, 3100.0]),
        np.array([0.4, 0.6]),
        lo=d("2024-03-30"),
    )
    assert g.tolist() == [0, 0, 1, 1]  # sorted by group, then day
    assert energy.tolist() == pytest.approx([60.0, 60.0, 40.0, 40.0])
    assert count.tolist() == [1, 1, 1, 1]


def test_two_accounts_of_one_building_add_up():
    _g, _day, energy, count = prorate(
        np.array([0, 0]),
        np.array([d("2024-03-01"), d("2024-03-02")]),
        np.array([d("2024-03-02"), d("2024-03-02")]),
        np.array([20.0, 5.0]),
        np.array([1.0, 1.0]),
    )
    assert energy.tolist() == pytest.approx([10.0, 15.0]) and count.tolist() == [1, 2]


def test_combine_billed_days_win_and_other_days_are_provisional():
    billed = prorate(
        np.array([0]),
        np.array([d("2024-05-01")]),
        np.array([d("2024-05-10")]),
        np.array([500.0]),
        np.array([1.0]),
    )
    metered = GroupDays(
        group=np.array([0, 0, 0, 1]),
        day=np.array([d("2024-05-10"), d("2024-05-11"), d("2024-05-12"), d("2024-05-11")]),
        energy_kwh=np.array([24.0, 24.0, 12.0, 7.0]),
        reading_count=np.array([24, 24, 12, 7]),
        covered_hours=np.array([24.0, 24.0, 12.0, 7.0]),
        meter_count=np.array([1, 1, 1, 1]),
        source=np.zeros(4, dtype=object),
    )
    out = combine(billed, metered, np.array([True, False]), TZ)
    rows = list(
        zip(
            out.group.tolist(),
            out.day.tolist(),
            out.energy_kwh.tolist(),
            out.source.tolist(),
            out.covered_hours.tolist(),
            strict=True,
        )
    )
    assert rows[9] == (0, d("2024-05-10"), 50.0, "bills", 24.0)  # the meter's 24 not added
    assert rows[10] == (0, d("2024-05-11"), 24.0, "provisional", 24.0)
    assert rows[11] == (0, d("2024-05-12"), 12.0, "provisional", 12.0)
    assert rows[12] == (1, d("2024-05-11"), 7.0, "meters", 7.0)  # no account: meters as before
    assert len(rows) == 13


def test_local_day_hours_on_clock_changes():
    berlin = ZoneInfo("Europe/Berlin")
    hours = local_day_hours(np.array([d("2024-03-31"), d("2024-10-27"), d("2024-06-01")]), berlin)
    assert hours.tolist() == [23.0, 25.0, 24.0]


ACCOUNTS_HEADER = "account_id,building_id,energy_type,unit,share,utility,account_name\n"


def test_accounts_file_shares():
    parsed = parse_registry(
        "accounts",
        ACCOUNTS_HEADER
        + "A1,B1,electricity,kWh,60%,国网北京,甲\nA1,B2,电力,kWh,0.4,,\nA2,B3,gas,m3,,,\n",
    )
    assert parsed.errors == []
    assert [r["share"] for r in parsed.records] == [0.6, 0.4, 1.0]
    assert parsed.records[1]["energy_type"] == "electricity"
    assert parsed.records[0]["account_name"] == "甲"


def test_accounts_whose_shares_do_not_add_up_report_every_row():
    parsed = parse_registry(
        "accounts",
        ACCOUNTS_HEADER
        + "A1,B1,electricity,kWh,0.6,,\nA2,B1,electricity,kWh,1,,\nA1,B2,electricity,kWh,0.5,,\n",
    )
    assert [(e.line, e.reason) for e in parsed.errors] == [
        (2, "shares_do_not_add_up"),
        (4, "shares_do_not_add_up"),
    ]
    mixed = parse_registry(
        "accounts", ACCOUNTS_HEADER + "A1,B1,electricity,kWh,0.5,,\nA1,B2,electricity,MWh,0.5,,\n"
    )
    assert [e.reason for e in mixed.errors] == ["inconsistent_account"] * 2


def test_whole_months_of_a_range():
    assert whole_months(date(2024, 1, 15), date(2024, 3, 10)) == (
        date(2024, 2, 1),
        date(2024, 2, 29),
    )
    assert whole_months(date(2024, 1, 1), date(2024, 12, 31)) == (
        date(2024, 1, 1),
        date(2024, 12, 31),
    )
    first, last = whole_months(date(2024, 1, 2), date(2024, 1, 30))
    assert first > last  # no whole month


def test_monthly_sums_of_the_written_days():
    # Group 0: 30 Jan - 2 Mar 2024 at 10 kWh a day; group 1: 1-3 Feb at 1.5 kWh.
    d0 = np.arange(date(2024, 1, 30).toordinal(), date(2024, 3, 3).toordinal())
    d1 = np.arange(date(2024, 2, 1).toordinal(), date(2024, 2, 4).toordinal())
    n0, n1 = len(d0), len(d1)
    days = GroupDays(
        group=np.r_[np.zeros(n0, np.int64), np.ones(n1, np.int64)],
        day=np.r_[d0, d1],
        energy_kwh=np.r_[np.full(n0, 10.0), np.full(n1, 1.5)],
        reading_count=np.ones(n0 + n1, np.int64),
        covered_hours=np.full(n0 + n1, 24.0),
        meter_count=np.zeros(n0 + n1, np.int64),
        source=np.full(n0 + n1, "bills", dtype=object),
    )
    groups = [("B1", "electricity"), ("B2", "natural_gas")]
    sums = {
        k: v.tolist()
        for k, v in monthly_sums(groups, days, date(2024, 2, 1), date(2024, 2, 29)).items()
    }
    feb_1 = date(2024, 2, 1).toordinal()
    assert sums["month_building"] == ["B1", "B2"]
    assert sums["month_energy_type"] == ["electricity", "natural_gas"]
    assert sums["month_first"] == [feb_1] * 2
    assert sums["month_energy_kwh"] == [290.0, 4.5]
    assert sums["month_reading_count"] == [29, 3]
    assert sums["month_covered_hours"] == [29 * 24.0, 72.0]
    assert sums["month_day_count"] == [29, 3]
    assert sums["month_first_day"] == [feb_1] * 2
    empty = monthly_sums(groups, days, date(2024, 4, 1), date(2024, 4, 30))
    assert all(len(v) == 0 for v in empty.values())
