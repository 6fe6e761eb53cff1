"""Slack end to end: the real server (web + worker), the real slack_sdk and Bolt, a local Slack Web API double.

Everything Slack would send us is signed with the signing secret and posted over HTTP: the button clicks, the
modal submission, Slack's own message-event fixture. The support team's card is checked after every change.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import StartServer
from tests.e2e.processes import Server, cli
from tests.fakes.slack_api import (
    FakeSlack,
    block_actions_payload,
    interaction_body,
    sign,
    view_submission_payload,
)
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml

SECRET = "e2e-slack-signing-secret"
SUPPORT = "C0SUPPORT"
GRACE = {"external_id": "grace", "name": "Grace Hopper", "slack_user_id": "U0GRACE"}
SLACK_FIXTURES = Path(__file__).resolve().parents[1] / "channels" / "slack" / "fixtures"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user("U0GRACE", "grace@example.com", "grace", real_name="Grace Hopper")
        fake.add_user("U0AGENT", "sam@example.com", "sam")
        fake.add_channel(SUPPORT, "support")
        yield fake


@pytest.fixture
def slack_server(start_server: StartServer, slack: FakeSlack) -> Server:
    server = start_server(
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_BASE_URL=slack.base_url,
        TOUCHPOINT_SANDBOX="on",
    )
    flow = server.cwd / "slack.yaml"
    text = flow_yaml("slack-nps", channels="[slack, email]", ask="detractors", extra=DETRACTORS_TO_RECOVERY)
    flow.write_text(text, encoding="utf-8")
    cli(server.env, "flows", "import", str(flow), cwd=server.cwd)
    assert server.api("PATCH", "/queues/recovery", json={"slack_channel": SUPPORT}).status_code == 200
    return server


def post_to_slack_endpoint(server: Server, payload: dict[str, Any]) -> requests.Response:
    body = interaction_body(payload)
    headers = {**sign(body, SECRET), "Content-Type": "application/x-www-form-urlencoded"}
    return requests.post(server.url + "/slack/events", data=body, headers=headers, timeout=10)


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["text"]["text"]: b for block in message["blocks"] if block["type"] == "actions"
            for b in block["elements"]}


def test_event_dm_click_modal_comment_card_claim_resolve(slack_server: Server, slack: FakeSlack) -> None:
    server = slack_server
    assert server.api("POST", "/events", json=event("order-1", contact=GRACE)).status_code == 202
    dm = server.wait_for(lambda: slack.dm_channel("U0GRACE") and slack.messages(slack.dm_channel("U0GRACE")),
                         what="the survey DM")[0]
    channel = slack.dm_channel("U0GRACE")
    assert channel is not None

    three = buttons(dm)["3"]
    clicked = post_to_slack_endpoint(server, block_actions_payload("U0GRACE", three["action_id"], three["value"],
                                                                    channel, dm["ts"]))
    assert clicked.status_code == 200
    answered = server.wait_for(lambda: next((m for m in slack.messages(channel) if "edited" in m), None),
                               what="the DM to show the choice")
    assert "You chose *3*" in json.dumps(answered["blocks"])

    card = server.wait_for(lambda: slack.messages(SUPPORT), what="the alert card")[0]
    assert "*Grace Hopper* answered NPS 3" in json.dumps(card["blocks"])

    comment = buttons(answered)["Add a comment"]
    post_to_slack_endpoint(server, block_actions_payload("U0GRACE", comment["action_id"], comment["value"],
                                                         channel, dm["ts"]))
    modal = server.wait_for(lambda: slack.views, what="the comment modal")[0]
    text = "Two weeks late and nobody answered my emails"
    submitted = post_to_slack_endpoint(server, view_submission_payload(
        "U0GRACE", modal["callback_id"], modal["private_metadata"], {"comment": {"text": text}}))
    assert submitted.status_code == 200

    with_comment = server.wait_for(lambda: text in json.dumps(slack.messages(SUPPORT)[0]["blocks"]),
                                   what="the card to show the comment")
    assert with_comment
    [case] = server.api("GET", "/followups").json()["items"]
    response = server.api("GET", "/responses?contact=grace").json()["items"][0]
    assert (response["score"], response["comment"], response["sentiment"]["label"]) == (3, text, "negative")

    card = slack.messages(SUPPORT)[0]
    claim = buttons(card)["Claim"]
    post_to_slack_endpoint(server, block_actions_payload("U0AGENT", claim["action_id"], claim["value"], SUPPORT,
                                                         card["ts"], user_name="sam"))
    server.wait_for(lambda: "Claimed by sam" in json.dumps(slack.messages(SUPPORT)[0]["blocks"]),
                    what="the card to show the claim")
    assert server.api("GET", f"/followups/{case['id']}").json()["assignee"] == "sam (Slack U0AGENT)"

    resolve = buttons(slack.messages(SUPPORT)[0])["Resolve"]
    post_to_slack_endpoint(server, block_actions_payload("U0AGENT", resolve["action_id"], resolve["value"],
                                                         SUPPORT, card["ts"], user_name="sam"))
    server.wait_for(lambda: "Resolved" in json.dumps(slack.messages(SUPPORT)[0]["blocks"]),
                    what="the card to show the resolution")
    assert server.api("GET", f"/followups/{case['id']}").json()["status"] == "resolved"
    assert len(slack.messages(SUPPORT)) == 1
    assert buttons(slack.messages(SUPPORT)[0]) == {}


def test_slack_s_own_message_event_fixture_answers_a_survey_once(slack_server: Server, slack: FakeSlack) -> None:
    server = slack_server
    server.api("POST", "/events", json=event("order-2", contact=GRACE))
    channel = server.wait_for(lambda: slack.dm_channel("U0GRACE"), what="the survey DM")
    envelope = json.loads((SLACK_FIXTURES / "event_callback_message.json").read_text(encoding="utf-8"))
    envelope["team_id"], envelope["event"]["team"] = slack.team_id, slack.team_id
    envelope["event"].update(user="U0GRACE", channel=channel, channel_type="im", text="10 brilliant service")
    del envelope["enterprise_id"]
    body = json.dumps(envelope)
    for retry in (None, "1"):
        headers = {**sign(body, SECRET), "Content-Type": "application/json"}
        if retry:
            headers |= {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        assert requests.post(server.url + "/slack/events", data=body, headers=headers, timeout=10).status_code == 200
    server.wait_for(lambda: server.api("GET", "/responses").json()["items"], what="the answer")
    [response] = server.api("GET", "/responses").json()["items"]
    assert (response["score"], response["comment"]) == (10, "brilliant service")
    thanks = server.wait_for(lambda: [m for m in slack.messages(channel) if m["text"] == "Thank you!"],
                             what="the thanks")
    assert len(thanks) == 1


def test_a_forged_click_is_refused(slack_server: Server, slack: FakeSlack) -> None:
    payload = copy.deepcopy(block_actions_payload("U0GRACE", "tp_score_9", "made-up-token:9", "D0X", "1.0"))
    body = interaction_body(payload)
    headers = {**sign(body, "wrong-secret"), "Content-Type": "application/x-www-form-urlencoded"}
    assert requests.post(slack_server.url + "/slack/events", data=body, headers=headers,
                         timeout=10).status_code == 401
    assert slack_server.api("GET", "/responses").json()["items"] == []
