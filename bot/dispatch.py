"""The worker: claim due deliveries, send them, and keep reminders, expiry and retries moving.

Deliveries move in batches: one transaction claims them (`claimed`, under a lease), one prepares them, the
provider calls run in a thread pool, and one transaction records the outcomes. Each delivery is committed as
`sending` just before its own provider call. If the process dies, the lease runs out: a `sending` delivery
becomes `unknown` (shown to people, never re-sent blindly), a `claimed` one, never handed to its provider,
goes back to `scheduled`. A batch that fails before its calls is put back at once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.alerts import sync_case_cards
from bot.demo import SANDBOX_CONTACTS
from bot.digest import send_digests
from bot.escalation import escalate_breaches
from bot.fallback import fall_back
from bot.inbound import process_inbound
from bot.ingest import contact_timezone
from bot.outbox import call_channel, outbound_row, send_and_record, with_session_windows
from bot.provider_status import retry_held_statuses
from bot.recipients import question_text, recipient_of, survey_context
from bot.runtime import Runtime
from channels.base import ChannelError, Outbound, Question, SendResult
from channels.registry import channel_class
from flows.questions import QuestionKind
from flows.schedule import next_allowed_send
from flows.templates import TemplateProblem
from storage.contacts import learn_address, opted_out_by_contact, opted_out_channels, set_opt_out
from storage.deliveries import (
    SendStart,
    claim_due_deliveries,
    claim_paced_deliveries,
    claim_reminder,
    complete_lapsed_comments,
    deliveries_by_id,
    deliveries_to_send,
    due_reminders,
    expire_leases,
    expire_unanswered,
    last_sent_to_others,
    record_status,
    record_trail,
    release,
    release_claims,
    start_sending,
)
from storage.flow_versions import flows_by_id
from storage.followups import mark_breached
from storage.messages import unprocessed_inbound
from storage.models import Contact, Delivery, DeliveryStatus, Event, Flow
from storage.pacing import free_slots, hold_sender, take_slots
from storage.types import utcnow

log = logging.getLogger("touchpoint.worker")


@dataclass(frozen=True)
class TickReport:
    sent: int = 0
    unknown: int = 0
    reminders: int = 0
    expired: int = 0
    completed: int = 0
    retried_inbound: int = 0
    sla_breached: int = 0
    held_statuses: int = 0
    case_cards: int = 0
    released: int = 0
    escalated: int = 0
    digests: int = 0


@dataclass(frozen=True)
class Send:
    """A question ready for its provider, and what marking its send started needs."""

    message: Outbound
    start: SendStart


class SendMarks:
    """Marks asked for at the same moment share one transaction (a group commit): a thread that finds no mark
    being written writes every one waiting, its own included, while the others wait for it. Each is still
    written just before its own provider call, never ahead of it."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._changed = threading.Condition()
        self._waiting: list[SendStart] = []
        self._done: dict[int, bool | Exception] = {}
        self._writing = False

    def start(self, send: Send) -> bool:
        """True once the delivery is committed as `sending`; False if this worker's claim no longer holds it."""
        key = send.start.delivery_id
        group: list[SendStart] = []
        with self._changed:
            self._waiting.append(send.start)
            while self._writing and key not in self._done:
                self._changed.wait()
            if key not in self._done:
                group, self._waiting, self._writing = self._waiting, [], True
        if group:
            self._write(group)
        with self._changed:
            done = self._done.pop(key)
        if isinstance(done, Exception):
            raise done
        return done

    def _write(self, group: list[SendStart]) -> None:
        ids = [start.delivery_id for start in group]
        outcome: dict[int, bool | Exception] = dict.fromkeys(ids, False)
        try:
            with self._rt.session() as session:
                started = start_sending(session, group, timedelta(seconds=self._rt.settings.send_lease_seconds))
            outcome = {delivery_id: delivery_id in started for delivery_id in ids}
        except Exception as error:
            outcome = dict.fromkeys(ids, error)
        finally:
            with self._changed:
                self._done.update(outcome)
                self._writing = False
                self._changed.notify_all()


@dataclass(frozen=True)
class Outcome:
    message: Outbound
    result: SendResult | None = None
    error: ChannelError | None = None
    crashed: bool = False
    millis: float = 0.0
    # The provider was never called, and why; the claim to release.
    not_sent: str | None = None
    claim: datetime | None = None


