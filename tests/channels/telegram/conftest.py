"""The Telegram channel's tests run the app against a local double of Telegram's Bot API (telegram_api.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from bot.app import create_app
from tests.channels.telegram.support import ADA_CHAT, telegram_env
from tests.channels.telegram.telegram_api import FakeTelegram
from tests.conftest import make_settings


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.add_person(ADA_CHAT, "Ada")
        yield fake


@pytest.fixture
def app(database_url: str, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """Telegram on the double; email on the sandbox, as the flows' next channel."""
    for name, value in telegram_env(telegram).items():
        monkeypatch.setenv(name, value)
    app = create_app(make_settings(database_url, sandbox="on"))
    yield app
    app.extensions["touchpoint"].engine.dispose()
