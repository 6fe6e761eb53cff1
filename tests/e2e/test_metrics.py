"""/metrics from real processes: gunicorn's workers answer for each other, the worker serves its own port, and
`touchpoint run` shows its worker's sends on the web port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import StartServer
from tests.e2e.processes import Server, cli, free_port, server_env, touchpoint_command
from tests.helpers import event, flow_yaml

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def web_and_worker(database_url: str, tmp_path: Path) -> Iterator[tuple[Server, int]]:
    """`touchpoint web` with two gunicorn workers and `touchpoint worker` with its metrics port."""
    port, metrics_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(database_url, TOUCHPOINT_PUBLIC_URL=url, TOUCHPOINT_WORKER_METRICS_PORT=str(metrics_port))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cli(env, "db", "upgrade", cwd=tmp_path)
    key = cli(env, "apikey", "create", "e2e", cwd=tmp_path).strip()
    flow = tmp_path / "flow.yaml"
    flow.write_text(flow_yaml("nps-metrics"), encoding="utf-8")
    cli(env, "flows", "import", str(flow), cwd=tmp_path)
    with open(tmp_path / "web.log", "w") as web_log, open(tmp_path / "worker.log", "w") as worker_log:
        web = subprocess.Popen([*touchpoint_command(), "web", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                               env=env, cwd=tmp_path, stdout=web_log, stderr=web_log)
        worker = subprocess.Popen([*touchpoint_command(), "worker"], env=env, cwd=tmp_path, stdout=worker_log,
                                  stderr=worker_log)
        server = Server(url, key, env, tmp_path)
        try:
            server.wait_for(lambda: answers(url + "/healthz"), 60, "gunicorn to start")
            server.wait_for(lambda: answers(f"http://127.0.0.1:{metrics_port}/metrics"), 60, "the worker to start")
            yield server, metrics_port
        finally:
            for process in (web, worker):
                process.terminate()
                process.wait(timeout=10)


def test_web_workers_answer_for_each_other_and_the_worker_serves_its_own_port(
    web_and_worker: tuple[Server, int]
) -> None:
    server, metrics_port = web_and_worker
    for _ in range(20):
        assert requests.get(server.url + "/readyz", timeout=10).status_code == 200
    contact = {"external_id": "m-1", "phone": "+447911123456"}
    posted = server.api("POST", "/events", json=event("evt-m", contact=contact))
    assert posted.status_code == 202
    worker_metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    server.wait_for(lambda: value(scrape(worker_metrics), "touchpoint_provider_call_seconds_count", channel="sms",
                                  transport="sandbox") == 1, 30, "the worker's send in its metrics")

    # Each scrape reaches one of the two gunicorn workers, and each answers for both.
    for _ in range(6):
        web = scrape(server.url + "/metrics")
        assert value(web, "touchpoint_http_request_duration_seconds_count", method="GET", route="/readyz",
                     status="200") == 20
        assert value(web, "touchpoint_deliveries", status="sent", channel="sms") == 1
    worker = scrape(worker_metrics)
    assert value(worker, "touchpoint_deliveries", status="sent", channel="sms") == 1  # the same figure
    assert value(web, "touchpoint_provider_call_seconds_count", channel="sms", transport="sandbox") == 0


def test_touchpoint_run_shows_its_workers_sends_on_the_web_port(start_server: StartServer) -> None:
    server = start_server()
    flow = server.cwd / "flow.yaml"
    flow.write_text(flow_yaml("nps-run"), encoding="utf-8")
    cli(server.env, "flows", "import", str(flow), cwd=server.cwd)
    assert server.api("POST", "/events", json=event("evt-r")).status_code == 202
    server.wait_for(lambda: value(scrape(server.url + "/metrics"), "touchpoint_provider_call_seconds_count",
                                  channel="sms", transport="sandbox") == 1, 30, "the send in the web port's metrics")
    samples = scrape(server.url + "/metrics")
    assert value(samples, "touchpoint_deliveries", status="sent", channel="sms") == 1
    assert value(samples, "touchpoint_http_request_duration_seconds_count", method="POST", route="/api/v1/events",
                 status="202") == 1
