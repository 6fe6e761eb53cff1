"""SMS through Twilio; the sandbox transport carries the messages until its credentials are set.

Environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and TWILIO_FROM (a number or short code) or
TWILIO_MESSAGING_SERVICE_SID; optional TWILIO_MPS, TWILIO_MAX_SEGMENTS, TWILIO_TIMEOUT_SECONDS,
TWILIO_API_BASE_URL. Webhooks: /webhooks/twilio/sms (inbound) and /webhooks/twilio/sms/status.
"""

from __future__ import annotations

from channels.twilio import TwilioChannel


class SmsChannel(TwilioChannel):
    name = "sms"
