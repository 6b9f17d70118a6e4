"""Helpers of the dashboard tests: a tiny city inserted with plain SQL, a signed-in test
client, and the body of a Dash callback request.

The city:

Six buildings in two districts: B1 and B2 belong to manager ``mgr`` (B1 only), the others
are other owners'. One evaluation run for 2025 (as of 2025-06-30) and one for 2024, daily
rollups for B1, a month of hourly readings for B1, two meters, quarantined rows.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from dashboard.users import add_user

PASSWORD = "correct horse battery"
YEAR = 2025
AS_OF = date(2025, 6, 30)

BUILDINGS = [
    # id, name, district, type, area_m2
    ("B1", "一号办公楼", "东城区", "office_government", 12000.0),
    ("B2", "二号商场", "东城区", "mall", 45000.0),
    ("B3", "三号办公楼", "西城区", "office_government", 8000.0),
    ("B4", "四号办公楼", "西城区", "office_government", 9000.0),
    ("B5", "五号办公楼", "西城区", "office_government", 15000.0),
    ("B6", "六号办公楼", "东城区", "office_government", 30000.0),
]
# id, status, utilization, eui, excess
RESULTS_2025 = {
    "B1": ("over_20", 1.35, 95.0, 30000.0),
    "B2": ("within", 0.80, 120.0, None),
    "B3": ("at_risk", 0.98, 60.0, None),
    "B4": ("over", 1.10, 70.0, 5000.0),
    "B5": ("insufficient_data", None, None, None),
    "B6": ("within", 0.70, 40.0, None),
}


def seed_city(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Insert the tiny city; returns the evaluation ids by year."""
    for bid, name, district, btype, area in BUILDINGS:
        conn.execute(
            "INSERT INTO building (building_id, name, district, building_type, floor_area_m2) "
            "VALUES (%s, %s, %s, %s, %s)",
            (bid, name, district, btype, area),
        )
        conn.execute(
            "INSERT INTO quota (building_id, year, basis, limit_value, source) "
            "VALUES (%s, %s, 'electricity_kwh', %s, 'imported')",
            (bid, YEAR, area * 80.0),
        )
    runs: dict[str, int] = {}
    for year, as_of in ((2024, date(2024, 12, 31)), (YEAR, AS_OF)):
        row = conn.execute(
            "INSERT INTO evaluation_run (year, as_of, timezone, building_count) "
            "VALUES (%s, %s, 'Asia/Shanghai', %s) RETURNING evaluation_id",
            (year, as_of, len(BUILDINGS)),
        ).fetchone()
        runs[str(year)] = row["evaluation_id"]
        for bid, _name, _district, _type, area in BUILDINGS:
            status, util, eui, excess = RESULTS_2025[bid]
            if year == 2024:
                status, util = ("within", 0.9) if util is not None else (status, util)
            quota = area * 80.0
            energy = None if util is None else util * quota
            conn.execute(
                "INSERT INTO evaluation_result (evaluation_id, building_id, basis, status, "
                "energy_kwh, limit_value, utilization, projected, excess, eui_kwh_per_m2, "
                "completeness) VALUES (%s, %s, 'electricity_kwh', %s, %s, %s, %s, %s, %s, %s, "
                "0.95)",
                (
                    runs[str(year)],
                    bid,
                    status,
                    energy,
                    quota,
                    util,
                    None if energy is None else energy * 1.9,
                    excess,
                    eui,
                ),
            )
    conn.execute(
        "INSERT INTO meter (meter_id, building_id, energy_type, unit) VALUES "
        "('M1', 'B1', 'electricity', 'kWh'), ('M3', 'B3', 'electricity', 'kWh')"
    )
    meter_key = conn.execute("SELECT meter_key FROM meter WHERE meter_id = 'M1'").fetchone()
    key = meter_key["meter_key"]
    day = date(YEAR - 1, 1, 1)
    while day <= AS_OF:
        energy = 2400.0 if day.weekday() < 5 else 900.0
        conn.execute(
            "INSERT INTO building_daily (building_id, energy_type, day, energy_kwh, "
            "reading_count, covered_hours, meter_count) VALUES ('B1', 'electricity', %s, %s, "
            "24, 24, 1)",
            (day, energy),
        )
        conn.execute(
            "INSERT INTO meter_daily (meter_key, day, energy_kwh, reading_count, covered_hours) "
            "VALUES (%s, %s, %s, 24, 24)",
            (key, day, energy),
        )
        day += timedelta(days=1)
    file_id = conn.execute(
        "INSERT INTO ingest_file (file_name, path, sha256, size_bytes, status) "
        "VALUES ('readings.csv', '/inbox/readings.csv', 'abc', 10, 'loaded') RETURNING file_id"
    ).fetchone()["file_id"]
    start = datetime(YEAR, 6, 1, tzinfo=UTC) - timedelta(hours=8)
    rows = [
        (key, start + timedelta(hours=h), 100.0 + h % 24, "kWh", 100.0 + h % 24, file_id)
        for h in range(24 * 30)
    ]
    with conn.cursor().copy(
        "COPY reading (meter_key, reading_at, value, unit, energy_kwh, file_id) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)
    for line, meter, reason in (
        (2, "M1", "reading.negative_value"),
        (3, "M3", "reading.negative_value"),
        (4, "M3", "meter.unknown"),
    ):
        conn.execute(
            "INSERT INTO quarantine (file_id, line_number, raw_row, reason_code, message, "
            "meter_id) VALUES (%s, %s, %s, %s, 'bad row', %s)",
            (file_id, line, f"{meter},2025-06-01,-1", reason, meter),
        )
    conn.execute(
        "INSERT INTO ingest_run (trigger, outcome, files_seen, rows_read, rows_loaded) "
        "VALUES ('cli', 'succeeded', 1, 723, 720)"
    )
    conn.execute("INSERT INTO job_run (job_id, outcome) VALUES ('inbox', 'succeeded')")
    add_user(conn, "reg", "regulator", PASSWORD)
    add_user(conn, "ana", "analyst", PASSWORD)
    add_user(conn, "mgr", "manager", PASSWORD, ["B1"])
    return {k: int(v) for k, v in runs.items()}


CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(page: str) -> str:
    """The CSRF token of a rendered login or logout form."""
    match = CSRF_PATTERN.search(page)
    assert match, page[:500]
    return match.group(1)


def signed_in(app: Any, username: str) -> Any:
    """A Flask test client signed in as ``username`` through the login form."""
    client = app.server.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.data
    return client


def callback_payload(
    outputs: list[tuple[str, str]],
    inputs: list[tuple[str, str, Any]],
    state: list[tuple[str, str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON body the Dash renderer posts to /_dash-update-component."""
    output = "...".join(f"{i}.{p}" for i, p in outputs)
    return {
        "output": f"..{output}.." if len(outputs) > 1 else output,
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{i}.{p}" for i, p, _ in inputs[:1]],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state or []],
    }


def http_sign_in(base_url: str, username: str, password: str = PASSWORD) -> Any:
    """A ``requests`` session signed in as ``username`` on a running server."""
    import requests

    session = requests.Session()
    form = session.get(f"{base_url}/login", timeout=30)
    response = session.post(
        f"{base_url}/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(form.text)},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text
    return session
