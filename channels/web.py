"""The in-app pop-up: a pending survey waits for the contact's next page view."""

from __future__ import annotations

from channels.base import Channel, Recipient


class WebChannel(Channel):
    name = "web"

    def address(self, recipient: Recipient) -> str | None:
        return recipient.external_id
