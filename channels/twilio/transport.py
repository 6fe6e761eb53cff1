"""Twilio Programmable Messaging, shared by the SMS and WhatsApp channels: settings and sending through the API.

Messages that start on our side (surveys, reminders, an agent's reply, replies after a retried inbound) go
through the API; replies to an inbound message go back in the webhook's TwiML answer (webhooks.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels.base import ChannelError, Outbound, SendResult, Transport
from flows.gsm7 import segments, to_gsm7

OPTED_OUT = "21610"
WHATSAPP_SESSION = timedelta(hours=24)
_SHORT_CODE = re.compile(r"\d{5,6}")
_US_TOLL_FREE = re.compile(r"\+18(00|33|44|55|66|77|88)\d{7}")


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    sender: str | None
    messaging_service_sid: str | None
    public_url: str
    pace: float
    status_path: str
    api_base_url: str | None = None
    content_sid: str | None = None
    max_segments: int = 5
    timeout: float = 10.0

    def __repr__(self) -> str:  # never show the token in logs or tracebacks
        return f"TwilioConfig(account_sid={self.account_sid!r}, sender={self.sender!r}, pace={self.pace})"


def default_pace(sender: str | None, messaging_service_sid: str | None) -> float:
    """Messages per second Twilio takes from a sender: 1 for a long code, 3 for US toll-free, 100 for a
    short code, 10 for a Messaging Service (its real rate is the sum of its pool; set TWILIO_MPS)."""
    if messaging_service_sid:
        return 10.0
    if sender and _SHORT_CODE.fullmatch(sender):
        return 100.0
    if sender and _US_TOLL_FREE.fullmatch(sender):
        return 3.0
    return 1.0


def config_from_env(env: Mapping[str, str], public_url: str, channel: str) -> TwilioConfig | None:
    sid, token = env.get("TWILIO_ACCOUNT_SID"), env.get("TWILIO_AUTH_TOKEN")
    if channel == "whatsapp":
        sender, service, pace_var = env.get("TWILIO_WHATSAPP_FROM"), None, "TWILIO_WHATSAPP_MPS"
    else:
        sender, service, pace_var = env.get("TWILIO_FROM"), env.get("TWILIO_MESSAGING_SERVICE_SID"), "TWILIO_MPS"
    if not (sid and token and (sender or service)):
        return None
    pace = float(env[pace_var]) if env.get(pace_var) else (20.0 if channel == "whatsapp" else default_pace(
        sender, service))
    return TwilioConfig(
        account_sid=sid,
        auth_token=token,
        sender=sender,
        messaging_service_sid=service,
        public_url=public_url.rstrip("/"),
        pace=pace,
        status_path=f"/webhooks/twilio/{channel}/status",
        api_base_url=env.get("TWILIO_API_BASE_URL") or None,
        content_sid=env.get("TWILIO_WHATSAPP_CONTENT_SID") if channel == "whatsapp" else None,
        max_segments=int(env.get("TWILIO_MAX_SEGMENTS", "5")),
        timeout=float(env.get("TWILIO_TIMEOUT_SECONDS", "10")),
    )


class TwilioTransport(Transport):
    name = "twilio"

    def __init__(self, config: TwilioConfig, channel: str) -> None:
        self.config = config
        self.channel = channel
        self.pace = config.pace
        self.client = Client(config.account_sid, config.auth_token, http_client=TwilioHttpClient(
            timeout=config.timeout))
        if config.api_base_url:
            self.client.api.base_url = config.api_base_url.rstrip("/")

    def status_callback(self, our_message_id: int | None = None) -> str:
        url = self.config.public_url + self.config.status_path
        return f"{url}?message={our_message_id}" if our_message_id is not None else url

    def prepare(self, text: str) -> str:
        """The body as it will be sent: GSM-7 where possible, and within the segment limit."""
        body = to_gsm7(text) if self.channel == "sms" else text
        if self.channel == "sms" and segments(body) > self.config.max_segments:
            raise ChannelError(f"the text is {segments(body)} SMS segments; the limit is "
                               f"{self.config.max_segments} (TWILIO_MAX_SEGMENTS)", permanent=True, code="too_long")
        return body

    def send(self, message: Outbound) -> SendResult:
        params: dict[str, str] = {"to": message.to, "status_callback": self.status_callback()}
        if self.config.messaging_service_sid:
            params["messaging_service_sid"] = self.config.messaging_service_sid
        else:
            assert self.config.sender is not None
            prefix = "whatsapp:" if self.channel == "whatsapp" else ""
            params["from_"] = prefix + self.config.sender
        if self.channel == "whatsapp" and not _in_session(message):
            if not self.config.content_sid:
                raise ChannelError("outside WhatsApp's 24-hour window a template is needed; set "
                                   "TWILIO_WHATSAPP_CONTENT_SID", permanent=True, code="63016")
            params["content_sid"] = self.config.content_sid
            params["content_variables"] = json.dumps({"1": message.text})
        else:
            params["body"] = self.prepare(message.text)
        try:
            created = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise _channel_error(exc) from None
        except requests.ConnectionError as exc:
            # Nothing reached Twilio, so a retry cannot double-send. A read timeout is not caught: Twilio
            # may have taken the message, so the dispatcher marks the delivery unknown and never resends.
            raise ChannelError(f"could not reach Twilio: {type(exc).__name__}") from None
        return SendResult(provider_message_id=created.sid, transport=self.name)


def _in_session(message: Outbound) -> bool:
    last = message.last_inbound_at
    return last is not None and datetime.now(UTC) - last < WHATSAPP_SESSION


def _channel_error(exc: TwilioRestException) -> ChannelError:
    code = str(exc.code) if exc.code is not None else None
    text = f"Twilio {exc.status} {code}: {exc.msg}"
    if code == OPTED_OUT:
        return ChannelError(text, code=code, opted_out=True)
    if exc.status == 429 or code == "20429":
        return ChannelError(text, code=code, retry_after=1.0)
    if exc.status >= 500:
        return ChannelError(text, code=code)
    return ChannelError(text, code=code, permanent=True)
