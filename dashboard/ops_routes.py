"""Operator endpoints on the dashboard's Flask server: ``GET /healthz`` and ``GET /metrics``.

Neither needs a sign-in (the guard in :mod:`dashboard.auth` lets them through) and neither
returns any building's data: only counts, ages and states.

- ``/healthz``: JSON (see :func:`quota.ops.health.health_document`); 200 when healthy, 503 when
  the database is unreachable or the last successful inbox run is older than three
  intervals.
- ``/metrics``: the Prometheus text format (``prometheus_client``), series ``quotawatch_*``.
  With the setting ``metrics_token`` (``QUOTAWATCH_METRICS_TOKEN``) it requires
  ``Authorization: Bearer <token>``.

Web request latency is measured here for every request, labelled by a coarse route kind
(never by path: paths carry building ids).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from typing import Any

import flask
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector

from dashboard.services import Services
from quota.ops import health

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
OPS_PATHS = frozenset({HEALTH_PATH, METRICS_PATH})
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def route_kind(path: str) -> str:
    """A low-cardinality label for a request path (no ids)."""
    if path in OPS_PATHS:
        return path.lstrip("/")
    if path in ("/login", "/logout"):
        return "login"
    if path.startswith("/_dash-update-component"):
        return "dash_callback"
    if path.startswith(("/_dash", "/_reload-hash", "/assets/", "/_favicon")):
        return "dash_static"
    return "page"


class DatabaseCollector(Collector):
    """Reads the ``quotawatch_*`` series from the database at every scrape."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Any]:
        snap = health.snapshot(self.services.settings)
        up = GaugeMetricFamily(
            "quotawatch_database_up", "1 when the database answered this scrape, else 0"
        )
        up.add_metric([], 1.0 if snap.database_reachable else 0.0)
        yield up
        backlog = GaugeMetricFamily(
            "quotawatch_inbox_backlog_files", "reading files waiting in the inbox folder"
        )
        if snap.inbox_backlog_files is not None:
            backlog.add_metric([], float(snap.inbox_backlog_files))
        yield backlog
        if not snap.database_reachable:
            return
        rows = CounterMetricFamily(
            "quotawatch_ingest_rows",
            "rows of every loaded reading file, by outcome (read, loaded, duplicate, quarantined)",
            labels=["outcome"],
        )
        for outcome, count in sorted(snap.rows_by_outcome.items()):
            rows.add_metric([outcome], float(count))
        yield rows
        quarantined = GaugeMetricFamily(
            "quotawatch_quarantined_rows",
            "rows held in quarantine, by reason code",
            labels=["reason"],
        )
        for reason, count in sorted(snap.quarantined_by_reason.items()):
            quarantined.add_metric([reason], float(count))
        yield quarantined
        ages = GaugeMetricFamily(
            "quotawatch_job_last_success_age_seconds",
            "seconds since the last successful run of each scheduled job",
            labels=["job"],
        )
        for job, age in sorted(snap.job_success_ages_s.items()):
            ages.add_metric([job], age)
        yield ages
        durations = snap.evaluation_durations_s
        summary = SummaryMetricFamily(
            "quotawatch_evaluation_duration_seconds",
            "durations of the nightly quota evaluations recorded in job_run (last 1000)",
        )
        summary.add_metric([], count_value=len(durations), sum_value=sum(durations))
        yield summary
        last = GaugeMetricFamily(
            "quotawatch_evaluation_last_duration_seconds",
            "duration of the last successful nightly quota evaluation",
        )
        if durations:
            last.add_metric([], durations[0])
        yield last
        lock = GaugeMetricFamily(
            "quotawatch_scheduler_lock_held", "1 when a scheduler holds the scheduler lock"
        )
        lock.add_metric([], 1.0 if snap.lock_held else 0.0)
        yield lock
        beat = GaugeMetricFamily(
            "quotawatch_scheduler_heartbeat_age_seconds",
            "seconds since the scheduler's last heartbeat",
        )
        if snap.heartbeat and snap.heartbeat.get("age_s") is not None:
            beat.add_metric([], float(snap.heartbeat["age_s"]))
        yield beat
        level = GaugeMetricFamily(
            "quotawatch_migration_level", "highest schema migration applied to the database"
        )
        if snap.migration_level is not None:
            level.add_metric([], float(snap.migration_level))
        yield level


def _authorised(settings_token: str | None) -> bool:
    if not settings_token:
        return True
    header = flask.request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings_token.encode()
    )


def install(server: flask.Flask, services: Services) -> CollectorRegistry:
    """Add ``/healthz``, ``/metrics`` and the request-latency measurement to ``server``;
    returns the app's metrics registry. Install before the sign-in guard so that requests it
    answers are timed too."""
    registry = CollectorRegistry(auto_describe=False)
    latency = Histogram(
        "quotawatch_web_request_duration_seconds",
        "time to answer a web request, by route kind, method and status class",
        ["route", "method", "status"],
        buckets=LATENCY_BUCKETS_S,
        registry=registry,
    )
    registry.register(DatabaseCollector(services))

    @server.before_request
    def start_timer() -> None:
        flask.g.qw_request_started = time.perf_counter()

    @server.after_request
    def observe(response: flask.Response) -> flask.Response:
        started = flask.g.get("qw_request_started")
        if started is not None:
            latency.labels(
                route_kind(flask.request.path),
                flask.request.method,
                f"{response.status_code // 100}xx",
            ).observe(time.perf_counter() - started)
        return response

    @server.route(HEALTH_PATH, methods=["GET"])
    def healthz() -> flask.Response:
        snap = health.snapshot(services.settings)
        assessment = health.assess(snap)
        response = flask.jsonify(health.health_document(snap, assessment))
        response.status_code = 200 if assessment.healthy else 503
        response.headers["Cache-Control"] = "no-store"
        return response

    @server.route(METRICS_PATH, methods=["GET"])
    def metrics() -> flask.Response:
        if not _authorised(services.settings.metrics_token):
            return flask.Response(
                "bearer token required\n",
                status=401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="quotawatch-metrics"'},
            )
        return flask.Response(
            generate_latest(registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
        )

    server.config["QUOTAWATCH_METRICS_REGISTRY"] = registry
    return registry
