"""Talking to the Bot API: settings, the chat id a contact keeps, and what each of Telegram's answers means for a
send. No database: the transport alone against the double, with the token it would use in production."""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Iterator

import pytest

from channels.base import ChannelError, Outbound, Question
from channels.registry import normalize_address
from channels.telegram.transport import NoAnswer, TelegramTransport, config_from_env
from flows.questions import EndLabels, QuestionKind
from tests.channels.telegram.support import ADA_CHAT, SECRET, telegram_env
from tests.channels.telegram.telegram_api import FakeTelegram

PUBLIC_URL = "https://touchpoint.example.com"


def transport_for(telegram: FakeTelegram, **env: str) -> TelegramTransport:
    config = config_from_env(telegram_env(telegram, **env), PUBLIC_URL)
    assert config is not None
    return TelegramTransport(config)


def outbound(kind: str = "question", to: int = ADA_CHAT, text: str = "How likely are you to recommend us?") -> Outbound:
    question = Question(QuestionKind.NPS, EndLabels("Not at all likely", "Extremely likely"))
    return Outbound(channel="telegram", to=str(to), text=text, kind=kind, delivery_id=1,
                    question=question if kind == "question" else None, token="tok_" + "x" * 20, locale="en")


@pytest.fixture
def fresh_token_telegram() -> Iterator[FakeTelegram]:
    """A token no process has seen in its environment, so nothing but the channel itself can hide it."""
    with FakeTelegram(token=f"{secrets.randbelow(10**10)}:{secrets.token_urlsafe(26)}") as fake:
        fake.add_person(ADA_CHAT, "Ada")
        yield fake


# --- settings and addresses ------------------------------------------------------------------------------


