"""/sandbox: a page where a person plays the customer on every sandboxed channel.

The page talks to small same-origin JSON endpoints here rather than to the API, so a newcomer needs
no API key. As they answer anyone, they exist only in sandbox mode proper: every channel that needs an account
runs on the sandbox transport (and TOUCHPOINT_SANDBOX_PAGES is not off). Even then they show, change and answer
for sandbox customers only (storage.sandbox): ids starting with `sandbox:`, and the demo's.

The web channel has no sandbox transport: its surveys wait for the customer's next page view. The page's
"Web widget" panel plays that page view: /sandbox/widget is a stand-in for the customer's web app that embeds
the real widget script with the demo site's public key (`touchpoint demo` creates the site, allowing the
service's own origin). SANDBOX ONLY: it computes the identity hash, HMAC-SHA256(user id) under the demo
site's secret, on the server for whichever customer is picked, and only ever for the `demo` site. In
production the customer's own backend computes the hash and Touchpoint never hands one out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from sqlmodel import Session

from bot.demo import DEMO_CONTACTS, DEMO_PROPERTIES, DEMO_SITE_KEY, DEMO_WEB_CUSTOMER, SANDBOX_CONTACTS
from bot.http_json import ApiError, json_data, reject_unstorable_url
from bot.pages.sandbox_trigger import FORM_DEFAULTS, format_properties, start_survey
from bot.recipients import stored_address
from bot.runtime import Runtime, runtime
from bot.sandbox import require_sandboxed, sandbox_reply
from bot.sites import normalize_origin
from channels.email.transport import choices
from flows.questions import QuestionKind
from flows.triggers import example_properties
from storage.contacts import contact_by_external_id
from storage.flow_versions import current_flows
from storage.models import Delivery, Flow, Message, Site
from storage.sandbox import only_sandbox_contacts_at, sandbox_conversations, sandbox_thread
from storage.sites import site_by_key, waiting_web_surveys
from storage.types import utcnow


def sandbox_pages_allowed(rt: Runtime) -> bool:
    """Sandbox mode proper: no channel has a real provider, so nothing done here can reach a real person."""
    accounts = [channel for channel in rt.channels.values() if type(channel).needs_credentials]
    return rt.settings.sandbox_pages and bool(accounts) and all(channel.sandboxed for channel in accounts)


def page() -> str:
    return _render()


def _render(form: Mapping[str, Any] | None = None, outcome: list[str] | None = None, failed: bool = False) -> str:
    rt = runtime()
    with rt.session() as session:
        events = []
        for flow in current_flows(session):
            definition = rt.definition(flow)
            event = definition.trigger.event
            sample = DEMO_PROPERTIES.get(event) or example_properties(definition)
            events.append({"flow": flow.key, "event": event, "properties": format_properties(sample)})
        site = site_by_key(session, DEMO_SITE_KEY)
        widget = None
        if site is not None:
            widget = {"site": site.key, "public_key": site.public_key, "warning": _origin_warning(site),
                      "contacts": DEMO_CONTACTS, "default": DEMO_WEB_CUSTOMER}
    values = {**FORM_DEFAULTS, **(form or {})}
    chosen = next((i for i, e in enumerate(events) if e["event"] == values.get("type")), 0)
    if form is None and events:
        values["properties"] = events[0]["properties"]
    return render_template("sandbox.html", channels=rt.sandbox_channels, events=events, widget=widget,
                           form=values, chosen=chosen, outcome=outcome or [], failed=failed,
                           prefix=SANDBOX_CONTACTS.prefix)


def _origin_warning(site: Site) -> str | None:
    """Why the widget would be refused on this page: the browser's origin is not one the demo site allows."""
    try:
        origin = normalize_origin(request.host_url)
    except ValueError:
        return None
    if origin in site.allowed_origins:
        return None
    return (f"The {site.key} site allows {', '.join(site.allowed_origins)}, not {origin}, so the widget will be "
            f"refused here: open the sandbox at {runtime().settings.public_url}/sandbox.")


