"""Slack direct messages."""

from __future__ import annotations

from channels.base import Channel, Recipient


class SlackChannel(Channel):
    name = "slack"

    def address(self, recipient: Recipient) -> str | None:
        return recipient.slack_user_id
