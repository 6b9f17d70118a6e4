"""Accounts and bills on the dashboard: the building page's panel (scoped to the viewer, bills
beside meters, provisional days) and the data-quality panels."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from qw_dashboard_support import callback_payload, signed_in

from dashboard import bills_view, ids
from ingest.bills_rollups import after_accounts_change
from ingest.loader import ingest_paths
from quota.registry.store import import_file


def _bill_b1(city: Any, tmp_path: Path) -> None:
    """Account A1 of B1 (which has meter M1 sending 2,400 kWh on weekdays, 900 at weekends)
    billed for 1-10 June 2025 (10 × 2,000 kWh); a quarantined bill; account A9 of B3 never
    billed."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "account_id,building_id,energy_type,unit,share,utility,account_name\n"
        "A1,B1,electricity,kWh,1,国网北京,一号楼户\nA9,B3,electricity,kWh,1,,\n",
        encoding="utf-8",
    )
    with city.connect() as conn:
        result = import_file(conn, "accounts", accounts)
        assert result.applied, result.errors
        after_accounts_change(conn, city.settings.tz, result.changed_groups)
        conn.commit()
    bills = tmp_path / "bills.csv"
    bills.write_text(
        "account_id,period_start,period_end,value,unit,estimated\n"
        "A1,2025-06-01,2025-06-10,20000,kWh,E\n"
        "A1,2025-06-11,2025-06-01,5,kWh,A\n",
        encoding="utf-8",
    )
    ingest_paths(city.settings, [bills], trigger="test")


def _bills_payload(building_id: str, lang: str = "en") -> dict[str, Any]:
    return callback_payload(
        [(ids.BUILDING_BILLS, "children")],
        [(ids.BUILDING_ID_STORE, "data", building_id), (ids.BUILDING_YEAR, "value", 2025)],
        [(ids.LANG_STORE, "data", lang)],
    )


def test_building_panel_shows_bills_beside_meters_and_is_scoped(app: Any, city: Any, tmp_path):
    _bill_b1(city, tmp_path)
    client = signed_in(app, "mgr")
    response = client.post("/_dash-update-component", json=_bills_payload("B1"))
    assert response.status_code == 200
    text = json.dumps(json.loads(response.get_data(as_text=True)), ensure_ascii=False)
    assert "Utility accounts and bills" in text and "一号楼户" in text
    assert "2025-06-10" in text and "estimated" in text and "bills.csv" in text
    assert "Bills and meters side by side" in text
    body = json.loads(text)["response"][ids.BUILDING_BILLS]["children"]
    grids = [c for c in body if c.get("props", {}).get("id") == ids.BUILDING_BILLS_VS_METERS_GRID]
    june = next(r for r in grids[0]["props"]["rowData"] if r["month"] == "2025-06")
    # 1-10 June 2025 (1 June a Sunday): 7 weekdays × 2,400 + 3 weekend days × 900 = 19,500.
    assert (june["billed_kwh"], june["metered_kwh"]) == (20000.0, 19500.0)
    assert june["difference_kwh"] == -500.0 and june["difference_pct"] == "-2.5 %"
    # Days no bill covers (11-30 June, and 1 January - 31 May) are provisional: the meter's.
    assert june["provisional_days"] == 20
    assert "171 days are provisional" in text

    other = client.post("/_dash-update-component", json=_bills_payload("B3"))
    assert other.status_code == 403


def test_building_without_accounts_shows_no_panel(app: Any) -> None:
    client = signed_in(app, "reg")
    response = client.post("/_dash-update-component", json=_bills_payload("B2"))
    assert response.status_code == 200
    assert json.loads(response.get_data(as_text=True))["response"][ids.BUILDING_BILLS] == {
        "children": []
    }


def test_quality_page_lists_stale_accounts_and_quarantined_bills(app: Any, city: Any, tmp_path):
    _bill_b1(city, tmp_path)
    client = signed_in(app, "reg")
    router = callback_payload(
        [("_pages_content", "children"), ("_pages_store", "data")],
        [
            ("_pages_location", "pathname", "/quality"),
            ("_pages_location", "search", ""),
            (ids.LANG_STORE, "data", "en"),
        ],
    )
    response = client.post("/_dash-update-component", json=router)
    text = json.dumps(json.loads(response.get_data(as_text=True)), ensure_ascii=False)
    assert "Accounts without a bill for more than 45 days" in text
    assert '"account_id": "A9"' in text
    assert "Quarantined bills by reason" in text and "bad_period" in text


def test_comparison_frame_keeps_months_with_meters_or_provisional_days() -> None:
    rows = pd.DataFrame(
        {
            "month": [date(2025, 5, 1), date(2025, 6, 1), date(2025, 7, 1)],
            "energy_type": ["electricity"] * 3,
            "billed_kwh": [100.0, 200.0, None],
            "metered_kwh": [None, 150.0, None],
            "metered_days": [0, 10, 0],
            "billed_days": [31, 10, 0],
            "provisional_days": [0, 0, 5],
            "provisional_kwh": [None, None, 50.0],
        }
    )
    out = bills_view.comparison_frame(rows, "en")
    assert out["month"].tolist() == ["2025-06", "2025-07"]
    assert out["difference_kwh"].tolist()[0] == -50.0
    assert out["difference_pct"].tolist() == ["-25.0 %", "–"]
