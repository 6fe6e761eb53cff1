"""Outbound webhooks: subscriptions, the outbox written beside each change, and the log of attempts.

`enqueue` is called in the transaction of the change it reports (a response saved, a case opened, an opt-out), so
the event and the change commit or roll back together. With no enabled subscription wanting the event it costs
one small SELECT. The worker then takes each subscription under a lease and sends its messages oldest first.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import Webhook, WebhookAttempt, WebhookMessage
from storage.types import utcnow

EVENT_TYPES = ("response.created", "response.commented", "followup.opened", "followup.resolved", "contact.opted_out")
TEST_EVENT = "webhook.test"
SECRET_PREFIX = "whsec_"

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

_WEBHOOKS = Webhook.__table__  # type: ignore[attr-defined]
_MESSAGES = WebhookMessage.__table__  # type: ignore[attr-defined]
_ENABLED = sa.select(_WEBHOOKS.c.id, _WEBHOOKS.c.events).where(_WEBHOOKS.c.enabled.is_(True))
_INSERT_MESSAGES = sa.insert(_MESSAGES)


def new_secret() -> str:
    """Standard Webhooks' form: `whsec_` and the base64 of 32 random bytes (the HMAC key)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def event_body(type_: str, data: dict[str, Any], at: datetime) -> str:
    """The exact bytes that are signed and sent: `{"type", "timestamp", "data"}`."""
    return json.dumps({"type": type_, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
                      separators=(",", ":"), ensure_ascii=False)


def enqueue(session: Session, type_: str, data: Callable[[], dict[str, Any]], contact_id: int | None = None) -> int:
    """One outbox row per enabled subscription that wants `type_`, in the caller's transaction. `data` is called
    only when one does, so a deployment without webhooks builds no payload. Returns the rows written."""
    connection = session.connection()
    wanted = [row.id for row in connection.execute(_ENABLED) if type_ in (row.events or ())]
    if not wanted:
        return 0
    now = utcnow()
    body = event_body(type_, data(), now)
    connection.execute(_INSERT_MESSAGES, [
        {"webhook_id": webhook_id, "msg_id": new_message_id(), "type": type_, "body": body, "contact_id": contact_id,
         "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
        for webhook_id in wanted
    ])
    return len(wanted)


def create_webhook(session: Session, url: str, events: list[str], description: str = "") -> Webhook:
    webhook = Webhook(url=url, events=list(events), secret=new_secret(), description=description)
    session.add(webhook)
    session.flush()
    return webhook


def list_webhooks(session: Session) -> list[Webhook]:
    return list(session.exec(select(Webhook).order_by(col(Webhook.id))).all())


def webhook_by_id(session: Session, webhook_id: int, *, lock: bool = False) -> Webhook | None:
    return session.get(Webhook, webhook_id, with_for_update=lock or None)


def delete_webhook(session: Session, webhook: Webhook) -> None:
    """The subscription, its outbox and its log go together."""
    session.execute(sa.delete(WebhookAttempt).where(col(WebhookAttempt.webhook_id) == webhook.id))
    session.execute(sa.delete(WebhookMessage).where(col(WebhookMessage.webhook_id) == webhook.id))
    session.delete(webhook)
    session.flush()


def recent_attempts(session: Session, webhook_id: int, limit: int = 20) -> list[tuple[WebhookAttempt, str, str]]:
    """The newest attempts first, each with its message's id and event type."""
    rows = session.exec(
        select(WebhookAttempt, WebhookMessage.msg_id, WebhookMessage.type)
        .join(WebhookMessage, col(WebhookMessage.id) == WebhookAttempt.message_id)
        .where(WebhookAttempt.webhook_id == webhook_id)
        .order_by(col(WebhookAttempt.id).desc())
        .limit(limit)
    ).all()
    return [(attempt, msg_id, type_) for attempt, msg_id, type_ in rows]


def last_attempts(session: Session) -> dict[int, WebhookAttempt]:
    """Each subscription's newest attempt (by the `(webhook_id, id)` index)."""
    newest = select(sa.func.max(WebhookAttempt.id)).group_by(col(WebhookAttempt.webhook_id)).scalar_subquery()
    rows = session.exec(select(WebhookAttempt).where(col(WebhookAttempt.id).in_(newest))).all()
    return {row.webhook_id: row for row in rows}


def pending_count(session: Session, webhook_id: int) -> int:
    return session.exec(
        select(sa.func.count()).where(WebhookMessage.webhook_id == webhook_id, WebhookMessage.status == PENDING)
    ).one()


def _head_id(webhook_id: Any) -> Any:
    """The id of the subscription's oldest pending message: the only one that may be sent next."""
    queued = aliased(WebhookMessage)
    return (
        select(sa.func.min(queued.id))
        .where(queued.webhook_id == webhook_id, queued.status == PENDING)
        .correlate_except(queued)
        .scalar_subquery()
    )


def claim_webhooks(session: Session, now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Take enabled subscriptions whose oldest pending message is due, under a lease, and commit: while a worker
    holds one, no other sends its messages, so they go out in order. FOR UPDATE SKIP LOCKED on PostgreSQL;
    SQLite's write lock (BEGIN IMMEDIATE) makes the claim atomic there."""
    due = (
        select(WebhookMessage.id)
        .where(WebhookMessage.id == _head_id(Webhook.id), WebhookMessage.next_attempt_at <= now)
        .exists()
    )
    ids = [
        i for i in session.exec(
            select(Webhook.id)
            .where(col(Webhook.enabled).is_(True),
                   sa.or_(col(Webhook.lease_until).is_(None), col(Webhook.lease_until) < now), due)
            .order_by(col(Webhook.id))
            .limit(limit)
            .with_for_update(skip_locked=True, of=Webhook)
        ).all() if i is not None
    ]
    if ids:
        session.execute(sa.update(Webhook).where(col(Webhook.id).in_(ids)).values(lease_until=now + lease))
    session.commit()
    return ids


def next_message(session: Session, webhook_id: int, claim: datetime) -> tuple[Webhook, WebhookMessage] | None:
    """The subscription's oldest pending message, while the claim `claim` (its lease) still holds it and it is
    enabled; None when there is nothing to send or the subscription is no longer ours."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or not webhook.enabled or webhook.lease_until != claim:
        return None
    message = session.exec(select(WebhookMessage).where(WebhookMessage.id == _head_id(webhook_id))).first()
    return (webhook, message) if message is not None else None


def add_attempt(
    session: Session, message: WebhookMessage, at: datetime, status_code: int | None, error: str | None, ms: int
) -> WebhookAttempt:
    assert message.id is not None
    attempt = WebhookAttempt(webhook_id=message.webhook_id, message_id=message.id, at=at, status_code=status_code,
                             error=error[:255] if error else None, duration_ms=ms)
    message.attempts += 1
    message.first_attempt_at = message.first_attempt_at or at
    session.add(attempt)
    session.add(message)
    return attempt


def finish(session: Session, message: WebhookMessage, status: str, at: datetime) -> None:
    """Delivered or given up: the body is not needed any more, so the outbox keeps no personal data."""
    message.status = status
    message.finished_at = at
    message.body = None
    session.add(message)


def release_webhook(session: Session, webhook_id: int, claim: datetime) -> None:
    session.execute(
        sa.update(Webhook).where(col(Webhook.id) == webhook_id, col(Webhook.lease_until) == claim)
        .values(lease_until=None)
    )


def forget_contact_messages(session: Session, contact_id: int) -> None:
    """An erased contact's events that have not gone out yet are dropped with their attempts."""
    mine = select(WebhookMessage.id).where(WebhookMessage.contact_id == contact_id, WebhookMessage.status == PENDING)
    session.execute(sa.delete(WebhookAttempt).where(col(WebhookAttempt.message_id).in_(mine.scalar_subquery())))
    session.execute(sa.delete(WebhookMessage).where(WebhookMessage.contact_id == contact_id,
                                                    WebhookMessage.status == PENDING))


def forget_finished(session: Session, before: datetime) -> int:
    """Messages delivered or given up before `before`, with their attempts: the log keeps recent history."""
    old = select(WebhookMessage.id).where(WebhookMessage.status != PENDING, col(WebhookMessage.finished_at) < before)
    session.execute(sa.delete(WebhookAttempt).where(col(WebhookAttempt.message_id).in_(old.scalar_subquery())))
    result = session.execute(
        sa.delete(WebhookMessage).where(WebhookMessage.status != PENDING, col(WebhookMessage.finished_at) < before)
    )
    return result.rowcount or 0