def run_tick(rt: Runtime, executor: ThreadPoolExecutor | None = None) -> TickReport:
    """One pass of every periodic duty; safe to run in any number of processes at once."""
    now = utcnow()
    with rt.session() as session:
        released, unknown = expire_leases(session, now)
    sent = dispatch_due(rt, now, executor)
    reminders = send_reminders(rt, now)
    with rt.session() as session:
        expired = expire_unanswered(session, now, rt.settings.worker_batch)
        completed = complete_lapsed_comments(session, now, rt.settings.worker_batch)
        breached = mark_breached(session, now, rt.settings.worker_batch)
    escalated = escalate_breaches(rt, now)
    retried = retry_inbound(rt, now)
    held = retry_held_statuses(rt, now)
    cards = sync_case_cards(rt, now)
    digests = send_digests(rt, now)
    return TickReport(sent, unknown, reminders, expired, completed, retried, breached, held, cards, released,
                      escalated, digests)


def dispatch_due(rt: Runtime, now: datetime, executor: ThreadPoolExecutor | None = None) -> int:
    """Claim and send batches until nothing is due (or a batch could not all be sent: the rest waits for the
    next tick)."""
    total, batch = 0, rt.settings.worker_batch
    lease = timedelta(seconds=rt.settings.send_lease_seconds)
    paced = paced_channels(rt)
    while True:
        with rt.session() as session:
            ids = claim_due_deliveries(session, now, batch, lease, exclude=paced)
        slots: dict[int, datetime] = {}
        for channel, pace in paced.items():
            with rt.session() as session:
                slots |= claim_paced_deliveries(session, channel, pace, now, batch, lease, pace_horizon(rt))
        if not ids and not slots:
            return total
        sends = _prepare_or_release(rt, ids + list(slots), now + lease)
        sends = [replace(s, message=replace(s.message, not_before=slots.get(s.message.delivery_id or 0)))
                 for s in sends]
        mapper = executor.map if executor is not None else map
        outcomes = list(mapper(partial(call_provider, rt, marks=SendMarks(rt)), sends))
        with rt.session() as session:
            total += record_outcomes(rt, session, outcomes)
        if any(outcome.not_sent for outcome in outcomes):
            return total


def _prepare_or_release(rt: Runtime, ids: list[int], claim: datetime) -> list[Send]:
    """A batch whose preparation fails (a dropped connection, say) has reached no provider: it goes back to the
    queue at once. If even that fails, its claim's lease runs out and the next tick releases it."""
    try:
        with rt.session() as session:
            return prepare_batch(rt, session, ids)
    except Exception as error:
        try:
            with rt.session() as session:
                release_claims(session, ids, claim, _why(error))
        except Exception:
            log.warning("could not release %d claimed deliveries; released when their lease runs out", len(ids))
        raise


def _why(error: Exception) -> str:
    """What the trail says about an error: its kind, never its text (a database error quotes the statement's
    parameters: names and addresses)."""
    kind = "database error" if isinstance(error, SQLAlchemyError) else "unexpected error"
    return f"{kind} ({type(error).__name__})"


def paced_channels(rt: Runtime) -> dict[str, float]:
    """Channels whose provider limits the sender's rate, with that rate in messages per second."""
    return {name: ch.transport.pace for name, ch in rt.channels.items() if ch.transport.pace}


def pace_horizon(rt: Runtime) -> timedelta:
    """How far ahead send slots are handed out: a little over one tick, so the sender never idles."""
    return timedelta(seconds=max(1.0, 2 * rt.settings.worker_interval))


def prepare_batch(rt: Runtime, session: Session, ids: list[int]) -> list[Send]:
    """Re-check opt-out, throttle and quiet hours at the last moment, then render each question."""
    rows = deliveries_to_send(session, ids)
    contact_ids = [contact.id for _, contact, _ in rows if contact.id is not None]
    opted_out = opted_out_by_contact(session, contact_ids)
    last_sent = last_sent_to_others(session, [delivery.id for delivery, _, _ in rows if delivery.id is not None])
    flows = flows_by_id(session, {delivery.flow_id for delivery, _, _ in rows})
    now = utcnow()
    sends = []
    for delivery, contact, event in rows:
        assert contact.id is not None and delivery.id is not None and delivery.lease_until is not None
        flow = flows[delivery.flow_id]
        definition = rt.definition(flow)
        blocked = opted_out.get(contact.id, set())
        if delivery.channel in blocked or delivery.channel not in rt.channels:
            reason = "opted out" if delivery.channel in blocked else "channel unavailable"
            fall_back(rt, session, delivery, contact, reason, blocked)
            continue
        if _sandbox_customer_on_a_real_provider(rt, delivery, contact):
            delivery.last_error = "sandbox customer"
            record_status(session, delivery, DeliveryStatus.FAILED, "sandbox customer: never sent for real")
            continue
        # A re-survey follows its case's survey by design: the throttle would always hold it back.
        # An admin's test goes when asked: no throttle, no quiet hours.
        throttle = definition.throttle_td if delivery.recheck_of is None and not delivery.is_test else None
        if throttle is not None and delivery.id in last_sent and last_sent[delivery.id] > now - throttle:
            delivery.last_error = "throttled"
            record_status(session, delivery, DeliveryStatus.SUPPRESSED, "throttled: surveyed recently")
            continue
        allowed = now if delivery.is_test else next_allowed_send(now, definition.quiet_hours,
                                                                 contact_timezone(rt, contact))
        if allowed > now:
            delivery.due_at = allowed
            delivery.attempts -= 1
            record_status(session, delivery, DeliveryStatus.SCHEDULED, "quiet hours")
            continue
        try:
            message = question_message(rt, delivery, contact, event, flow, "question")
        except TemplateProblem as problem:
            delivery.last_error = f"template: {problem}"[:500]
            record_status(session, delivery, DeliveryStatus.FAILED, delivery.last_error)
            continue
        if message is None:
            fall_back(rt, session, delivery, contact, "no address", blocked)
            continue
        sends.append(Send(message, SendStart(delivery.id, delivery.lease_until, definition.expire_td)))
    messages = with_session_windows(session, [send.message for send in sends])
    return [replace(send, message=message) for send, message in zip(sends, messages, strict=True)]


