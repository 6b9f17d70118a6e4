"""building_monthly: the trigger-maintained monthly rollup always equals a fresh GROUP BY of
building_daily (counts and first days exactly, sums within floating-point rounding, since the
triggers apply deltas), whatever statement changed the daily rows."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd
import pytest

from quota import queries
from quota.engine import month_split, rollup_ranges
from tests.quota.conftest import add_building, add_daily, day_range

FRESH = """
SELECT building_id, energy_type, date_trunc('month', day)::date AS month,
       sum(energy_kwh) AS energy_kwh, sum(reading_count)::bigint AS reading_count,
       sum(covered_hours) AS covered_hours, count(*)::int AS day_count, min(day) AS first_day
  FROM building_daily
 GROUP BY 1, 2, 3
 ORDER BY 1, 2, 3
"""
MONTHLY = """
SELECT building_id, energy_type, month, energy_kwh, reading_count, covered_hours, day_count,
       first_day
  FROM building_monthly
 ORDER BY 1, 2, 3
"""


def assert_monthly_is_fresh(db) -> None:
    fresh, monthly = db.query(FRESH), db.query(MONTHLY)
    assert [(r["building_id"], r["energy_type"], r["month"]) for r in monthly] == [
        (r["building_id"], r["energy_type"], r["month"]) for r in fresh
    ]
    for got, want in zip(monthly, fresh, strict=True):
        for key in ("reading_count", "day_count", "first_day"):
            assert got[key] == want[key], (got, want)
        for key in ("energy_kwh", "covered_hours"):
            assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-9), (got, want)


@pytest.fixture
def two_buildings(db):
    with db.connect() as conn:
        add_building(conn, "A")
        add_building(conn, "B")
        conn.commit()
    return db


def test_inserts_one_row_at_a_time_and_in_bulk(two_buildings):
    db = two_buildings
    with db.connect() as conn:
        # executemany: one statement (and one trigger call) per row
        add_daily(conn, "A", day_range(date(2024, 12, 25), date(2025, 2, 3)), 2.5)
        # one multi-row statement over two buildings, two carriers and several months
        conn.execute("""
            INSERT INTO building_daily (building_id, energy_type, day, energy_kwh,
                                        reading_count, covered_hours, meter_count)
            SELECT b, t, d::date, 1.0 + extract(day FROM d), 24, 23.5, 1
              FROM unnest(ARRAY['A', 'B']) b, unnest(ARRAY['natural_gas', 'electricity']) t,
                   generate_series('2024-11-20'::date, '2025-03-10'::date, '1 day') d
             WHERE NOT (b = 'A' AND t = 'electricity')
        """)
        conn.commit()
    assert db.scalar("SELECT count(*) FROM building_monthly") == 3 + 3 * 5
    assert_monthly_is_fresh(db)
    row = db.query(
        "SELECT * FROM building_monthly WHERE building_id = 'A'"
        " AND energy_type = 'electricity' AND month = '2025-01-01'"
    )[0]
    assert (row["day_count"], row["first_day"]) == (31, date(2025, 1, 1))
    assert row["energy_kwh"] == pytest.approx(31 * 2.5)


def test_updates_recompute_old_and_new_groups(two_buildings):
    db = two_buildings
    with db.connect() as conn:
        add_daily(conn, "A", day_range(date(2025, 1, 1), date(2025, 3, 31)), 1.0)
        add_daily(conn, "B", day_range(date(2025, 1, 1), date(2025, 1, 31)), 4.0)
        conn.execute(
            "UPDATE building_daily SET energy_kwh = energy_kwh * 3, covered_hours = 12"
            " WHERE building_id = 'A' AND day BETWEEN '2025-01-20' AND '2025-02-10'"
        )
        # move days across months and buildings: both the old and the new group change
        conn.execute(
            "UPDATE building_daily SET day = day + 45"
            " WHERE building_id = 'B' AND day > '2025-01-25'"
        )
        conn.execute(
            "UPDATE building_daily SET building_id = 'A', energy_type = 'natural_gas'"
            " WHERE building_id = 'B' AND day < '2025-01-05'"
        )
        conn.commit()
    assert_monthly_is_fresh(db)
    assert db.scalar(
        "SELECT first_day FROM building_monthly WHERE building_id = 'B' AND month = '2025-01-01'"
    ) == date(2025, 1, 5)


def test_deletes_shrink_or_remove_groups(two_buildings):
    db = two_buildings
    with db.connect() as conn:
        add_daily(conn, "A", day_range(date(2024, 12, 1), date(2025, 2, 28)), 1.0)
        add_daily(conn, "B", day_range(date(2025, 1, 1), date(2025, 1, 31)), 4.0)
        conn.execute(
            "DELETE FROM building_daily WHERE building_id = 'A'"
            " AND day BETWEEN '2025-01-01' AND '2025-01-31'"
        )  # whole month
        conn.execute(
            "DELETE FROM building_daily WHERE building_id = 'A' AND day >= '2025-02-15'"
        )  # part of a month
        conn.execute("DELETE FROM building_daily WHERE building_id = 'Z'")  # nothing
        conn.commit()
    assert_monthly_is_fresh(db)
    assert (
        db.scalar(
            "SELECT count(*) FROM building_monthly WHERE building_id = 'A' AND month = '2025-01-01'"
        )
        == 0
    )
    with db.connect() as conn:
        conn.execute("DELETE FROM building WHERE building_id = 'B'")  # cascades to the rollups
        conn.commit()
    assert_monthly_is_fresh(db)
    with db.connect() as conn:
        conn.execute("TRUNCATE building_daily")
        conn.commit()
    assert db.scalar("SELECT count(*) FROM building_monthly") == 0


def test_random_statements_keep_the_rollup_fresh_and_rebuild_agrees(two_buildings):
    db = two_buildings
    rng = random.Random(5)
    start = date(2024, 10, 1)
    with db.connect() as conn:
        for _ in range(25):
            bid = rng.choice("AB")
            kind = rng.choice(("electricity", "natural_gas", "district_heat"))
            lo = start + timedelta(days=rng.randrange(200))
            hi = lo + timedelta(days=rng.randrange(60))
            action = rng.choice(("upsert", "delete", "update"))
            if action == "upsert":
                conn.execute(
                    """
                    INSERT INTO building_daily (building_id, energy_type, day, energy_kwh,
                                                reading_count, covered_hours, meter_count)
                    SELECT %s, %s, d::date, %s, 24, 24, 1
                      FROM generate_series(%s::date, %s::date, '1 day') d
                    ON CONFLICT (building_id, energy_type, day)
                    DO UPDATE SET energy_kwh = EXCLUDED.energy_kwh
                """,
                    (bid, kind, rng.uniform(0, 100), lo, hi),
                )
            elif action == "delete":
                conn.execute(
                    "DELETE FROM building_daily WHERE building_id = %s AND day BETWEEN %s AND %s",
                    (bid, lo, hi),
                )
            else:
                conn.execute(
                    "UPDATE building_daily SET energy_kwh = energy_kwh + %s"
                    " WHERE energy_type = %s AND day BETWEEN %s AND %s",
                    (rng.uniform(-1, 1), kind, lo, hi),
                )
        conn.commit()
    assert_monthly_is_fresh(db)
    before = db.query(MONTHLY)
    with db.connect() as conn:
        conn.execute("SELECT building_monthly_rebuild()")
        conn.commit()
    after = db.query(MONTHLY)
    assert [(r["building_id"], r["month"], r["day_count"]) for r in after] == [
        (r["building_id"], r["month"], r["day_count"]) for r in before
    ]


def test_month_split_reads_the_fewest_days():
    def split(cutoff):
        parts = month_split(cutoff)
        return parts["months_end"], parts["days_start"], parts["days_end"], parts["sign"]

    # the 14th of a 31-day month: whole months before March plus 1..14 March
    assert split(date(2025, 3, 14)) == (date(2025, 3, 1), date(2025, 3, 1), date(2025, 3, 14), 1)
    # the 20th: whole months through March minus 21..31 March
    assert split(date(2025, 3, 20)) == (date(2025, 4, 1), date(2025, 3, 21), date(2025, 3, 31), -1)
    # a month end: whole months only (the day range is empty)
    months_end, days_start, days_end, _ = split(date(2025, 3, 31))
    assert months_end == date(2025, 4, 1) and days_start > days_end
    assert split(date(2024, 2, 28)) == (
        date(2024, 3, 1),
        date(2024, 2, 29),
        date(2024, 2, 29),
        -1,
    )  # leap February
    months_end, days_start, days_end, _ = split(date(2024, 12, 31))
    assert months_end == date(2025, 1, 1) and days_start > days_end
    ranges = rollup_ranges(2024, date(2024, 2, 29))
    assert ranges["previous_cutoff"] == date(2023, 2, 28)
    assert (ranges["months_end"], ranges["previous_months_end"]) == (
        date(2024, 3, 1),
        date(2023, 3, 1),
    )


@pytest.mark.parametrize("year", [2024, 2025])
def test_monthly_aggregates_equal_the_daily_reference(db, year):
    """The evaluation's inputs from monthly + partial-month days equal a two-year daily
    scan, on every kind of as-of date (month ends, days added or subtracted, 29 February,
    1 January, a building whose first data comes after the as-of date in the same month)."""
    rng = random.Random(year)
    with db.connect() as conn:
        for i in range(6):
            add_building(conn, f"B{i}", commissioned_year=year if i == 5 else 2000)
        rows = []
        for i in range(6):
            for kind in ("electricity", "natural_gas")[: 1 + i % 2]:
                start = date(year, 3, 25) if i == 5 else date(year - 1, 1, 1)
                day = start
                while day <= date(year, 12, 31):
                    if not (i == 3 and day.month == 7) and rng.random() > 0.05:
                        rows.append((f"B{i}", kind, day, rng.uniform(0, 500), rng.uniform(0, 24)))
                    day += timedelta(days=1)
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY building_daily (building_id, energy_type, day, energy_kwh, covered_hours,"
                " reading_count, meter_count) FROM STDIN"
            ) as copy,
        ):  # one statement: the trigger sees every row in one transition table
            for row in rows:
                copy.write_row((*row, 24, 1))
        conn.commit()
        as_of_days = [
            date(year, 1, 1),
            date(year, 1, 31),
            date(year, 2, 14),
            date(year, 2, 28),
            date(year, 3, 1),
            date(year, 3, 20),
            date(year, 3, 28),
            date(year, 7, 15),
            date(year, 7, 20),
            date(year, 12, 30),
            date(year, 12, 31),
        ]
        if year == 2024:
            as_of_days.append(date(2024, 2, 29))
        for as_of in as_of_days:
            ranges = rollup_ranges(year, as_of)
            got = queries.rollup_aggregates(conn, ranges)
            want = queries.rollup_aggregates(conn, ranges, daily_only=True)
            for g, w in zip(got, want, strict=True):
                key = ["building_id", "energy_type"]
                g = g.sort_values(key, ignore_index=True)
                w = w.sort_values(key, ignore_index=True)
                pd.testing.assert_frame_equal(
                    g, w, check_exact=False, rtol=1e-12, check_dtype=False
                )


def test_monthly_rows_name_existing_buildings_and_follow_them(two_buildings):
    """building_monthly's reference to building is checked per statement (sql/0150): a row
    for an unknown building is refused, a row cannot move to another building, a building
    whose id has monthly rows cannot change it, and deleting a building deletes them."""
    import psycopg

    db = two_buildings
    insert = (
        "INSERT INTO building_monthly (building_id, energy_type, month, energy_kwh, "
        "reading_count, covered_hours, day_count, first_day) "
        "VALUES (%s, 'electricity', '2025-01-01', 1, 1, 24, 1, '2025-01-01')"
    )
    with db.connect() as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="building Z"):
            conn.execute(insert, ("Z",))
        conn.rollback()
        conn.execute(insert, ("A",))
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="another building"):
            conn.execute("UPDATE building_monthly SET building_id = 'B'")
        conn.rollback()
        conn.execute(insert, ("A",))
        conn.execute("UPDATE building_monthly SET energy_kwh = 2")  # other columns: fine
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="building A"):
            conn.execute("UPDATE building SET building_id = 'A2' WHERE building_id = 'A'")
        conn.rollback()
        conn.execute(insert, ("A",))
        conn.execute(insert.replace("'2025-01-01', 1,", "'2025-02-01', 1,"), ("B",))
        conn.execute("DELETE FROM building WHERE building_id = 'A'")
        rows = conn.execute("SELECT building_id FROM building_monthly").fetchall()
        assert [r["building_id"] for r in rows] == ["B"]
        conn.rollback()
