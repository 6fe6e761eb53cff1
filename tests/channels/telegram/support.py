"""What the Telegram tests share: the webhook secret, a customer with a Telegram chat, and posting updates."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from channels.telegram.webhooks import SECRET_HEADER
from tests.channels.telegram.telegram_api import FakeTelegram

SECRET = "webhook-secret_for-tests-7f3a9c"
ADA_CHAT = 515151515
ADA = {"external_id": "ada", "name": "Ada Lovelace", "email": "ada@example.com",
       "addresses": {"telegram_chat_id": str(ADA_CHAT)}}


def telegram_env(telegram: FakeTelegram, **extra: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": telegram.base_url, "TELEGRAM_TIMEOUT_SECONDS": "2", **extra}


def post_update(client: FlaskClient, update: Any, secret: str | None = SECRET) -> Any:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return client.post("/webhooks/telegram", json=update, headers=headers)
