"""The Slack channel: DMs with buttons, clicks, the comment modal, typed replies, alert cards and OAuth installs.

The app runs with Bolt and the real slack_sdk WebClient pointed at a local Slack double; every request Slack
would make to us is signed with the signing secret, as Slack signs it. Work Bolt does after the ack runs in its
listener threads, so what Slack shows afterwards is awaited, not assumed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from bot.alerts import sync_case_cards
from bot.answers import answer_by_token
from bot.ingest import ingest_event
from bot.inputs import EventIn, new_event
from bot.runtime import Runtime
from storage.models import SLACK_BOTS, Contact, Delivery, FollowUp, Message, Response, SlackCard
from storage.sandbox import sandbox_messages
from storage.types import utcnow
from tests.conftest import make_settings
from tests.fakes.slack_api import (
    FakeSlack,
    block_actions_payload,
    event_body,
    interaction_body,
    sign,
    view_submission_payload,
)
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick

SECRET = "slack-signing-secret-for-tests"
SLACK_FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUPPORT = "C0SUPPORT"
GRACE = {"external_id": "grace", "name": "Grace Hopper", "slack_user_id": "U0GRACE", "email": "grace@example.com"}
T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float = 5.0) -> T:
    """What Bolt does after the ack lands a moment later, in its listener threads."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout}s: {check}")
        time.sleep(0.02)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user("U0GRACE", "grace@example.com", "grace", real_name="Grace Hopper")
        fake.add_user("U0ALAN", "alan@example.com", "alan")
        fake.add_user("U0AGENT", "agent@example.com", "sam")
        fake.add_channel(SUPPORT, "support")
        yield fake


