"""/api/v1/webhooks: subscriptions to events, signed the Standard Webhooks way. The secret is shown at creation
and at rotation only."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel, Field

from bot.api.actor import api_actor
from bot.api.params import ID
from bot.http_json import json_body
from bot.inputs import Strict, one_of
from bot.runtime import runtime
from bot.webhook_delivery import send_test
from bot.webhooks import (
    WebhookView,
    create_subscription,
    get_subscription,
    list_subscriptions,
    remove_subscription,
    rotate_secret,
    update_subscription,
)
from storage.webhooks import EVENT_TYPES

EventType = one_of(*EVENT_TYPES)
Url = Field(min_length=1, max_length=2000)


class WebhookIn(Strict):
    url: str = Url
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))  # type: ignore[valid-type]
    description: str | None = Field(default=None, max_length=255)


class WebhookPatch(Strict):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[EventType] | None = Field(default=None, min_length=1,  # type: ignore[valid-type]
                                           max_length=len(EVENT_TYPES))
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=255)


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    enabled: bool
    description: str
    disabled_reason: str | None  # why it was disabled: by an admin, a day of failures, or 410 Gone
    failing_since: datetime | None
    pending: int  # messages waiting to be sent
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str  # `whsec_...`, shown only at creation: the key receivers verify signatures with


class WebhookAttemptOut(BaseModel):
    message_id: str  # the `webhook-id` header
    type: str
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDetail(WebhookOut):
    attempts: list[WebhookAttemptOut]  # the newest 20


class WebhookList(BaseModel):
    items: list[WebhookOut]


class WebhookSecret(BaseModel):
    secret: str  # the new secret; the previous one keeps signing beside it for 24 hours
    previous_valid_until: datetime | None


class WebhookTestOut(BaseModel):
    message_id: str
    delivered: bool
    status_code: int | None
    error: str | None
    duration_ms: int


def webhook_out(view: WebhookView) -> WebhookOut:
    w = view.webhook
    assert w.id is not None
    return WebhookOut(id=w.id, url=w.url, events=w.events, enabled=w.enabled, description=w.description,
                      disabled_reason=w.disabled_reason, failing_since=w.failing_since, pending=view.pending,
                      created_at=w.created_at, updated_at=w.updated_at)


def _detail(view: WebhookView) -> Response:
    attempts = [WebhookAttemptOut(message_id=msg_id, type=type_, at=a.at, status_code=a.status_code, error=a.error,
                                  duration_ms=a.duration_ms) for a, msg_id, type_ in view.attempts]
    body = WebhookDetail(**webhook_out(view).model_dump(), attempts=attempts)
    return jsonify(body.model_dump(mode="json"))


def list_all() -> Response:
    with runtime().session() as session:
        items = [webhook_out(view) for view in list_subscriptions(session)]
    return jsonify(WebhookList(items=items).model_dump(mode="json"))


def create() -> tuple[Response, int]:
    payload = json_body(WebhookIn)
    rt = runtime()
    with rt.session() as session:
        webhook = create_subscription(rt, session, payload.url, payload.events, payload.description,
                                      actor=api_actor())
        body = WebhookCreated(**webhook_out(WebhookView(webhook, 0, [])).model_dump(), secret=webhook.secret)
    return jsonify(body.model_dump(mode="json")), 201


def get_one(webhook_id: int) -> Response:
    with runtime().session() as session:
        return _detail(get_subscription(session, webhook_id))


def patch(webhook_id: int) -> Response:
    payload = json_body(WebhookPatch)
    rt = runtime()
    with rt.session() as session:
        update_subscription(rt, session, webhook_id, url=payload.url, events=payload.events, enabled=payload.enabled,
                            description=payload.description, actor=api_actor())
        return _detail(get_subscription(session, webhook_id))


def delete(webhook_id: int) -> tuple[str, int]:
    with runtime().session() as session:
        remove_subscription(session, webhook_id, actor=api_actor())
    return "", 204


def rotate(webhook_id: int) -> Response:
    with runtime().session() as session:
        webhook = rotate_secret(session, webhook_id, actor=api_actor())
        body = WebhookSecret(secret=webhook.secret, previous_valid_until=webhook.previous_until)
    return jsonify(body.model_dump(mode="json"))


def test(webhook_id: int) -> Response:
    sent = send_test(runtime(), webhook_id)
    body = WebhookTestOut(message_id=sent.msg_id, delivered=sent.attempt.ok, status_code=sent.attempt.status_code,
                          error=sent.attempt.error, duration_ms=sent.attempt.ms)
    return jsonify(body.model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/webhooks", "list_webhooks", list_all, methods=["GET"])
    bp.add_url_rule("/webhooks", "create_webhook", create, methods=["POST"])
    bp.add_url_rule(f"/webhooks/<{ID}:webhook_id>", "get_webhook", get_one, methods=["GET"])
    bp.add_url_rule(f"/webhooks/<{ID}:webhook_id>", "patch_webhook", patch, methods=["PATCH"])
    bp.add_url_rule(f"/webhooks/<{ID}:webhook_id>", "delete_webhook", delete, methods=["DELETE"])
    bp.add_url_rule(f"/webhooks/<{ID}:webhook_id>/secret", "rotate_webhook_secret", rotate, methods=["POST"])
    bp.add_url_rule(f"/webhooks/<{ID}:webhook_id>/test", "test_webhook", test, methods=["POST"])
