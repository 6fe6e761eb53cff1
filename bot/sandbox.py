"""Playing the customer: text a pretend customer types, handled as a provider's webhook would hand it in."""

from __future__ import annotations

import uuid

from bot.errors import NotInSandbox
from bot.inbound import InboundResult, receive
from bot.runtime import Runtime
from channels.base import Inbound
from storage.sandbox import SANDBOX


def require_sandboxed(rt: Runtime, channel: str) -> None:
    """Only a channel on its sandbox transport takes a pretend customer's message."""
    if channel not in rt.sandbox_channels:
        raise NotInSandbox(channel, rt.sandbox_channels)


def sandbox_reply(rt: Runtime, channel: str, sender: str, text: str) -> InboundResult:
    """Handle text typed by a pretend customer exactly as a provider webhook would be handled."""
    require_sandboxed(rt, channel)
    raw = {"from": sender, "text": text}
    return receive(rt, Inbound(channel, sender, text, f"sbin-{uuid.uuid4().hex}", raw, transport=SANDBOX))
