"""The worker's side of outbound webhooks: send the outbox, signed the Standard Webhooks way, in order.

A worker takes a subscription under a lease and sends its pending messages oldest first; the first failure stops
that subscription until the failed message's retry is due, so a receiver never gets a later event before an
earlier one. Retries back off exponentially with jitter. A day after a message's first attempt it is given up,
and a subscription that has failed for a day is disabled with the reason recorded (and logged). A 410 Gone
disables it at once: the receiver says the URL is no more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from sqlmodel import Session
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from bot.audit import SYSTEM, record
from bot.outbox import send_and_record
from bot.runtime import Runtime
from bot.webhooks import WebhookNotFound, WebhookUrlRefused, check_url, is_public
from channels.base import Outbound
from storage.models import Webhook, WebhookMessage
from storage.types import utcnow
from storage.users import admin_emails
from storage.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    SECRET_PREFIX,
    TEST_EVENT,
    add_attempt,
    claim_webhooks,
    event_body,
    finish,
    new_message_id,
    next_message,
    release_webhook,
    webhook_by_id,
)

log = logging.getLogger("touchpoint.webhooks")

GIVE_UP_AFTER = timedelta(days=1)
PER_CLAIM = 50  # messages one claim may send before the subscription goes back for the next tick
USER_AGENT = "Touchpoint-Webhooks/1"


def signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """`v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed with the secret's decoded bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(webhook: Webhook, msg_id: str, timestamp: int, body: str, now: datetime) -> str:
    """Space-separated, as the standard allows: the new secret's, and during a rotation the old one's too."""
    signed = [signature(webhook.secret, msg_id, timestamp, body)]
    if webhook.previous_secret and webhook.previous_until and webhook.previous_until > now:
        signed.append(signature(webhook.previous_secret, msg_id, timestamp, body))
    return " ".join(signed)


@dataclass(frozen=True)
class Attempt:
    """What one POST gave: a status code, or the kind of error (never the receiver's answer, which we do not read)."""

    status_code: int | None
    error: str | None
    ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(rt: Runtime, webhook: Webhook, msg_id: str, body: str, now: datetime) -> Attempt:
    """Check the URL again (DNS may have changed since it was saved), sign with this attempt's time, POST."""
    started = time.monotonic()
    try:
        check_url(webhook.url, rt.settings.webhooks_allow_private)
    except WebhookUrlRefused as refused:
        return Attempt(None, f"not sent: {refused.message}", 0)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures(webhook, msg_id, timestamp, body, now),
    }
    timeout = rt.settings.webhooks_timeout_seconds
    status_code, error = None, None
    try:
        # Redirects are not followed: the place they point to has not been checked.
        with http_session(rt.settings.webhooks_allow_private) as http, \
                http.post(webhook.url, data=body.encode(), headers=headers, timeout=timeout, allow_redirects=False,
                          stream=True) as answer:
            status_code = answer.status_code
    except AddressRefused as refused:
        error = f"not sent: {refused}"
    except requests.Timeout:
        error = f"timed out after {timeout:g}s"
    except requests.ConnectionError:
        error = "could not connect"
    except requests.RequestException as exc:
        error = type(exc).__name__
    ms = int((time.monotonic() - started) * 1000)
    if status_code is not None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
    return Attempt(status_code, error, ms)


class AddressRefused(Exception):
    """The connection reached an address that is not public: the name's DNS answer changed since the check."""


def _check_peer(sock: socket.socket) -> socket.socket:
    peer = str(sock.getpeername()[0])
    if not is_public(peer):
        sock.close()
        raise AddressRefused("the host now resolves to a private, loopback or link-local address")
    return sock


class _PublicHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _check_peer(super()._new_conn())


class _PublicHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _check_peer(super()._new_conn())  # before TLS, before a byte is sent


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """Checks the address each connection actually reached, so a name that resolves to a public address for the
    check and to an inner one for the connection (DNS rebinding) gets nothing."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool, "https": _PublicHTTPSPool}


def http_session(allow_private: bool) -> requests.Session:
    """No proxies from the environment (the checks need a direct connection), and public peers only unless
    allowed."""
    session = requests.Session()
    session.trust_env = False
    if not allow_private:
        session.mount("http://", PublicOnlyAdapter())
        session.mount("https://", PublicOnlyAdapter())
    return session


def backoff(rt: Runtime, attempts: int) -> timedelta:
    """Exponential from the base, capped, with jitter so that many failing messages do not retry in step."""
    ceiling = min(rt.settings.webhooks_retry_base_seconds * 2 ** max(attempts - 1, 0),
                  rt.settings.webhooks_retry_max_seconds)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def deliver_webhooks(rt: Runtime, now: datetime | None = None, executor: ThreadPoolExecutor | None = None) -> int:
    """One pass: claim the subscriptions with a message due and send; returns the messages delivered."""
    now = now or utcnow()
    lease = timedelta(seconds=rt.settings.webhooks_timeout_seconds * PER_CLAIM * 1.5 + 60)
    with rt.session() as session:
        ids = claim_webhooks(session, now, rt.settings.worker_batch, lease)
    claim = now + lease
    mapper = executor.map if executor is not None else map
    return sum(mapper(lambda webhook_id: _drain(rt, webhook_id, claim, now), ids))


def _drain(rt: Runtime, webhook_id: int, claim: datetime, now: datetime) -> int:
    delivered = 0
    try:
        for _ in range(PER_CLAIM):
            with rt.session() as session:
                found = next_message(session, webhook_id, claim)
            if found is None or found[1].next_attempt_at > now:
                break
            webhook, message = found
            assert message.id is not None and message.body is not None
            attempt = post(rt, webhook, message.msg_id, message.body, now)
            _log(webhook_id, message, attempt)
            with rt.session() as session:
                go_on, disabled = _record(rt, session, webhook_id, message.id, attempt, now)
            if disabled is not None:
                tell_admins(rt, webhook, disabled)
            if not go_on:
                break
            delivered += 1
    finally:
        with rt.session() as session:
            release_webhook(session, webhook_id, claim)
    return delivered


def _log(webhook_id: int, message: WebhookMessage, attempt: Attempt) -> None:
    outcome = "delivered" if attempt.ok else "failed"
    log.info("webhook send webhook=%s message=%s type=%s outcome=%s status=%s error=%s ms=%s", webhook_id,
             message.msg_id, message.type, outcome, attempt.status_code, attempt.error, attempt.ms)


def _record(rt: Runtime, session: Session, webhook_id: int, message_id: int, attempt: Attempt,
            now: datetime) -> tuple[bool, str | None]:
    """The attempt in the log and its consequence: whether the next message may go, and why the subscription was
    disabled if it just was."""
    webhook = webhook_by_id(session, webhook_id, lock=True)
    message = session.get(WebhookMessage, message_id)
    if webhook is None or message is None or message.status != PENDING:
        return False, None  # deleted meanwhile
    add_attempt(session, message, now, attempt.status_code, attempt.error, attempt.ms)
    if attempt.ok:
        finish(session, message, DELIVERED, now)
        webhook.failing_since = None
        session.add(webhook)
        return True, None
    webhook.failing_since = webhook.failing_since or now
    disabled = None
    if attempt.status_code == 410:
        disabled = _disable(session, webhook, "the receiver answered 410 Gone", now)
    elif message.first_attempt_at is not None and now - message.first_attempt_at >= GIVE_UP_AFTER:
        finish(session, message, FAILED, now)
        log.warning("webhook %s gave up message %s after %d attempts", webhook_id, message.msg_id, message.attempts)
        if now - webhook.failing_since >= GIVE_UP_AFTER:
            since = webhook.failing_since.strftime("%Y-%m-%d %H:%M UTC")
            disabled = _disable(session, webhook, f"failing since {since}; last attempt: {attempt.error}", now)
    else:
        message.next_attempt_at = now + backoff(rt, message.attempts)
        session.add(message)
    session.add(webhook)
    return False, disabled


def _disable(session: Session, webhook: Webhook, reason: str, now: datetime) -> str:
    """The admins see the reason in the API, the CLI's list, the pages, the audit log and the log, and are told by
    email (`tell_admins`); enabling again resumes the queue."""
    webhook.enabled = False
    webhook.disabled_reason = reason[:500]
    webhook.updated_at = now
    record(session, SYSTEM, "webhook", webhook.id, "disabled", reason=webhook.disabled_reason)
    log.warning("webhook %s to %s disabled: %s", webhook.id, urlsplit(webhook.url).hostname, reason)
    return webhook.disabled_reason


def tell_admins(rt: Runtime, webhook: Webhook, reason: str) -> int:
    """An email to every enabled admin, through the email channel as escalations go (SMTP when configured);
    returns the emails sent. Without the email channel the log line and the pages are all there is."""
    if "email" not in rt.channels:
        log.warning("webhook %s disabled; no email channel to tell the admins", webhook.id)
        return 0
    with rt.session() as session:
        admins = admin_emails(session)
    host = urlsplit(webhook.url).hostname
    text = "\n".join([
        f"Touchpoint stopped sending events to the webhook #{webhook.id} ({host}): {reason}.",
        "",
        "Events keep queuing for it. Fix the receiver, send it a test event, then enable it again:",
        f"{rt.settings.public_url}/app/admin/webhooks/{webhook.id}",
    ])
    sent = 0
    for admin in admins:
        mail = Outbound(channel="email", to=admin, text=text, kind="webhook_disabled",
                        subject=f"Webhook #{webhook.id} to {host} is disabled")
        sent += send_and_record(rt, mail, None).sent
    return sent


@dataclass(frozen=True)
class TestSent:
    msg_id: str
    attempt: Attempt


def send_test(rt: Runtime, webhook_id: int) -> TestSent:
    """A `webhook.test` event sent now, outside the queue (also to a disabled subscription, to check it before
    enabling it again); logged as a message of its own, never retried."""
    now = utcnow()
    with rt.session() as session:
        webhook = webhook_by_id(session, webhook_id)
        if webhook is None:
            raise WebhookNotFound(webhook_id)
    msg_id = new_message_id()
    body = event_body(TEST_EVENT, {"webhook": {"id": webhook_id}}, now)
    attempt = post(rt, webhook, msg_id, body, now)
    _log(webhook_id, WebhookMessage(webhook_id=webhook_id, msg_id=msg_id, type=TEST_EVENT, next_attempt_at=now),
         attempt)
    with rt.session() as session:
        if webhook_by_id(session, webhook_id, lock=True) is not None:
            message = WebhookMessage(webhook_id=webhook_id, msg_id=msg_id, type=TEST_EVENT, next_attempt_at=now,
                                     created_at=now)
            session.add(message)
            session.flush()
            add_attempt(session, message, now, attempt.status_code, attempt.error, attempt.ms)
            finish(session, message, DELIVERED if attempt.ok else FAILED, now)
    return TestSent(msg_id, attempt)
