"""The Telegram channel: a contact's Telegram chat, reached through a bot; its transport and Telegram's updates."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import Blueprint

from channels.base import Channel, Inbox, Outbound, SendResult, Transport
from channels.telegram.transport import TelegramTransport, config_from_env
from channels.telegram.webhooks import ReplyWatch, webhooks

# A private chat's id is the person's user id; groups are negative, supergroups -100...; at most 52 bits.
_CHAT_ID = re.compile(r"-?[1-9]\d{0,15}")


class TelegramChannel(Channel):
    name = "telegram"
    address_kind = "telegram_chat_id"

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self._replies = ReplyWatch()

    @classmethod
    def normalize_address(cls, value: str) -> str:
        value = value.strip()
        if not _CHAT_ID.fullmatch(value):
            raise ValueError("not a Telegram chat id; it is a whole number such as 123456789 (-100... for a group)")
        return value

    def send(self, message: Outbound) -> SendResult:
        self._replies.note(message.to)
        return self.transport.send(message)

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        transport = self.transport
        return webhooks(transport, inbox, self._replies) if isinstance(transport, TelegramTransport) else None

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        config = config_from_env(env, public_url)
        return TelegramTransport(config) if config else None
