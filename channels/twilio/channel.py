"""The part of a channel that SMS and WhatsApp share on Twilio."""

from __future__ import annotations

from collections.abc import Mapping

import phonenumbers
from flask import Blueprint

from channels.base import Channel, Inbox, Transport
from channels.twilio.transport import TwilioTransport, config_from_env
from channels.twilio.webhooks import webhooks


class TwilioChannel(Channel):
    """SMS and WhatsApp share everything but their name and address; see channels/sms/ and channels/whatsapp/."""

    address_kind = "phone"

    @classmethod
    def normalize_address(cls, value: str) -> str:
        """E.164, or a ValueError that tells the caller how to write it."""
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            raise ValueError("not a phone number; use international format such as +447911123456") from None
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a valid phone number for its country")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        transport = self.transport
        return webhooks(self.name, transport, inbox) if isinstance(transport, TwilioTransport) else None

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        config = config_from_env(env, public_url, cls.name)
        return TwilioTransport(config, cls.name) if config else None
