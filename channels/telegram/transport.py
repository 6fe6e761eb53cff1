"""Telegram's Bot API over HTTPS: settings, the calls Touchpoint makes, and what Telegram's errors mean.

Environment: TELEGRAM_BOT_TOKEN (from @BotFather) and TELEGRAM_WEBHOOK_SECRET (always, with the token);
TELEGRAM_MPS (messages per second for the whole bot, default 25), TELEGRAM_TIMEOUT_SECONDS (default 10),
TELEGRAM_API_BASE_URL (default https://api.telegram.org: a proxy, a local Bot API server, or a test double).

The bot token is part of every request's URL (`/bot<token>/sendMessage`), so no error text of ours quotes a
URL or a library's exception, and the HTTP library's own log lines have the token masked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from channels.base import ChannelError, Outbound, SendResult, Transport
from channels.telegram.keyboard import question_markup, question_text

log = logging.getLogger("touchpoint.telegram")

DEFAULT_API_URL = "https://api.telegram.org"
WEBHOOK_PATH = "/webhooks/telegram"
ALLOWED_UPDATES = ("message", "callback_query")
MAX_TEXT = 4096  # characters in one message
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts as secret_token
# The chat does not want the bot: the customer blocked it, or a group removed it. Opt the contact out.
_UNSUBSCRIBED = re.compile(r"bot was blocked by the user|bot was kicked", re.IGNORECASE)
_TOKEN_IN_PATH = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


class _MaskBotTokens(logging.Filter):
    """urllib3 logs each request's path at DEBUG, and its retries at WARNING: the bot token is in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN_IN_PATH.search(message):
            record.msg, record.args = _TOKEN_IN_PATH.sub("/bot***", message), None
        return True


for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", log.name):
    logging.getLogger(_name).addFilter(_MaskBotTokens())


class NoAnswer(Exception):
    """Telegram did not answer in time (or not readably): the message may have reached the customer.

    Deliberately not a ChannelError: the dispatcher then marks a survey question `unknown` instead of sending
    it a second time, as it does for a Twilio read timeout.
    """


@dataclass(frozen=True)
class TelegramConfig:
    bot_token: str
    webhook_secret: str
    public_url: str
    api_url: str = DEFAULT_API_URL
    pace: float = 25.0
    timeout: float = 10.0

    @property
    def webhook_url(self) -> str:
        return self.public_url + WEBHOOK_PATH

    def __repr__(self) -> str:  # the token and the secret stay out of logs and tracebacks
        return f"TelegramConfig(api_url={self.api_url!r}, public_url={self.public_url!r}, pace={self.pace})"


def config_from_env(env: Mapping[str, str], public_url: str) -> TelegramConfig | None:
    """The settings when TELEGRAM_BOT_TOKEN is set; a ValueError naming the variable when one is wrong."""
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        return None
    if not _TOKEN.fullmatch(token):
        raise ValueError("TELEGRAM_BOT_TOKEN does not look like a bot token from @BotFather (123456789:AA...)")
    secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if not secret:
        raise ValueError("TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_BOT_TOKEN: it proves an update "
                         "comes from Telegram")
    if not _SECRET.fullmatch(secret):
        raise ValueError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters among A-Z, a-z, 0-9, _ and - "
                         "(Telegram's rule for a webhook's secret_token)")
    return TelegramConfig(
        bot_token=token,
        webhook_secret=secret,
        public_url=public_url.rstrip("/"),
        api_url=(env.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_URL).rstrip("/"),
        pace=_positive(env, "TELEGRAM_MPS", 25.0),
        timeout=_positive(env, "TELEGRAM_TIMEOUT_SECONDS", 10.0),
    )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not value > 0:
        raise ValueError(f"{name} must be more than 0")
    return value


