"""Email replies and delivery events, read from what SendGrid, Mailgun and Postmark post to our webhooks.

A survey answered by email arrives as a reply: the customer's few new words on top, our question quoted
below. Each provider posts inbound mail in its own shape (SendGrid: multipart form, parsed or raw MIME;
Mailgun: form fields; Postmark: JSON), and each reports bounces and complaints in another. This module
turns all of them into two small values, `InboundEmail` and `MailEvent` (quoting.py then cuts a reply
down to the new text with `strip_reply`), so the webhook handlers stay thin and the same rules apply
whatever the provider.

It is pure: no Flask, no database, no network. Bad input raises `EmailPayloadError` naming the field, so
a handler can answer 400 and log what was wrong. Mailgun signs its posts; `verify_mailgun` checks them
(remembering tokens already seen, to stop replays, is the caller's job).

Addresses: a sender or event recipient is a bare, lower-case address. Recipients keep their case,
because the reply token in `reply+TOKEN@domain` is case-sensitive. Message-IDs lose their angle brackets.
The providers' own quote stripping (Mailgun stripped-text, Postmark StrippedTextReply) is not used:
`strip_reply` gives the same answer for every provider.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import getaddresses
from typing import Any, Literal, cast

from channels.email.quoting import html_to_text


class EmailPayloadError(ValueError):
    """A provider payload we cannot read; `field` names the culprit (e.g. "envelope", "FromFull.Email")."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class InboundEmail:
    sender: str  # bare address, lower-case: the From header, not the envelope's bounce address
    recipients: list[str]  # bare addresses, case kept; envelope recipients first when the provider gives them
    subject: str
    text: str  # the plain text body as sent, quoted history included (see strip_reply)
    message_id: str | None
    in_reply_to: str | None
    provider: str


MailEventKind = Literal["hard_bounce", "soft_bounce", "complaint", "delivered", "other"]


@dataclass(frozen=True)
class MailEvent:
    provider: str
    kind: MailEventKind
    recipient: str  # bare address, lower-case
    provider_message_id: str | None
    our_message_id: str | None  # custom arg "touchpoint_message" if we sent one, else the Message-ID
    detail: str  # the provider's reason or SMTP response, for people reading logs


# Custom argument (SendGrid custom_args, Mailgun v: variables, Postmark Metadata) that carries our message id.
OUR_MESSAGE_ARG = "touchpoint_message"


# --- addresses and reply tokens ---------------------------------------------------------------------------

def reply_token(recipients: list[str], domain: str) -> str | None:
    """The TOKEN of the first `reply+TOKEN@domain` among the recipients, display-name forms included."""
    if not domain.strip():
        return None
    pattern = re.compile(
        rf"(?<![\w.+-])reply\+([A-Za-z0-9_-]+)@{re.escape(domain.strip())}(?![\w.-])", re.IGNORECASE
    )
    for recipient in recipients:
        match = pattern.search(recipient)
        if match:
            return match.group(1)
    return None


def _addresses(values: Iterable[str]) -> list[str]:
    """Bare addresses from header-style values ("Name <a@b>, c@d"), in order, without duplicates."""
    found: dict[str, str] = {}
    for _name, address in getaddresses([value for value in values if value]):
        address = address.strip()
        if "@" in address and " " not in address:
            found.setdefault(address.lower(), address)
    return list(found.values())


def _sender(value: str | None) -> str | None:
    addresses = _addresses([value or ""])
    return addresses[0].lower() if addresses else None


def _message_id(value: str | None) -> str | None:
    """The first Message-ID in a header value, without angle brackets."""
    if not value or not value.strip():
        return None
    bracketed = re.search(r"<([^<>\s]+)>", value)
    return bracketed.group(1) if bracketed else value.strip().split()[0]


