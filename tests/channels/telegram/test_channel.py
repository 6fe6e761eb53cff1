"""The Telegram channel with the app: surveys with buttons, clicks and typed replies through the webhook, STOP and
START as /stop and /start, and what Telegram's errors do to a survey. Every test runs on SQLite and PostgreSQL,
against a local double of the Bot API; updates are posted with the webhook secret, as Telegram posts them."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.runtime import Runtime
from channels.telegram.webhooks import SECRET_HEADER
from storage.models import ChannelConsent, Contact, Delivery, FollowUp, Message, Response, SenderPace, StatusChange
from tests.channels.telegram.support import ADA, ADA_CHAT, SECRET, post_update
from tests.channels.telegram.telegram_api import FakeTelegram
from tests.conftest import make_settings
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick

FIXTURES = Path(__file__).resolve().parent / "fixtures"
T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout}s: {check}")
        time.sleep(0.05)


def telegram_flow(kind: str = "nps", ask: str = "always", channels: str = "[telegram, email]", extra: str = "") -> str:
    text = flow_yaml(f"tg-{kind}", kind=kind, channels=channels, ask=ask, extra=extra)
    if kind == "thumbs":
        text = text.replace('      passive: "What would make it a 10?"\n', "")
    return text


def post_event(client: FlaskClient, auth: dict, key: str = "evt-1", contact: dict[str, Any] = ADA) -> dict[str, Any]:
    response = client.post("/api/v1/events", json=event(key, contact=contact), headers=auth)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def survey(rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram, kind: str = "nps",
           ask: str = "always", extra: str = "") -> dict[str, Any]:
    """The survey message Ada gets on Telegram, after an event posted through the API."""
    install_flow(rt, telegram_flow(kind, ask, extra=extra))
    post_event(client, auth)
    tick(rt)
    return telegram.messages(ADA_CHAT)[-1]


def labels(message: dict[str, Any]) -> list[list[str]]:
    return [[button["text"] for button in row] for row in message["reply_markup"]["inline_keyboard"]]


def one(rt: Runtime, model: Any) -> Any:
    with rt.session() as session:
        return session.exec(select(model)).one()


def all_of(rt: Runtime, model: Any) -> list[Any]:
    with rt.session() as session:
        return list(session.exec(select(model)).all())


def inbound(rt: Runtime) -> list[Message]:
    with rt.session() as session:
        return list(session.exec(select(Message).where(Message.direction == "in").order_by(Message.id)).all())


# --- sending -------------------------------------------------------------------------------------------


def test_an_event_with_a_telegram_chat_id_in_contact_addresses_is_surveyed_on_telegram(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    install_flow(rt, telegram_flow())
    body = post_event(client, auth)
    assert [d["channel"] for d in body["deliveries"]] == ["telegram"]
    assert one(rt, Contact).addresses == {"email": "ada@example.com", "telegram_chat_id": str(ADA_CHAT)}
    tick(rt)
    [message] = telegram.messages(ADA_CHAT)
    assert message["text"].startswith("Hi Ada! How likely are you to recommend us?")
    delivery, sent = one(rt, Delivery), one(rt, Message)
    assert (delivery.channel, delivery.status) == ("telegram", "sent")
    assert (sent.address, sent.transport, sent.provider_message_id) == (
        str(ADA_CHAT), "telegram", f"{ADA_CHAT}:{message['message_id']}")


def test_a_chat_id_that_is_not_a_number_is_refused_naming_the_field(client: FlaskClient, auth: dict) -> None:
    contact = {**ADA, "addresses": {"telegram_chat_id": "@ada"}}
    response = client.post("/api/v1/events", json=event(contact=contact), headers=auth)
    assert response.status_code == 422
    [detail] = response.get_json()["error"]["details"]
    assert detail["field"] == "contact.addresses.telegram_chat_id" and "Telegram chat id" in detail["message"]


def test_an_nps_survey_has_two_rows_of_score_buttons_under_the_question_and_its_scale(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    message = survey(rt, client, auth, telegram)
    assert message["text"].endswith("\n\n0 = Not at all likely, 10 = Extremely likely")
    assert labels(message) == [["0", "1", "2", "3", "4", "5"], ["6", "7", "8", "9", "10"]]
    token = one(rt, Delivery).token
    datas = [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
    assert datas == [f"s:{token}:{score}" for score in range(11)]
    assert all(len(data.encode()) <= 64 for data in datas)


@pytest.mark.parametrize(("kind", "expected", "legend"), [
    ("csat", [["1", "2", "3", "4", "5"]], "1 = Very unsatisfied, 5 = Very satisfied"),
    ("ces", [["1", "2", "3", "4", "5", "6", "7"]], "1 = Very difficult, 7 = Very easy"),
    ("thumbs", [["\N{THUMBS UP SIGN} Yes", "\N{THUMBS DOWN SIGN} No"]], None),
])
def test_every_other_scale_has_one_row_of_buttons(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram, kind: str, expected: list[list[str]],
    legend: str | None
) -> None:
    message = survey(rt, client, auth, telegram, kind=kind, ask="never")
    assert labels(message) == expected
    if legend is None:
        assert message["text"] == "Hi Ada! How likely are you to recommend us? Reply 0-10."
    else:
        assert message["text"].endswith("\n\n" + legend)
    if kind == "thumbs":
        datas = [b["callback_data"] for b in message["reply_markup"]["inline_keyboard"][0]]
        assert [data.rsplit(":", 1)[1] for data in datas] == ["\N{THUMBS UP SIGN}", "\N{THUMBS DOWN SIGN}"]


# --- clicks and typed replies ------------------------------------------------------------------------------


def test_a_click_records_the_score_and_the_comment_prompt_follows_then_the_comment(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    question = survey(rt, client, auth, telegram)
    click = telegram.click_update(ADA_CHAT, question, "3")
    assert post_update(client, click).status_code == 200
    response = one(rt, Response)
    assert (response.score, response.band, response.channel) == (3, "detractor", "telegram")
    prompt = telegram.messages(ADA_CHAT)[-1]
    assert prompt["text"] == "Sorry about that. What went wrong?" and "reply_markup" not in prompt
    [answered] = telegram.calls_to("answerCallbackQuery")
    assert answered.params == {"callback_query_id": click["callback_query"]["id"]} and answered.status == 200

    text = "The courier was rude and the parcel was late"
    assert post_update(client, telegram.text_update(ADA_CHAT, text)).status_code == 200
    response = one(rt, Response)
    assert (response.score, response.comment, response.sentiment) == (3, text, "negative")
    assert telegram.messages(ADA_CHAT)[-1]["text"] == "Thank you!"
    assert [(m.address, m.text) for m in inbound(rt)] == [(str(ADA_CHAT), "3"), (str(ADA_CHAT), text)]


def test_the_other_thumb_while_the_comment_is_awaited_changes_the_score(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    question = survey(rt, client, auth, telegram, kind="thumbs")
    post_update(client, telegram.click_update(ADA_CHAT, question, "\N{THUMBS UP SIGN} Yes"))
    assert telegram.messages(ADA_CHAT)[-1]["text"] == "Great! What did you like most?"
    post_update(client, telegram.click_update(ADA_CHAT, question, "\N{THUMBS DOWN SIGN} No"))
    response = one(rt, Response)
    assert (response.score, response.band, response.comment) == (0, "detractor", None)
    assert telegram.messages(ADA_CHAT)[-1]["text"].endswith("Sorry about that. What went wrong?")


def test_a_typed_reply_follows_the_reply_rules(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    survey(rt, client, auth, telegram, ask="never")
    post_update(client, telegram.text_update(ADA_CHAT, "meh"))
    assert telegram.messages(ADA_CHAT)[-1]["text"].startswith("Sorry, we didn't catch that")
    post_update(client, telegram.text_update(ADA_CHAT, "9 - quick and friendly"))
    response = one(rt, Response)
    assert (response.score, response.comment) == (9, "quick and friendly")
    assert telegram.messages(ADA_CHAT)[-1]["text"] == "Thank you!"


def test_a_redelivered_update_changes_nothing(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    question = survey(rt, client, auth, telegram)
    click = telegram.click_update(ADA_CHAT, question, "8")
    comment = telegram.text_update(ADA_CHAT, "Fast delivery")
    for update in (click, click, comment, comment):
        assert post_update(client, update).status_code == 200
    response = one(rt, Response)
    assert (response.score, response.comment) == (8, "Fast delivery")
    assert [m["text"] for m in telegram.messages(ADA_CHAT)[1:]] == ["What would make it a 10?", "Thank you!"]
    assert len(inbound(rt)) == 2
    # The second answer to the same query is refused by Telegram; the update is still taken.
    assert [c.status for c in telegram.calls_to("answerCallbackQuery")] == [200, 400]


def test_a_click_on_a_closed_or_unknown_survey_says_so_and_counts_nothing(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    question = survey(rt, client, auth, telegram, ask="never")
    post_update(client, telegram.click_update(ADA_CHAT, question, "9"))
    assert one(rt, Delivery).status == "completed"
    late = telegram.click_update(ADA_CHAT, question, "2")
    post_update(client, late)
    forged = telegram.click_update(ADA_CHAT, question, "2")
    forged["callback_query"]["data"] = "s:no-such-token:2"
    post_update(client, forged)
    assert one(rt, Response).score == 9
    closed = "This survey has closed. Thank you all the same."
    notices = [c.params.get("text") for c in telegram.calls_to("answerCallbackQuery")]
    assert notices == [None, closed, closed]
    assert [m.kind for m in inbound(rt)] == ["answer", "late"]


def test_telegrams_documented_updates_are_read_where_telegram_puts_things(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    """The guide's callback query has no `message` (a button under an inline-mode message): the chat is the
    person's own. With our button's data in it, it answers Ada's survey; with its own data it is not ours."""
    survey(rt, client, auth, telegram, ask="never")
    documented = json.loads((FIXTURES / "callback_query.json").read_text(encoding="utf-8"))
    assert post_update(client, documented).status_code == 200
    assert inbound(rt) == []
    documented["callback_query"]["from"]["id"] = ADA_CHAT
    documented["callback_query"]["data"] = f"s:{one(rt, Delivery).token}:10"
    documented["update_id"] += 1
    assert post_update(client, documented).status_code == 200
    assert one(rt, Response).score == 10
    assert [(m.address, m.provider_message_id) for m in inbound(rt)] == [
        (str(ADA_CHAT), "callback:4382bfdwdsb323b2d9")]


