"""Events in, deliveries out: trigger match, eligibility, and the due time."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from bot.recipients import recipient_of
from bot.runtime import Runtime
from flows.schedule import next_allowed_send
from flows.schema import FlowDefinition
from flows.triggers import in_sample, mismatch
from storage.contacts import opted_out_channels, upsert_contact
from storage.deliveries import NewDelivery, create_delivery, last_contacted_at
from storage.events import deliveries_of_event, event_by_key, insert_event
from storage.models import Contact, Delivery, Event, Flow
from storage.tallies import note_skip
from storage.types import utcnow

log = logging.getLogger("touchpoint.ingest")


@dataclass(frozen=True)
class NewContact:
    """Who an event is about. `fields` (name, email, phone, slack_user_id, locale, timezone, attributes) update
    the stored contact, absent or None ones stay; a mapping, not one attribute per column, so a channel's new
    address needs no change here. Already valid: each surface checks its own input."""

    external_id: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewEvent:
    """Something that happened to a contact, as any surface (API, widget, demo, sandbox) hands it in."""

    type: str
    idempotency_key: str
    contact: NewContact
    properties: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


@dataclass
class IngestResult:
    event_id: int
    duplicate: bool
    deliveries: list[NewDelivery | Delivery] = field(default_factory=list)  # Delivery rows for a duplicate
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # flows of this event type, and why not


class Duplicate(Exception):
    """The event's idempotency key is already stored."""


class Ineligible(Exception):
    """Why a matching flow does not survey this contact for this event."""


def ingest_event(
    rt: Runtime, payload: NewEvent, channels: Collection[str] | None = None, only_flow: str | None = None
) -> IngestResult:
    """Store the event once and schedule one delivery per matching, eligible flow.

    `channels` limits the event to flows that may use one of them: a browser's event (the web widget's
    track) must not start an SMS survey. `only_flow` limits it to one flow (a bulk send names its flow).
    """
    try:
        with rt.session() as session:
            result = _ingest_new(rt, session, payload, channels, only_flow)
    except (Duplicate, sa.exc.IntegrityError):
        # The key is stored already (perhaps by a concurrent request): nothing of this one is kept.
        with rt.session() as session:
            existing = event_by_key(session, payload.idempotency_key)
            if existing is None:
                raise
            result = _duplicate(session, existing)
    _log_event(payload, result)
    return result


def _log_event(payload: NewEvent, result: IngestResult) -> None:
    """The line that ties a request (its request id) to the deliveries it made: the worker's lines name them."""
    log.info("event event=%s type=%s duplicate=%s deliveries=%s skipped=%d", result.event_id, payload.type,
             str(result.duplicate).lower(), ",".join(str(d.id) for d in result.deliveries) or "-", len(result.skipped))


def plan_event(rt: Runtime, payload: NewEvent, only_flow: str | None = None) -> IngestResult:
    """What ingesting the event would do, with nothing kept: the checks run as for real, then roll back.
    Rows are detached first, so the flows this process caches are not expired by the rollback."""
    with Session(rt.engine, expire_on_commit=False) as session:
        try:
            return _ingest_new(rt, session, payload, None, only_flow)
        except Duplicate:
            session.expunge_all()
            session.rollback()
            existing = event_by_key(session, payload.idempotency_key)
            assert existing is not None
            return _duplicate(session, existing)
        finally:
            session.expunge_all()
            session.rollback()


def _duplicate(session: Session, event: Event) -> IngestResult:
    assert event.id is not None
    return IngestResult(event.id, True, deliveries_of_event(session, event.id))


def _ingest_new(
    rt: Runtime, session: Session, payload: NewEvent, channels: Collection[str] | None = None,
    only_flow: str | None = None,
) -> IngestResult:
    now = utcnow()
    contact, created = upsert_contact(session, payload.contact.external_id, dict(payload.contact.fields))
    assert contact.id is not None
    inserted = insert_event(
        session,
        type=payload.type,
        contact_id=contact.id,
        properties=payload.properties,
        idempotency_key=payload.idempotency_key,
        occurred_at=payload.occurred_at or now,
        received_at=now,
    )
    if inserted is None:
        raise Duplicate(payload.idempotency_key)  # rolls back the contact update too
    event, flows_stamp = inserted
    assert event.id is not None
    result = IngestResult(event.id, False)
    opted_out = set() if created else opted_out_channels(session, contact.id)
    for flow, definition in rt.flows_for_event(session, payload.type, flows_stamp):
        if only_flow is not None and flow.key != only_flow:
            continue
        why_not = mismatch(definition, payload.type, payload.properties)
        if why_not is not None:
            result.unmatched.append((flow.key, why_not))
            continue
        if channels is not None and not set(definition.channels) & set(channels):
            continue
        try:
            delivery = _schedule(rt, session, flow, definition, event, contact, opted_out, now)
        except Ineligible as why:
            result.skipped.append((flow.key, str(why)))
            note_skip(session, now.date(), flow.key, str(why))
            continue
        result.deliveries.append(delivery)
    return result


def _schedule(
    rt: Runtime,
    session: Session,
    flow: Flow,
    definition: FlowDefinition,
    event: Event,
    contact: Contact,
    opted_out: set[str],
    now: datetime,
) -> NewDelivery:
    assert contact.id is not None and event.id is not None and flow.id is not None
    if not in_sample(definition, event.idempotency_key):
        raise Ineligible("sampled_out")
    plan = channel_plan(rt, definition.channels, contact, opted_out)
    if definition.throttle_td is not None:
        last = last_contacted_at(session, contact.id)
        if last is not None and last > now - definition.throttle_td:
            raise Ineligible("throttled")
    due = event.occurred_at + definition.delay_td
    if due + definition.expire_td <= now:
        raise Ineligible("expired")
    due = next_allowed_send(max(due, now), definition.quiet_hours, contact_timezone(rt, contact))
    delivery = NewDelivery(
        event_id=event.id,
        flow_id=flow.id,
        flow_key=flow.key,
        contact_id=contact.id,
        channel=plan[0],
        channel_plan=plan[1:],
        due_at=due,
        token=secrets.token_urlsafe(18),
    )
    return create_delivery(session, delivery, f"event {event.type}")


def channel_plan(rt: Runtime, wanted: list[str], contact: Contact, opted_out: set[str]) -> list[str]:
    """The flow's channels this contact can be reached on, in preference order; the rest are fallbacks."""
    recipient = recipient_of(contact)
    plan, saw_opt_out = [], False
    for name in wanted:
        channel = rt.channels.get(name)
        if channel is None or channel.address(recipient) is None:
            continue
        if name in opted_out:
            saw_opt_out = True
            continue
        plan.append(name)
    if not plan:
        raise Ineligible("opted_out" if saw_opt_out else "unreachable")
    return plan


def contact_timezone(rt: Runtime, contact: Contact) -> str:
    return contact.timezone or rt.settings.default_timezone
