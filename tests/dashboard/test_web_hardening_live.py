"""The web app under hostile or unlucky requests, against the real server (`quotawatch
serve`) with a real HTTP client: security headers on every response, 400 for malformed
callback inputs, no failed request after the database drops its connections or restarts,
and downloads whose outside text never becomes a spreadsheet formula."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import pytest
import requests
from openpyxl import load_workbook
from qw_dashboard_support import callback_payload, http_sign_in

from dashboard import ids
from quota.db.cluster import Cluster

HYPERLINK = '=HYPERLINK("http://evil.example","x")'


def test_every_response_carries_the_security_headers(shared_server: Any) -> None:
    url = shared_server.url
    anonymous = requests.Session()
    session = http_sign_in(url, "reg")
    responses = [
        anonymous.get(f"{url}/login", timeout=30),
        anonymous.get(f"{url}/", allow_redirects=False, timeout=30),  # 302 to the login
        anonymous.get(f"{url}/_dash-layout", timeout=30),  # 401
        session.get(f"{url}/", timeout=30),
        session.get(f"{url}/_dash-layout", timeout=30),
        session.get(f"{url}/assets/quotawatch.css", timeout=30),
        session.get(f"{url}/building/B1", timeout=30),
    ]
    assert [r.status_code for r in responses] == [200, 302, 401, 200, 200, 200, 200]
    for response in responses:
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        policy = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert "'unsafe-inline'" not in directives["script-src"]
        assert "'unsafe-eval'" not in directives["script-src"]
        assert "'sha256-" in directives["script-src"]  # Dash's own inline scripts, by hash


def _city_request(year: Any = 2025, as_of: Any = "2025-06-30", **over: Any) -> dict[str, Any]:
    values = {
        ids.CITY_YEAR: year,
        ids.CITY_AS_OF: as_of,
        ids.CITY_BASIS: "electricity_kwh",
        ids.CITY_DISTRICT: None,
        ids.CITY_TYPE: None,
        ids.CITY_SIZE: None,
        **over,
    }
    outputs = [
        (ids.CITY_EMPTY, "children"),
        (ids.CITY_HEADLINE, "children"),
        (ids.CITY_BY_DISTRICT, "figure"),
        (ids.CITY_BY_TYPE, "figure"),
        (ids.CITY_UTILIZATION, "figure"),
        (ids.CITY_BY_DISTRICT, "style"),
        (ids.CITY_BY_TYPE, "style"),
        (ids.CITY_GRID, "columnDefs"),
        (ids.CITY_SELECTION, "data"),
    ]
    return callback_payload(
        outputs,
        [(name, "value", value) for name, value in values.items()],
        [(ids.LANG_STORE, "data", "en")],
    )


def _heatmap_request(month: Any) -> dict[str, Any]:
    return callback_payload(
        [(ids.BUILDING_HEATMAP, "figure")],
        [(ids.BUILDING_ID_STORE, "data", "B1"), (ids.BUILDING_MONTH, "value", month)],
        [(ids.LANG_STORE, "data", "en")],
    )


def _months_request(year: Any) -> dict[str, Any]:
    return callback_payload(
        [(ids.BUILDING_MONTH, "options"), (ids.BUILDING_MONTH, "value")],
        [(ids.BUILDING_YEAR, "value", year)],
        [(ids.BUILDING_ID_STORE, "data", "B1")],
    )


def _stale_request(days: Any) -> dict[str, Any]:
    return callback_payload(
        [(ids.DQ_STALE_GRID, "children")],
        [(ids.DQ_STALE_DAYS, "value", days)],
        [(ids.LANG_STORE, "data", "en")],
    )


INVALID = [
    _city_request(year="x"),
    _city_request(year=[2025]),
    _city_request(year=1),
    _city_request(as_of="2025-13-01"),
    _city_request(as_of=20250630),
    _city_request(**{ids.CITY_BASIS: "joules"}),
    _city_request(**{ids.CITY_DISTRICT: "东城区"}),
    _heatmap_request("2026-11"),
    _heatmap_request(202611),
    _heatmap_request("2026-11-15"),
    _months_request("x"),
    _months_request(True),
    _stale_request("two"),
    _stale_request(-1),
    {"output": "x.children", "outputs": {"id": "x", "property": "children"}, "inputs": "no"},
    {"inputs": []},
    ["not", "an", "object"],
]


def test_malformed_callback_inputs_get_400(shared_server: Any) -> None:
    url = shared_server.url
    session = http_sign_in(url, "reg")
    endpoint = f"{url}/_dash-update-component"
    for body in INVALID:
        response = session.post(endpoint, json=body, timeout=60)
        assert response.status_code == 400, (body, response.status_code, response.text[:300])
        assert response.text.startswith("invalid input")
        assert "Traceback" not in response.text
    not_json = session.post(
        endpoint, data="year=x", headers={"Content-Type": "text/plain"}, timeout=60
    )
    assert not_json.status_code == 400
    # The same callbacks with well-formed values answer normally.
    for body in (
        _city_request(),
        _city_request(year="2025"),
        _heatmap_request("2025-06-01"),
        _months_request(2025),
        _stale_request(3),
    ):
        response = session.post(endpoint, json=body, timeout=60)
        assert response.status_code == 200, (body, response.text[:300])
    # Anonymous requests still get 401 first, whatever their body.
    anonymous = requests.post(endpoint, json=_city_request(year="x"), timeout=60)
    assert anonymous.status_code == 401


def _terminate_pool_connections(city: Any) -> int:
    rows = city.query(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = 'quotawatch' "
        "AND pid <> pg_backend_pid()"
    )
    return sum(1 for r in rows if r["ended"])


def _pages_answer(session: requests.Session, url: str) -> list[int]:
    return [
        session.get(f"{url}/", timeout=60).status_code,
        session.get(f"{url}/_dash-layout", timeout=60).status_code,
        session.post(f"{url}/_dash-update-component", json=_city_request(), timeout=60).status_code,
    ]


def test_terminated_pool_connections_cost_no_failed_request(live_server: Any, city: Any) -> None:
    url = live_server.url
    session = http_sign_in(url, "reg")
    assert _pages_answer(session, url) == [200, 200, 200]
    for _round in range(3):
        assert _terminate_pool_connections(city) >= 1
        assert _pages_answer(session, url) == [200, 200, 200]
    assert "Traceback" not in live_server.log()


@pytest.mark.slow
def test_database_restart_costs_no_failed_request(
    live_server: Any, city: Any, server_settings: Any
) -> None:
    if not server_settings.is_embedded:
        pytest.skip("restarts only the embedded test cluster")
    url = live_server.url
    session = http_sign_in(url, "ana")
    assert _pages_answer(session, url) == [200, 200, 200]
    cluster = Cluster.from_settings(server_settings)
    assert cluster.stop()
    cluster.start()
    assert _pages_answer(session, url) == [200, 200, 200]


def _download(session: requests.Session, url: str, body: dict[str, Any], output: str) -> bytes:
    response = session.post(f"{url}/_dash-update-component", json=body, timeout=60)
    assert response.status_code == 200, response.text[:300]
    data = json.loads(response.text)["response"][output]["data"]
    assert data["base64"]
    return base64.b64decode(data["content"])


def _quarantine_download(button: str) -> dict[str, Any]:
    return callback_payload(
        [(ids.DQ_DOWNLOAD, "data")],
        [(ids.DQ_QUARANTINE_CSV, "n_clicks", 1), (ids.DQ_QUARANTINE_XLSX, "n_clicks", 1)],
        [
            (ids.DQ_REASON, "value", None),
            (ids.LANG_STORE, "data", "en"),
            (ids.DQ_QUARANTINE_GRID, "virtualRowData", None),
        ],
    ) | {"changedPropIds": [f"{button}.n_clicks"]}


def _retrofit_download(button: str) -> dict[str, Any]:
    return callback_payload(
        [(ids.RETRO_DOWNLOAD, "data")],
        [(ids.RETRO_CSV, "n_clicks", 1), (ids.RETRO_XLSX, "n_clicks", 1)],
        [
            (ids.RETRO_YEAR, "value", 2025),
            (ids.RETRO_DISTRICT, "value", None),
            (ids.RETRO_TYPE, "value", None),
            (ids.RETRO_MIN_AREA, "value", 0),
            (ids.RETRO_TRIGGER, "value", None),
            (ids.LANG_STORE, "data", "en"),
            (ids.RETRO_GRID, "virtualRowData", None),
        ],
    ) | {"changedPropIds": [f"{button}.n_clicks"]}


def _text_cells_xlsx(data: bytes) -> list[Any]:
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    return cells


def test_downloads_write_outside_text_as_text(live_server: Any, city: Any) -> None:
    city.query(
        "UPDATE quarantine SET meter_id = %s, raw_row = %s WHERE line_number = 2 "
        "RETURNING quarantine_id",
        ("@SUM(A1)", HYPERLINK + ",2025-06-01,-1"),
    )
    city.query("UPDATE building SET name = %s WHERE building_id = 'B1' RETURNING 1", (HYPERLINK,))
    url = live_server.url
    session = http_sign_in(url, "ana")

    cells = _text_cells_xlsx(
        _download(session, url, _quarantine_download(ids.DQ_QUARANTINE_XLSX), ids.DQ_DOWNLOAD)
    )
    by_value = {cell.value: cell for cell in cells}
    assert by_value["@SUM(A1)"].data_type == "s"
    assert by_value[HYPERLINK + ",2025-06-01,-1"].data_type == "s"
    raw = _download(session, url, _quarantine_download(ids.DQ_QUARANTINE_CSV), ids.DQ_DOWNLOAD)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    flat = [value for row in rows for value in row]
    assert "'@SUM(A1)" in flat and "'" + HYPERLINK + ",2025-06-01,-1" in flat
    assert "@SUM(A1)" not in flat

    cells = _text_cells_xlsx(
        _download(session, url, _retrofit_download(ids.RETRO_XLSX), ids.RETRO_DOWNLOAD)
    )
    named = [cell for cell in cells if cell.value == HYPERLINK]
    assert named and all(cell.data_type == "s" for cell in named)
    raw = _download(session, url, _retrofit_download(ids.RETRO_CSV), ids.RETRO_DOWNLOAD)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    flat = [value for row in rows for value in row]
    assert "'" + HYPERLINK in flat and HYPERLINK not in flat
