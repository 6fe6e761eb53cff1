"""Outbound webhooks: the subscriptions admins manage, and the events the data path reports to them.

Events are written to the outbox (storage.webhooks.enqueue) in the transaction of the change; the worker sends
them (bot.webhook_delivery). What an event carries is ids and figures: the contact's external id (the customer's
own id for the person), never a name, phone number or email address; a comment only in `response.commented`.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from bot.audit import SYSTEM, record
from bot.errors import NotFound, ServiceError
from bot.runtime import Runtime
from storage.contacts import external_id_of
from storage.followups import queue_key_of
from storage.models import FollowUp, Response, Webhook, WebhookAttempt
from storage.types import utcnow
from storage.webhooks import (
    create_webhook,
    delete_webhook,
    enqueue,
    last_attempts,
    list_webhooks,
    new_secret,
    pending_count,
    recent_attempts,
    webhook_by_id,
)

# How long a rotated secret keeps signing beside the new one, so receivers can switch without losing events.
ROTATION_OVERLAP = timedelta(hours=24)


class WebhookNotFound(NotFound):
    def __init__(self, webhook_id: int) -> None:
        super().__init__("webhook", webhook_id)


class WebhookUrlRefused(ServiceError):
    """The URL cannot be used: not https, not a URL, or it resolves to a private, loopback or link-local address."""

    field = "url"


# Checking URLs: at subscription time and again before every send, since DNS answers change.

def check_url(url: str, allow_private: bool) -> str:
    """The URL if it may receive events; raises WebhookUrlRefused saying why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlRefused("not a valid URL") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise WebhookUrlRefused("must be an https:// URL" if parts.scheme != "https" else "not a valid URL")
    if not parts.hostname:
        raise WebhookUrlRefused("has no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused("may not carry a user name or password; every message is signed instead")
    if parts.fragment:
        raise WebhookUrlRefused("may not have a #fragment")
    check_address(parts.hostname, port or (443 if parts.scheme == "https" else 80), allow_private)
    return url


def check_address(host: str, port: int, allow_private: bool) -> None:
    """Every address the host resolves to must be public (unless allowed): one private answer is enough for a
    request to reach the inside of the network."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlRefused(f"the host {host} does not resolve") from None
    if allow_private:
        return
    if not all(is_public(str(info[4][0])) for info in infos):
        raise WebhookUrlRefused(f"the host {host} resolves to a private, loopback or link-local address "
                                "(TOUCHPOINT_WEBHOOKS_ALLOW_PRIVATE=true allows it)")


def is_public(ip: str) -> bool:
    """A global unicast address: not loopback, private, link-local, shared, reserved or multicast (an IPv4-mapped
    IPv6 address is judged as the IPv4 address it carries)."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


# The subscriptions, for the API, the CLI and pages.

@dataclass(frozen=True)
class WebhookView:
    webhook: Webhook
    pending: int
    attempts: list[tuple[WebhookAttempt, str, str]]
    last_attempt: WebhookAttempt | None = None


def list_subscriptions(session: Session) -> list[WebhookView]:
    last = last_attempts(session)
    return [WebhookView(w, pending_count(session, w.id or 0), [], last.get(w.id or 0)) for w in list_webhooks(session)]


def get_subscription(session: Session, webhook_id: int, attempts: int = 20) -> WebhookView:
    webhook = webhook_by_id(session, webhook_id)
    if webhook is None:
        raise WebhookNotFound(webhook_id)
    return WebhookView(webhook, pending_count(session, webhook_id), recent_attempts(session, webhook_id, attempts))


def create_subscription(
    rt: Runtime, session: Session, url: str, events: list[str], description: str | None = None, *,
    actor: str = SYSTEM,
) -> Webhook:
    """A new subscription with a fresh secret; the caller shows the secret once."""
    check_url(url, rt.settings.webhooks_allow_private)
    webhook = create_webhook(session, url, _unique(events), description or "")
    record(session, actor, "webhook", webhook.id, "created", url=_audited_url(url), events=webhook.events)
    return webhook


def _audited_url(url: str) -> str:
    """The URL without its query, which may carry a receiver's token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def update_subscription(
    rt: Runtime,
    session: Session,
    webhook_id: int,
    *,
    url: str | None = None,
    events: list[str] | None = None,
    enabled: bool | None = None,
    description: str | None = None,
    actor: str = SYSTEM,
) -> Webhook:
    """Enabling again clears the failure streak and the reason it was disabled; pending events go out in order."""
    webhook = webhook_by_id(session, webhook_id, lock=True)
    if webhook is None:
        raise WebhookNotFound(webhook_id)
    changed: dict[str, object] = {}
    if url is not None and url != webhook.url:
        webhook.url = check_url(url, rt.settings.webhooks_allow_private)
        changed["url"] = _audited_url(url)
    if events is not None and _unique(events) != webhook.events:
        webhook.events = changed["events"] = _unique(events)
    if description is not None and description != webhook.description:
        webhook.description = changed["description"] = description
    if enabled is not None and enabled != webhook.enabled:
        webhook.enabled = changed["enabled"] = enabled
        webhook.failing_since = None
        webhook.disabled_reason = None if enabled else "disabled by an admin"
    if changed:
        action = ("enabled" if enabled else "disabled") if list(changed) == ["enabled"] else "updated"
        record(session, actor, "webhook", webhook_id, action, **changed)
    webhook.updated_at = utcnow()
    session.add(webhook)
    session.flush()
    return webhook


def rotate_secret(session: Session, webhook_id: int, *, actor: str = SYSTEM) -> Webhook:
    """A new secret; the old one also signs for ROTATION_OVERLAP, so a receiver can switch without a gap."""
    webhook = webhook_by_id(session, webhook_id, lock=True)
    if webhook is None:
        raise WebhookNotFound(webhook_id)
    now = utcnow()
    webhook.previous_secret, webhook.previous_until = webhook.secret, now + ROTATION_OVERLAP
    webhook.secret = new_secret()
    webhook.updated_at = now
    record(session, actor, "webhook", webhook_id, "secret_rotated")
    session.add(webhook)
    session.flush()
    return webhook


def remove_subscription(session: Session, webhook_id: int, *, actor: str = SYSTEM) -> None:
    webhook = webhook_by_id(session, webhook_id, lock=True)
    if webhook is None:
        raise WebhookNotFound(webhook_id)
    record(session, actor, "webhook", webhook_id, "deleted", url=_audited_url(webhook.url))
    delete_webhook(session, webhook)


def _unique(events: list[str]) -> list[str]:
    return list(dict.fromkeys(events))


# The events of the data path, each called in the transaction of its change.

def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _response(response: Response) -> dict[str, Any]:
    return {"id": response.id, "delivery_id": response.delivery_id, "flow": response.flow_key,
            "channel": response.channel, "question": response.question, "score": response.score,
            "band": response.band, "sentiment": response.sentiment, "answered_at": _time(response.answered_at)}


def note_response(session: Session, response: Response, before: Response | None) -> None:
    """`response.created` for a new answer; `response.commented` whenever the comment is new or changed (also
    when it came with the score, so a receiver of comments alone misses none)."""
    def data(comment: bool) -> Any:
        def build() -> dict[str, Any]:
            body = _response(response) | ({"comment": response.comment} if comment else {})
            return {"response": body, "contact": {"external_id": external_id_of(session, response.contact_id)}}
        return build

    if before is None:
        enqueue(session, "response.created", data(False), response.contact_id)
    if response.comment and response.comment != (before.comment if before else None):
        enqueue(session, "response.commented", data(True), response.contact_id)


def _case(session: Session, followup: FollowUp) -> dict[str, Any]:
    return {"id": followup.id, "queue": queue_key_of(session, followup.queue_id), "status": followup.status,
            "priority": followup.priority, "channel": followup.channel, "due_at": _time(followup.due_at),
            "opened_at": _time(followup.created_at)}


def note_case_opened(session: Session, followup: FollowUp, response: Response) -> None:
    def data() -> dict[str, Any]:
        return {"followup": _case(session, followup) | {"reason": followup.reason}, "response": _response(response),
                "contact": {"external_id": external_id_of(session, followup.contact_id)}}

    enqueue(session, "followup.opened", data, followup.contact_id)


def note_case_resolved(session: Session, followup: FollowUp, author: str) -> None:
    """Who resolved it (the agent's name as the surface gave it) but not the note: notes are internal."""
    def data() -> dict[str, Any]:
        case = _case(session, followup) | {"resolved_at": _time(followup.resolved_at), "resolved_by": author}
        return {"followup": case, "response": {"id": followup.response_id},
                "contact": {"external_id": external_id_of(session, followup.contact_id)}}

    enqueue(session, "followup.resolved", data, followup.contact_id)
