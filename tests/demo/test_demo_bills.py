"""The demo city's utility side: a third of the buildings billed monthly without meters, a
few sharing an account, estimates replaced a month later, bills dropped on the 5th."""

from __future__ import annotations

import csv
import itertools
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from quota.demo.billing import billed_building_ids, delivery_date
from quota.demo.gateway import send_bills
from quota.demo.generator import DemoSpec, build_city, generate

SPEC = DemoSpec(buildings=30, years=1, seed=5, today=date(2026, 3, 20))


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("billed")
    generate(SPEC, out)
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_third_is_billed_without_meters_or_readings(city_dir: Path) -> None:
    billed = set(billed_building_ids(build_city(SPEC)))
    assert len(billed) == 10
    meters = _rows(city_dir / "meters.csv")  # building_id is not the first column
    assert not billed & {m["building_id"] for m in meters}
    prefixes = {f"{b}-" for b in billed}
    for path in (city_dir / "readings").glob("*.csv"):
        for line in path.read_text("utf-8").splitlines()[1:]:
            assert not any(line.startswith(p) for p in prefixes)
    accounts = _rows(city_dir / "accounts.csv")
    assert {a["building_id"] for a in accounts} == billed


def test_some_buildings_share_an_account_and_shares_add_up(city_dir: Path) -> None:
    accounts = _rows(city_dir / "accounts.csv")
    by_account: dict[str, list[float]] = {}
    for a in accounts:
        by_account.setdefault(a["account_id"], []).append(float(a["share"]))
    shared = {k: v for k, v in by_account.items() if len(v) > 1}
    assert len(shared) == 2
    for shares in by_account.values():
        assert sum(shares) == pytest.approx(1.0, abs=0.001)
    assert all("户" in a["account_name"] for a in accounts)


def test_estimates_are_replaced_by_the_next_delivery(city_dir: Path) -> None:
    files = sorted((city_dir / "bills").glob("*.csv"))
    # Deliveries before the history end (17 March 2026): January 2025 to February 2026.
    assert files[-1].name == "2026-02.csv" and files[0].name == "2025-01.csv"
    estimates = replaced = 0
    for earlier, later in itertools.pairwise(files):
        estimated = {
            (r["account_id"], r["period_start"]) for r in _rows(earlier) if r["estimated"] == "E"
        }
        actual = {
            (r["account_id"], r["period_start"]) for r in _rows(later) if r["estimated"] == "A"
        }
        estimates += len(estimated)
        replaced += len(estimated & actual)
    assert estimates > 0 and replaced == estimates


def test_bills_are_dropped_on_the_fifth(tmp_path: Path) -> None:
    generate(SPEC, tmp_path)
    inbox = tmp_path / "inbox"
    assert delivery_date((2026, 3)) == date(2026, 4, 5)
    assert send_bills(tmp_path, inbox, datetime(2026, 4, 4, 23, tzinfo=SPEC.tz)) == []
    sent = send_bills(tmp_path, inbox, datetime(2026, 4, 5, 8, tzinfo=SPEC.tz))
    assert [s.path.name for s in sent] == ["bills-2026-03.csv"]
    assert sent[0].rows > 0
    assert send_bills(tmp_path, inbox, datetime(2026, 4, 6, tzinfo=SPEC.tz)) == []
    state = json.loads((tmp_path / "gateway_bills.json").read_text("utf-8"))
    assert state["delivered_until"] == "2026-03"
    # After a pause, every month due is delivered, oldest first.
    later = send_bills(tmp_path, inbox, datetime(2026, 6, 10, tzinfo=SPEC.tz))
    assert [s.path.name for s in later] == ["bills-2026-04.csv", "bills-2026-05.csv"]
