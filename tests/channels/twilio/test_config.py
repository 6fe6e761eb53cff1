"""Twilio settings from the environment: what makes the channel real, and the pace each sender gets."""

from __future__ import annotations

import pytest

from channels.sms import SmsChannel
from channels.twilio.transport import TwilioTransport, config_from_env
from channels.whatsapp import WhatsAppChannel

CREDENTIALS = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "secret-token"}


@pytest.mark.parametrize(
    ("sender", "pace"),
    [({"TWILIO_FROM": "+447911123456"}, 1.0), ({"TWILIO_FROM": "+18005550100"}, 3.0),
     ({"TWILIO_FROM": "12345"}, 100.0), ({"TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32}, 10.0),
     ({"TWILIO_FROM": "+447911123456", "TWILIO_MPS": "4.5"}, 4.5)],
)
def test_each_kind_of_sender_gets_its_pace(sender: dict[str, str], pace: float) -> None:
    config = config_from_env({**CREDENTIALS, **sender}, "https://tp.example.com/", "sms")
    assert config is not None and config.pace == pace
    assert config.status_path == "/webhooks/twilio/sms/status" and config.public_url == "https://tp.example.com"


def test_the_channel_is_real_only_with_credentials_and_a_sender() -> None:
    assert SmsChannel.configured(CREDENTIALS, "https://x") is None
    assert SmsChannel.configured({"TWILIO_FROM": "+447911123456"}, "https://x") is None
    assert isinstance(SmsChannel.configured({**CREDENTIALS, "TWILIO_FROM": "+447911123456"}, "https://x"),
                      TwilioTransport)
    assert WhatsAppChannel.configured({**CREDENTIALS, "TWILIO_FROM": "+447911123456"}, "https://x") is None
    assert WhatsAppChannel.configured({**CREDENTIALS, "TWILIO_WHATSAPP_FROM": "+447911123456"}, "https://x")


def test_the_auth_token_never_shows_in_the_config_repr() -> None:
    config = config_from_env({**CREDENTIALS, "TWILIO_FROM": "+447911123456"}, "https://x", "sms")
    assert "secret-token" not in repr(config) and "secret-token" not in str(config)
