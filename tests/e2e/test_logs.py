"""The request logs of `touchpoint run` (werkzeug) and `touchpoint web` (gunicorn) mask secrets, tokens and
addresses in paths, query strings and referrers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import StartServer
from tests.e2e.processes import Server, cli, free_port, server_env, touchpoint_command
from tests.helpers import event, flow_yaml

SECRET = "webhook-secret-5f2c9a"
TOKEN = "Zk3vQ8rT1xYw9LmN2bHc"
PHONE, EMAIL, EXTERNAL_ID = "+447400123456", "grace.hopper@example.com", "cust-grace-42"
HIDDEN = (SECRET, TOKEN, PHONE, PHONE.removeprefix("+"), EMAIL, EXTERNAL_ID)


def send_requests(server: Server) -> None:
    url = server.url
    requests.post(f"{url}/webhooks/email/inbound/postmark?secret={SECRET}", timeout=10, json={
        "FromFull": {"Email": EMAIL}, "ToFull": [{"Email": f"reply+{TOKEN}@reply.example.com"}], "TextBody": "9"})
    requests.get(f"{url}/s/{TOKEN}/7", timeout=10, headers={"Referer": f"{url}/s/{TOKEN}/8?from={EMAIL}"})
    requests.get(f"{url}/sandbox/messages", params={"channel": "sms", "address": PHONE}, timeout=10)
    server.api("GET", "/sandbox/messages", params={"to": EMAIL})
    server.api("GET", "/responses", params={"contact": EXTERNAL_ID, "band": "detractor"})


def assert_masked(server: Server, log: Path) -> None:
    send_requests(server)
    server.wait_for(lambda: "/api/v1/responses?" in log.read_text(), 20, "the last request in the log")
    text = log.read_text()
    for value in HIDDEN:
        assert value not in text
    assert "/webhooks/email/inbound/postmark?secret=***" in text
    assert "/s/***/7" in text
    assert "/sandbox/messages?channel=sms&address=***" in text
    assert "/api/v1/responses?contact=***&band=detractor" in text


def test_the_request_log_of_touchpoint_run_masks_secrets_tokens_and_addresses(start_server: StartServer) -> None:
    server = start_server(TOUCHPOINT_EMAIL_WEBHOOK_SECRET=SECRET, TOUCHPOINT_LOG_LEVEL="DEBUG")
    assert_masked(server, server.cwd / "server.log")


def answers(url: str) -> bool:
    """Health, with patience: a worker still importing the app may keep the first request waiting."""
    try:
        return requests.get(url + "/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def web_server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(database_url, TOUCHPOINT_PUBLIC_URL=url, TOUCHPOINT_EMAIL_WEBHOOK_SECRET=SECRET)
    cli(env, "db", "upgrade", cwd=tmp_path)
    key = cli(env, "apikey", "create", "e2e", cwd=tmp_path).strip()
    with open(tmp_path / "web.log", "w") as log:
        command = [*touchpoint_command(), "web", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=log)
        server = Server(url, key, env, tmp_path)
        try:
            server.wait_for(lambda: answers(url), 60, "gunicorn to start")
            yield server
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_access_log_of_touchpoint_web_masks_secrets_tokens_and_addresses(web_server: Server) -> None:
    assert_masked(web_server, web_server.cwd / "web.log")
    assert "/s/***/8?from=***" in (web_server.cwd / "web.log").read_text()  # the referrer


def json_lines(path: Path) -> list[dict]:
    """Every line of a service's log, each one JSON object (a line that is not fails the test)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_web_and_worker_log_json_lines_tied_by_request_and_delivery_ids(web_server: Server) -> None:
    """`touchpoint web` and `touchpoint worker` log JSON by default: the request's lines carry its id, the
    worker's send line the delivery that request made, and no line a customer's name, address or id."""
    env, cwd = web_server.env, web_server.cwd
    flow = cwd / "flow.yaml"
    flow.write_text(flow_yaml("nps-json"), encoding="utf-8")
    cli(env, "flows", "import", str(flow), cwd=cwd)
    with open(cwd / "worker.log", "w") as log:
        worker = subprocess.Popen([*touchpoint_command(), "worker"], env=env, cwd=cwd, stdout=log, stderr=log)
        try:
            contact = {"external_id": EXTERNAL_ID, "name": "Grace Hopper", "email": EMAIL, "phone": PHONE}
            headers = {"Authorization": f"Bearer {web_server.api_key}", "X-Request-ID": "req-e2e-1"}
            posted = requests.post(f"{web_server.url}/api/v1/events", timeout=10, headers=headers,
                                   json=event("evt-json", contact=contact))
            assert posted.status_code == 202 and posted.headers["X-Request-ID"] == "req-e2e-1"
            [delivery] = [str(d["id"]) for d in posted.json()["deliveries"]]
            web_server.wait_for(lambda: any(line.get("delivery") == delivery and line.get("outcome") == "sent"
                                            for line in json_lines(cwd / "worker.log")), 30, "the worker's send line")
            web_server.wait_for(lambda: "req-e2e-1" in (cwd / "web.log").read_text(), 10, "the access line")
        finally:
            worker.terminate()
            worker.wait(timeout=10)

    web, sent = json_lines(cwd / "web.log"), json_lines(cwd / "worker.log")
    [ingested] = [line for line in web if line["logger"] == "touchpoint.ingest"]
    assert (ingested["request_id"], ingested["deliveries"]) == ("req-e2e-1", delivery)
    [access] = [line for line in web
                if line["logger"] == "gunicorn.access" and "POST /api/v1/events" in line["message"]]
    assert access["request_id"] == "req-e2e-1"
    assert [line["logger"] for line in sent if line.get("delivery") == delivery] == ["touchpoint.outbox"]
    for text in ((cwd / "web.log").read_text(), (cwd / "worker.log").read_text()):
        for value in (*HIDDEN, "Grace Hopper"):
            assert value not in text
