"""SMS through Twilio."""

from channels.sms.channel import SmsChannel

__all__ = ["SmsChannel"]
