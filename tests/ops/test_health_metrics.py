"""/healthz and /metrics on the dashboard's Flask server (no sign-in, no building data)."""

from __future__ import annotations

import dataclasses

from prometheus_client.parser import text_string_to_metric_families

from dashboard.app import create_app
from dashboard.users import LoginPolicy
from ingest import jobs
from quota import db as qdb
from tests.ops.support import drop_file


def _app(settings):
    pool = qdb.make_pool(settings, max_size=2)
    return create_app(settings, pool, login_policy=LoginPolicy(failure_delay_s=0.0)), pool


def test_healthz_is_healthy_after_an_inbox_run_and_shows_no_building_data(registered, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = dataclasses.replace(registered.settings, inbox_path=inbox)
    drop_file(inbox, "a.csv", "E1,2024-03-01 00:00,1\nNOPE,2024-03-01 00:00,1\n")
    app, pool = _app(settings)
    try:
        client = app.server.test_client()
        before = client.get("/healthz")
        assert before.status_code == 503  # no successful inbox run yet
        assert before.get_json()["problems"] == ["no successful inbox run yet"]
        assert before.get_json()["inbox_backlog_files"] == 1
        jobs.run_inbox_job(settings)
        response = client.get("/healthz")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["status"] == "healthy"
        assert body["database"]["reachable"] is True
        assert body["database"]["migration_level"] >= 60
        assert body["scheduler"]["last_inbox_run"]["outcome"] == "succeeded"
        assert body["scheduler"]["lock_held"] is False
        assert body["inbox_backlog_files"] == 0
        assert "B1" not in response.get_data(as_text=True)

        # older than three intervals: unhealthy
        registered.query(
            "UPDATE job_run SET started_at = now() - interval '1 hour', "
            "finished_at = now() - interval '1 hour' RETURNING 1"
        )
        stale = client.get("/healthz")
        assert stale.status_code == 503
        assert "older" in stale.get_json()["problems"][0] or "more than" in str(
            stale.get_json()["problems"]
        )
    finally:
        pool.close()


def test_healthz_answers_503_when_the_database_is_unreachable(registered, tmp_path):
    app, pool = _app(registered.settings)
    try:
        unreachable = dataclasses.replace(
            registered.settings, database_url="postgresql://nobody@127.0.0.1:1/none"
        )
        app.server.config["QUOTAWATCH_SERVICES"].settings = unreachable
        response = app.server.test_client().get("/healthz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["database"]["reachable"] is False
        assert body["status"] == "unhealthy"
    finally:
        pool.close()


def _families(text: str) -> dict[str, dict]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_parse_with_prometheus_client_and_honour_the_token(registered, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = dataclasses.replace(registered.settings, inbox_path=inbox)
    drop_file(inbox, "a.csv", "E1,2024-03-01 00:00,1\nNOPE,2024-03-01 00:00,1\n")
    jobs.run_inbox_job(settings)
    drop_file(inbox, "waiting.csv", "E1,2024-03-01 02:00,1\n")
    app, pool = _app(settings)
    try:
        client = app.server.test_client()
        client.get("/login")
        text = client.get("/metrics").get_data(as_text=True)
        families = _families(text)
        assert "B1" not in text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in families.values()
            for s in f.samples
        }
        assert samples[("quotawatch_database_up", ())] == 1
        assert samples[("quotawatch_ingest_rows_total", (("outcome", "loaded"),))] == 1
        assert samples[("quotawatch_ingest_rows_total", (("outcome", "quarantined"),))] == 1
        assert samples[("quotawatch_quarantined_rows", (("reason", "unknown_meter"),))] == 1
        assert samples[("quotawatch_inbox_backlog_files", ())] == 1
        assert ("quotawatch_job_last_success_age_seconds", (("job", "inbox"),)) in samples
        assert "quotawatch_evaluation_duration_seconds" in families
        latency = families["quotawatch_web_request_duration_seconds"]
        routes = {s.labels.get("route") for s in latency.samples}
        assert "login" in routes

        app.server.config["QUOTAWATCH_SERVICES"].settings = dataclasses.replace(
            settings, metrics_token="s3cret"
        )
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert "quotawatch_database_up" in _families(right.get_data(as_text=True))
    finally:
        pool.close()


def test_quality_page_shows_the_heartbeat_and_warns_when_stale(registered):
    import flask

    from dashboard.pages import quality
    from dashboard.users import add_user, load_viewer

    with registered.connect() as conn:
        add_user(conn, "reg", "regulator", "a-long-password-1", [])
        conn.commit()
    app, pool = _app(registered.settings)
    services = app.server.config["QUOTAWATCH_SERVICES"]

    def render() -> str:
        with app.server.test_request_context("/quality"):
            with services.connection() as conn:
                flask.g.viewer = load_viewer(conn, "reg")
            return repr(quality.layout(services, "en"))

    try:
        never = render()
        assert "No scheduler has run yet." in never
        assert "dq-heartbeat-stale" in never
        registered.query(
            "INSERT INTO scheduler_heartbeat (hostname, pid, started_at, inbox_interval_minutes)"
            " VALUES ('ops-host', 4242, now(), 5) RETURNING 1"
        )
        fresh = render()
        assert "host ops-host, process 4242, inbox every 5 min" in fresh
        assert "dq-heartbeat-stale" not in fresh
        registered.query(
            "UPDATE scheduler_heartbeat SET beat_at = now() - interval '1 hour' RETURNING 1"
        )
        stale = render()
        assert "dq-heartbeat-stale" in stale
        assert "heartbeat is stale" in stale
    finally:
        pool.close()
