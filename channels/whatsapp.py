"""WhatsApp through Twilio's `whatsapp:` addresses, on the same adapter as SMS.

Environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM (the WhatsApp-enabled number),
TWILIO_WHATSAPP_CONTENT_SID (an approved template whose {{1}} receives the text, used outside the
24-hour session window), optional TWILIO_WHATSAPP_MPS. Webhooks: /webhooks/twilio/whatsapp and
/webhooks/twilio/whatsapp/status.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint

from channels.base import Channel, Inbox, Recipient, Transport
from channels.twilio import TwilioTransport, config_from_env, webhooks


class WhatsAppChannel(Channel):
    name = "whatsapp"

    def address(self, recipient: Recipient) -> str | None:
        return f"whatsapp:{recipient.phone}" if recipient.phone else None

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        return webhooks(self.name, self.transport, inbox) if isinstance(self.transport, TwilioTransport) else None

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        config = config_from_env(env, public_url, cls.name)
        return TwilioTransport(config, cls.name) if config else None