def _sandbox_customer_on_a_real_provider(rt: Runtime, delivery: Delivery, contact: Contact) -> bool:
    """The /sandbox pages answer anyone: a survey they started must not reach a real provider, even from a worker
    configured with credentials the web process lacked. An admin's test is theirs to send anywhere."""
    channel = rt.channels[delivery.channel]
    return (not delivery.is_test and channel.needs_credentials and not channel.sandboxed
            and SANDBOX_CONTACTS.includes(contact.external_id))


def question_message(
    rt: Runtime, delivery: Delivery, contact: Contact, event: Event, flow: Flow, kind: str
) -> Outbound | None:
    """The survey question rendered for this contact on the delivery's channel, or None if unreachable."""
    address = rt.channels[delivery.channel].address(recipient_of(contact))
    if address is None:
        return None
    definition = rt.definition(flow)
    locale = contact.locale or rt.settings.default_locale
    return Outbound(
        channel=delivery.channel,
        to=address,
        text=question_text(definition, locale, survey_context(contact, event, definition), delivery.channel,
                           delivery.recheck_of is not None),
        kind=kind,
        delivery_id=delivery.id,
        question=Question(QuestionKind(definition.question.kind), definition.end_labels(locale, delivery.channel)),
        attempt=delivery.attempts,
        token=delivery.token,
        locale=locale,
    )


def call_provider(rt: Runtime, send: Send, marks: SendMarks | None = None) -> Outcome:
    """Mark the send started, then hand the message to its provider (the marks of a batch share commits)."""
    message = send.message
    _wait_for_slot(message)
    try:
        if not (marks or SendMarks(rt)).start(send):
            log.info("delivery %s: no longer claimed by this worker; not sent", message.delivery_id)
            return Outcome(message, not_sent="claimed elsewhere")
    except Exception as error:
        log.warning("delivery %s: could not mark its send started (%s); not sent", message.delivery_id, _why(error))
        return Outcome(message, not_sent=_why(error), claim=send.start.claim)
    try:
        attempt = call_channel(rt.channels[message.channel], message)
    except Exception:
        log.exception("delivery %s: unexpected error while sending", message.delivery_id)
        return Outcome(message, crashed=True)
    return Outcome(message, result=attempt.result, error=attempt.error, millis=attempt.millis)


def record_outcomes(rt: Runtime, session: Session, outcomes: list[Outcome]) -> int:
    """Store what each provider call did; returns how many were accepted."""
    sent = 0
    deliveries = deliveries_by_id(session, [outcome.message.delivery_id for outcome in outcomes])
    flows = flows_by_id(session, {delivery.flow_id for delivery in deliveries.values()})
    for outcome in outcomes:
        delivery = deliveries[outcome.message.delivery_id]
        if outcome.not_sent is not None:
            if delivery.status == DeliveryStatus.CLAIMED and delivery.lease_until == outcome.claim:
                release(session, delivery, outcome.not_sent)
            continue
        delivery.lease_until = None
        if outcome.result is not None:
            _mark_sent(rt, session, delivery, flows[delivery.flow_id], outcome)
            sent += 1
        elif delivery.status not in _IN_FLIGHT:
            log.warning("delivery %s: answered while its send failed (%s); the answer stands", delivery.id,
                        outcome.error or "unexpected error")
        elif outcome.error is not None:
            _handle_failure(rt, session, delivery, outcome.error)
        elif delivery.status == DeliveryStatus.SENDING:
            # An unexpected error may have come after the provider accepted the message.
            delivery.last_error = "unexpected error during send"
            record_status(session, delivery, DeliveryStatus.UNKNOWN, delivery.last_error)
    return sent


