"""Prometheus metrics, at /metrics of the web process and on the worker's own port.

Two kinds. What a process does (provider calls, requests, webhooks) is counted where it happens, in that process;
under `touchpoint web` the gunicorn workers share their counts through prometheus_client's multiprocess files, so
any of them answers a scrape for all. What the database holds (deliveries by status, the due backlog, open and
overdue cases) is asked at scrape time with small queries (storage/monitoring), so every process reports the same
figures: aggregate those with max(), not sum(), across instances.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from flask import Flask, Response, g, request
from prometheus_client import REGISTRY, Counter, Histogram, disable_created_metrics, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from bot.runtime import Runtime
from storage.monitoring import ALL_STATUSES, IN_FLIGHT, delivery_counts, due_backlog, open_cases
from storage.types import utcnow

log = logging.getLogger("touchpoint.metrics")
disable_created_metrics()  # a `_created` series beside every counter says only when the process started

PROVIDER_CALLS = Histogram(
    "touchpoint_provider_call_seconds", "Provider calls (every message sent), by channel and transport",
    ["channel", "transport"])
PROVIDER_ERRORS = Counter(
    "touchpoint_provider_errors", "Provider calls that did not send, by channel, transport and outcome "
    "(failed: temporary, refused: permanent, rate_limited, opted_out)", ["channel", "transport", "outcome"])
REQUESTS = Histogram(
    "touchpoint_http_request_duration_seconds", "HTTP requests by method, route (the URL rule) and status",
    ["method", "route", "status"])
WEBHOOKS = Counter(
    "touchpoint_webhook_requests", "Requests to a channel's endpoints (provider webhooks, survey pages, the widget) "
    "by outcome: accepted, refused (401/403), limited (429), invalid (another 4xx) or error (5xx)",
    ["channel", "route", "outcome"])

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DUE_WINDOW = timedelta(hours=24)


def record_provider_call(channel: str, transport: str, seconds: float, outcome: str) -> None:
    PROVIDER_CALLS.labels(channel, transport or "-").observe(seconds)
    if outcome != "sent":
        PROVIDER_ERRORS.labels(channel, transport or "-", outcome).inc()


def webhook_outcome(status: int) -> str:
    if status < 400:
        return "accepted"
    if status in (401, 403):
        return "refused"
    if status == 429:
        return "limited"
    return "invalid" if status < 500 else "error"


def instrument(app: Flask, channel_of_blueprint: Mapping[str, str]) -> None:
    """Time every request by its URL rule (never the raw path: ids and tokens stay out of the labels), and count
    the requests to each channel's blueprint by outcome."""

    @app.before_request
    def _started() -> None:
        g.telemetry_started = time.perf_counter()

    @app.after_request
    def _observed(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        started = g.get("telemetry_started")
        if started is not None:
            method = request.method if request.method in _METHODS else "other"
            REQUESTS.labels(method, route, str(response.status_code)).observe(time.perf_counter() - started)
        channel = channel_of_blueprint.get(request.blueprints[-1]) if request.blueprints else None
        if channel is not None:
            WEBHOOKS.labels(channel, route, webhook_outcome(response.status_code)).inc()
        return response


class DatabaseFigures:
    """The figures every process reports alike, read at scrape time."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("touchpoint_database_up", "1 when the scrape's database queries succeeded")
        took = GaugeMetricFamily("touchpoint_database_scrape_seconds", "How long the scrape's database queries took")
        started = time.perf_counter()
        try:
            figures = list(self._figures())
        except Exception as error:  # a scrape must still answer, saying the database did not
            log.warning("metrics: database figures unavailable (%s)", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        took.add_metric([], time.perf_counter() - started)
        yield from (up, took, *figures)

    def _figures(self) -> Iterator[Metric]:
        now = utcnow()
        channels = sorted(self._rt.channels)
        with self._rt.engine.connect() as conn:
            in_flight = delivery_counts(conn, tuple(IN_FLIGHT))
            recent = delivery_counts(conn, ALL_STATUSES, now - DUE_WINDOW)
            backlog = {b.channel: b for b in due_backlog(conn, now)}
            cases = open_cases(conn, now)
        yield _by_status("touchpoint_deliveries", "Deliveries in each status still in flight, by channel",
                         in_flight, IN_FLIGHT, channels)
        yield _by_status("touchpoint_deliveries_due_last_day",
                         "Deliveries due in the last 24 hours, by their status now and channel", recent,
                         ALL_STATUSES, channels)
        depth = GaugeMetricFamily("touchpoint_queue_due_deliveries",
                                  "Deliveries due and not yet taken by a worker, by channel", labels=["channel"])
        age = GaugeMetricFamily("touchpoint_queue_oldest_due_seconds",
                                "How long the oldest delivery waiting to be sent has been due (0: none)",
                                labels=["channel"])
        for channel in sorted({*channels, *backlog}):
            waiting = backlog.get(channel)
            depth.add_metric([channel], waiting.due if waiting else 0)
            age.add_metric([channel], max(0.0, (now - waiting.oldest_due_at).total_seconds()) if waiting else 0)
        yield depth
        yield age
        opened = GaugeMetricFamily("touchpoint_followups_open", "Follow-up cases not yet resolved, by queue",
                                   labels=["queue"])
        overdue = GaugeMetricFamily("touchpoint_followups_overdue",
                                    "Follow-up cases not yet resolved and past their due time, by queue",
                                    labels=["queue"])
        for queue in cases:
            opened.add_metric([queue.queue], queue.open)
            overdue.add_metric([queue.queue], queue.overdue)
        yield opened
        yield overdue


def _by_status(name: str, documentation: str, counts: Mapping[tuple[str, str], int], statuses: Iterable[str],
               channels: list[str]) -> GaugeMetricFamily:
    """Every status and channel, zeros included, so a series does not vanish when its count reaches 0."""
    family = GaugeMetricFamily(name, documentation, labels=["status", "channel"])
    keys = {(str(status), channel) for status in statuses for channel in channels} | set(counts)
    for status, channel in sorted(keys):
        family.add_metric([status, channel], counts.get((status, channel), 0))
    return family


def multiprocess() -> bool:
    """Whether prometheus_client keeps this process's counts in PROMETHEUS_MULTIPROC_DIR (decided at its import)."""
    return values.ValueClass is not values.MutexValue


class _Scrape:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    def collect(self) -> Iterator[Metric]:
        if multiprocess():
            yield from MultiProcessCollector(None).collect()
        else:
            yield from REGISTRY.collect()
        yield from DatabaseFigures(self._rt).collect()


def exposition(rt: Runtime) -> bytes:
    return generate_latest(_Scrape(rt))  # type: ignore[arg-type]


def authorized(rt: Runtime, header: str) -> bool:
    """Open while TOUCHPOINT_METRICS_TOKEN is unset; otherwise `Authorization: Bearer <token>`."""
    token = rt.settings.metrics_token
    if token is None:
        return True
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode())


