"""WhatsApp through Twilio's `whatsapp:` addresses, on the same adapter as SMS."""

from __future__ import annotations

from channels.base import Channel, Recipient


class WhatsAppChannel(Channel):
    name = "whatsapp"

    def address(self, recipient: Recipient) -> str | None:
        return f"whatsapp:{recipient.phone}" if recipient.phone else None