def _lookup(pairs: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value whose name matches, ignoring case (form fields and headers alike)."""
    wanted = name.lower()
    return next((value for key, value in pairs if key.lower() == wanted), None)


# --- SendGrid Inbound Parse -------------------------------------------------------------------------------

def parse_sendgrid(form: Mapping[str, str]) -> InboundEmail:
    """SendGrid Inbound Parse: "send raw" mode (the full MIME message in `email`) or the default parsed mode."""
    if "email" in form:
        return _sendgrid_raw(form)
    sender = _sender(form.get("from"))
    if sender is None:
        raise EmailPayloadError("from", "no sender address")
    headers = HeaderParser(policy=email.policy.default).parsestr(form.get("headers") or "")
    recipients = _sendgrid_envelope_to(form) or _addresses([form.get("to", ""), form.get("cc", "")])
    if not recipients:
        raise EmailPayloadError("to", "no recipient address")
    text = form.get("text") or html_to_text(form.get("html") or "")
    return InboundEmail(
        sender=sender,
        recipients=recipients,
        subject=form.get("subject") or str(headers.get("subject", "")),
        text=text,
        message_id=_message_id(headers.get("message-id")),
        in_reply_to=_message_id(headers.get("in-reply-to")),
        provider="sendgrid",
    )


def _sendgrid_raw(form: Mapping[str, str]) -> InboundEmail:
    raw = form.get("email") or ""
    if not raw.strip():
        raise EmailPayloadError("email", "empty raw message")
    message = cast(EmailMessage, email.message_from_string(raw, policy=email.policy.default))
    sender = _sender(_header(message, "from"))
    if sender is None:
        raise EmailPayloadError("email", "no From address in the raw message")
    recipients = _sendgrid_envelope_to(form) or _addresses([_header(message, "to"), _header(message, "cc")])
    if not recipients:
        raise EmailPayloadError("email", "no recipient address")
    return InboundEmail(
        sender=sender,
        recipients=recipients,
        subject=_header(message, "subject") or form.get("subject", ""),
        text=mime_text(message),
        message_id=_message_id(_header(message, "message-id")),
        in_reply_to=_message_id(_header(message, "in-reply-to")),
        provider="sendgrid",
    )


def _sendgrid_envelope_to(form: Mapping[str, str]) -> list[str]:
    """The SMTP envelope's recipients (field `envelope`, JSON), or [] when SendGrid did not send one."""
    raw = form.get("envelope")
    if not raw:
        return []
    try:
        envelope = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EmailPayloadError("envelope", "not valid JSON") from exc
    if not isinstance(envelope, dict):
        raise EmailPayloadError("envelope", "not a JSON object")
    to = envelope.get("to") or []
    if not isinstance(to, list) or not all(isinstance(address, str) for address in to):
        raise EmailPayloadError("envelope", "'to' is not a list of addresses")
    return _addresses(to)


def _header(message: EmailMessage, name: str) -> str:
    """A header's decoded value, or "" when it is missing or too broken to decode."""
    try:
        value = message.get(name)
    except (ValueError, IndexError):
        return ""
    return str(value) if value is not None else ""


def mime_text(message: EmailMessage) -> str:
    """The text/plain body of a MIME message, else its text/html body as text, else ""."""
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None:
        return plain.get_content()
    html = message.get_body(preferencelist=("html",))
    return html_to_text(html.get_content()) if html is not None else ""


# --- Mailgun routes ---------------------------------------------------------------------------------------

def parse_mailgun(form: Mapping[str, str]) -> InboundEmail:
    """A Mailgun route's forward() post: fields plus `message-headers`, a JSON list of [name, value]."""
    fields = list(form.items())
    headers = _mailgun_headers(form.get("message-headers"))
    sender = _sender(_lookup(fields, "from") or _lookup(headers, "from") or form.get("sender"))
    if sender is None:
        raise EmailPayloadError("sender", "no sender address")
    recipients = _addresses([form.get("recipient", "")]) or _addresses(
        [_lookup(headers, "to") or "", _lookup(headers, "cc") or ""]
    )
    if not recipients:
        raise EmailPayloadError("recipient", "no recipient address")
    return InboundEmail(
        sender=sender,
        recipients=recipients,
        subject=form.get("subject") or _lookup(headers, "subject") or "",
        text=form.get("body-plain") or form.get("stripped-text") or html_to_text(form.get("body-html") or ""),
        message_id=_message_id(_lookup(fields, "message-id") or _lookup(headers, "message-id")),
        in_reply_to=_message_id(_lookup(fields, "in-reply-to") or _lookup(headers, "in-reply-to")),
        provider="mailgun",
    )


def _mailgun_headers(raw: str | None) -> list[tuple[str, str]]:
    if not raw:
        return []
    try:
        headers = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EmailPayloadError("message-headers", "not valid JSON") from exc
    if not isinstance(headers, list) or not all(_is_name_value(pair) for pair in headers):
        raise EmailPayloadError("message-headers", "not a list of [name, value] pairs")
    return [(name, value) for name, value in headers]


def _is_name_value(pair: Any) -> bool:
    return isinstance(pair, list) and len(pair) == 2 and all(isinstance(item, str) for item in pair)


def verify_mailgun(
    signing_key: str, timestamp: str, token: str, signature: str, now: float | None = None, max_age: int = 300
) -> bool:
    """Mailgun's webhook signature: hex HMAC-SHA256 of timestamp + token, from a timestamp within max_age.

    Timestamps further than max_age in the past or the future are refused, so an old capture cannot be
    replayed later; within the window, refuse tokens already seen (the caller keeps them).
    """
    if not signing_key or not token or not signature:
        return False
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > max_age:
        return False
    expected = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


# --- Postmark inbound -------------------------------------------------------------------------------------

def parse_postmark(payload: Mapping[str, Any]) -> InboundEmail:
    """Postmark's inbound webhook JSON."""
    if not isinstance(payload, Mapping):
        raise EmailPayloadError("payload", "not a JSON object")
    sender_full = payload.get("FromFull")
    sender = _sender(sender_full.get("Email") if isinstance(sender_full, Mapping) else payload.get("From"))
    if sender is None:
        raise EmailPayloadError("FromFull.Email", "no sender address")
    original = _string(payload, "OriginalRecipient")
    recipients = _addresses([original, *_postmark_emails(payload, "ToFull"), *_postmark_emails(payload, "CcFull")])
    if not recipients:
        raise EmailPayloadError("ToFull", "no recipient address")
    headers = _postmark_headers(payload)
    return InboundEmail(
        sender=sender,
        recipients=recipients,
        subject=_string(payload, "Subject"),
        text=_string(payload, "TextBody") or html_to_text(_string(payload, "HtmlBody")),
        message_id=_message_id(_lookup(headers, "message-id") or _string(payload, "MessageID")),
        in_reply_to=_message_id(_lookup(headers, "in-reply-to")),
        provider="postmark",
    )


def _string(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise EmailPayloadError(key, "not a string")
    return value or ""


def _postmark_emails(payload: Mapping[str, Any], key: str) -> list[str]:
    entries = payload.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(entry, Mapping) for entry in entries):
        raise EmailPayloadError(key, "not a list of {Email, Name} objects")
    return [entry["Email"] for entry in entries if isinstance(entry.get("Email"), str)]


def _postmark_headers(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers = payload.get("Headers") or []
    if not isinstance(headers, list) or not all(isinstance(header, Mapping) for header in headers):
        raise EmailPayloadError("Headers", "not a list of {Name, Value} objects")
    return [(str(header.get("Name", "")), str(header.get("Value", ""))) for header in headers]


# --- Delivery events --------------------------------------------------------------------------------------

_SENDGRID_KINDS: dict[str, MailEventKind] = {"spamreport": "complaint", "delivered": "delivered"}
_MAILGUN_KINDS: dict[str, MailEventKind] = {"complained": "complaint", "delivered": "delivered"}


def sendgrid_events(payload: list[dict]) -> list[MailEvent]:
    """SendGrid's Event Webhook: a JSON array of events; custom args are top-level keys of each event."""
    if not isinstance(payload, list):
        raise EmailPayloadError("payload", "not a JSON array")
    return [_sendgrid_event(index, event) for index, event in enumerate(payload)]


def _sendgrid_event(index: int, event: Any) -> MailEvent:
    if not isinstance(event, dict):
        raise EmailPayloadError(f"[{index}]", "not a JSON object")
    recipient = _sender(_text_or_none(event.get("email")))
    if recipient is None:
        raise EmailPayloadError(f"[{index}].email", "no recipient address")
    return MailEvent(
        provider="sendgrid",
        kind=_sendgrid_kind(event),
        recipient=recipient,
        provider_message_id=_text_or_none(event.get("sg_message_id")),
        our_message_id=_text_or_none(event.get(OUR_MESSAGE_ARG)) or _message_id(_text_or_none(event.get("smtp-id"))),
        detail=str(event.get("reason") or event.get("response") or event.get("type") or ""),
    )


def _sendgrid_kind(event: dict) -> MailEventKind:
    name, reason = event.get("event"), str(event.get("reason") or "")
    if name == "bounce":
        return "soft_bounce" if event.get("type") == "blocked" else "hard_bounce"
    if name == "dropped":
        # SendGrid drops mail to addresses on its suppression lists: the earlier bounce, unsubscribe or
        # spam report is what counts, so the drop is classed like it.
        if "Spam Reporting" in reason:
            return "complaint"
        if "Bounced Address" in reason or "Unsubscribed" in reason or reason.strip() == "Invalid":
            return "hard_bounce"
        return "other"
    return _SENDGRID_KINDS.get(str(name), "other")


def mailgun_event(payload: dict) -> MailEvent:
    """One Mailgun webhook post: {"signature": {...}, "event-data": {...}} (verify the signature first)."""
    data = payload.get("event-data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise EmailPayloadError("event-data", "missing or not a JSON object")
    recipient = _sender(_text_or_none(data.get("recipient")))
    if recipient is None:
        raise EmailPayloadError("event-data.recipient", "no recipient address")
    headers = _nested(data, "message", "headers")
    status = _nested(data, "delivery-status")
    provider_id = _message_id(_text_or_none(headers.get("message-id")))
    return MailEvent(
        provider="mailgun",
        kind=_mailgun_kind(data),
        recipient=recipient,
        provider_message_id=provider_id,
        our_message_id=_text_or_none(_nested(data, "user-variables").get(OUR_MESSAGE_ARG)) or provider_id,
        detail=str(status.get("description") or status.get("message") or data.get("reason") or ""),
    )


def _mailgun_kind(data: dict) -> MailEventKind:
    name = data.get("event")
    if name == "failed":
        return "hard_bounce" if data.get("severity") == "permanent" else "soft_bounce"
    return _MAILGUN_KINDS.get(str(name), "other")


# Postmark bounce Types (https://postmarkapp.com/developer/api/bounce-api#bounce-types) by what they mean for us.
_POSTMARK_HARD = frozenset({"HardBounce", "BadEmailAddress", "ManuallyDeactivated"})
_POSTMARK_SOFT = frozenset({"SoftBounce", "Transient", "DnsError", "Blocked"})


def postmark_event(payload: dict) -> MailEvent:
    """One Postmark webhook post: RecordType "Bounce", "SpamComplaint" or "Delivery" (others are "other")."""
    if not isinstance(payload, dict):
        raise EmailPayloadError("payload", "not a JSON object")
    record = payload.get("RecordType") or ("Bounce" if "BouncedAt" in payload else "")
    field = "Recipient" if record == "Delivery" else "Email"
    recipient = _sender(_text_or_none(payload.get(field)))
    if recipient is None:
        raise EmailPayloadError(field, "no recipient address")
    metadata = payload.get("Metadata") if isinstance(payload.get("Metadata"), dict) else {}
    return MailEvent(
        provider="postmark",
        kind=_postmark_kind(str(record), str(payload.get("Type") or "")),
        recipient=recipient,
        provider_message_id=_text_or_none(payload.get("MessageID")),
        our_message_id=_text_or_none(metadata.get(OUR_MESSAGE_ARG)),
        detail=str(payload.get("Details") or payload.get("Description") or payload.get("Name") or ""),
    )


def _postmark_kind(record: str, bounce_type: str) -> MailEventKind:
    if record == "SpamComplaint" or (record == "Bounce" and bounce_type == "SpamComplaint"):
        return "complaint"
    if record == "Delivery":
        return "delivered"
    if record == "Bounce" and bounce_type in _POSTMARK_HARD:
        return "hard_bounce"
    if record == "Bounce" and bounce_type in _POSTMARK_SOFT:
        return "soft_bounce"
    return "other"


def _nested(data: dict, *keys: str) -> dict:
    """data[k1][k2]..., or {} where a level is missing or not an object."""
    for key in keys:
        data = data.get(key) if isinstance(data.get(key), dict) else {}
    return data


def _text_or_none(value: Any) -> str | None:
    """A non-empty string (or a number, as Postmark Metadata may hold) as text; anything else as None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None
