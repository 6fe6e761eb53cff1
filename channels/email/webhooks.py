"""Provider webhooks for email: replies by email (inbound parse) and delivery events (bounces, complaints).

Each is authenticated: Mailgun by its HMAC signature (TOUCHPOINT_MAILGUN_SIGNING_KEY), SendGrid and Postmark
by a shared secret (TOUCHPOINT_EMAIL_WEBHOOK_SECRET) given as the password of HTTP Basic auth in the URL
they call, or as `?secret=`. A reply finds its survey from the reply+TOKEN@ address; quoted history and
signatures are cut before the reply rules read it. A hard bounce or a complaint opts the contact out of
email and moves the survey to its next channel.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, request

from channels.base import DeliveryState, Inbound, Inbox, StatusReport
from channels.email.providers import (
    EmailPayloadError,
    InboundEmail,
    MailEvent,
    mailgun_event,
    parse_mailgun,
    parse_postmark,
    parse_sendgrid,
    postmark_event,
    reply_token,
    sendgrid_events,
    verify_mailgun,
)
from channels.email.quoting import strip_reply
from flows.inputs import storable, strict_json

log = logging.getLogger("touchpoint.email")
PROVIDERS = ("sendgrid", "mailgun", "postmark")


@dataclass(frozen=True)
class WebhookSecrets:
    shared_secret: str | None
    mailgun_signing_key: str | None
    reply_domain: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookSecrets:
        return cls(env.get("TOUCHPOINT_EMAIL_WEBHOOK_SECRET") or None, env.get("TOUCHPOINT_MAILGUN_SIGNING_KEY")
                   or None, env.get("TOUCHPOINT_EMAIL_REPLY_DOMAIN") or None)

    def __repr__(self) -> str:
        return f"WebhookSecrets(reply_domain={self.reply_domain!r})"


def webhooks(inbox: Inbox, secrets: WebhookSecrets) -> Blueprint:
    bp = Blueprint("email_webhooks", __name__)

    def inbound(provider: str) -> tuple[str, int]:
        _authenticate(provider, secrets)
        try:
            mail = _parse_inbound(provider)
        except EmailPayloadError as exc:
            return json.dumps({"error": {"field": exc.field, "message": exc.reason}}), 422
        token = reply_token(mail.recipients, secrets.reply_domain or "")
        unsubscribe = reply_token([r.replace("unsubscribe+", "reply+", 1) for r in mail.recipients
                                   if r.lower().startswith("unsubscribe+")], secrets.reply_domain or "")
        if unsubscribe and inbox.unsubscribe(unsubscribe, "email mailto", "email"):
            return "", 200
        if token is None:
            log.info("%s inbound mail names no survey; ignored", provider)
            return "", 200
        text = strip_reply(mail.text)
        message_id = mail.message_id or hashlib.sha256(f"{mail.sender}\0{mail.text}".encode()).hexdigest()
        raw = {"provider": provider, "from": mail.sender, "subject": mail.subject, "text": mail.text}
        inbox.reply_by_token(token, Inbound("email", mail.sender, text, message_id, raw))
        return "", 200

    def events(provider: str) -> tuple[str, int]:
        _authenticate(provider, secrets)
        try:
            found = _parse_events(provider)
        except (EmailPayloadError, ValueError) as exc:
            return json.dumps({"error": {"message": str(exc)}}), 422
        for event in found:
            report = _status_report(event)
            if report is not None:
                inbox.status(report)
        return "", 200

    bp.add_url_rule("/webhooks/email/inbound/<any(sendgrid, mailgun, postmark):provider>", "inbound", inbound,
                    methods=["POST"])
    bp.add_url_rule("/webhooks/email/events/<any(sendgrid, mailgun, postmark):provider>", "events", events,
                    methods=["POST"])
    return bp


def _authenticate(provider: str, secrets: WebhookSecrets) -> None:
    if provider == "mailgun":
        signature = _mailgun_signature()
        if secrets.mailgun_signing_key and signature and verify_mailgun(secrets.mailgun_signing_key, *signature):
            return
    else:
        given = (request.authorization.password if request.authorization else None) or request.args.get("secret")
        if secrets.shared_secret and given and hmac.compare_digest(given.encode(), secrets.shared_secret.encode()):
            return
    log.warning("rejected a %s email webhook without valid authentication from %s", provider, request.remote_addr)
    abort(403)


def _mailgun_signature() -> tuple[str, str, str] | None:
    """Inbound routes sign with form fields; event webhooks put the signature in their JSON."""
    source: Mapping[str, Any] = request.form
    if request.is_json:
        body = _json()
        source = body.get("signature", {}) if isinstance(body, dict) else {}
    values = (source.get("timestamp"), source.get("token"), source.get("signature"))
    return tuple(str(v) for v in values) if all(values) else None  # type: ignore[return-value]


def _parse_inbound(provider: str) -> InboundEmail:
    if provider == "postmark":
        payload = _json()
        if not isinstance(payload, dict):
            raise EmailPayloadError("body", "Postmark posts a JSON object")
        return parse_postmark(payload)
    form = storable(request.form.to_dict())
    return parse_sendgrid(form) if provider == "sendgrid" else parse_mailgun(form)


def _json() -> Any:
    """The JSON body with every text made storable (a customer's reply is kept, not refused), or None when it
    is not JSON or is nested deeper than Python can parse."""
    if not request.is_json:
        return None
    try:
        return storable(strict_json(request.get_data(cache=True)))
    except ValueError:
        return None


def _parse_events(provider: str) -> list[MailEvent]:
    payload = _json()
    if provider == "sendgrid":
        if not isinstance(payload, list):
            raise EmailPayloadError("body", "SendGrid posts a JSON array of events")
        return sendgrid_events(payload)
    if not isinstance(payload, dict):
        raise EmailPayloadError("body", f"{provider} posts a JSON object")
    return [mailgun_event(payload) if provider == "mailgun" else postmark_event(payload)]


def _status_report(event: MailEvent) -> StatusReport | None:
    message_id = (event.our_message_id or event.provider_message_id or "").strip("<>")
    if not message_id or event.kind in ("soft_bounce", "other"):
        return None
    state = DeliveryState.DELIVERED if event.kind == "delivered" else DeliveryState.FAILED
    return StatusReport("email", message_id, state, event.kind, error=event.detail[:200],
                        opted_out=event.kind in ("hard_bounce", "complaint"))
