"""The registry: which channels run, on which transport, and what each can do beyond sending."""

from __future__ import annotations

from channels.registry import ADDRESS_KINDS, CHANNEL_NAMES, build_channels, card_poster
from storage.models import Contact

PUBLIC_URL = "https://touchpoint.example.com"
SLACK_ENV = {"SLACK_SIGNING_SECRET": "signing-secret-for-tests", "SLACK_BOT_TOKEN": "xoxb-test-token"}


def test_a_channel_on_the_sandbox_posts_no_alert_cards() -> None:
    channels = build_channels({}, "auto", PUBLIC_URL)
    assert set(channels) == set(CHANNEL_NAMES)
    assert all(card_poster(channels, name) is None for name in CHANNEL_NAMES)


def test_slack_with_credentials_declares_alert_cards_and_the_others_do_not() -> None:
    channels = build_channels(SLACK_ENV, "off", PUBLIC_URL)
    assert card_poster(channels, "slack") is not None
    assert [name for name in CHANNEL_NAMES if card_poster(channels, name) is not None] == ["slack"]


def test_address_kinds_are_the_channels_and_never_a_contact_column() -> None:
    """An event's contact fields that are not columns are addresses by kind: a kind must not shadow one."""
    assert set(ADDRESS_KINDS) == {"phone", "email", "slack_user_id"}
    assert not set(ADDRESS_KINDS) & set(Contact.__table__.c.keys())  # type: ignore[attr-defined]
