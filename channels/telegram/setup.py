"""Point the bot at Touchpoint: `python -m channels.telegram.setup`, once per deploy whose URL or secret changed.

It calls setWebhook with TOUCHPOINT_PUBLIC_URL + /webhooks/telegram, TELEGRAM_WEBHOOK_SECRET as the secret
Telegram sends back with every update, and only the updates Touchpoint reads (messages and button clicks).
It prints the URL, never the token. Telegram takes only https URLs (ports 443, 80, 88 or 8443).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from channels.base import ChannelError
from channels.telegram.transport import NoAnswer, TelegramConfig, TelegramTransport, config_from_env


def register_webhook(config: TelegramConfig) -> str:
    """The webhook URL Telegram now posts updates to; ChannelError (or NoAnswer) when Telegram refused."""
    TelegramTransport(config).set_webhook()
    return config.webhook_url


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    public_url = env.get("TOUCHPOINT_PUBLIC_URL", "").strip()
    try:
        config = config_from_env(env, public_url)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if config is None or not public_url:
        print("error: set TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET and TOUCHPOINT_PUBLIC_URL (the https URL "
              "Telegram reaches Touchpoint at)", file=sys.stderr)
        return 2
    try:
        url = register_webhook(config)
    except (ChannelError, NoAnswer) as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    print(f"Telegram now posts messages and button clicks to {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
