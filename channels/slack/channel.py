"""The Slack channel: a contact's Slack user (or their email, looked up), its transport and Slack's requests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask import Blueprint

from channels.base import CardPoster, Channel, Inbox, Recipient, Transport
from channels.slack.app import slack_blueprint
from channels.slack.transport import EMAIL_PREFIX, SlackTransport
from channels.slack.workspaces import Installations, config_from_env

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,63}$")


class SlackChannel(Channel):
    name = "slack"
    address_kind = "slack_user_id"
    _listeners: ThreadPoolExecutor | None = None

    @classmethod
    def normalize_address(cls, value: str) -> str:
        if not _USER_ID.match(value):
            raise ValueError("not a Slack user id; it looks like U0123ABCD")
        return value

    def address(self, recipient: Recipient) -> str | None:
        """The contact's Slack user, else their email (looked up); in the workspace their attributes name
        (`slack_team_id`) when several are installed."""
        email = recipient.addresses.get("email")
        who = recipient.addresses.get("slack_user_id") or (f"{EMAIL_PREFIX}{email}" if email else None)
        team = recipient.attributes.get("slack_team_id")
        if who and team:
            return f"{team}/{who}"
        return who

    def use_database(self, engine: sa.Engine) -> None:
        if isinstance(self.transport, SlackTransport):
            self.transport.installations = Installations(self.transport.config, engine)

    def card_poster(self) -> CardPoster | None:
        return self.transport if isinstance(self.transport, SlackTransport) else None

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        if not isinstance(self.transport, SlackTransport):
            return None
        transport = self.transport
        assert transport.installations is not None, "the Slack channel needs its database (Channel.use_database)"
        self._listeners = ThreadPoolExecutor(max_workers=16, thread_name_prefix="slack")
        return slack_blueprint(transport.config, transport.installations, inbox, self._listeners)

    def close(self) -> None:
        if self._listeners is not None:
            self._listeners.shutdown(wait=True)

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        config = config_from_env(env, public_url)
        return SlackTransport(config) if config else None
