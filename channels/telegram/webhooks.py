"""Telegram's updates to us: a click on a score button, and a typed message (/start and /stop included).

Every update must carry TELEGRAM_WEBHOOK_SECRET in X-Telegram-Bot-Api-Secret-Token (Telegram sends back the
secret_token given to setWebhook); without it the answer is 403 and nothing is read or stored. Telegram
redelivers an update until it gets a 2xx: a typed message is stored once per chat and message id, a click
once per callback query id, so a redelivery changes nothing. A malformed update gets 400 naming the field;
kinds of update we do not subscribe to get 200 and are ignored.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request

from channels.base import ChannelError, Inbound, Inbox, ReplyMode
from channels.telegram import texts
from channels.telegram.keyboard import parse_callback
from channels.telegram.transport import WEBHOOK_PATH, NoAnswer, TelegramTransport
from flows.inputs import storable, strict_json

log = logging.getLogger("touchpoint.telegram")

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
COMMANDS = ("/start", "/stop", "/help")  # read as the keywords START, STOP and HELP by the reply rules
_GREETED = ("/start", "/help")


class UpdateError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Click:
    """A press on one of our inline buttons (or on a button we do not know: `data` tells)."""

    query_id: str
    chat_id: int
    data: str | None
    language: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class Typed:
    chat_id: int
    message_id: int
    text: str
    language: str | None
    raw: dict[str, Any]


class ReplyWatch:
    """Which chats the engine wrote to while this thread handled an update (the channel notes its sends), so
    /start can tell whether the engine answered it: the engine says nothing to a chat it does not know."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextmanager
    def watching(self) -> Iterator[set[str]]:
        self._local.chats = chats = set()
        try:
            yield chats
        finally:
            self._local.chats = None

    def note(self, chat: str) -> None:
        chats = getattr(self._local, "chats", None)
        if chats is not None:
            chats.add(chat)


def webhooks(transport: TelegramTransport, inbox: Inbox, watch: ReplyWatch) -> Blueprint:
    bp = Blueprint("telegram", __name__)
    secret = transport.config.webhook_secret.encode()

    @bp.post(WEBHOOK_PATH)
    def receive_update() -> Response | tuple[Response | str, int]:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret):
            log.warning("rejected a Telegram update without the webhook secret from %s", request.remote_addr)
            return jsonify(error={"message": f"missing or wrong {SECRET_HEADER}"}), 403
        try:
            update = parse_update(storable(strict_json(request.get_data())))
        except UpdateError as problem:
            return jsonify(error={"field": problem.field, "message": problem.reason}), 400
        except ValueError:
            return jsonify(error={"field": "body", "message": "must be a Telegram Update in JSON"}), 400
        if isinstance(update, Click):
            click(update)
        elif isinstance(update, Typed):
            greeting = typed(update)
            if greeting is not None:
                return jsonify(greeting), 200
        return "", 200

    def click(update: Click) -> None:
        """The score as the customer's reply to the survey the button names; then the spinner stops, with a
        notice when the survey is closed or unknown."""
        answer = parse_callback(update.data) if update.data is not None else None
        if answer is None:
            answer_callback(update.query_id, None)
            return
        token, text = answer
        view = inbox.survey(token)
        inbound = Inbound(CHANNEL, str(update.chat_id), text, f"callback:{update.query_id}", update.raw)
        taken = inbox.reply_by_token(token, inbound)
        closed = not (taken and view is not None and view.open)
        locale = view.locale if view is not None else update.language
        answer_callback(update.query_id, texts.text("closed", locale) if closed else None)

    def answer_callback(query_id: str, notice: str | None) -> None:
        try:
            transport.answer_callback(query_id, notice)
        except (ChannelError, NoAnswer) as failure:  # the click is stored; only the spinner keeps turning
            log.info("could not answer a Telegram callback query: %s", failure)

    def typed(update: Typed) -> dict[str, Any] | None:
        """Through the reply rules like an SMS; /start and /help that the engine left unanswered get a greeting
        in the webhook's own answer, which Telegram carries out once (a redelivery replaces a lost answer)."""
        text, command = read_command(update.text)
        chat = str(update.chat_id)
        inbound = Inbound(CHANNEL, chat, text, f"{chat}:{update.message_id}", update.raw)
        with watch.watching() as answered:
            inbox.receive(inbound, ReplyMode.SEND)
        if command not in _GREETED or chat in answered:
            return None
        return {"method": "sendMessage", "chat_id": update.chat_id,
                "text": texts.text("welcome", update.language, chat_id=update.chat_id)}

    return bp


def read_command(text: str) -> tuple[str, str | None]:
    """/start, /stop and /help as the keywords they stand for, whatever follows them (a deep link's payload)
    or names the bot (`/stop@survey_bot` in a group); any other text is the customer's, unchanged."""
    words = text.strip().split(maxsplit=1)
    if not words or not words[0].startswith("/"):
        return text, None
    command = words[0].partition("@")[0].lower()
    return (command, command) if command in COMMANDS else (text, None)


def parse_update(update: Any) -> Click | Typed | None:
    """What an update asks of us; None for kinds we ignore (edits, media without a caption, other bots)."""
    if not isinstance(update, dict):
        raise UpdateError("body", "must be a Telegram Update (a JSON object)")
    _integer(update, "update_id", "update_id")
    if "callback_query" in update:
        return _click(_object(update, "callback_query", "callback_query"), update)
    if "message" in update:
        return _typed(_object(update, "message", "message"), update)
    return None


def _click(query: dict[str, Any], update: dict[str, Any]) -> Click:
    query_id = query.get("id")
    if not isinstance(query_id, str) or not query_id:
        raise UpdateError("callback_query.id", "must be a non-empty string")
    sender = _object(query, "from", "callback_query.from")
    chat_id = _integer(sender, "id", "callback_query.from.id")
    if query.get("message") is not None:  # absent for a button under an inline-mode message
        message = _object(query, "message", "callback_query.message")
        chat_id = _integer(_object(message, "chat", "callback_query.message.chat"), "id",
                           "callback_query.message.chat.id")
    data = query.get("data")
    if data is not None and not isinstance(data, str):
        raise UpdateError("callback_query.data", "must be a string")
    return Click(query_id, chat_id, data, _language(sender), update)


def _typed(message: dict[str, Any], update: dict[str, Any]) -> Typed | None:
    message_id = _integer(message, "message_id", "message.message_id")
    chat_id = _integer(_object(message, "chat", "message.chat"), "id", "message.chat.id")
    field = "text" if "text" in message else "caption"
    text = message.get(field)
    if text is None:
        return None
    if not isinstance(text, str):
        raise UpdateError(f"message.{field}", "must be a string")
    sender = message.get("from")
    sender = sender if isinstance(sender, dict) else {}
    if sender.get("is_bot") is True:
        return None
    return Typed(chat_id, message_id, text, _language(sender), update)


def _object(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise UpdateError(path, "must be an object")
    return value


def _integer(parent: dict[str, Any], key: str, path: str) -> int:
    value = parent.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise UpdateError(path, "must be an integer")
    return value


def _language(sender: dict[str, Any]) -> str | None:
    language = sender.get("language_code")
    return language if isinstance(language, str) else None
