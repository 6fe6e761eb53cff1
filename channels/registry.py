"""Which channels exist and which transport each one runs on."""

from __future__ import annotations

from collections.abc import Mapping

from channels.base import CardPoster, Channel
from channels.email import EmailChannel
from channels.sandbox import SandboxTransport
from channels.slack import SlackChannel
from channels.sms import SmsChannel
from channels.web import WebChannel
from channels.whatsapp import WhatsAppChannel

CHANNEL_CLASSES: tuple[type[Channel], ...] = (
    SmsChannel,
    WhatsAppChannel,
    EmailChannel,
    SlackChannel,
    WebChannel,
)
CHANNEL_NAMES = tuple(cls.name for cls in CHANNEL_CLASSES)


def build_channels(env: Mapping[str, str], sandbox: str, public_url: str) -> dict[str, Channel]:
    """Channels with real credentials use their provider; the others use the sandbox or are left out.

    `sandbox` is "auto" (sandbox everything while nothing is configured), "on" or "off". Channels that need
    no credentials always run on their own transport.
    """
    real = {cls.name: cls.configured(env, public_url) for cls in CHANNEL_CLASSES}
    nothing_configured = all(real[cls.name] is None for cls in CHANNEL_CLASSES if cls.needs_credentials)
    use_sandbox = sandbox == "on" or (sandbox == "auto" and nothing_configured)
    channels: dict[str, Channel] = {}
    for cls in CHANNEL_CLASSES:
        transport = real[cls.name]
        if transport is None and use_sandbox:
            transport = SandboxTransport()
        if transport is not None:
            channels[cls.name] = cls(transport)
    return channels


def card_poster(channels: Mapping[str, Channel], name: str) -> CardPoster | None:
    """The named channel's alert cards, when it runs and can post them (a capability the channel declares)."""
    channel = channels.get(name)
    return channel.card_poster() if channel is not None else None
