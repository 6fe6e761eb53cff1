"""The sandbox transport: sends nothing, so Touchpoint runs on a fresh machine with no accounts.

The dispatcher stores every outbound message, so the sandbox's "inbox" is simply the message table.
A few reserved addresses let tests and demos provoke provider failures without a provider.
"""

from __future__ import annotations

import re
import uuid

from channels.base import ChannelError, Outbound, SendResult, Transport

# "tempfail-2@example.com" or "+1500555tempfail2"-style: fail the first N attempts, then succeed.
_TEMPFAIL = re.compile(r"tempfail-?(\d+)", re.IGNORECASE)
_PERMFAIL = re.compile(r"permfail", re.IGNORECASE)
# Twilio's documented magic test number for an invalid destination.
_INVALID_NUMBERS = {"+15005550001"}


class SandboxTransport(Transport):
    name = "sandbox"

    def send(self, message: Outbound) -> SendResult:
        if _PERMFAIL.search(message.to) or message.to.removeprefix("whatsapp:") in _INVALID_NUMBERS:
            raise ChannelError("sandbox: recipient rejected", permanent=True, code="invalid_recipient")
        failing = _TEMPFAIL.search(message.to)
        if failing and message.attempt <= int(failing.group(1)):
            raise ChannelError("sandbox: provider unavailable, try again", code="unavailable")
        return SendResult(provider_message_id=f"sb-{uuid.uuid4().hex}", transport=self.name)
