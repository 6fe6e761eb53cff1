"""SMS by Twilio. Until its credentials are configured the sandbox transport carries the messages."""

from __future__ import annotations

from channels.base import Channel, Recipient


class SmsChannel(Channel):
    name = "sms"

    def address(self, recipient: Recipient) -> str | None:
        return recipient.phone
