"""The double answers as Telegram does, and the updates it builds have the shape of Telegram's own examples."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.channels.telegram.support import ADA_CHAT
from tests.channels.telegram.telegram_api import FakeTelegram

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def call(telegram: FakeTelegram, method: str, token: str | None = None, **params: object) -> requests.Response:
    return requests.post(f"{telegram.base_url}/bot{token or telegram.token}/{method}", json=params, timeout=5)


def test_a_wrong_token_is_401_and_an_unknown_method_404_in_telegrams_error_shape(telegram: FakeTelegram) -> None:
    wrong = call(telegram, "sendMessage", token="1:nope", chat_id=ADA_CHAT, text="hi")
    assert (wrong.status_code, wrong.json()) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    unknown = call(telegram, "sendTelepathy", chat_id=ADA_CHAT)
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")


def test_methods_are_case_insensitive_and_answers_carry_the_message(telegram: FakeTelegram) -> None:
    answer = call(telegram, "SENDMESSAGE", chat_id=str(ADA_CHAT), text="hi").json()
    assert answer["ok"] is True
    assert answer["result"]["chat"] == {"id": ADA_CHAT, "first_name": "Ada", "type": "private"}


def test_button_data_over_64_bytes_and_empty_texts_are_refused(telegram: FakeTelegram) -> None:
    keyboard = {"inline_keyboard": [[{"text": "9", "callback_data": "x" * 65}]]}
    too_long = call(telegram, "sendMessage", chat_id=ADA_CHAT, text="hi", reply_markup=keyboard)
    assert (too_long.status_code, too_long.json()["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    empty = call(telegram, "sendMessage", chat_id=ADA_CHAT, text=" ")
    assert empty.json()["description"] == "Bad Request: message text is empty"
    assert telegram.messages(ADA_CHAT) == []


def test_flood_control_answers_with_retry_after_in_parameters_and_header(telegram: FakeTelegram) -> None:
    telegram.rate_limit_next("sendMessage", retry_after=4)
    limited = call(telegram, "sendMessage", chat_id=ADA_CHAT, text="hi")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "4"
    assert limited.json() == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 4",
                              "parameters": {"retry_after": 4}}
    assert call(telegram, "sendMessage", chat_id=ADA_CHAT, text="hi").status_code == 200


def test_a_callback_query_is_answered_once(telegram: FakeTelegram) -> None:
    sent = call(telegram, "sendMessage", chat_id=ADA_CHAT, text="Pick",
                reply_markup={"inline_keyboard": [[{"text": "9", "callback_data": "s:t:9"}]]}).json()["result"]
    query_id = telegram.click_update(ADA_CHAT, sent, "9")["callback_query"]["id"]
    assert call(telegram, "answerCallbackQuery", callback_query_id=query_id).json() == {"ok": True, "result": True}
    again = call(telegram, "answerCallbackQuery", callback_query_id=query_id)
    assert again.status_code == 400 and "query is too old" in again.json()["description"]


def test_its_updates_have_the_fields_of_telegrams_examples(telegram: FakeTelegram) -> None:
    documented_message = json.loads((FIXTURES / "message_text.json").read_text(encoding="utf-8"))
    built = telegram.text_update(ADA_CHAT, "9")
    assert set(documented_message) == set(built)
    assert set(documented_message["message"]) <= set(built["message"])
    assert set(documented_message["message"]["chat"]) - {"last_name", "username"} <= set(built["message"]["chat"])

    sent = call(telegram, "sendMessage", chat_id=ADA_CHAT, text="Pick",
                reply_markup={"inline_keyboard": [[{"text": "9", "callback_data": "s:t:9"}]]}).json()["result"]
    documented_click = json.loads((FIXTURES / "callback_query.json").read_text(encoding="utf-8"))
    click = telegram.click_update(ADA_CHAT, sent, "9")
    assert set(documented_click) == set(click)
    assert set(documented_click["callback_query"]) - {"inline_message_id"} <= set(click["callback_query"])
    assert click["callback_query"]["message"]["chat"]["id"] == ADA_CHAT
