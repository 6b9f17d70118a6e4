"""Benchmark: server-side time of the dashboard's city-page and building-page callbacks with
a city of evaluated buildings (20,000 by default), next to the time of the plain SQL they run.

A throw-away database is created on the configured server, migrated, filled with synthetic
evaluation rows (every building, two bases), and daily rollups plus one month of hourly
readings for the sampled buildings whose pages are requested; it is dropped at the end.
Callbacks are posted through Flask's test client as the browser would (a signed-in
regulator), so the times include the viewer check, queries, pandas, figures and JSON.
A city page load is the main callback plus the grid's first block of rows (the table is
paged on the server); it is timed with the page cache emptied before every request (cold,
the headline) and with the cache in use (four filter combinations, cycling). A building
page load is the main callback plus the heat map.

    .venv/bin/python bench/dashboard.py [--buildings 20000] [--requests 40]

The last line is the headline: ``city p95: X ms, building p95: Y ms``
(targets: city < 300 ms, building < 150 ms).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from psycopg import sql

from dashboard import ids, queries
from dashboard.users import LoginPolicy, Viewer, add_user
from quota import db as qdb
from quota.db import migrations
from quota.settings import load_settings

PASSWORD = "bench-password-1"
YEAR = 2025
SAMPLED = 50
DISTRICTS = ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "昌平区"]

FILL = """
INSERT INTO building (building_id, name, district, building_type, floor_area_m2)
SELECT 'B' || lpad(i::text, 6, '0'), '楼宇' || i, (%(districts)s::text[])[1 + i %% 8],
       (ARRAY['office_government','office_commercial','mall','hotel','hospital','school',
              'university','culture'])[1 + i %% 8],
       3000 + (i * 7919) %% 60000
  FROM generate_series(1, %(n)s) AS i;
INSERT INTO evaluation_run (year, as_of, timezone, building_count)
VALUES (%(year)s, %(as_of)s, 'Asia/Shanghai', %(n)s);
INSERT INTO evaluation_result (evaluation_id, building_id, basis, status, energy_kwh,
       energy_kgce, limit_value, utilization, projected, excess, eui_kwh_per_m2, completeness)
SELECT (SELECT max(evaluation_id) FROM evaluation_run), b.building_id, basis.name,
       (ARRAY['within','within','within','at_risk','over','over_20','over_20_repeat',
              'insufficient_data'])[1 + (hashtext(b.building_id) & 7)],
       u * b.floor_area_m2 * 40, u * b.floor_area_m2 * 5, b.floor_area_m2 * 80, u,
       u * b.floor_area_m2 * 80 * 1.9, greatest(u - 1, 0) * b.floor_area_m2 * 80,
       u * 80, 0.97
  FROM building b
 CROSS JOIN (VALUES ('electricity_kwh'), ('energy_kgce')) AS basis(name)
 CROSS JOIN LATERAL (SELECT 0.3 + ((hashtext(b.building_id) & 1023) / 1023.0) AS u) AS x;
"""
FILL_SAMPLE = """
INSERT INTO meter (meter_id, building_id, energy_type, unit)
SELECT 'M-' || b, b, 'electricity', 'kWh' FROM unnest(%(sample)s::text[]) AS b;
INSERT INTO building_daily (building_id, energy_type, day, energy_kwh, reading_count,
       covered_hours, meter_count)
SELECT b, 'electricity', d::date, 2000 + 500 * sin(extract(doy FROM d)), 24, 24, 1
  FROM unnest(%(sample)s::text[]) AS b,
       generate_series(%(start)s::date, %(as_of)s::date, interval '1 day') AS d;
INSERT INTO meter_daily (meter_key, day, energy_kwh, reading_count, covered_hours)
SELECT m.meter_key, d.day, d.energy_kwh, 24, 24
  FROM building_daily d JOIN meter m USING (building_id);
INSERT INTO ingest_file (file_name, path, sha256, size_bytes, status)
VALUES ('bench.csv', '/bench.csv', 'bench', 1, 'loaded');
INSERT INTO reading (meter_key, reading_at, value, unit, energy_kwh, file_id)
SELECT m.meter_key, t, 50 + 30 * sin(extract(hour FROM t) / 3.8), 'kWh',
       50 + 30 * sin(extract(hour FROM t) / 3.8), (SELECT max(file_id) FROM ingest_file)
  FROM meter m,
       generate_series(timestamptz '2025-06-01 00:00+08', timestamptz '2025-06-30 23:00+08',
                       interval '1 hour') AS t;
