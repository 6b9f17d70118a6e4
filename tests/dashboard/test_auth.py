"""Sign-in, the guard on every request, throttling, and manager isolation at the HTTP level
(Flask test client against the real database)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from qw_dashboard_support import PASSWORD, callback_payload, csrf_from, signed_in

from dashboard import ids
from dashboard.auth import resolve_secret_key, safe_next
from dashboard.users import LoginPolicy, authenticate, lock_duration_s


def test_pages_and_callbacks_require_login(app: Any) -> None:
    client = app.server.test_client()
    page = client.get("/building/B1")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login?next=/building/B1")
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-dependencies").status_code == 401
    payload = callback_payload(
        [(ids.CITY_AS_OF, "options"), (ids.CITY_AS_OF, "value")],
        [(ids.CITY_YEAR, "value", 2025), (ids.LIVE_EVALUATION, "data", None)],
    )
    response = client.post("/_dash-update-component", json=payload)
    assert response.status_code == 401
    assert b"2025-06-30" not in response.data


def test_login_then_logout(app: Any) -> None:
    client = app.server.test_client()
    form = client.get("/login?next=/retrofit")
    assert form.status_code == 200
    assert "用户名" in form.get_data(as_text=True)
    token = csrf_from(form.get_data(as_text=True))
    wrong = client.post(
        "/login", data={"username": "reg", "password": "nope-nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    ok = client.post(
        "/login",
        data={"username": "reg", "password": PASSWORD, "next": "/retrofit", "csrf_token": token},
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/retrofit"
    assert client.get("/_dash-layout").status_code == 200
    # Signing out is a POST with the (renewed) CSRF token; a GET only asks.
    assert client.get("/logout").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    logout_form = client.get("/logout").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 400
    done = client.post("/logout", data={"csrf_token": csrf_from(logout_form)})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert client.get("/_dash-layout").status_code == 401


def test_login_without_csrf_token_is_refused(app: Any, city: Any) -> None:
    client = app.server.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "reg", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/_dash-layout").status_code == 401
    assert city.scalar("SELECT count(*) FROM web_session") == 0


def test_removed_user_loses_session(app: Any, city: Any) -> None:
    client = signed_in(app, "reg")
    assert client.get("/_dash-layout").status_code == 200
    city.query("DELETE FROM app_user WHERE username = 'reg' RETURNING username")
    assert client.get("/_dash-layout").status_code == 401


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/building/B1", "/building/B1"),
        ("//evil.example", "/"),
        ("https://x.y/", "/"),
        (None, "/"),
        ("/\\evil", "/"),
    ],
)
def test_safe_next_stays_on_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_lock_duration_doubles_and_caps() -> None:
    policy = LoginPolicy(max_failures=3, lock_base_s=10, lock_max_s=35, failure_delay_s=0)
    assert [lock_duration_s(n, policy) for n in range(1, 7)] == [0, 0, 10, 20, 35, 35]


def test_failed_logins_lock_the_account(city: Any) -> None:
    policy = LoginPolicy(max_failures=2, lock_base_s=60, lock_max_s=600, failure_delay_s=0)
    now = datetime(2025, 7, 1, tzinfo=UTC)
    with city.connect() as conn:
        assert not authenticate(conn, "ana", "wrong-1", now, policy).ok
        second = authenticate(conn, "ana", "wrong-2", now, policy)
        assert not second.ok and second.locked_for_s == 60
        # Locked: even the right password is refused until the lock ends.
        locked = authenticate(conn, "ana", PASSWORD, now + timedelta(seconds=30), policy)
        assert not locked.ok and locked.locked_for_s == pytest.approx(30)
        later = authenticate(conn, "ana", PASSWORD, now + timedelta(seconds=61), policy)
        assert later.ok and later.viewer is not None and later.viewer.role == "analyst"
        row = conn.execute(
            "SELECT failed_logins, locked_until, last_login_at FROM app_user WHERE username = 'ana'"
        ).fetchone()
    assert row["failed_logins"] == 0 and row["locked_until"] is None
    assert row["last_login_at"] is not None


def test_locked_and_unknown_users_get_the_answer_of_a_wrong_password(app: Any, city: Any) -> None:
    city.query(
        "UPDATE app_user SET locked_until = now() + interval '5 minutes' "
        "WHERE username = 'mgr' RETURNING username"
    )

    def attempt(username: str, password: str) -> tuple[int, str]:
        client = app.server.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        return response.status_code, response.get_data(as_text=True).replace(token, "TOKEN")

    locked = attempt("mgr", PASSWORD)
    assert locked[0] == 401
    assert attempt("nobody", PASSWORD) == locked
    assert attempt("reg", "wrong-password") == locked
    assert "try again in" in locked[1]


def test_every_failed_path_verifies_one_hash(city: Any, monkeypatch: Any) -> None:
    from dashboard import users

    calls: list[str] = []
    real_verify = users.verify_password

    def counting_verify(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counting_verify)
    policy = LoginPolicy(failure_delay_s=0)
    now = datetime.now(UTC)
    city.query(
        "UPDATE app_user SET locked_until = now() + interval '5 minutes' "
        "WHERE username = 'mgr' RETURNING username"
    )
    with city.connect() as conn:
        for username, password in (("mgr", PASSWORD), ("nobody", "x"), ("reg", "wrong")):
            calls.clear()
            assert not authenticate(conn, username, password, now, policy).ok
            assert calls == [password], username


def test_secret_key_generated_once_with_private_mode(tmp_path: Any, city: Any) -> None:
    import dataclasses

    settings = dataclasses.replace(city.settings, home=tmp_path, secret_key=None)
    first = resolve_secret_key(settings)
    assert len(first) == 64 and resolve_secret_key(settings) == first
    mode = stat.S_IMODE((tmp_path / "dashboard_secret_key").stat().st_mode)
    assert mode == 0o600
    assert resolve_secret_key(dataclasses.replace(settings, secret_key="given")) == "given"


def _building_payload(building_id: str) -> dict[str, Any]:
    outputs = [
        (ids.BUILDING_HEADER, "children"),
        (ids.BUILDING_CUMULATIVE, "figure"),
        (ids.BUILDING_MONTHLY, "figure"),
        (ids.BUILDING_HISTORY, "figure"),
        (ids.BUILDING_PEERS, "figure"),
        (ids.BUILDING_METERS, "columnDefs"),
        (ids.BUILDING_METERS, "rowData"),
    ]
    inputs = [
        (ids.BUILDING_ID_STORE, "data", building_id),
        (ids.BUILDING_YEAR, "value", 2025),
        (ids.BUILDING_BASIS, "value", "electricity_kwh"),
        (ids.LIVE_EVALUATION, "data", None),
        (ids.LANG_STORE, "data", "en"),
    ]
    return callback_payload(outputs, inputs)


def test_manager_crafted_callback_for_other_building_is_refused(app: Any) -> None:
    client = signed_in(app, "mgr")
    own = client.post("/_dash-update-component", json=_building_payload("B1"))
    assert own.status_code == 200
    assert "M1" in own.get_data(as_text=True)
    other = client.post("/_dash-update-component", json=_building_payload("B3"))
    assert other.status_code == 403
    assert "M3" not in other.get_data(as_text=True)
    heat = callback_payload(
        [(ids.BUILDING_HEATMAP, "figure")],
        [
            (ids.BUILDING_ID_STORE, "data", "B3"),
            (ids.BUILDING_MONTH, "value", "2025-06-01"),
            (ids.LANG_STORE, "data", "zh"),
        ],
    )
    assert client.post("/_dash-update-component", json=heat).status_code == 403


def test_manager_url_of_other_building_is_refused(app: Any) -> None:
    client = signed_in(app, "mgr")
    refused = client.get("/building/B3")
    assert refused.status_code == 403
    # A proper page: the dashboard's shell (navigation, the user's language), not a bare
    # "forbidden"; nothing of the building is in it.
    assert b"_dash-app-content" in refused.data or b"react-entry-point" in refused.data
    assert "三号办公楼".encode() not in refused.data
    assert client.get("/building/B1").status_code == 200
    # The page router, asked directly for the other building, renders no data of it.
    router = callback_payload(
        [("_pages_content", "children"), ("_pages_store", "data")],
        [
            ("_pages_location", "pathname", "/building/B3"),
            ("_pages_location", "search", ""),
            (ids.LANG_STORE, "data", "en"),
        ],
    )
    response = client.post("/_dash-update-component", json=router)
    text = response.get_data(as_text=True)
    assert "三号办公楼" not in text and "M3" not in text
    assert response.status_code == 403 or "not assigned to you" in text
    if response.status_code != 403:  # the way back is named as the manager's navigation
        assert "Back to my buildings" in text and "city page" not in text


def test_manager_city_table_lists_only_own_buildings(app: Any) -> None:
    client = signed_in(app, "mgr")
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
    inputs = [
        (ids.CITY_YEAR, "value", 2025),
        (ids.CITY_AS_OF, "value", "2025-06-30"),
        (ids.CITY_BASIS, "value", "electricity_kwh"),
        (ids.CITY_DISTRICT, "value", None),
        (ids.CITY_TYPE, "value", None),
        (ids.CITY_SIZE, "value", None),
        (ids.LANG_STORE, "data", "en"),
    ]
    response = client.post("/_dash-update-component", json=callback_payload(outputs, inputs))
    assert response.status_code == 200
    chosen = json.loads(response.data)["response"][ids.CITY_SELECTION]["data"]
    # The grid then asks for its rows block by block (infinite row model).
    request = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    rows_payload = callback_payload(
        [(ids.CITY_GRID, "getRowsResponse")],
        [(ids.CITY_GRID, "getRowsRequest", request)],
        [(ids.CITY_SELECTION, "data", chosen)],
    )
    rows_response = client.post("/_dash-update-component", json=rows_payload)
    assert rows_response.status_code == 200
    block = json.loads(rows_response.data)["response"][ids.CITY_GRID]["getRowsResponse"]
    assert [r["building_id"] for r in block["rowData"]] == ["B1"] and block["rowCount"] == 1
    # A crafted selection naming other districts and types still yields only B1.
    crafted = {**chosen, "districts": ["东城区", "西城区"], "types": ["mall"], "lang": "zh"}
    for selection in (crafted, {**chosen, "types": []}):
        body = callback_payload(
            [(ids.CITY_GRID, "getRowsResponse")],
            [(ids.CITY_GRID, "getRowsRequest", request)],
            [(ids.CITY_SELECTION, "data", selection)],
        )
        text = client.post("/_dash-update-component", json=body).get_data(as_text=True)
        for other in ("B2", "B3", "B4", "B5", "B6"):
            assert f'"{other}"' not in text
    for text in (response.get_data(as_text=True), rows_response.get_data(as_text=True)):
        for other in ("B2", "B3", "B4", "B5", "B6"):
            assert f'"{other}"' not in text


def test_city_rows_are_filtered_sorted_and_paged_on_the_server(app: Any) -> None:
    client = signed_in(app, "reg")
    chosen = {
        "year": 2025,
        "as_of": "2025-06-30",
        "basis": "electricity_kwh",
        "districts": [],
        "types": [],
        "sizes": [],
        "lang": "en",
    }

    def block(request: dict[str, Any]) -> dict[str, Any]:
        body = callback_payload(
            [(ids.CITY_GRID, "getRowsResponse")],
            [(ids.CITY_GRID, "getRowsRequest", request)],
            [(ids.CITY_SELECTION, "data", chosen)],
        )
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code == 200
        return json.loads(response.data)["response"][ids.CITY_GRID]["getRowsResponse"]

    everything = block({"startRow": 0, "endRow": 100})
    assert [r["building_id"] for r in everything["rowData"]] == ["B1", "B4", "B3", "B2", "B6", "B5"]
    west = block(
        {
            "startRow": 0,
            "endRow": 100,
            "filterModel": {
                "district": {"filterType": "text", "type": "equals", "filter": "西城区"}
            },
            "sortModel": [{"colId": "floor_area_m2", "sort": "desc"}],
        }
    )
    assert [r["building_id"] for r in west["rowData"]] == ["B5", "B4", "B3"]
    second = block(
        {"startRow": 2, "endRow": 4, "sortModel": [{"colId": "building", "sort": "asc"}]}
    )
    assert second["rowCount"] == 6 and len(second["rowData"]) == 2


def test_manager_cannot_export_or_open_retrofit(app: Any) -> None:
    client = signed_in(app, "mgr")
    payload = callback_payload(
        [
            (ids.RETRO_TOTALS, "children"),
            (ids.RETRO_GRID, "columnDefs"),
            (ids.RETRO_GRID, "rowData"),
            (ids.RETRO_NOTE, "children"),
        ],
        [
            (ids.RETRO_YEAR, "value", 2025),
            (ids.RETRO_DISTRICT, "value", None),
            (ids.RETRO_TYPE, "value", None),
            (ids.RETRO_MIN_AREA, "value", 0),
            (ids.RETRO_TRIGGER, "value", None),
            (ids.LIVE_EVALUATION, "data", None),
            (ids.LANG_STORE, "data", "en"),
        ],
    )
    assert client.post("/_dash-update-component", json=payload).status_code == 403
    regulator = signed_in(app, "reg")
    download = callback_payload(
        [(ids.RETRO_DOWNLOAD, "data")],
        [(ids.RETRO_CSV, "n_clicks", 1), (ids.RETRO_XLSX, "n_clicks", 0)],
        [
            (ids.RETRO_YEAR, "value", 2025),
            (ids.RETRO_DISTRICT, "value", None),
            (ids.RETRO_TYPE, "value", None),
            (ids.RETRO_MIN_AREA, "value", 0),
            (ids.RETRO_TRIGGER, "value", None),
            (ids.LANG_STORE, "data", "en"),
            (ids.RETRO_GRID, "virtualRowData", None),
        ],
    )
    assert regulator.post("/_dash-update-component", json=download).status_code == 403


def test_new_evaluation_run_replaces_cached_city_rows(app: Any, city: Any) -> None:
    client = signed_in(app, "reg")
    chosen = {
        "year": 2025,
        "as_of": None,
        "basis": "electricity_kwh",
        "districts": [],
        "types": [],
        "sizes": [],
        "lang": "en",
    }
    body = callback_payload(
        [(ids.CITY_GRID, "getRowsResponse")],
        [(ids.CITY_GRID, "getRowsRequest", {"startRow": 0, "endRow": 10})],
        [(ids.CITY_SELECTION, "data", chosen)],
    )

    def statuses() -> dict[str, str]:
        response = client.post("/_dash-update-component", json=body)
        rows = json.loads(response.data)["response"][ids.CITY_GRID]["getRowsResponse"]["rowData"]
        return {row["building_id"]: row["status_code"] for row in rows}

    assert statuses()["B1"] == "over_20"
    assert statuses()["B1"] == "over_20"  # served from the cache
    run = city.scalar(
        "INSERT INTO evaluation_run (year, as_of, timezone, building_count) "
        "VALUES (2025, '2025-07-31', 'Asia/Shanghai', 1) RETURNING evaluation_id"
    )
    city.query(
        "INSERT INTO evaluation_result (evaluation_id, building_id, basis, status, "
        "utilization) VALUES (%s, 'B1', 'electricity_kwh', 'within', 0.5) "
        "RETURNING building_id",
        (run,),
    )
    assert statuses() == {"B1": "within"}