def slack_env(monkeypatch: pytest.MonkeyPatch, slack: FakeSlack, **extra: str) -> None:
    for name, value in {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SECRET,
                        "SLACK_API_BASE_URL": slack.base_url, **extra}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def app(database_url: str, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    from bot.app import create_app

    slack_env(monkeypatch, slack)
    app = create_app(make_settings(database_url, sandbox="on"))
    yield app
    app.extensions["touchpoint"].close()


def post_signed(client: FlaskClient, body: str, content_type: str, **headers: str) -> Any:
    return client.post("/slack/events", data=body, content_type=content_type,
                       headers={**sign(body, SECRET), **headers})


def click(client: FlaskClient, payload: dict[str, Any]) -> Any:
    return post_signed(client, interaction_body(payload), "application/x-www-form-urlencoded")


def survey_dm(rt: Runtime, slack: FakeSlack, user: str = "U0GRACE", kind: str = "nps", ask: str = "always",
              contact: dict[str, Any] | None = None, key: str = "evt-1") -> tuple[str, dict[str, Any]]:
    text = flow_yaml(f"slack-{kind}", kind=kind, channels="[slack, email]", ask=ask, extra=DETRACTORS_TO_RECOVERY)
    if kind == "thumbs":
        text = text.replace('      passive: "What would make it a 10?"\n', "")
    install_flow(rt, text)
    ingest(rt, event(key, contact=contact or GRACE))
    tick(rt)
    dm = slack.dm_channel(user)
    assert dm is not None, "no DM was opened"
    return dm, slack.messages(dm)[-1]


def ingest(rt: Runtime, body: dict[str, Any]) -> None:
    ingest_event(rt, new_event(EventIn.model_validate(body)))


def buttons(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [block["elements"] for block in message["blocks"] if block["type"] == "actions"]


def stored_response(rt: Runtime) -> Response | None:
    with rt.session() as session:
        return session.exec(select(Response)).first()


def test_a_survey_is_a_dm_with_the_question_and_a_button_per_score(rt: Runtime, slack: FakeSlack) -> None:
    _, message = survey_dm(rt, slack)
    assert "How likely are you to recommend us?" in message["text"]
    rows = buttons(message)
    assert [[b["text"]["text"] for b in row] for row in rows] == [
        ["0", "1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]
    assert all(b["value"].endswith(f":{b['text']['text']}") for row in rows for b in row)
    with rt.session() as session:
        delivery = session.exec(select(Delivery)).one()
        sent = session.exec(select(Message).where(Message.direction == "out")).one()
    assert (delivery.channel, delivery.status, sent.transport, sent.address) == ("slack", "sent", "slack", "U0GRACE")


@pytest.mark.parametrize(("kind", "labels"), [
    ("csat", ["1", "2", "3", "4", "5"]),
    ("ces", ["1", "2", "3", "4", "5", "6", "7"]),
    ("thumbs", ["\N{THUMBS UP SIGN} Yes", "\N{THUMBS DOWN SIGN} No"]),
])
def test_every_scale_has_one_row_of_buttons(rt: Runtime, slack: FakeSlack, kind: str, labels: list[str]) -> None:
    _, message = survey_dm(rt, slack, kind=kind, ask="never")
    assert [[b["text"]["text"] for b in row] for row in buttons(message)] == [labels]


def context_texts(message: dict[str, Any]) -> list[str]:
    return [element["text"] for block in message["blocks"] if block["type"] == "context"
            for element in block["elements"]]


def test_the_scale_ends_are_labelled_under_the_buttons(rt: Runtime, slack: FakeSlack) -> None:
    _, message = survey_dm(rt, slack)
    assert [block["type"] for block in message["blocks"]] == ["section", "actions", "actions", "context"]
    assert context_texts(message) == ["0 = Not at all likely, 10 = Extremely likely"]


def test_thumbs_buttons_need_no_end_labels(rt: Runtime, slack: FakeSlack) -> None:
    _, message = survey_dm(rt, slack, kind="thumbs", ask="never")
    assert context_texts(message) == []


def test_the_dm_reads_the_flows_slack_wording_and_labels(rt: Runtime, slack: FakeSlack) -> None:
    text = flow_yaml("slack-csat", kind="csat", channels="[slack, sms]", ask="never")
    sms_line = next(line for line in text.splitlines() if "Reply 0-10" in line)
    install_flow(rt, text.replace(sms_line, sms_line + """
  channel_text:
    slack: {en: "Hi {{ contact.first_name }}, how did we do?"}
  labels:
    en: {low: "Awful", high: "Superb"}"""))
    ingest(rt, event(contact=GRACE))
    tick(rt)
    message = slack.messages(slack.dm_channel("U0GRACE"))[-1]
    assert message["text"] == "Hi Grace, how did we do?"
    assert message["blocks"][0]["text"]["text"] == "Hi Grace, how did we do?"
    assert context_texts(message) == ["1 = Awful, 5 = Superb"]


def test_a_click_records_the_score_and_the_message_says_so_with_a_comment_button(
    rt: Runtime, client: FlaskClient, slack: FakeSlack
) -> None:
    dm, message = survey_dm(rt, slack)
    eight = buttons(message)[1][2]
    response = click(client, block_actions_payload("U0GRACE", eight["action_id"], eight["value"], dm, message["ts"]))
    assert response.status_code == 200
    stored = stored_response(rt)
    assert stored is not None and (stored.score, stored.band, stored.channel) == (8, "passive", "slack")
    updated = eventually(lambda: next((m for m in slack.messages(dm) if "edited" in m), None))
    assert "You chose *8*" in str(updated["blocks"]) and updated["ts"] == message["ts"]
    assert [b["text"]["text"] for row in buttons(updated) for b in row] == ["Add a comment"]


def test_a_click_on_a_survey_that_is_gone_leaves_no_buttons(rt: Runtime, client: FlaskClient, slack: FakeSlack) -> None:
    dm, message = survey_dm(rt, slack)
    eight = buttons(message)[1][2]
    assert click(client, block_actions_payload("U0GRACE", eight["action_id"], "no-such-token:8", dm,
                                               message["ts"])).status_code == 200
    updated = eventually(lambda: next((m for m in slack.messages(dm) if "edited" in m), None))
    assert buttons(updated) == [] and "This survey has closed" in updated["text"]
    assert stored_response(rt) is None


def test_add_a_comment_opens_a_modal_whose_submission_is_the_comment(
    rt: Runtime, client: FlaskClient, slack: FakeSlack
) -> None:
    dm, message = survey_dm(rt, slack)
    three = buttons(message)[0][3]
    click(client, block_actions_payload("U0GRACE", three["action_id"], three["value"], dm, message["ts"]))
    updated = eventually(lambda: next((m for m in slack.messages(dm) if "edited" in m), None))
    comment = buttons(updated)[0][0]
    click(client, block_actions_payload("U0GRACE", comment["action_id"], comment["value"], dm, message["ts"]))
    modal = eventually(lambda: slack.views)[0]
    assert modal["blocks"][0]["label"]["text"] == "Sorry about that. What went wrong?"

    empty = view_submission_payload("U0GRACE", modal["callback_id"], modal["private_metadata"], {"comment": {}})
    refused = click(client, empty)
    assert refused.get_json() == {"response_action": "errors",
                                  "errors": {"comment": "Write a comment, or close this window."}}
    text = "The courier was rude and the parcel arrived late"
    values = {"comment": {"text": text}}
    assert click(client, view_submission_payload("U0GRACE", modal["callback_id"], modal["private_metadata"],
                                                 values)).status_code == 200
    stored = stored_response(rt)
    assert stored is not None and (stored.score, stored.comment, stored.sentiment) == (3, text, "negative")
    final = eventually(lambda: next((m for m in slack.messages(dm) if text in str(m.get("blocks"))), None))
    assert buttons(final) == []
    with rt.session() as session:
        case = session.exec(select(FollowUp)).one()
    assert (case.priority, case.status) == ("high", "open")


def test_slacks_own_payload_fixtures_filled_in_with_our_ids_are_answered(
    rt: Runtime, client: FlaskClient, slack: FakeSlack
) -> None:
    """Slack's recorded block_actions and view_submission payloads (another workspace and an enterprise
    included), with only our ids put in: what we read of them is where Slack puts it."""
    dm, message = survey_dm(rt, slack)
    four = buttons(message)[0][4]
    clicked = json.loads((SLACK_FIXTURES / "block_actions.json").read_text(encoding="utf-8"))
    clicked["user"]["id"] = "U0GRACE"
    clicked["container"].update(channel_id=dm, message_ts=message["ts"], is_ephemeral=False)
    clicked["actions"][0].update(action_id=four["action_id"], value=four["value"])
    assert click(client, clicked).status_code == 200
    comment = buttons(eventually(lambda: next((m for m in slack.messages(dm) if "edited" in m), None)))[0][0]
    clicked["actions"][0].update(action_id=comment["action_id"], value=comment["value"])
    clicked["trigger_id"] = "1111.2222.fixture"
    click(client, clicked)
    modal = eventually(lambda: slack.views)[0]

    submitted = json.loads((SLACK_FIXTURES / "view_submission.json").read_text(encoding="utf-8"))
    submitted["view"].update(callback_id=modal["callback_id"], private_metadata=modal["private_metadata"],
                             state={"values": {"comment": {"text": {"type": "plain_text_input",
                                                                     "value": "Nobody called me back"}}}})
    assert click(client, submitted).status_code == 200
    stored = stored_response(rt)
    assert stored is not None and (stored.score, stored.comment) == (4, "Nobody called me back")


def test_a_typed_dm_follows_the_reply_rules_and_a_retried_event_counts_once(
    rt: Runtime, client: FlaskClient, slack: FakeSlack
) -> None:
    dm, _ = survey_dm(rt, slack, ask="never")
    body = event_body({"type": "message", "channel": dm, "channel_type": "im", "user": "U0GRACE",
                       "text": "9 - quick and friendly", "ts": "1700000000.000100", "client_msg_id": "m-1"},
                      event_id="Ev0001")
    assert post_signed(client, body, "application/json").status_code == 200
    assert post_signed(client, body, "application/json", **{"X-Slack-Retry-Num": "1",
                                                            "X-Slack-Retry-Reason": "http_timeout"}).status_code == 200
    thanks = eventually(lambda: [m for m in slack.messages(dm) if m["text"] == "Thank you!"])
    time.sleep(0.3)  # a second thank-you would have arrived by now
    assert len([m for m in slack.messages(dm) if m["text"] == "Thank you!"]) == len(thanks) == 1
    stored = stored_response(rt)
    assert stored is not None and (stored.score, stored.comment) == (9, "quick and friendly")
    with rt.session() as session:
        inbound = session.exec(select(Message).where(Message.direction == "in")).all()
    assert [(m.channel, m.address, m.provider_message_id) for m in inbound] == [("slack", "U0GRACE", "m-1")]


def test_stop_in_a_dm_opts_the_contact_out_of_slack(rt: Runtime, client: FlaskClient, slack: FakeSlack) -> None:
    dm, _ = survey_dm(rt, slack)
    body = event_body({"type": "message", "channel": dm, "channel_type": "im", "user": "U0GRACE", "text": "STOP",
                       "ts": "1700000000.000200", "client_msg_id": "m-stop"})
    post_signed(client, body, "application/json")
    eventually(lambda: [m for m in slack.messages(dm) if "unsubscribed" in m["text"]])
    with rt.session() as session:
        delivery = session.exec(select(Delivery)).one()
    assert delivery.status == "cancelled"


def test_requests_without_a_valid_signature_are_refused_and_change_nothing(
    rt: Runtime, client: FlaskClient, slack: FakeSlack
) -> None:
    dm, message = survey_dm(rt, slack)
    eight = buttons(message)[1][2]
    body = interaction_body(block_actions_payload("U0GRACE", eight["action_id"], eight["value"], dm, message["ts"]))
    forged = {**sign(body, "not-the-secret")}
    stale = sign(body, SECRET, timestamp=int(time.time()) - 600)
    for headers in ({}, forged, stale):
        response = client.post("/slack/events", data=body, content_type="application/x-www-form-urlencoded",
                               headers=headers)
        assert response.status_code == 401
    assert stored_response(rt) is None
    assert not [m for m in slack.messages(dm) if "edited" in m]


def test_a_contact_with_only_an_email_is_found_once_and_remembered(
    rt: Runtime, slack: FakeSlack
) -> None:
    alan = {"external_id": "alan", "name": "Alan Turing", "email": "Alan@Example.com"}
    survey_dm(rt, slack, user="U0ALAN", contact=alan)
    with rt.session() as session:
        contact = session.exec(select(Contact).where(Contact.external_id == "alan")).one()
        sent = session.exec(select(Message).where(Message.direction == "out")).one()
    assert (contact.addresses["slack_user_id"], sent.address) == ("U0ALAN", "U0ALAN")
    assert len(slack.calls("users.lookupByEmail")) == 1


def test_an_email_unknown_to_slack_falls_back_to_the_next_channel(rt: Runtime, slack: FakeSlack) -> None:
    install_flow(rt, flow_yaml("slack-nps", channels="[slack, email]"))
    ingest(rt, event(contact={"external_id": "zed", "email": "zed@example.com"}))
    tick(rt)
    tick(rt)
    with rt.session() as session:
        delivery = session.exec(select(Delivery)).one()
    assert (delivery.channel, delivery.status) == ("email", "sent")
    assert slack.calls("chat.postMessage") == []


def test_a_ratelimited_workspace_gets_its_surveys_later_each_once(rt: Runtime, slack: FakeSlack) -> None:
    slack.rate_limit_next("chat.postMessage", count=1, retry_after=1)
    install_flow(rt, flow_yaml("slack-nps", channels="[slack]"))
    ingest(rt, event(contact=GRACE))
    tick(rt)
    with rt.session() as session:
        delivery = session.exec(select(Delivery)).one()
    assert delivery.status == "scheduled" and "rate limited" in (delivery.last_error or "")
    eventually(lambda: tick(rt).sent, timeout=10)
    dm = slack.dm_channel("U0GRACE")
    assert dm is not None and len(slack.messages(dm)) == 1
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]


def detractor_case(rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict, contact: dict[str, Any] = GRACE,
                   key: str = "evt-1") -> tuple[str, dict[str, Any]]:
    """A detractor's answer by Slack button, in a queue whose cards go to the support channel."""
    assert client.patch("/api/v1/queues/recovery", json={"slack_channel": SUPPORT}, headers=auth).status_code == 200
    dm, message = survey_dm(rt, slack, contact=contact, key=key, ask="never")
    two = buttons(message)[0][2]
    click(client, block_actions_payload(contact["slack_user_id"], two["action_id"], two["value"], dm, message["ts"]))
    tick(rt)
    return dm, slack.messages(SUPPORT)[-1]


def test_a_detractor_posts_a_card_that_follows_the_case_whoever_changes_it(
    rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict
) -> None:
    _, card = detractor_case(rt, client, slack, auth)
    assert "*Grace Hopper* answered NPS 2" in str(card["blocks"]) and "high" in str(card["blocks"])
    assert [b["text"]["text"] for row in buttons(card) for b in row] == ["Claim", "Reply", "Resolve"]

    claim = buttons(card)[0][0]
    click(client, block_actions_payload("U0AGENT", claim["action_id"], claim["value"], SUPPORT, card["ts"],
                                        user_name="sam"))
    claimed = eventually(lambda: next((m for m in slack.messages(SUPPORT) if "Claimed by sam" in str(m["blocks"])),
                                      None))
    assert [b["text"]["text"] for row in buttons(claimed) for b in row] == ["Reply", "Resolve"]
    with rt.session() as session:
        case = session.exec(select(FollowUp)).one()
    assert (case.status, case.assignee) == ("claimed", "sam (Slack U0AGENT)")

    assert client.post(f"/api/v1/followups/{case.id}/resolve", json={"note": "called her"},
                       headers=auth).status_code == 200
    eventually(lambda: tick(rt).case_cards)  # within a second: one card update per second per channel
    [final] = slack.messages(SUPPORT)
    assert "Resolved" in str(final["blocks"]) and buttons(final) == [] and final["ts"] == card["ts"]


def test_claiming_a_resolved_case_from_slack_tells_the_agent_why(
    rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict
) -> None:
    _, card = detractor_case(rt, client, slack, auth)
    resolve, claim = buttons(card)[0][2], buttons(card)[0][0]
    click(client, block_actions_payload("U0AGENT", resolve["action_id"], resolve["value"], SUPPORT, card["ts"]))
    eventually(lambda: "Resolved" in str(slack.messages(SUPPORT)[0]["blocks"]))
    click(client, block_actions_payload("U0AGENT", claim["action_id"], claim["value"], SUPPORT, card["ts"]))
    [note] = eventually(lambda: slack.ephemeral_messages(SUPPORT))
    assert note["recipient"] == "U0AGENT" and "resolved" in note["text"]


def test_reply_from_the_card_reaches_the_customer_on_their_channel(
    rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict
) -> None:
    dm, card = detractor_case(rt, client, slack, auth)
    reply = buttons(card)[0][1]
    click(client, block_actions_payload("U0AGENT", reply["action_id"], reply["value"], SUPPORT, card["ts"],
                                        user_name="sam"))
    modal = eventually(lambda: slack.views)[0]
    text = "Sorry Grace, we have refunded your delivery fee."
    click(client, view_submission_payload("U0AGENT", modal["callback_id"], modal["private_metadata"],
                                          {"reply": {"text": text}}, user_name="sam"))
    eventually(lambda: [m for m in slack.messages(dm) if m["text"] == text])
    with rt.session() as session:
        case = session.exec(select(FollowUp)).one()
    trail = client.get(f"/api/v1/followups/{case.id}", headers=auth).get_json()["activity"]
    assert [(a["kind"], a["actor"], a["text"]) for a in trail if a["kind"] == "reply"] == [
        ("reply", "sam (Slack U0AGENT)", text)]


def test_resolve_asks_for_a_root_cause_while_the_admins_keep_a_list(
    rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict
) -> None:
    for name in ("Courier damage", "Billing error"):
        client.post("/api/v1/root-causes", json={"name": name}, headers=auth)
    _, card = detractor_case(rt, client, slack, auth)
    resolve = buttons(card)[0][2]
    click(client, block_actions_payload("U0AGENT", resolve["action_id"], resolve["value"], SUPPORT, card["ts"],
                                        user_name="sam"))
    modal = eventually(lambda: slack.views)[0]
    options = [o["value"] for o in modal["blocks"][0]["element"]["options"]]
    assert options == ["Billing error", "Courier damage"]
    with rt.session() as session:
        assert session.exec(select(FollowUp)).one().status == "open"  # nothing resolved before the choice

    choice = {"type": "static_select", "selected_option": {"value": "Courier damage"}}
    answer = click(client, view_submission_payload("U0AGENT", modal["callback_id"], modal["private_metadata"],
                                                   {"root_cause": {"choice": choice}, "note": {"text": "refunded"}},
                                                   user_name="sam"))
    assert answer.status_code == 200 and not answer.data
    final = eventually(lambda: next((m for m in slack.messages(SUPPORT) if "Resolved" in str(m["blocks"])), None))
    assert "Resolved (Courier damage)" in str(final["blocks"]) and buttons(final) == []
    with rt.session() as session:
        case = session.exec(select(FollowUp)).one()
    assert (case.status, case.root_cause) == ("resolved", "Courier damage")
    again = click(client, view_submission_payload("U0AGENT", modal["callback_id"], modal["private_metadata"],
                                                  {"root_cause": {"choice": choice}}, user_name="sam"))
    assert "is resolved" in again.get_json()["errors"]["root_cause"]


def test_a_case_assigned_through_the_api_is_redrawn_on_its_card(
    rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict
) -> None:
    _, card = detractor_case(rt, client, slack, auth)
    with rt.session() as session:
        case = session.exec(select(FollowUp)).one()
    client.post(f"/api/v1/followups/{case.id}/assign", json={"assignee": "kim"}, headers=auth)
    eventually(lambda: tick(rt).case_cards)
    [redrawn] = slack.messages(SUPPORT)
    assert "Claimed by kim" in str(redrawn["blocks"]) and redrawn["ts"] == card["ts"]


def test_reply_from_the_card_to_a_widget_answer_picks_another_channel(
    rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict
) -> None:
    client.patch("/api/v1/queues/recovery", json={"slack_channel": SUPPORT}, headers=auth)
    install_flow(rt, flow_yaml("widget", channels="[web, email]", ask="never", extra=DETRACTORS_TO_RECOVERY))
    ingest(rt, event(contact={"external_id": "alan", "name": "Alan Turing", "email": "alan@example.com"}))
    tick(rt)
    with rt.session() as session:
        token = session.exec(select(Delivery)).one().token
    answer_by_token(rt, token, "2")
    tick(rt)
    card = slack.messages(SUPPORT)[-1]
    reply = buttons(card)[0][1]
    click(client, block_actions_payload("U0AGENT", reply["action_id"], reply["value"], SUPPORT, card["ts"],
                                        user_name="sam"))
    modal = eventually(lambda: slack.views)[0]
    [picker] = [b for b in modal["blocks"] if b["block_id"] == "channel"]
    assert [o["value"] for o in picker["element"]["options"]][0] == "email"
    assert picker["element"]["initial_option"]["value"] == "email"
    choice = {"type": "static_select", "selected_option": {"value": "email"}}
    updates = len(slack.calls("chat.update"))
    click(client, view_submission_payload("U0AGENT", modal["callback_id"], modal["private_metadata"],
                                          {"reply": {"text": "Sorry Alan!"}, "channel": {"choice": choice}},
                                          user_name="sam"))
    eventually(lambda: len(slack.calls("chat.update")) > updates)  # the card is drawn again after the send
    assert sandbox_messages_to(rt, "alan@example.com") == ["Sorry Alan!"]


def sandbox_messages_to(rt: Runtime, address: str) -> list[str]:
    with rt.session() as session:
        return [m.text for m in sandbox_messages(session, address)]


def test_cards_for_one_channel_are_spread_one_per_second(
    rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict
) -> None:
    assert client.patch("/api/v1/queues/recovery", json={"slack_channel": SUPPORT}, headers=auth).status_code == 200
    install_flow(rt, flow_yaml("slack-nps", channels="[slack]", ask="never", extra=DETRACTORS_TO_RECOVERY))
    for i, user in enumerate(["U0GRACE", "U0ALAN", "U0AGENT"]):
        ingest(rt, event(f"e{i}", contact={"external_id": user, "slack_user_id": user}))
    tick(rt)
    for user in ["U0GRACE", "U0ALAN", "U0AGENT"]:
        dm = slack.dm_channel(user)
        assert dm is not None
        [message] = slack.messages(dm)
        zero = buttons(message)[0][0]
        click(client, block_actions_payload(user, zero["action_id"], zero["value"], dm, message["ts"]))
    start = utcnow() + timedelta(seconds=5)
    posted = [sync_case_cards(rt, start + timedelta(seconds=s)) for s in (0, 0.5, 1, 2, 3)]
    assert posted == [1, 0, 1, 1, 0]
    assert len(slack.messages(SUPPORT)) == 3


def test_a_card_slack_refuses_waits_as_long_as_slack_asks_and_is_posted_once(
    rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict
) -> None:
    assert client.patch("/api/v1/queues/recovery", json={"slack_channel": SUPPORT}, headers=auth).status_code == 200
    dm, message = survey_dm(rt, slack, ask="never")
    slack.rate_limit_next("chat.postMessage", retry_after=30)
    zero = buttons(message)[0][0]
    click(client, block_actions_payload("U0GRACE", zero["action_id"], zero["value"], dm, message["ts"]))
    now = utcnow()
    assert [sync_case_cards(rt, now + timedelta(seconds=s)) for s in (0, 10, 31, 40)] == [0, 0, 1, 0]
    assert len(slack.messages(SUPPORT)) == 1


def test_a_card_for_a_missing_channel_is_kept_with_the_reason(
    rt: Runtime, client: FlaskClient, slack: FakeSlack, auth: dict
) -> None:
    assert client.patch("/api/v1/queues/recovery", json={"slack_channel": "C0GONE"}, headers=auth).status_code == 200
    dm, message = survey_dm(rt, slack, ask="never")
    zero = buttons(message)[0][0]
    click(client, block_actions_payload("U0GRACE", zero["action_id"], zero["value"], dm, message["ts"]))
    assert sync_case_cards(rt, utcnow()) == 0
    with rt.session() as session:
        card = session.exec(select(SlackCard)).one()
    assert (card.ts, card.error) == (None, "Slack: channel_not_found")


def test_oauth_install_stores_the_workspace_and_its_token_is_used(
    database_url: str, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.app import create_app

    slack_env(monkeypatch, slack, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret")
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    slack.client_credentials = ("111.222", "client-secret")
    app = create_app(make_settings(database_url, sandbox="on"))
    rt: Runtime = app.extensions["touchpoint"]
    try:
        client = app.test_client()
        page = client.get("/slack/install")
        assert page.status_code == 200
        authorize = next(part for part in page.get_data(as_text=True).split('"')
                         if part.startswith("https://slack.com/oauth/v2/authorize"))
        query = parse_qs(urlsplit(authorize.replace("&amp;", "&")).query)
        assert query["client_id"] == ["111.222"] and "im:write" in query["scope"][0]
        token = slack.grant_code("code-1", "T2", "Second Workspace")
        done = client.get(f"/slack/oauth_redirect?code=code-1&state={query['state'][0]}")
        assert done.status_code == 200
        with rt.engine.connect() as conn:
            rows = conn.execute(sa.select(SLACK_BOTS.c.team_id, SLACK_BOTS.c.bot_token)).all()
        assert [tuple(r) for r in rows] == [("T2", token)]

        forged = client.get("/slack/oauth_redirect?code=code-2&state=made-up")
        assert forged.status_code == 400

        grace = {**GRACE, "attributes": {"slack_team_id": "T2"}}
        survey_dm(rt, slack, contact=grace)
        [post] = slack.calls("chat.postMessage")
        assert post.headers.get("Authorization") == f"Bearer {token}"
    finally:
        rt.close()


def test_a_dm_and_a_comment_with_nul_are_recorded_without_it(
    rt: Runtime, client: FlaskClient, slack: FakeSlack
) -> None:
    """Slack relays the customer's words: kept with NUL removed, never refused (PostgreSQL cannot store NUL)."""
    dm, _ = survey_dm(rt, slack)
    body = event_body({"type": "message", "channel": dm, "channel_type": "im", "user": "U0GRACE",
                       "text": "3\u0000", "ts": "1700000000.000100", "client_msg_id": "m-\u00001"}, event_id="Ev0001")
    assert post_signed(client, body, "application/json").status_code == 200
    stored = eventually(lambda: stored_response(rt))
    assert stored.score == 3
    eventually(lambda: [m for m in slack.messages(dm) if m["text"] == "Sorry about that. What went wrong?"])
    comment = event_body({"type": "message", "channel": dm, "channel_type": "im", "user": "U0GRACE",
                          "text": "rude \ud800courier", "ts": "1700000000.000200", "client_msg_id": "m-2"},
                         event_id="Ev0002")
    assert post_signed(client, comment, "application/json").status_code == 200
    eventually(lambda: [m for m in slack.messages(dm) if m["text"] == "Thank you!"])
    assert stored_response(rt).comment == "rude \ufffdcourier"  # type: ignore[union-attr]


def test_deep_json_to_the_slack_endpoint_is_a_4xx(client: FlaskClient) -> None:
    body = "[" * 5000 + "]" * 5000
    assert 400 <= post_signed(client, body, "application/json").status_code < 500
    assert 400 <= client.post("/slack/events", data=body, content_type="application/json").status_code < 500


def test_a_modal_comment_with_nul_is_recorded_without_it(rt: Runtime, client: FlaskClient, slack: FakeSlack) -> None:
    dm, message = survey_dm(rt, slack)
    three = buttons(message)[0][3]
    click(client, block_actions_payload("U0GRACE", three["action_id"], three["value"], dm, message["ts"]))
    comment = buttons(eventually(lambda: next((m for m in slack.messages(dm) if "edited" in m), None)))[0][0]
    click(client, block_actions_payload("U0GRACE", comment["action_id"], comment["value"], dm, message["ts"]))
    modal = eventually(lambda: slack.views)[0]
    values = {"comment": {"text": "late\u0000 again"}}
    assert click(client, view_submission_payload("U0GRACE", modal["callback_id"], modal["private_metadata"],
                                                 values)).status_code == 200
    stored = stored_response(rt)
    assert stored is not None and (stored.score, stored.comment) == (3, "late again")
    eventually(lambda: next((m for m in slack.messages(dm) if "late again" in str(m.get("blocks"))), None))
