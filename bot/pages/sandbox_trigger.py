"""/sandbox's "Start a survey": an event for one of the sandbox's own customers.

A plain form that works without scripts (the page's script posts the same form and shows the same outcome).
What it answers comes from ingestion: the deliveries, the skip reasons, and why each flow of that event type
did not match.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from bot.demo import SANDBOX_CONTACTS
from bot.http_json import ApiError, check_storable, field_errors
from bot.ingest import IngestResult, NewEvent, ingest_event
from bot.inputs import EventIn, new_event
from bot.runtime import Runtime
from flows.inputs import strict_json

CONTACT_FIELDS = ("external_id", "name", "phone", "email", "slack_user_id")
FORM_DEFAULTS = {"external_id": "sandbox:sam", "name": "Sam Sandbox", "phone": "+447911123456",
                 "email": "sam@example.com", "slack_user_id": "U0SANDBOX"}


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid", "the event is not valid", [{"field": field, "message": message}])


def _value(text: str) -> Any:
    """A value as JSON when it is JSON (true, 3, "x", [..]), else the text itself."""
    try:
        return strict_json(text)
    except ValueError:
        return text


def parse_properties(text: str) -> dict[str, Any]:
    """`key=value` lines, or a JSON object: a person types the first, pastes the second."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = strict_json(text)
        except ValueError as exc:
            raise _invalid("properties", f"not a JSON object ({exc})") from None
        if not isinstance(value, dict):
            raise _invalid("properties", "a JSON object is needed")
        return value
    properties: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip():
            raise _invalid("properties", f"line {number}: expected key=value, got {line[:40]!r}")
        properties[key.strip()] = _value(value.strip())
    return properties


def format_properties(properties: Mapping[str, Any]) -> str:
    """The `key=value` lines `parse_properties` reads back to the same properties."""
    lines = []
    for key, value in properties.items():
        shown = value if isinstance(value, str) and _value(value) == value else json.dumps(value)
        lines.append(f"{key}={shown}")
    return "\n".join(lines)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def event_from(data: Mapping[str, Any]) -> NewEvent:
    """The event a trigger asks for, from the form's fields or a JSON body ({type, contact, properties}); only
    ever for a sandbox customer, so nobody else's name or addresses can be changed from here."""
    check_storable(dict(data))
    if isinstance(data.get("contact"), dict):
        contact, properties = data["contact"], data.get("properties") or {}
    else:
        contact = {name: str(data.get(name) or "").strip() or None for name in CONTACT_FIELDS}
        properties = parse_properties(str(data.get("properties") or ""))
    if not isinstance(properties, dict) or not _finite(properties):
        raise _invalid("properties", "a JSON object of finite values is needed")
    external_id = str(contact.get("external_id") or "").strip()
    if external_id and not SANDBOX_CONTACTS.includes(external_id):
        raise _invalid("contact.external_id", f"the sandbox plays only its own customers: use an id that starts "
                       f"with {SANDBOX_CONTACTS.prefix} (or a demo customer's, such as demo-ada)")
    try:
        payload = EventIn.model_validate({"type": data.get("type"), "idempotency_key": f"sandbox-{uuid.uuid4().hex}",
                                          "contact": {**contact, "external_id": external_id},
                                          "properties": properties})
        return new_event(payload)
    except ValidationError as exc:
        raise ApiError(422, "invalid", "the event is not valid", field_errors(exc)) from None


def outcome(event_type: str, result: IngestResult) -> list[str]:
    """One line per flow of this event type: its survey, why it was skipped, or which condition failed."""
    lines = [f"{d.flow_key}: survey by {d.channel}, due {d.due_at:%H:%M:%S} UTC" for d in result.deliveries]
    lines += [f"{flow}: skipped ({reason})" for flow, reason in result.skipped]
    lines += [f"{flow}: no match, {reason}" for flow, reason in result.unmatched]
    return lines or [f"No enabled flow listens to {event_type}."]


def start_survey(rt: Runtime, data: Mapping[str, Any]) -> dict[str, Any]:
    payload = event_from(data)
    result = ingest_event(rt, payload)
    return {
        "deliveries": [{"id": d.id, "flow": d.flow_key, "channel": d.channel, "due_at": d.due_at.isoformat()}
                       for d in result.deliveries],
        "skipped": [{"flow": f, "reason": r} for f, r in result.skipped],
        "unmatched": [{"flow": f, "reason": r} for f, r in result.unmatched],
        "outcome": outcome(payload.type, result),
    }