def test_the_channel_is_configured_by_its_token_and_needs_the_webhook_secret() -> None:
    token = "123456789:AAE-token_value"
    assert config_from_env({}, PUBLIC_URL) is None
    config = config_from_env({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_WEBHOOK_SECRET": SECRET}, PUBLIC_URL + "/")
    assert config is not None
    assert (config.api_url, config.pace, config.timeout) == ("https://api.telegram.org", 25.0, 10.0)
    assert config.webhook_url == "https://touchpoint.example.com/webhooks/telegram"
    assert token not in repr(config) and SECRET not in repr(config)


@pytest.mark.parametrize(("env", "named"), [
    ({"TELEGRAM_BOT_TOKEN": "123456789:AAE-token_value"}, "TELEGRAM_WEBHOOK_SECRET is required"),
    ({"TELEGRAM_BOT_TOKEN": "not-a-token", "TELEGRAM_WEBHOOK_SECRET": SECRET}, "TELEGRAM_BOT_TOKEN does not look"),
    ({"TELEGRAM_BOT_TOKEN": "123456789:AAE-token_value", "TELEGRAM_WEBHOOK_SECRET": "has spaces!"},
     "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters"),
    ({"TELEGRAM_BOT_TOKEN": "123456789:AAE-token_value", "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_MPS": "fast"},
     "TELEGRAM_MPS must be a number"),
    ({"TELEGRAM_BOT_TOKEN": "123456789:AAE-token_value", "TELEGRAM_WEBHOOK_SECRET": SECRET,
      "TELEGRAM_TIMEOUT_SECONDS": "0"}, "TELEGRAM_TIMEOUT_SECONDS must be more than 0"),
])
def test_wrong_settings_are_refused_naming_the_variable_and_never_quoting_the_token(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError, match=named) as refused:
        config_from_env(env, PUBLIC_URL)
    assert "AAE-token_value" not in str(refused.value)


@pytest.mark.parametrize(("given", "stored"), [("123456789", "123456789"), (" 42 ", "42"),
                                                ("-1001234567890", "-1001234567890")])
def test_a_chat_id_is_a_whole_number_possibly_negative(given: str, stored: str) -> None:
    assert normalize_address("telegram_chat_id", given) == stored


@pytest.mark.parametrize("given", ["", "@ada_lovelace", "12.5", "0", "+123456", "1e9", "01234", "12345678901234567"])
def test_anything_else_is_not_a_chat_id(given: str) -> None:
    with pytest.raises(ValueError, match="not a Telegram chat id"):
        normalize_address("telegram_chat_id", given)


# --- Telegram's answers --------------------------------------------------------------------------------------


def test_a_question_goes_out_with_its_buttons_and_other_messages_as_plain_text(telegram: FakeTelegram) -> None:
    transport = transport_for(telegram)
    sent = transport.send(outbound())
    thanks = transport.send(outbound("thanks", text="Thank you!"))
    question, plain = telegram.messages(ADA_CHAT)
    assert sent.provider_message_id == f"{ADA_CHAT}:{question['message_id']}" and sent.transport == "telegram"
    assert len(question["reply_markup"]["inline_keyboard"]) == 2 and "reply_markup" not in plain
    assert thanks.provider_message_id == f"{ADA_CHAT}:{plain['message_id']}"
    assert telegram.calls_to("sendMessage")[0].params["link_preview_options"] == {"is_disabled": True}


@pytest.mark.parametrize(("status", "description", "permanent", "opted_out"), [
    (500, "Internal Server Error", False, False),
    (502, "Bad Gateway", False, False),
    (403, "Forbidden: bot was blocked by the user", True, True),
    (403, "Forbidden: bot was kicked from the group chat", True, True),
    (403, "Forbidden: user is deactivated", True, False),
    (400, "Bad Request: chat not found", True, False),
    (400, "Bad Request: message is too long", True, False),
])
def test_telegrams_errors_say_whether_to_retry_move_on_or_opt_out(
    telegram: FakeTelegram, status: int, description: str, permanent: bool, opted_out: bool
) -> None:
    telegram.fail_next("sendMessage", status, description)
    with pytest.raises(ChannelError) as failed:
        transport_for(telegram).send(outbound())
    error = failed.value
    assert (error.permanent, error.opted_out, error.code) == (permanent, opted_out, str(status))
    assert error.retry_after is None
    assert str(error) == f"Telegram sendMessage {status}: {description}"


def test_flood_control_is_a_temporary_error_carrying_telegrams_retry_after(telegram: FakeTelegram) -> None:
    telegram.rate_limit_next("sendMessage", retry_after=7)
    with pytest.raises(ChannelError) as failed:
        transport_for(telegram).send(outbound())
    assert (failed.value.permanent, failed.value.retry_after, failed.value.code) == (False, 7.0, "429")


def test_a_wrong_token_and_a_chat_that_never_started_the_bot_are_final(telegram: FakeTelegram) -> None:
    with pytest.raises(ChannelError) as wrong_token:
        transport_for(telegram, TELEGRAM_BOT_TOKEN="1:wrong").send(outbound())
    assert (wrong_token.value.code, wrong_token.value.permanent, str(wrong_token.value)) == (
        "401", True, "Telegram sendMessage 401: Unauthorized")
    with pytest.raises(ChannelError) as stranger:
        transport_for(telegram).send(outbound(to=987654321))
    assert (stranger.value.code, stranger.value.permanent) == ("400", True)


def test_no_answer_in_time_leaves_a_question_unknown_and_fails_anything_else(telegram: FakeTelegram) -> None:
    """The question may have arrived: the dispatcher must not send it again, so it is not a ChannelError. A
    thanks or a prompt is never retried anyway: it is recorded as failed."""
    transport = transport_for(telegram, TELEGRAM_TIMEOUT_SECONDS="0.3")
    telegram.hang_next("sendMessage")
    with pytest.raises(NoAnswer, match=r"no answer within 0.3s \(ReadTimeout\)"):
        transport.send(outbound())
    telegram.hang_next("sendMessage")
    with pytest.raises(ChannelError) as failed:
        transport.send(outbound("thanks", text="Thank you!"))
    assert (failed.value.code, failed.value.permanent) == ("no_answer", False)
    assert "it may have arrived" in str(failed.value)


def test_nobody_listening_is_a_temporary_error(telegram: FakeTelegram) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    transport = transport_for(telegram, TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}")
    with pytest.raises(ChannelError) as failed:
        transport.send(outbound())
    assert (failed.value.code, failed.value.permanent, str(failed.value)) == (
        "unavailable", False, "Telegram sendMessage: could not connect")


def test_a_text_longer_than_telegram_takes_is_refused_before_sending(telegram: FakeTelegram) -> None:
    with pytest.raises(ChannelError) as failed:
        transport_for(telegram).send(outbound("agent", text="x" * 4097))
    assert (failed.value.code, failed.value.permanent) == ("too_long", True)
    assert telegram.arrivals == []


def test_the_token_is_in_no_log_line_and_no_error_text(
    fresh_token_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = fresh_token_telegram
    caplog.set_level(logging.DEBUG)
    transport = transport_for(telegram, TELEGRAM_TIMEOUT_SECONDS="0.3")
    transport.send(outbound())
    telegram.rate_limit_next("sendMessage", retry_after=2)
    telegram.fail_next("sendMessage", 500, "Internal Server Error")
    telegram.hang_next("sendMessage")
    failures: list[Exception] = []
    for _ in range(3):
        try:
            transport.send(outbound())
        except (ChannelError, NoAnswer) as failure:
            failures.append(failure)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    try:
        transport_for(telegram, TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}").send(outbound())
    except ChannelError as failure:
        failures.append(failure)
    assert len(failures) == 4
    assert "/bot***/sendMessage" in caplog.text  # the HTTP library's request line, with the token masked
    token = telegram.token
    for text in [caplog.text, *map(str, failures), *map(repr, failures)]:
        assert token not in text and token.split(":")[1] not in text
    for failure in failures:  # nor in what a traceback would print
        assert failure.__cause__ is None and (failure.__context__ is None or failure.__suppress_context__)
