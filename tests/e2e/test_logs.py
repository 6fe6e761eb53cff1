"""The request logs of `touchpoint run` (werkzeug) and `touchpoint web` (gunicorn) mask secrets, tokens and
addresses in paths, query strings and referrers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import StartServer
from tests.e2e.processes import Server, cli, free_port, server_env, touchpoint_command

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
