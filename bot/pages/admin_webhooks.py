"""/app/admin/webhooks: outbound webhook subscriptions with their state and last delivery, created with a secret
shown once, enabled and disabled, deleted, sent a test event, and each one's delivery log."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.pages.web import PageError, actor, admin_required
from bot.runtime import runtime
from bot.webhook_delivery import TestSent, send_test
from bot.webhooks import (
    WebhookNotFound,
    WebhookUrlRefused,
    create_subscription,
    get_subscription,
    list_subscriptions,
    remove_subscription,
    update_subscription,
)
from storage.models import Webhook
from storage.webhooks import EVENT_TYPES

LOG_LENGTH = 50
MAX_URL, MAX_DESCRIPTION = 2000, 255


def _list(status: int = 200, *, created: Webhook | None = None, form: dict | None = None,
          errors: dict[str, str] | None = None) -> tuple[str, int]:
    with runtime().session() as session:
        views = list_subscriptions(session)
        return render_template("app/admin_webhooks.html", views=views, event_types=EVENT_TYPES, created=created,
                               form=form or {"url": "", "events": [], "description": ""},
                               errors=errors or {}), status


@admin_required
def webhooks() -> tuple[str, int]:
    return _list()


def _form_errors(form: dict) -> dict[str, str]:
    errors = {}
    if not form["url"].strip():
        errors["url"] = "URL is required"
    elif len(form["url"]) > MAX_URL:
        errors["url"] = f"URL must be at most {MAX_URL} characters"
    if not form["events"]:
        errors["events"] = "Choose at least one event"
    elif not set(form["events"]) <= set(EVENT_TYPES):
        errors["events"] = "Choose events from the list"
    if len(form["description"]) > MAX_DESCRIPTION:
        errors["description"] = f"Description must be at most {MAX_DESCRIPTION} characters"
    return errors


@admin_required
def create() -> tuple[str, int]:
    form = {"url": request.form.get("url", ""), "events": request.form.getlist("events"),
            "description": request.form.get("description", "")}
    errors = _form_errors(form)
    if errors:
        return _list(422, form=form, errors=errors)
    rt = runtime()
    try:
        with rt.session() as session:
            webhook = create_subscription(rt, session, form["url"].strip(), form["events"],
                                          form["description"].strip(), actor=actor())
            session.expunge(webhook)
    except WebhookUrlRefused as exc:
        return _list(422, form=form, errors={"url": f"URL {exc.message}"})
    return _list(201, created=webhook)


def _detail(webhook_id: int, test: TestSent | None = None) -> tuple[str, int]:
    with runtime().session() as session:
        try:
            view = get_subscription(session, webhook_id, LOG_LENGTH)
        except WebhookNotFound:
            raise PageError(404, "No such webhook", "This webhook does not exist (any more).") from None
        return render_template("app/admin_webhook.html", view=view, test=test), 200


@admin_required
def webhook(webhook_id: int) -> tuple[str, int]:
    return _detail(webhook_id)


def _set_enabled(webhook_id: int, enabled: bool) -> Response:
    rt = runtime()
    with rt.session() as session:
        try:
            update_subscription(rt, session, webhook_id, enabled=enabled, actor=actor())
        except WebhookNotFound:
            raise PageError(404, "No such webhook", "This webhook does not exist (any more).") from None
    flash(f"Webhook #{webhook_id} is {'enabled: waiting events go out now' if enabled else 'disabled'}.")
    return redirect(url_for("admin_webhooks.webhook", webhook_id=webhook_id), 303)


@admin_required
def enable(webhook_id: int) -> Response:
    return _set_enabled(webhook_id, True)


@admin_required
def disable(webhook_id: int) -> Response:
    return _set_enabled(webhook_id, False)


@admin_required
def delete(webhook_id: int) -> Response:
    with runtime().session() as session:
        try:
            remove_subscription(session, webhook_id, actor=actor())
        except WebhookNotFound:
            raise PageError(404, "No such webhook", "This webhook does not exist (any more).") from None
    flash(f"Webhook #{webhook_id} is deleted, with its waiting events and its log.")
    return redirect(url_for("admin_webhooks.webhooks"), 303)


@admin_required
def test(webhook_id: int) -> tuple[str, int]:
    try:
        sent = send_test(runtime(), webhook_id)
    except WebhookNotFound:
        raise PageError(404, "No such webhook", "This webhook does not exist (any more).") from None
    return _detail(webhook_id, sent)


def admin_webhooks_blueprint() -> Blueprint:
    bp = Blueprint("admin_webhooks", __name__, url_prefix="/app/admin/webhooks")
    bp.add_url_rule("", "webhooks", webhooks, methods=["GET"])
    bp.add_url_rule("", "create", create, methods=["POST"])
    bp.add_url_rule("/<int(max=2147483647):webhook_id>", "webhook", webhook, methods=["GET"])
    for name, view in (("enable", enable), ("disable", disable), ("delete", delete), ("test", test)):
        bp.add_url_rule(f"/<int(max=2147483647):webhook_id>/{name}", name, view, methods=["POST"])
    return bp
