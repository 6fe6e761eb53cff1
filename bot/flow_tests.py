""""Send me a test": a flow's current version delivered to the admin trying it, at an address they give.

A test is an ordinary delivery marked `is_test`, sent by the worker through the channel like any other, so it
shows exactly what a customer would get and can be answered the same way. It bypasses what decides whether a
customer is surveyed (the trigger's conditions, sampling, the throttle, quiet hours) and is counted nowhere:
not in the tallies, metrics, funnels or the responses API; its answer opens no case and tells no webhook.

The admin's test contact is `sandbox:test-<user id>`: one per admin, so their tests share a conversation, and
inside the sandbox's own prefix, so a test sent on a sandboxed channel can be answered from /sandbox.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from bot.errors import InvalidValue, NotFound
from bot.runtime import Runtime
from channels.registry import channel_class
from storage.contacts import upsert_contact
from storage.deliveries import NewDelivery, create_delivery
from storage.events import insert_event
from storage.flow_versions import current_flow
from storage.sandbox import SANDBOX_PREFIX
from storage.types import utcnow

# The widget shows a survey only when the customer's own page asks for it: there is no address to send to.
NOT_FOR_TESTS = frozenset({"web"})


@dataclass(frozen=True)
class QueuedTest:
    delivery_id: int
    channel: str
    address: str
    sandboxed: bool


def channels_for_tests(rt: Runtime) -> list[str]:
    """The running channels a test can go by."""
    return [name for name in rt.channels if name not in NOT_FOR_TESTS]


def tester_id(user_id: int) -> str:
    return f"{SANDBOX_PREFIX}test-{user_id}"


def send_test(rt: Runtime, flow_key: str, channel: str, address: str, user_id: int,
              properties: dict[str, Any] | None = None) -> QueuedTest:
    """Queue the flow's current version for the worker to send now, to `address` on `channel`."""
    if channel not in channels_for_tests(rt):
        raise InvalidValue("channel", f"a test goes by one of {', '.join(channels_for_tests(rt))}")
    cls = channel_class(channel)
    try:
        stored = cls.normalize_address(address)
    except ValueError as exc:
        raise InvalidValue("address", f"Address {exc}") from None
    now = utcnow()
    with rt.session() as session:
        flow = current_flow(session, flow_key)
        if flow is None or flow.id is None:
            raise NotFound("flow", flow_key)
        fields = {cls.address_kind: stored} if cls.address_kind else {}
        contact, _ = upsert_contact(session, tester_id(user_id), {"name": "Test send", **fields})
        assert contact.id is not None
        inserted = insert_event(session, type=rt.definition(flow).trigger.event, contact_id=contact.id,
                                properties=properties or {}, idempotency_key=f"test-{uuid.uuid4().hex}",
                                occurred_at=now, received_at=now)
        assert inserted is not None
        event, _ = inserted
        assert event.id is not None
        delivery = create_delivery(session, NewDelivery(
            event_id=event.id, flow_id=flow.id, flow_key=flow.key, contact_id=contact.id, channel=channel,
            channel_plan=[], due_at=now, token=secrets.token_urlsafe(18), is_test=True,
        ), "test send")
    assert delivery.id is not None
    return QueuedTest(delivery.id, channel, cls.provider_address(stored), rt.channels[channel].sandboxed)
