"""WhatsApp through Twilio's `whatsapp:` addresses, on the same adapter as SMS.

Environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM (the WhatsApp-enabled number),
TWILIO_WHATSAPP_CONTENT_SID (an approved template whose {{1}} receives the text, used outside the
24-hour session window), optional TWILIO_WHATSAPP_MPS. Webhooks: /webhooks/twilio/whatsapp and
/webhooks/twilio/whatsapp/status.
"""

from __future__ import annotations

from channels.base import Recipient
from channels.twilio import TwilioChannel


class WhatsAppChannel(TwilioChannel):
    name = "whatsapp"

    def address(self, recipient: Recipient) -> str | None:
        return f"whatsapp:{recipient.phone}" if recipient.phone else None
