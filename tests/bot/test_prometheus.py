"""/metrics after real work: sends, replies, webhooks and requests, read back with Prometheus's own parser."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.runtime import Runtime
from bot.telemetry import MetricsServer, serve_worker_metrics
from storage.apikeys import create_api_key
from storage.types import utcnow
from tests.conftest import make_settings
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick

SECRET = "hook-secret-31337"
TOKEN = "metrics-token-8f2d1c"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(client: FlaskClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metered(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("TOUCHPOINT_EMAIL_WEBHOOK_SECRET", SECRET)
    app = create_app(make_settings(database_url))
    yield app
    app.extensions["touchpoint"].close()


def contact(external_id: str, **addresses: str) -> dict[str, str]:
    return {"external_id": external_id, "name": "Ada", **addresses}


def test_metrics_after_sending_surveys_count_what_happened(metered: Flask) -> None:
    rt: Runtime = metered.extensions["touchpoint"]
    client = metered.test_client()
    with rt.session() as session:
        auth = {"Authorization": f"Bearer {create_api_key(session, 'tests')}"}
    install_flow(rt, flow_yaml(ask="never", extra=DETRACTORS_TO_RECOVERY))
    before = scrape(client)

    events = [("e1", contact("c1", phone="+447911123401")), ("e2", contact("c2", phone="+447911123402")),
              ("e3", contact("c3", email="permfail@example.com"))]
    for key, who in events:
        assert client.post("/api/v1/events", json=event(key, contact=who), headers=auth).status_code == 202
    tick(rt)  # two SMS sent; the email is refused for good and the survey fails (no channel left)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": "+447911123401", "text": "2"},
                headers=auth)  # a detractor: a case in `recovery`, and the thanks (a third SMS)
    waiting = client.post("/api/v1/events", json=event("e4", contact=contact("c4", phone="+447911123404")),
                          headers=auth).get_json()["deliveries"][0]["id"]
    with rt.engine.begin() as conn:
        an_hour_ago = (utcnow() - timedelta(hours=1)).replace(tzinfo=None)
        conn.execute(sa.text("UPDATE delivery SET due_at = :at WHERE id = :id"), {"at": an_hour_ago, "id": waiting})
        conn.execute(sa.text("UPDATE followup SET due_at = :at"), {"at": an_hour_ago})
    assert client.get(f"/api/v1/deliveries/{waiting}", headers=auth).status_code == 200
    for query, body in ((f"?secret={SECRET[::-1]}", {}), (f"?secret={SECRET}", []), (f"?secret={SECRET}", {
            "FromFull": {"Email": "ada@example.com"}, "ToFull": [{"Email": "reply+nobody@reply.example.com"}],
            "TextBody": "9"})):
        client.post(f"/webhooks/email/inbound/postmark{query}", json=body)
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "touchpoint_database_up") == 1
    assert value(after, "touchpoint_deliveries", status="sent", channel="sms") == 1
    assert value(after, "touchpoint_deliveries", status="scheduled", channel="sms") == 1
    assert value(after, "touchpoint_deliveries", status="sending", channel="email") == 0  # zeros are listed too
    assert value(after, "touchpoint_deliveries_due_last_day", status="completed", channel="sms") == 1
    assert value(after, "touchpoint_deliveries_due_last_day", status="failed", channel="email") == 1
    assert value(after, "touchpoint_queue_due_deliveries", channel="sms") == 1
    assert 3600 <= value(after, "touchpoint_queue_oldest_due_seconds", channel="sms") < 7200
    assert value(after, "touchpoint_queue_oldest_due_seconds", channel="email") == 0
    assert value(after, "touchpoint_followups_open", queue="recovery") == 1
    assert value(after, "touchpoint_followups_overdue", queue="recovery") == 1

    assert delta("touchpoint_provider_call_seconds_count", channel="sms", transport="sandbox") == 3
    assert delta("touchpoint_provider_call_seconds_count", channel="email", transport="sandbox") == 1
    assert delta("touchpoint_provider_errors_total", channel="email", transport="sandbox", outcome="refused") == 1
    assert delta("touchpoint_provider_errors_total", channel="sms", transport="sandbox", outcome="refused") == 0

    inbound = "/webhooks/email/inbound/<any(sendgrid, mailgun, postmark):provider>"
    for outcome in ("refused", "invalid", "accepted"):
        assert delta("touchpoint_webhook_requests_total", channel="email", route=inbound, outcome=outcome) == 1

    [rule] = [r.rule for r in metered.url_map.iter_rules() if r.endpoint == "api.get_delivery"]
    assert delta("touchpoint_http_request_duration_seconds_count", method="GET", route=rule, status="200") == 1
    assert delta("touchpoint_http_request_duration_seconds_count", method="POST", route="/api/v1/events",
                 status="202") == 4
    labels = {v for _, pairs in after for _, v in pairs}
    assert not [v for v in labels if SECRET in v or SECRET[::-1] in v or f"/deliveries/{waiting}" in v]


def test_metrics_are_open_without_a_token_and_need_it_once_set(database_url: str) -> None:
    app = create_app(make_settings(database_url, metrics_token=TOKEN))
    client = app.test_client()
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200 and "touchpoint_deliveries" in answer.get_data(as_text=True)
    finally:
        app.extensions["touchpoint"].close()


def test_the_metrics_of_an_unreachable_database_say_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'missing' / 'touchpoint.db'}"))
    try:
        samples = scrape(app.test_client())
    finally:
        app.extensions["touchpoint"].close()
    assert value(samples, "touchpoint_database_up") == 0
    assert not [name for name, _ in samples if name.startswith("touchpoint_deliveries")]


def test_the_worker_serves_the_same_figures_on_its_own_port(app: Flask, rt: Runtime, client: FlaskClient,
                                                           auth: dict[str, str]) -> None:
    install_flow(rt, flow_yaml())
    client.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    server = MetricsServer(rt, "127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{server.port}"
        answer = requests.get(f"{base}/metrics", timeout=10)
        missing = requests.get(f"{base}/other", timeout=10)
    finally:
        server.close()
    assert answer.status_code == 200 and missing.status_code == 404
    samples = parse(answer.text)
    assert value(samples, "touchpoint_deliveries", status="sent", channel="sms") == 1
    assert value(samples, "touchpoint_provider_call_seconds_count", channel="sms", transport="sandbox") >= 1
    web = parse(client.get("/metrics").get_data(as_text=True))
    assert value(web, "touchpoint_deliveries", status="sent", channel="sms") == 1


def test_the_worker_metrics_need_the_token_too(database_url: str) -> None:
    app = create_app(make_settings(database_url, metrics_token=TOKEN))
    rt: Runtime = app.extensions["touchpoint"]
    server = MetricsServer(rt, "127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        refused = requests.get(url, timeout=10)
        allowed = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    finally:
        server.close()
        rt.close()
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert allowed.status_code == 200


def test_a_taken_worker_metrics_port_is_logged_and_the_worker_runs_on(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = create_app(make_settings(database_url, worker_metrics_port=port, worker_metrics_host="127.0.0.1"))
        rt: Runtime = app.extensions["touchpoint"]
        try:
            assert serve_worker_metrics(rt) is None
        finally:
            rt.close()
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text
    off = create_app(make_settings(database_url, worker_metrics_port=0))
    try:
        assert serve_worker_metrics(off.extensions["touchpoint"]) is None
    finally:
        off.extensions["touchpoint"].close()


def test_touchpoint_web_empties_a_given_metrics_folder_and_refuses_a_late_one(
    tmp_path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from bot.gunicorn import metrics_directory

    (tmp_path / "counter_4242.db").write_bytes(b"from the last run")
    (tmp_path / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert metrics_directory() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    with pytest.raises(RuntimeError, match="imported before PROMETHEUS_MULTIPROC_DIR"):
        metrics_directory()  # this process has imported prometheus_client already: its workers would not share