"""


def timed(func: Callable[[], Any], repeat: int) -> list[float]:
    """Wall times [ms] of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(label: str, values: list[float]) -> str:
    return (
        f"{label:<38} median {statistics.median(values):8.1f} ms   "
        f"p95 {p95(values):8.1f} ms   (n={len(values)})"
    )


def payload(outputs: list[tuple[str, str]], inputs: list[tuple[str, str, Any]]) -> dict[str, Any]:
    output = "...".join(f"{i}.{p}" for i, p in outputs)
    return {
        "output": f"..{output}..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
        "state": [],
    }


CITY_OUTPUTS = [
    (ids.CITY_EMPTY, "children"),
    (ids.CITY_HEADLINE, "children"),
    (ids.CITY_BY_DISTRICT, "figure"),
    (ids.CITY_BY_TYPE, "figure"),
    (ids.CITY_UTILIZATION, "figure"),
    (ids.CITY_GRID, "columnDefs"),
    (ids.CITY_SELECTION, "data"),
]
BUILDING_OUTPUTS = [
    (ids.BUILDING_HEADER, "children"),
    (ids.BUILDING_CUMULATIVE, "figure"),
    (ids.BUILDING_MONTHLY, "figure"),
    (ids.BUILDING_HISTORY, "figure"),
    (ids.BUILDING_PEERS, "figure"),
    (ids.BUILDING_METERS, "columnDefs"),
    (ids.BUILDING_METERS, "rowData"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buildings", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=40, help="requests per measurement")
    args = parser.parse_args()
    base = load_settings()
    name = f"qwbench_dash_{os.getpid()}"
    with qdb.connect(base, "postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    import dataclasses

    if base.database_url:
        settings = dataclasses.replace(
            base, database_url=qdb.conninfo(base, name), database_name=name, secret_key="bench"
        )
    else:
        settings = dataclasses.replace(base, database_name=name, secret_key="bench")
    pool = None
    try:
        with qdb.connect(settings, autocommit=True) as conn:
            migrations.migrate(conn)
        rng = random.Random(7)
        sample = [f"B{rng.randint(1, args.buildings):06d}" for _ in range(SAMPLED)]
        started = time.perf_counter()
        with qdb.transaction(settings) as conn:
            fill = {
                "n": args.buildings,
                "districts": DISTRICTS,
                "year": YEAR,
                "as_of": date(YEAR, 6, 30),
                "sample": sorted(set(sample)),
                "start": date(YEAR - 1, 1, 1),
            }
            for statement in (FILL + FILL_SAMPLE).split(";"):
                if statement.strip():
                    conn.execute(statement, fill)
            add_user(conn, "bench", "regulator", PASSWORD)
        print(
            f"filled {args.buildings:,} evaluated buildings in "
            f"{time.perf_counter() - started:.1f} s"
        )

        with qdb.connect(settings, autocommit=True) as conn:
            conn.execute("ANALYZE")
        from dashboard.app import create_app

        pool = qdb.make_pool(settings, max_size=4)
        app = create_app(settings, pool, login_policy=LoginPolicy(failure_delay_s=0))
        client = app.server.test_client()
        form = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        login = {"username": "bench", "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=login).status_code == 302
        viewer = Viewer("bench", "regulator")
        with pool.connection() as conn:
            run = queries.resolve_evaluation_id(conn, YEAR)
        filters = [
            (None, None),
            (["东城区"], None),
            (None, ["mall", "hotel"]),
            (DISTRICTS[:4], ["office_government"]),
        ]

        cache = app.server.config["QUOTAWATCH_SERVICES"].cache

        def city_request(i: int = 0, cold: bool = False) -> None:
            """One city page load: the main callback, then the grid's first block of rows."""
            if cold:
                cache.clear()
            districts, types = filters[i % len(filters)]
            body = payload(
                CITY_OUTPUTS,
                [
                    (ids.CITY_YEAR, "value", YEAR),
                    (ids.CITY_AS_OF, "value", f"{YEAR}-06-30"),
                    (ids.CITY_BASIS, "value", "electricity_kwh"),
                    (ids.CITY_DISTRICT, "value", districts),
                    (ids.CITY_TYPE, "value", types),
                    (ids.CITY_SIZE, "value", None),
                    (ids.LANG_STORE, "data", "zh"),
                ],
            )
            response = client.post("/_dash-update-component", json=body)
            assert response.status_code == 200, response.status_code
            chosen = response.get_json()["response"][ids.CITY_SELECTION]["data"]
            rows = payload(
                [(ids.CITY_GRID, "getRowsResponse")],
                [
                    (
                        ids.CITY_GRID,
                        "getRowsRequest",
                        {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}},
                    )
                ],
            )
            rows["output"] = f"{ids.CITY_GRID}.getRowsResponse"
            rows["outputs"] = rows["outputs"][0]
            rows["state"] = [{"id": ids.CITY_SELECTION, "property": "data", "value": chosen}]
            response = client.post("/_dash-update-component", json=rows)
            assert response.status_code == 200, response.status_code
            assert response.get_json()["response"][ids.CITY_GRID]["getRowsResponse"]["rowData"]

        def city_sql(i: int = 0) -> None:
            districts, types = filters[i % len(filters)]
            with pool.connection() as conn:
                queries.newest_evaluation_id(conn)
                queries.resolve_evaluation_id(conn, YEAR, f"{YEAR}-06-30")
                queries.city_results(
                    conn, viewer, settings, run, "electricity_kwh", districts, types, None
                )

        def building_request(i: int = 0) -> None:
            bid = sample[i % len(sample)]
            for body in (
                payload(
                    BUILDING_OUTPUTS,
                    [
                        (ids.BUILDING_ID_STORE, "data", bid),
                        (ids.BUILDING_YEAR, "value", YEAR),
                        (ids.BUILDING_BASIS, "value", "electricity_kwh"),
                        (ids.LANG_STORE, "data", "zh"),
                    ],
                ),
                payload(
                    [(ids.BUILDING_HEATMAP, "figure"), (ids.BUILDING_HEATMAP, "id")],
                    [
                        (ids.BUILDING_ID_STORE, "data", bid),
                        (ids.BUILDING_MONTH, "value", f"{YEAR}-06-01"),
                        (ids.LANG_STORE, "data", "zh"),
                    ],
                ),
            ):
                if body["outputs"][-1]["property"] == "id":  # single-output callback
                    body["output"] = f"{ids.BUILDING_HEATMAP}.figure"
                    body["outputs"] = body["outputs"][0]
                response = client.post("/_dash-update-component", json=body)
                assert response.status_code == 200, response.status_code

        def building_sql(i: int = 0) -> None:
            bid = sample[i % len(sample)]
            with pool.connection() as conn:
                queries.building_result(conn, viewer, bid, run, "electricity_kwh")
                queries.building_daily(
                    conn, viewer, bid, date(YEAR - 1, 1, 1), date(YEAR + 1, 1, 1)
                )
                queries.building_history(conn, viewer, bid, "electricity_kwh")
                queries.peer_stats(conn, viewer, bid, run)
                queries.building_meters(conn, viewer, bid, date(YEAR, 1, 1), date(YEAR, 7, 1))
                queries.building_hourly(conn, viewer, settings, bid, date(YEAR, 6, 1))

        for warm in (city_request, building_request):
            warm(0)
        counter = iter(range(10**9))
        city_cold = timed(lambda: city_request(next(counter), cold=True), args.requests)
        city_cb = timed(lambda: city_request(next(counter)), args.requests)
        city_q = timed(lambda: city_sql(next(counter)), args.requests)
        bld_cb = timed(lambda: building_request(next(counter)), args.requests)
        bld_q = timed(lambda: building_sql(next(counter)), args.requests)
        print(summary("city page callbacks, cold cache", city_cold))
        print(summary("city page callbacks, cached run", city_cb))
        print(summary("  their plain SQL (city_results)", city_q))
        ratio = statistics.median(city_cold) / statistics.median(city_q)
        print(f"  cold callbacks ÷ SQL (median): {ratio:.1f}")
        print(summary("building page callbacks (server side)", bld_cb))
        print(summary("  their plain SQL", bld_q))
        ratio = statistics.median(bld_cb) / statistics.median(bld_q)
        print(f"  callbacks ÷ SQL (median): {ratio:.1f}")
        print(f"city p95: {p95(city_cold):.0f} ms, building p95: {p95(bld_cb):.0f} ms")
    finally:
        if pool is not None:
            pool.close()
        with qdb.connect(base, "postgres", autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