class TelegramTransport(Transport):
    name = "telegram"

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config
        self.pace = config.pace
        self._session = requests.Session()
        self._session.mount(config.api_url, HTTPAdapter(pool_maxsize=16))

    def send(self, message: Outbound) -> SendResult:
        """sendMessage: a survey question or reminder with a button per answer, anything else as plain text.

        A question sent once and unanswered is left `unknown` (NoAnswer); any other message is never retried,
        so a timeout is simply its failure.
        """
        params: dict[str, Any] = {"chat_id": _chat_id(message.to), "text": message.text,
                                  "link_preview_options": {"is_disabled": True}}
        if message.question is not None and message.token and message.kind in ("question", "reminder"):
            params["text"] = question_text(message.text, message.question.kind, message.question.labels)
            params["reply_markup"] = question_markup(message.question.kind, message.token, message.locale)
        if len(params["text"]) > MAX_TEXT:
            raise ChannelError(f"the text is {len(params['text'])} characters; Telegram takes {MAX_TEXT}",
                               permanent=True, code="too_long")
        try:
            sent = self.call("sendMessage", params)
        except NoAnswer as unclear:
            if message.kind == "question":
                raise
            raise ChannelError(f"{unclear}; it may have arrived", code="no_answer") from None
        chat = sent.get("chat") if isinstance(sent, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else message.to
        message_id = sent.get("message_id") if isinstance(sent, dict) else None
        return SendResult(provider_message_id=f"{chat_id}:{message_id}", transport=self.name)

    def answer_callback(self, callback_query_id: str, text: str | None = None) -> None:
        """Ends the button's spinner; `text`, when given, shows as a short notice over the chat."""
        params: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            params["text"] = text[:200]
        self.call("answerCallbackQuery", params)

    def set_webhook(self) -> None:
        """Point Telegram at our webhook, with the secret it must send back on every update."""
        self.call("setWebhook", {"url": self.config.webhook_url, "secret_token": self.config.webhook_secret,
                                 "allowed_updates": list(ALLOWED_UPDATES)})

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """One Bot API method; its `result`, or ChannelError / NoAnswer. Never says the URL (it holds the token)."""
        url = f"{self.config.api_url}/bot{self.config.bot_token}/{method}"
        try:
            response = self._session.post(url, json=params, timeout=self.config.timeout)
        except requests.ConnectTimeout:
            raise ChannelError(f"Telegram {method}: no connection within {self.config.timeout:g}s",
                               code="unavailable") from None
        except requests.ConnectionError:
            raise ChannelError(f"Telegram {method}: could not connect", code="unavailable") from None
        except requests.RequestException as error:
            raise NoAnswer(f"Telegram {method}: no answer within {self.config.timeout:g}s "
                           f"({type(error).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if response.status_code < 400:
                raise NoAnswer(f"Telegram {method}: HTTP {response.status_code} without a JSON answer")
            body = {}
        if body.get("ok") is True:
            return body.get("result")
        raise _channel_error(method, response, body)


def _chat_id(address: str) -> int | str:
    try:
        return int(address)
    except ValueError:
        return address


def _channel_error(method: str, response: requests.Response, body: dict[str, Any]) -> ChannelError:
    """Flood control waits for the whole bot, 5xx retries, a blocked bot opts the contact out, the rest is final."""
    status = response.status_code
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
    description = str(body.get("description") or f"HTTP {status}")[:200]
    text = f"Telegram {method} {code}: {description}"
    if code == 429 or status == 429:
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        return ChannelError(text, code="429", retry_after=_seconds(parameters.get("retry_after"),
                                                                   response.headers.get("Retry-After")))
    if code >= 500 or status >= 500:
        return ChannelError(text, code=str(code))
    if code == 403 and _UNSUBSCRIBED.search(description):
        return ChannelError(text, code="403", opted_out=True)
    return ChannelError(text, code=str(code), permanent=True)


def _seconds(*candidates: Any) -> float:
    for value in candidates:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if seconds > 0:
            return seconds
    return 1.0