def _widget_identity(user: str) -> dict[str, Any]:
    """SANDBOX ONLY: what the customer's backend would give its page, the demo site's public key and the
    user's hash, computed here with the site's secret. Only existing customers, only the demo site, and only
    while no channel has real credentials."""
    user = user.strip()
    if "widget.script" not in current_app.view_functions:
        raise ApiError(409, "no_web_channel", "the web channel is not running, so there is no widget to open")
    rt = runtime()
    if not sandbox_pages_allowed(rt):
        # With a real provider on, the contacts may be real people: nobody signs in as them from here.
        raise ApiError(409, "not_all_sandbox", "the sandbox opens the widget as a customer only while every "
                       "channel runs on the sandbox")
    if not user:
        raise ApiError(422, "invalid", "pick a customer first", [{"field": "user", "message": "empty"}])
    if not SANDBOX_CONTACTS.includes(user):
        raise ApiError(404, "not_a_sandbox_customer", f"the sandbox plays only its own customers (ids starting "
                       f"with {SANDBOX_CONTACTS.prefix}) and the demo's")
    with rt.session() as session:
        site = site_by_key(session, DEMO_SITE_KEY)
        if site is None:
            raise ApiError(404, "no_demo_site", f"there is no {DEMO_SITE_KEY} widget site yet; run "
                           f"`touchpoint demo` to create it")
        contact = contact_by_external_id(session, user)
        if contact is None or contact.id is None:
            raise ApiError(404, "unknown_customer", f"no customer has the id {user}; send an event for them first")
        waiting = len(waiting_web_surveys(session, contact.id, utcnow()))
        digest = hmac.new(site.secret.encode(), user.encode(), hashlib.sha256).hexdigest()
        return {"site": site.key, "public_key": site.public_key, "user_id": user, "name": contact.name,
                "hash": digest, "waiting": waiting, "warning": _origin_warning(site),
                "script": url_for("widget.script")}


def widget_identity() -> Response:
    return jsonify(_widget_identity(request.args.get("user", "")))


def widget_page() -> str:
    """A stand-in for the customer's web app, signed in as `?user=`: the real snippet, identify and all."""
    return render_template("sandbox_widget.html", **_widget_identity(request.args.get("user", "")))


def conversations() -> Response:
    with runtime().session() as session:
        rows = sandbox_conversations(session, SANDBOX_CONTACTS)
    return jsonify({"items": [{"channel": c, "address": a} for c, a in rows]})


def messages() -> Response:
    channel, address = request.args.get("channel", ""), request.args.get("address", "")
    rt = runtime()
    with rt.session() as session:
        rows = sandbox_thread(session, channel, address, SANDBOX_CONTACTS)
        items = [{"id": m.id, "direction": m.direction, "kind": m.kind, "text": m.text,
                  "links": _survey_links(rt, session, m)} for m in rows]
    return jsonify({"items": items})


def _survey_links(rt: Runtime, session: Session, message: Message) -> list[dict[str, str]]:
    """An email survey's score links, so the sandbox can be answered the way the mail would be."""
    if message.channel != "email" or message.kind not in ("question", "reminder") or message.delivery_id is None:
        return []
    delivery = session.get(Delivery, message.delivery_id)
    flow = session.get(Flow, delivery.flow_id) if delivery else None
    if delivery is None or flow is None:
        return []
    kind = QuestionKind(rt.definition(flow).question.kind)
    return [{"label": c.label, "url": c.url} for c in choices(kind, delivery.token, "", None)]


def _json_object() -> dict[str, Any]:
    data = json_data()
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "send a JSON object")
    return data


def reply() -> Response:
    data = _json_object()
    text = str(data.get("text", "")).strip()
    channel, address = str(data.get("channel", "")), str(data.get("address", ""))
    if not text:
        raise ApiError(422, "invalid", "type a reply first", [{"field": "text", "message": "empty"}])
    rt = runtime()
    require_sandboxed(rt, channel)
    with rt.session() as session:
        ours = only_sandbox_contacts_at(session, channel, stored_address(channel, address), SANDBOX_CONTACTS)
    if not ours:
        raise ApiError(404, "not_a_sandbox_conversation", "the sandbox replies only in its own customers' "
                       "conversations: start a survey for one first")
    result = sandbox_reply(rt, channel, address, text)
    return jsonify({"intent": result.intent, "delivery_id": result.delivery_id})


def trigger() -> Response | tuple[str, int]:
    """JSON for the page's script and for JSON clients; the page again, with the outcome, for a plain form."""
    wants_json = request.is_json or request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json")
    data = _json_object() if request.is_json else request.form.to_dict()
    if wants_json:
        return jsonify(start_survey(runtime(), data))
    try:
        return _render(data, start_survey(runtime(), data)["outcome"]), 200
    except ApiError as exc:
        problems = [f"{d['field']}: {d['message']}" for d in exc.details] or [exc.message]
        return _render(data, problems, failed=True), exc.status


def sandbox_blueprint() -> Blueprint:
    bp = Blueprint("sandbox", __name__, url_prefix="/sandbox", template_folder="../templates")
    bp.before_request(reject_unstorable_url)
    bp.add_url_rule("", "page", page, methods=["GET"])
    bp.add_url_rule("/conversations", "conversations", conversations, methods=["GET"])
    bp.add_url_rule("/messages", "messages", messages, methods=["GET"])
    bp.add_url_rule("/reply", "reply", reply, methods=["POST"])
    bp.add_url_rule("/trigger", "trigger", trigger, methods=["POST"])
    bp.add_url_rule("/widget", "widget", widget_page, methods=["GET"])
    bp.add_url_rule("/widget/identity", "widget_identity", widget_identity, methods=["GET"])
    return bp
