"""The part of a channel that SMS and WhatsApp share on Twilio."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint

from channels.base import Channel, Inbox, Transport
from channels.twilio.transport import TwilioTransport, config_from_env
from channels.twilio.webhooks import webhooks


class TwilioChannel(Channel):
    """SMS and WhatsApp share everything but their name and address; see channels/sms/ and channels/whatsapp/."""

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        transport = self.transport
        return webhooks(self.name, transport, inbox) if isinstance(transport, TwilioTransport) else None

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        config = config_from_env(env, public_url, cls.name)
        return TwilioTransport(config, cls.name) if config else None