def metrics_view(rt: Runtime) -> Callable[[], Response]:
    def metrics() -> Response:
        if not authorized(rt, request.headers.get("Authorization", "")):
            return _unauthorized()
        return Response(exposition(rt), mimetype=None, content_type=CONTENT_TYPE_LATEST)

    return metrics


def _unauthorized() -> Response:
    return Response("metrics need Authorization: Bearer <TOUCHPOINT_METRICS_TOKEN>\n", 401,
                    {"WWW-Authenticate": 'Bearer realm="metrics"'}, content_type="text/plain; charset=utf-8")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Scrapes every few seconds would drown the worker's own lines."""


class MetricsServer:
    """The worker's /metrics, on its own port, in a thread beside the ticks."""

    def __init__(self, rt: Runtime, host: str, port: int) -> None:
        self._rt = rt
        self._server: WSGIServer = make_server(host, port, self._app, handler_class=_Quiet)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"only /metrics here\n"]
        if not authorized(self._rt, environ.get("HTTP_AUTHORIZATION", "")):
            refused = _unauthorized()
            start_response("401 Unauthorized", list(refused.headers.items()))
            return [refused.get_data()]
        body = exposition(self._rt)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def serve_worker_metrics(rt: Runtime) -> MetricsServer | None:
    """Started by `touchpoint worker` unless TOUCHPOINT_WORKER_METRICS_PORT is 0. A port already taken (a second
    worker on the host) is logged and the worker runs on without it: the sends matter more than their counts."""
    port = rt.settings.worker_metrics_port
    if not port:
        return None
    host = rt.settings.worker_metrics_host or rt.settings.host
    try:
        server = MetricsServer(rt, host, port)
    except OSError as error:
        log.error("metrics: cannot listen on %s:%s (%s); this worker serves no /metrics", host, port, error.strerror)
        return None
    log.info("metrics at http://%s:%s/metrics", host, server.port)
    return server
