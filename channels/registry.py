"""Which channels exist and which transport each one runs on."""

from __future__ import annotations

from collections.abc import Mapping

from channels.base import CardPoster, Channel
from channels.email import EmailChannel
from channels.sandbox import SandboxTransport
from channels.slack import SlackChannel
from channels.sms import SmsChannel
from channels.telegram import TelegramChannel
from channels.web import WebChannel
from channels.whatsapp import WhatsAppChannel

CHANNEL_CLASSES: tuple[type[Channel], ...] = (
    SmsChannel,
    WhatsAppChannel,
    EmailChannel,
    SlackChannel,
    WebChannel,
    TelegramChannel,
)
CHANNEL_NAMES = tuple(cls.name for cls in CHANNEL_CLASSES)
_BY_NAME = {cls.name: cls for cls in CHANNEL_CLASSES}
# Each address kind and the channel whose rules check it (the first to declare it: SMS for `phone`).
ADDRESS_KINDS: dict[str, type[Channel]] = {}
for _cls in CHANNEL_CLASSES:
    if _cls.address_kind is not None:
        ADDRESS_KINDS.setdefault(_cls.address_kind, _cls)
# The longest address a contact may keep (the column's length).
MAX_ADDRESS_LENGTH = 320


def channel_class(name: str) -> type[Channel]:
    """The named channel's class; KeyError for a name the registry does not know."""
    return _BY_NAME[name]


def normalize_address(kind: str, value: str) -> str:
    """An address of `kind` as it is stored, or a ValueError saying why not (an unknown kind included)."""
    if kind not in ADDRESS_KINDS:
        raise ValueError(f"unknown address kind; known: {', '.join(ADDRESS_KINDS)}")
    if len(value) > MAX_ADDRESS_LENGTH:
        raise ValueError(f"longer than {MAX_ADDRESS_LENGTH} characters")
    return ADDRESS_KINDS[kind].normalize_address(value)


def provider_addresses(addresses: Mapping[str, str]) -> set[str]:
    """Every address messages may carry for these stored ones, on every channel (for erasure)."""
    return {cls.provider_address(addresses[cls.address_kind])
            for cls in CHANNEL_CLASSES if cls.address_kind in addresses}


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
