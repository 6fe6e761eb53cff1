"""Slack: surveys by direct message with a button per score, and the support team's alert cards."""

from channels.slack.channel import SlackChannel

__all__ = ["SlackChannel"]
