"""Telegram end to end: `touchpoint run` (web and worker in one process) with the Telegram channel pointed at the
Bot API double. The event comes through the API with the chat id in `contact.addresses`; Telegram's updates are
posted over HTTP with the webhook secret, as Telegram posts them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from channels.telegram.webhooks import SECRET_HEADER
from tests.channels.telegram.support import ADA, ADA_CHAT, SECRET, telegram_env
from tests.channels.telegram.telegram_api import FakeTelegram
from tests.e2e.conftest import running_server
from tests.e2e.processes import Server, cli
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml


@pytest.fixture
def telegram_server(database_url: str, tmp_path: Path, telegram: FakeTelegram) -> Iterator[Server]:
    with running_server(database_url, tmp_path, TOUCHPOINT_SANDBOX="on", **telegram_env(telegram)) as server:
        flow = tmp_path / "telegram.yaml"
        text = flow_yaml("telegram-nps", channels="[telegram, email]", ask="detractors", extra=DETRACTORS_TO_RECOVERY)
        flow.write_text(text, encoding="utf-8")
        cli(server.env, "flows", "import", str(flow), cwd=tmp_path)
        yield server


def post(server: Server, update: dict[str, Any], secret: str = SECRET) -> requests.Response:
    return requests.post(server.url + "/webhooks/telegram", json=update, headers={SECRET_HEADER: secret}, timeout=10)


def test_a_survey_goes_out_on_telegram_and_a_click_and_a_comment_answer_it(
    telegram_server: Server, telegram: FakeTelegram
) -> None:
    server = telegram_server
    accepted = server.api("POST", "/events", json=event("order-1", contact=ADA))
    assert accepted.status_code == 202 and accepted.json()["deliveries"][0]["channel"] == "telegram"
    question = server.wait_for(lambda: telegram.messages(ADA_CHAT), what="the survey on Telegram")[0]

    assert post(server, telegram.click_update(ADA_CHAT, question, "2"), secret="not-the-secret").status_code == 403
    assert post(server, telegram.click_update(ADA_CHAT, question, "2")).status_code == 200
    prompt = server.wait_for(lambda: telegram.messages(ADA_CHAT)[1:], what="the comment prompt")[0]
    assert prompt["text"] == "Sorry about that. What went wrong?"

    comment = "Nobody answered my emails for two weeks"
    assert post(server, telegram.text_update(ADA_CHAT, comment)).status_code == 200
    [response] = server.wait_for(lambda: [r for r in server.api("GET", "/responses").json()["items"]
                                          if r["comment"]], what="the comment")
    assert (response["channel"], response["score"], response["band"]) == ("telegram", 2, "detractor")
    [case] = server.api("GET", "/followups").json()["items"]
    assert (case["queue"], case["status"]) == ("recovery", "open")
    assert telegram.messages(ADA_CHAT)[-1]["text"] == "Thank you!"

    log = (server.cwd / "server.log").read_text(encoding="utf-8")
    assert "/webhooks/telegram" in log and telegram.token not in log
