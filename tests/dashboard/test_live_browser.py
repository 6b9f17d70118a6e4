"""Live figures in headless Chromium: an open page refreshes itself when a new evaluation
is stored (it polls the newest evaluation id), and says when its figures were computed
(city, building and retrofit pages)."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dashboard import ids, live

pytestmark = pytest.mark.browser

_spec = importlib.util.spec_from_file_location(
    "qw_browser_helpers_live", Path(__file__).with_name("test_browser.py")
)
_helpers = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_helpers)  # type: ignore[union-attr]


def store_new_evaluation(city: Any, as_of: date) -> int:
    """A new run of 2025 as of ``as_of`` in which every building with a quota is over it."""
    with city.connect() as conn:
        new_id = conn.execute(
            "INSERT INTO evaluation_run (year, as_of, timezone, building_count) "
            "VALUES (2025, %s, 'Asia/Shanghai', 6) RETURNING evaluation_id",
            (as_of,),
        ).fetchone()["evaluation_id"]
        conn.execute(
            "INSERT INTO evaluation_result (evaluation_id, building_id, basis, status, "
            "energy_kwh, limit_value, utilization, projected, excess, eui_kwh_per_m2, "
            "completeness) "
            "SELECT %s, building_id, basis, 'over', limit_value * 1.1, limit_value, 1.1, "
            "limit_value * 2, limit_value * 0.1, eui_kwh_per_m2, 0.95 "
            "FROM evaluation_result WHERE evaluation_id = %s",
            (new_id, city.runs["2025"]),
        )
        conn.commit()
    return int(new_id)


def test_open_pages_refresh_when_a_new_evaluation_is_stored(
    dash_duo: Any, app: Any, city: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "POLL_INTERVAL_MS", 1000)
    _helpers.sign_in(dash_duo, app, "reg")
    dash_duo.wait_for_contains_text(f"#{ids.CITY_COMPUTED}", f"#{city.runs['2025']}", timeout=15)
    dash_duo.wait_for_contains_text(f"#{ids.CITY_HEADLINE}", "参评建筑", timeout=10)
    # The open city page follows a new run without a reload.
    first = store_new_evaluation(city, date(2025, 7, 1))
    dash_duo.wait_for_contains_text(f"#{ids.CITY_COMPUTED}", f"#{first}", timeout=20)
    assert "2025-07-01" in dash_duo.find_element(f"#{ids.CITY_COMPUTED}").text
    dash_duo.wait_for_contains_text(f"#{ids.CITY_HEADLINE}", "0.0 %", timeout=10)
    # So does the open building page.
    _helpers.visit(dash_duo, "/building/B1")
    dash_duo.wait_for_contains_text(f"#{ids.BUILDING_HEADER}", f"#{first}", timeout=15)
    second = store_new_evaluation(city, date(2025, 7, 2))
    dash_duo.wait_for_contains_text(f"#{ids.BUILDING_HEADER}", f"#{second}", timeout=20)
    assert "2025-07-02" in dash_duo.find_element(f"#{ids.BUILDING_HEADER}").text
    # And the retrofit page, which says on its first screen when its figures were computed.
    _helpers.visit(dash_duo, "/retrofit")
    dash_duo.wait_for_contains_text(f"#{ids.RETRO_TOTALS}", f"#{second}", timeout=15)
    assert "数据计算于" in dash_duo.find_element(f"#{ids.RETRO_TOTALS}").text
    third = store_new_evaluation(city, date(2025, 7, 3))
    dash_duo.wait_for_contains_text(f"#{ids.RETRO_TOTALS}", f"#{third}", timeout=20)