# --- the secret and malformed updates ---------------------------------------------------------------------


def test_an_update_without_the_right_secret_is_refused_and_nothing_is_stored(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    question = survey(rt, client, auth, telegram)
    click = telegram.click_update(ADA_CHAT, question, "9")
    for secret in (None, "", "wrong-secret", "WEBHOOK-SECRET_FOR-TESTS-7F3A9C", "webhook-secret_for-tests-7f3a9c "):
        response = post_update(client, click, secret=secret)
        assert response.status_code == 403
        assert "X-Telegram-Bot-Api-Secret-Token" in response.get_json()["error"]["message"]
    assert inbound(rt) == [] and all_of(rt, Response) == []
    assert telegram.calls_to("answerCallbackQuery") == [] and len(telegram.messages(ADA_CHAT)) == 1


@pytest.mark.parametrize(("body", "field"), [
    ("not json", "body"),
    ('{"update_id": NaN}', "body"),
    ("[]", "body"),
    ("{}", "update_id"),
    ('{"update_id": "1"}', "update_id"),
    ('{"update_id": true}', "update_id"),
    ('{"update_id": 1, "message": "hi"}', "message"),
    ('{"update_id": 1, "message": {"message_id": 1, "text": "9"}}', "message.chat"),
    ('{"update_id": 1, "message": {"message_id": 1, "chat": {"id": "1"}, "text": "9"}}', "message.chat.id"),
    ('{"update_id": 1, "message": {"chat": {"id": 1}, "text": "9"}}', "message.message_id"),
    ('{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "text": 9}}', "message.text"),
    ('{"update_id": 1, "callback_query": {"from": {"id": 1}, "data": "x"}}', "callback_query.id"),
    ('{"update_id": 1, "callback_query": {"id": "q", "data": "x"}}', "callback_query.from"),
    ('{"update_id": 1, "callback_query": {"id": "q", "from": {"id": 1}, "data": 5}}', "callback_query.data"),
    ('{"update_id": 1, "callback_query": {"id": "q", "from": {"id": 1}, "message": {"chat": {}}}}',
     "callback_query.message.chat.id"),
])
def test_a_malformed_update_is_a_400_naming_the_field(
    rt: Runtime, client: FlaskClient, telegram: FakeTelegram, body: str, field: str
) -> None:
    response = client.post("/webhooks/telegram", data=body, content_type="application/json",
                           headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field
    assert inbound(rt) == []


def test_updates_we_do_not_read_are_taken_and_ignored(rt: Runtime, client: FlaskClient, telegram: FakeTelegram) -> None:
    sticker = telegram.text_update(ADA_CHAT, "x")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {"file_id": "CAACAgIAAxkBAAE", "width": 512, "height": 512}
    edited = {"update_id": 5, "edited_message": telegram.text_update(ADA_CHAT, "9")["message"]}
    for update in (sticker, edited):
        assert post_update(client, update).status_code == 200
    assert inbound(rt) == []


# --- /stop, /start and chats nobody linked -------------------------------------------------------------------


def test_stop_opts_out_of_telegram_and_start_opts_back_in(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    survey(rt, client, auth, telegram)
    assert post_update(client, telegram.text_update(ADA_CHAT, "/stop")).status_code == 200
    assert telegram.messages(ADA_CHAT)[-1]["text"].startswith("You're unsubscribed")
    assert one(rt, Delivery).status == "cancelled"
    consent = one(rt, ChannelConsent)
    assert (consent.channel, consent.opted_out_at is not None) == ("telegram", True)

    sent_before = len(telegram.messages(ADA_CHAT))
    body = post_event(client, auth, key="evt-2")
    assert [d["channel"] for d in body["deliveries"]] == ["email"]  # the flow's next channel
    tick(rt)
    assert len(telegram.messages(ADA_CHAT)) == sent_before

    response = post_update(client, telegram.text_update(ADA_CHAT, "/start"))
    assert response.status_code == 200 and response.data == b""  # the engine answered; no greeting
    assert telegram.messages(ADA_CHAT)[-1]["text"].startswith("You're subscribed again")
    assert one(rt, ChannelConsent).opted_out_at is None
    body = post_event(client, auth, key="evt-3")
    assert [d["channel"] for d in body["deliveries"]] == ["telegram"]
    tick(rt)
    assert "reply_markup" in telegram.messages(ADA_CHAT)[-1]


def test_stop_naming_the_bot_in_a_group_is_still_stop(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    survey(rt, client, auth, telegram)
    post_update(client, telegram.text_update(ADA_CHAT, "/stop@touchpoint_survey_bot"))
    assert one(rt, Delivery).status == "cancelled"
    assert [m.text for m in inbound(rt)] == ["/stop"]


def test_start_from_a_chat_no_contact_has_is_greeted_in_the_webhooks_answer(
    rt: Runtime, client: FlaskClient, telegram: FakeTelegram
) -> None:
    """Telegram's own /start example: nobody has this chat, so the engine says nothing; the greeting goes back
    in the webhook's answer (Telegram sends it once) and tells the chat's id, which is how it gets linked."""
    documented = json.loads((FIXTURES / "message_text.json").read_text(encoding="utf-8"))
    response = post_update(client, documented)
    assert response.status_code == 200
    greeting = response.get_json()
    assert (greeting["method"], greeting["chat_id"]) == ("sendMessage", 1111111)
    assert "only to chats that are linked to a customer account" in greeting["text"]
    assert "1111111" in greeting["text"]
    [stored] = inbound(rt)
    assert (stored.address, stored.text, stored.kind, stored.contact_id) == ("1111111", "/start", "unmatched", None)


def test_a_deep_link_start_is_start_and_the_greeting_speaks_the_persons_language(
    rt: Runtime, client: FlaskClient, telegram: FakeTelegram
) -> None:
    telegram.add_person(424242, "Grace", language_code="es")
    response = post_update(client, telegram.text_update(424242, "/start campaign-7"))
    assert response.get_json()["text"].startswith("¡Hola!")
    assert [m.text for m in inbound(rt)] == ["/start"]


# --- Telegram's errors -----------------------------------------------------------------------------------------


def test_flood_control_holds_the_whole_bot_for_retry_after_across_workers(
    rt: Runtime, client: FlaskClient, auth: dict, database_url: str, telegram: FakeTelegram
) -> None:
    """Telegram's 429 names how long to wait; the wait is written to the shared pace table, so no worker sends
    on this bot before it is over, and the survey then goes out once."""
    install_flow(rt, telegram_flow())
    telegram.rate_limit_next("sendMessage", retry_after=3)
    post_event(client, auth)
    tick(rt)
    delivery = one(rt, Delivery)
    assert delivery.status == "scheduled" and "Telegram sendMessage 429" in (delivery.last_error or "")
    pace = one(rt, SenderPace)
    held_until = pace.next_at
    assert pace.sender == "telegram"

    other = create_app(make_settings(database_url, sandbox="on"))  # a second worker on the same database
    try:
        assert [tick(worker).sent for worker in (rt, other.extensions["touchpoint"])] == [0, 0]
        assert telegram.arrived("sendMessage") == 1
        eventually(lambda: tick(rt).sent)
    finally:
        other.extensions["touchpoint"].engine.dispose()
    delivery = one(rt, Delivery)
    assert delivery.status == "sent" and delivery.sent_at is not None and delivery.sent_at >= held_until
    assert [c.status for c in telegram.calls_to("sendMessage")] == [429, 200]
    assert len(telegram.messages(ADA_CHAT)) == 1


def test_a_server_error_is_retried_and_the_survey_goes_out_once(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    install_flow(rt, telegram_flow())
    telegram.fail_next("sendMessage", 502, "Bad Gateway")
    post_event(client, auth)
    tick(rt)
    assert one(rt, Delivery).status == "scheduled"
    tick(rt)
    assert one(rt, Delivery).status == "sent" and len(telegram.messages(ADA_CHAT)) == 1


def test_a_person_who_blocked_the_bot_is_opted_out_and_gets_the_next_channel(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    install_flow(rt, telegram_flow())
    telegram.block(ADA_CHAT)
    post_event(client, auth)
    tick(rt)
    tick(rt)  # the next channel's turn
    delivery, consent = one(rt, Delivery), one(rt, ChannelConsent)
    assert (delivery.channel, delivery.status) == ("email", "sent")
    assert (consent.channel, consent.source, consent.opted_out_at is not None) == ("telegram", "provider", True)
    body = post_event(client, auth, key="evt-2")
    assert [d["channel"] for d in body["deliveries"]] == ["email"]


def test_a_chat_that_never_started_the_bot_moves_the_survey_to_the_next_channel(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    install_flow(rt, telegram_flow())
    post_event(client, auth, contact={**ADA, "addresses": {"telegram_chat_id": "999000111"}})
    tick(rt)
    tick(rt)
    delivery = one(rt, Delivery)
    assert (delivery.channel, delivery.status) == ("email", "sent")
    trail = [c.detail or "" for c in all_of(rt, StatusChange)]
    assert any("chat not found" in detail for detail in trail)
    assert all_of(rt, ChannelConsent) == []


def test_a_question_telegram_does_not_answer_in_time_is_unknown_and_never_sent_twice(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    install_flow(rt, telegram_flow())
    telegram.hang_next("sendMessage", seconds=30)  # past the client's 2 s; the double lets go when it stops
    post_event(client, auth)
    caplog.set_level(logging.INFO)
    tick(rt)
    delivery = one(rt, Delivery)
    assert delivery.status == "unknown"
    tick(rt)
    assert telegram.arrived("sendMessage") == 1
    assert "no answer within 2s (ReadTimeout)" in caplog.text


def test_an_agents_reply_to_a_case_reaches_the_customers_chat(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram
) -> None:
    question = survey(rt, client, auth, telegram, ask="never", extra=DETRACTORS_TO_RECOVERY)
    post_update(client, telegram.click_update(ADA_CHAT, question, "2"))
    case = one(rt, FollowUp)
    text = "Sorry Ada, we have refunded your delivery fee."
    assert client.post(f"/api/v1/followups/{case.id}/reply", json={"text": text}, headers=auth).status_code == 200
    reply = telegram.messages(ADA_CHAT)[-1]
    assert reply["text"] == text and "reply_markup" not in reply


# --- the token --------------------------------------------------------------------------------------------------


def test_the_bot_token_reaches_no_log_line_and_no_stored_error(
    rt: Runtime, client: FlaskClient, auth: dict, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    install_flow(rt, telegram_flow(channels="[telegram]"))
    telegram.rate_limit_next("sendMessage", retry_after=1)
    post_event(client, auth, key="evt-1")
    tick(rt)
    telegram.fail_next("sendMessage", 500, "Internal Server Error")
    eventually(lambda: tick(rt).sent == 0 and telegram.arrived("sendMessage") == 2)
    question = eventually(lambda: tick(rt).sent and telegram.messages(ADA_CHAT)[-1])
    telegram.fail_next("sendMessage", 400, "Bad Request: message is too long")
    post_update(client, telegram.click_update(ADA_CHAT, question, "5"))
    post_update(client, telegram.text_update(ADA_CHAT, "/stop"), secret="forged")

    token = telegram.token
    with rt.session() as session:
        stored = [d.last_error for d in session.exec(select(Delivery)).all()]
        stored += [c.detail for c in session.exec(select(StatusChange)).all()]
        stored += [m.error for m in session.exec(select(Message)).all()]
    assert any("Telegram sendMessage 429" in (text or "") for text in stored)
    assert any("Telegram sendMessage 400: Bad Request: message is too long" in (text or "") for text in stored)
    assert not any(token in (text or "") for text in stored)
    assert token not in caplog.text and token.split(":")[1] not in caplog.text
