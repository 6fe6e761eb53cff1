"""Slack: surveys by direct message with a button per score, and the support team's alert cards.

Environment: SLACK_SIGNING_SECRET (always), and SLACK_BOT_TOKEN for one workspace and/or SLACK_CLIENT_ID +
SLACK_CLIENT_SECRET for installs through OAuth (/slack/install); SLACK_SCOPES, SLACK_MPS (messages per second
for the whole app, default 5), SLACK_TIMEOUT_SECONDS, SLACK_API_BASE_URL (a proxy, or a local double in tests).
Workspace tokens installed through OAuth live in our database (slack_sdk's SQLAlchemy stores, migration 0007).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from channels.base import CaseView, ChannelError, Outbound, SendResult, Transport
from channels.slack.blocks import case_card, question_blocks
from channels.slack.workspaces import Installations, SlackConfig

log = logging.getLogger("touchpoint.slack")

EMAIL_PREFIX = "email:"
# The recipient is gone or can never get a DM from us: try the flow's next channel instead of retrying.
PERMANENT_ERRORS = {
    "users_not_found", "user_not_found", "channel_not_found", "is_archived", "not_in_channel", "cannot_dm_bot",
    "user_disabled", "account_inactive", "invalid_auth", "not_authed", "token_revoked", "missing_scope",
    "no_installation",
}
_LOOKUP_TTL = 3600.0  # seconds an email -> user id answer (or a miss) is trusted


def split_address(address: str) -> tuple[str | None, str]:
    """"T0123/U0456" names the workspace; a bare user id, channel id or email:... uses the default one."""
    if address.startswith(EMAIL_PREFIX) or "/" not in address:
        return None, address
    team, _, who = address.partition("/")
    return team or None, who


class SlackTransport(Transport):
    name = "slack"

    def __init__(self, config: SlackConfig) -> None:
        self.config = config
        self.pace = config.pace
        self.installations: Installations | None = None
        self._clients: dict[str, WebClient] = {}
        self._users: dict[tuple[str, str], tuple[str | None, float]] = {}
        self._dms: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def client(self, team_id: str | None = None) -> WebClient:
        token = self.installations.token_for(team_id) if self.installations else self.config.bot_token
        if not token:
            raise ChannelError(f"Slack: no installation for workspace {team_id or '(default)'}",
                               permanent=True, code="no_installation")
        with self._lock:
            client = self._clients.get(token)
            if client is None:
                client = self._clients[token] = WebClient(
                    token=token, base_url=self.config.api_url, timeout=int(self.config.timeout))
        return client

    def send(self, message: Outbound) -> SendResult:
        team, who = split_address(message.to)
        client = self.client(team)
        with _as_channel_error():
            user = self._user_id(client, team, who)
            dm = self._dm(client, user)
            blocks = None
            if message.question is not None and message.token and message.kind in ("question", "reminder"):
                question = message.question
                blocks = question_blocks(message.text, question.kind, message.token, message.locale, question.labels)
            posted = client.chat_postMessage(channel=dm, text=message.text, blocks=blocks, unfurl_links=False)
        return SendResult(f"{dm}:{posted['ts']}", self.name, address=user if user != message.to else None)

    def post_card(self, channel: str, case: CaseView, ts: str | None) -> str:
        """Post a case's card, or update it in place when it was posted before; returns the message ts."""
        text, blocks = case_card(case)
        team, channel = split_address(channel)
        client = self.client(team)
        with _as_channel_error():
            if ts:
                client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
                return ts
            return str(client.chat_postMessage(channel=channel, text=text, blocks=blocks)["ts"])

    def post_notice(self, channel: str, text: str) -> str:
        """A plain message to a channel (Slack's mrkdwn), without link previews."""
        team, channel = split_address(channel)
        client = self.client(team)
        with _as_channel_error():
            return str(client.chat_postMessage(channel=channel, text=text, unfurl_links=False)["ts"])

    def _user_id(self, client: WebClient, team: str | None, who: str) -> str:
        """A user id as given, or the one users.lookupByEmail finds (answers and misses cached for an hour)."""
        if not who.startswith(EMAIL_PREFIX):
            return who
        email = who[len(EMAIL_PREFIX):].lower()
        key, now = (team or "", email), time.monotonic()
        cached = self._users.get(key)
        if cached is None or cached[1] < now:
            try:
                found: str | None = client.users_lookupByEmail(email=email)["user"]["id"]
            except SlackApiError as error:
                if error.response.get("error") != "users_not_found":
                    raise
                found = None
            cached = self._users[key] = (found, now + _LOOKUP_TTL)
        if cached[0] is None:
            raise ChannelError("Slack: no member with this email", permanent=True, code="users_not_found")
        return cached[0]

    def _dm(self, client: WebClient, user: str) -> str:
        key = (client.token or "", user)
        dm = self._dms.get(key)
        if dm is None:
            dm = self._dms[key] = client.conversations_open(users=user)["channel"]["id"]
        return dm


class _as_channel_error:
    """Slack's answers as ChannelErrors: 429 carries Retry-After, dead ends are permanent, the rest retry."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any) -> bool:
        if isinstance(error, SlackApiError):
            code = str(error.response.get("error") or "error")
            if error.response.status_code == 429:
                retry = float(error.response.headers.get("Retry-After", error.response.headers.get("retry-after", 1)))
                raise ChannelError("Slack: rate limited", code="ratelimited", retry_after=retry) from None
            raise ChannelError(f"Slack: {code}", permanent=code in PERMANENT_ERRORS, code=code) from None
        if isinstance(error, (SlackClientError, OSError)):
            raise ChannelError(f"Slack: {error.__class__.__name__}: {error}", code="unavailable") from None
        return False
