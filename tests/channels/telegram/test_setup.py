"""Registering the webhook: `python -m channels.telegram.setup` calls setWebhook with our URL, the secret and the
updates we read, and says what Telegram answered without ever printing the token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from channels.telegram.setup import main
from tests.channels.telegram.support import SECRET, telegram_env
from tests.channels.telegram.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parents[3]


def setup_env(telegram: FakeTelegram, public_url: str = "https://touchpoint.example.com") -> dict[str, str]:
    return {**telegram_env(telegram), "TOUCHPOINT_PUBLIC_URL": public_url}


def test_the_webhook_is_registered_with_the_secret_and_only_the_updates_we_read(
    telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(setup_env(telegram)) == 0
    assert telegram.webhook == {"url": "https://touchpoint.example.com/webhooks/telegram", "secret_token": SECRET,
                                "allowed_updates": ["message", "callback_query"]}
    out, err = capsys.readouterr()
    assert out == "Telegram now posts messages and button clicks to https://touchpoint.example.com/webhooks/telegram\n"
    assert telegram.token not in out + err


def test_telegrams_refusal_is_printed_and_the_exit_status_says_so(
    telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(setup_env(telegram, public_url="http://127.0.0.1:8000")) == 1
    err = capsys.readouterr().err
    assert err == ("error: Telegram setWebhook 400: Bad Request: bad webhook: An HTTPS URL must be provided for "
                   "webhook\n")
    assert telegram.webhook["url"] == ""


@pytest.mark.parametrize(("drop", "message"), [
    ("TELEGRAM_BOT_TOKEN", "error: set TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET and TOUCHPOINT_PUBLIC_URL"),
    ("TOUCHPOINT_PUBLIC_URL", "error: set TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET and TOUCHPOINT_PUBLIC_URL"),
    ("TELEGRAM_WEBHOOK_SECRET", "error: TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_BOT_TOKEN"),
])
def test_missing_settings_are_named(
    telegram: FakeTelegram, capsys: pytest.CaptureFixture[str], drop: str, message: str
) -> None:
    env = setup_env(telegram)
    del env[drop]
    assert main(env) == 2
    assert capsys.readouterr().err.startswith(message)
    assert telegram.arrivals == []


def test_it_runs_as_a_module(telegram: FakeTelegram) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TOUCHPOINT_"))}
    done = subprocess.run([sys.executable, "-m", "channels.telegram.setup"], env={**env, **setup_env(telegram)},
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("/webhooks/telegram\n") and telegram.token not in done.stdout + done.stderr
    assert telegram.webhook["secret_token"] == SECRET
