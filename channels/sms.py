"""SMS through Twilio; the sandbox transport carries the messages until its credentials are set.

Environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and TWILIO_FROM (a number or short code) or
TWILIO_MESSAGING_SERVICE_SID; optional TWILIO_MPS, TWILIO_MAX_SEGMENTS, TWILIO_TIMEOUT_SECONDS,
TWILIO_API_BASE_URL. Webhooks: /webhooks/twilio/sms (inbound) and /webhooks/twilio/sms/status.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint

from channels.base import Channel, Inbox, Recipient, Transport
from channels.twilio import TwilioTransport, config_from_env, webhooks


class SmsChannel(Channel):
    name = "sms"

    def address(self, recipient: Recipient) -> str | None:
        return recipient.phone

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        return webhooks(self.name, self.transport, inbox) if isinstance(self.transport, TwilioTransport) else None

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        config = config_from_env(env, public_url, cls.name)
        return TwilioTransport(config, cls.name) if config else None
