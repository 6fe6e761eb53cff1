"""Telegram: surveys from a bot, with a button per score, and the customer's replies in the same chat."""

from channels.telegram.channel import TelegramChannel

__all__ = ["TelegramChannel"]
