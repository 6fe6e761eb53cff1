"""Twilio Programmable Messaging, the provider the SMS and WhatsApp channels share."""

from channels.twilio.channel import TwilioChannel

__all__ = ["TwilioChannel"]