# A send whose outcome is not recorded yet: `unknown` when the lease ran out during a slow provider call.
_IN_FLIGHT = (DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN)


def _mark_sent(rt: Runtime, session: Session, delivery: Delivery, flow: Flow, outcome: Outcome) -> None:
    assert outcome.result is not None
    definition = rt.definition(flow)
    now = utcnow()
    delivery.sent_at = now
    delivery.last_error = None
    delivery.expires_at = now + definition.expire_td
    if definition.reminder_td is not None and delivery.recheck_of is None and not delivery.is_test:
        delivery.reminder_at = now + definition.reminder_td
    detail = f"via {outcome.result.transport}"
    if delivery.status in _IN_FLIGHT:
        record_status(session, delivery, DeliveryStatus.SENT, detail)
    else:  # the customer answered before the send was recorded: the answer's status stands
        record_trail(session, delivery, DeliveryStatus.SENT, f"{detail}, recorded after the answer")
    message = outcome.message
    if outcome.result.address:
        kind = channel_class(delivery.channel).address_kind
        if kind is not None:
            learn_address(session, delivery.contact_id, kind, outcome.result.address)
        message = replace(message, to=outcome.result.address)
    result = outcome.result
    session.add(outbound_row(message, delivery.contact_id, result.provider_message_id, result.transport))


def _handle_failure(rt: Runtime, session: Session, delivery: Delivery, error: ChannelError) -> None:
    delivery.last_error = str(error)[:500]
    now = utcnow()
    if error.retry_after and delivery.channel in paced_channels(rt):
        hold_sender(session, delivery.channel, now + timedelta(seconds=error.retry_after))
    if error.permanent or delivery.attempts >= rt.settings.max_attempts:
        contact = session.get(Contact, delivery.contact_id)
        assert contact is not None and contact.id is not None
        if error.opted_out:
            set_opt_out(session, contact.id, delivery.channel, now, "provider")
        fall_back(rt, session, delivery, contact, str(error), opted_out_channels(session, contact.id))
        return
    delay = backoff_seconds(delivery.attempts, rt.settings.retry_base_seconds, rt.settings.retry_max_seconds)
    delivery.due_at = utcnow() + timedelta(seconds=delay)
    record_status(session, delivery, DeliveryStatus.SCHEDULED, f"retry in {delay:.0f}s: {error}")


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter in its upper half, so a burst of retries spreads out."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def send_reminders(rt: Runtime, now: datetime) -> int:
    with rt.session() as session:
        ids = due_reminders(session, now, rt.settings.worker_batch)
    count, paced = 0, paced_channels(rt)
    for delivery_id in ids:
        with rt.session() as session:
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            channel, pace = delivery.channel, paced.get(delivery.channel)
            if pace and not free_slots(session, channel, pace, now, pace_horizon(rt)):
                continue  # the sender is busy; the reminder stays due for a later tick
            if not claim_reminder(session, delivery_id, now):
                continue
            reminder = _reminder(rt, session, delivery_id)
            if reminder is not None and pace:
                [slot] = take_slots(session, channel, pace, now, 1)
                reminder = (replace(reminder[0], not_before=slot), reminder[1])
        if reminder is not None:
            _wait_for_slot(reminder[0])
            count += int(send_and_record(rt, *reminder).sent)
    return count


def _wait_for_slot(message: Outbound) -> None:
    if message.not_before is not None:
        time.sleep(max(0.0, (message.not_before - utcnow()).total_seconds()))


def _reminder(rt: Runtime, session: Session, delivery_id: int) -> tuple[Outbound, int] | None:
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    contact = session.get(Contact, delivery.contact_id)
    flow = session.get(Flow, delivery.flow_id)
    event = session.get(Event, delivery.event_id)
    assert contact is not None and flow is not None and event is not None and contact.id is not None
    if delivery.channel not in rt.channels or delivery.channel in opted_out_channels(session, contact.id):
        return None
    try:
        message = question_message(rt, delivery, contact, event, flow, "reminder")
    except TemplateProblem:
        log.warning("delivery %s: reminder template failed; no reminder sent", delivery_id)
        return None
    if message is None:
        return None
    [message] = with_session_windows(session, [message])
    return message, contact.id


def retry_inbound(rt: Runtime, now: datetime) -> int:
    """Inbound messages whose first processing failed are tried again (no answer is lost)."""
    with rt.session() as session:
        ids = unprocessed_inbound(session, now - timedelta(seconds=30), rt.settings.worker_batch)
    for message_id in ids:
        try:
            process_inbound(rt, message_id)
        except Exception:
            log.exception("inbound message %s failed again; kept for the next tick", message_id)
    return len(ids)
