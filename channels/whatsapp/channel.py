"""WhatsApp through Twilio's `whatsapp:` addresses, on the same adapter as SMS.

Environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM (the WhatsApp-enabled number),
TWILIO_WHATSAPP_CONTENT_SID (an approved template whose {{1}} receives the text, used outside the
24-hour session window), optional TWILIO_WHATSAPP_MPS. Webhooks: /webhooks/twilio/whatsapp and
/webhooks/twilio/whatsapp/status.
"""

from __future__ import annotations

from channels.twilio import TwilioChannel

PREFIX = "whatsapp:"


class WhatsAppChannel(TwilioChannel):
    name = "whatsapp"

    @classmethod
    def provider_address(cls, address: str) -> str:
        return f"{PREFIX}{address}"

    @classmethod
    def contact_address(cls, provider_address: str) -> str:
        return provider_address.removeprefix(PREFIX)
