"""Email: SMTP out, reply-by-email in."""

from __future__ import annotations

from channels.base import Channel, Recipient


class EmailChannel(Channel):
    name = "email"

    def address(self, recipient: Recipient) -> str | None:
        return recipient.email
