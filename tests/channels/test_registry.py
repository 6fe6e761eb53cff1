"""The registry: which channels run, on which transport, and what each can do beyond sending."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from bot.cli import main
from bot.settings import Settings
from channels.registry import ADDRESS_KINDS, CHANNEL_NAMES, build_channels, card_poster
from storage.models import Contact
from tests.helpers import flow_yaml

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
    assert {"phone", "email", "slack_user_id"} <= set(ADDRESS_KINDS)
    assert not set(ADDRESS_KINDS) & set(Contact.__table__.c.keys())  # type: ignore[attr-defined]


KNOWN = "must be one of " + ", ".join(CHANNEL_NAMES)


@pytest.mark.parametrize("channel", CHANNEL_NAMES)
def test_every_registered_channel_can_be_a_flows_channel(client: FlaskClient, auth: dict, channel: str) -> None:
    body = {"name": "One channel", "trigger": {"event": "ticket.solved"}, "channels": [channel],
            "question": {"kind": "csat", "text": {"en": "How did we do? 1-5"}}}
    assert client.put("/api/v1/flows/one-channel", json=body, headers=auth).status_code == 201


def test_a_channel_the_registry_does_not_know_is_refused_with_the_registrys_names(
    client: FlaskClient, auth: dict, settings: Settings, tmp_path: Path
) -> None:
    text = flow_yaml(channels="[pigeon]")
    as_yaml = client.put("/api/v1/flows/nps-test", data=text, headers={**auth, "Content-Type": "application/yaml"})
    assert as_yaml.status_code == 422
    assert as_yaml.get_json()["error"]["details"][0]["message"].endswith(KNOWN)
    body = {"name": "JSON flow", "trigger": {"event": "ticket.solved"}, "channels": ["pigeon"],
            "question": {"kind": "csat", "text": {"en": "How did we do? 1-5"}}}
    as_json = client.put("/api/v1/flows/json-flow", json=body, headers=auth)
    assert as_json.status_code == 422 and as_json.get_json()["error"]["details"][0]["message"] == KNOWN
    metrics = client.get("/api/v1/metrics?channel=pigeon", headers=auth)
    assert metrics.status_code == 422 and KNOWN in str(metrics.get_json())

    path = tmp_path / "nps.yaml"
    path.write_text(text, encoding="utf-8")
    env = {"TOUCHPOINT_DATABASE_URL": settings.database_url}
    result = CliRunner().invoke(main, ["flows", "validate", str(path)], env=env)
    assert result.exit_code == 1 and result.stderr.endswith(f"channels.0: {KNOWN}\n")
