"""Customer replies: stored raw first, then matched to their delivery and run through the conversation."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.followups import record_recheck_answer, thread_customer_reply
from bot.outbox import outbound_row, send_and_record
from bot.recipients import stored_address, survey_context
from bot.routing import route_response
from bot.runtime import Runtime
from bot.tagging import tag_response
from bot.webhooks import note_response
from channels.base import Inbound, InlineReply, Outbound, ReplyMode
from flows.conversation import Conversation, Phase, Step, advance
from flows.questions import QuestionKind
from flows.replies import Intent, parse_reply
from flows.schema import FlowDefinition
from flows.templates import TemplateProblem
from flows.texts import builtin_text, range_hint
from storage.contacts import contacts_at_address, opted_out_of_any, set_opt_out
from storage.deliveries import (
    AnswerContext,
    delivery_with_context,
    is_answerable,
    latest_expired_for,
    open_delivery_for,
    pending_deliveries,
    record_reached,
    record_status,
    save_conversation,
)
from storage.followups import open_case_for, open_case_of_delivery
from storage.messages import AlreadyProcessed, insert_outbound, mark_processed, message_by_id, store_inbound
from storage.models import Contact, Delivery, DeliveryStatus, Message, Response
from storage.responses import response_for_delivery, save_response
from storage.types import utcnow

log = logging.getLogger("touchpoint.inbound")


@dataclass
class InboundResult:
    message_id: int
    duplicate: bool
    delivery_id: int | None = None
    intent: str | None = None
    replies: list[Outbound] = field(default_factory=list)
    case_id: int | None = None
    inline: list[InlineReply] = field(default_factory=list)


def receive(
    rt: Runtime, inbound: Inbound, replies: ReplyMode = ReplyMode.SEND, delivery_id: int | None = None
) -> InboundResult:
    """Store the raw message (deduplicated on the provider's id) and commit it, then process it.

    If processing fails the stored message stays unprocessed and the worker retries it, sending the replies
    itself. What becomes of the replies otherwise is the caller's choice (see ReplyMode).
    """
    with rt.session() as session:
        message, is_new = store_received(session, inbound, delivery_id)
    assert message.id is not None
    if not is_new:
        return InboundResult(message.id, True, message.delivery_id, message.kind or None)
    return process_inbound(rt, message.id, replies, message)


def store_received(session: Session, inbound: Inbound, delivery_id: int | None = None) -> tuple[Message, bool]:
    return store_inbound(
        session, inbound.channel, inbound.address, inbound.text, inbound.provider_message_id, inbound.raw, delivery_id,
        inbound.transport,
    )


def process_inbound(
    rt: Runtime, message_id: int, replies: ReplyMode = ReplyMode.SEND, message: Message | None = None
) -> InboundResult:
    """Process a stored message once, even if the worker's retry and the webhook race: the transaction that
    marks it processed second finds it marked and rolls back (`mark_processed`)."""
    try:
        with rt.session() as session:
            message = message or message_by_id(session, message_id)
            assert message is not None
            if message.processed_at is not None:
                return InboundResult(message_id, True, message.delivery_id, message.kind or None)
            result, contact_id = process_stored(rt, session, message, replies)
    except AlreadyProcessed:
        with rt.session() as session:
            done = message_by_id(session, message_id)
        assert done is not None
        return InboundResult(message_id, True, done.delivery_id, done.kind or None)
    if replies is ReplyMode.SEND:
        for reply in result.replies:
            send_and_record(rt, reply, contact_id)
    return result


def process_stored(
    rt: Runtime, session: Session, message: Message, replies: ReplyMode, survey: AnswerContext | None = None
) -> tuple[InboundResult, int | None]:
    """Run the conversation for a stored message in the caller's transaction; returns the result and the
    contact it belongs to. Sending SEND replies is the caller's job, after its commit. `survey` is the
    message's delivery with its context, when the caller has loaded it already."""
    result, contact_id = _process(rt, session, message, survey)
    mark_processed(session, message, result.intent or "unmatched", result.delivery_id, contact_id)
    if replies is ReplyMode.INLINE:
        result.inline = _record_inline(rt, session, result.replies, contact_id)
    return result, contact_id


def _record_inline(
    rt: Runtime, session: Session, replies: list[Outbound], contact_id: int | None
) -> list[InlineReply]:
    """Replies that go back in the webhook's own answer: stored as queued until the provider reports."""
    inline = []
    for reply in replies:
        row = insert_outbound(
            session, outbound_row(reply, contact_id, None, rt.channels[reply.channel].transport.name, "queued")
        )
        assert row.id is not None
        inline.append(InlineReply(reply, row.id))
    return inline


def _process(
    rt: Runtime, session: Session, message: Message, survey: AnswerContext | None = None
) -> tuple[InboundResult, int | None]:
    assert message.id is not None
    if message.delivery_id is not None:
        return _process_for_delivery(rt, session, message, message.delivery_id, survey)
    result = InboundResult(message.id, False)
    kind, address = stored_address(message.channel, message.address)
    contacts, opted_out = contacts_at_address(session, message.channel, kind, address)
    if not contacts:
        result.intent = "unmatched"
        return result, None
    contact_ids = [c.id for c in contacts if c.id is not None]
    contact = contacts[0]
    locale = contact.locale or rt.settings.default_locale
    found = open_delivery_for(session, contact_ids, message.channel)
    if found is None:
        _no_open_delivery(session, message, contacts, locale, opted_out, result)
        return result, contact.id

    return _advance(rt, session, message, found, contacts, locale, opted_out, result)


def _process_for_delivery(
    rt: Runtime, session: Session, message: Message, delivery_id: int, survey: AnswerContext | None = None
) -> tuple[InboundResult, int | None]:
    """A message that names its survey (a link's token): no address matching, and only while it is open."""
    assert message.id is not None
    result = InboundResult(message.id, False)
    found = survey if survey is not None and survey[0].id == delivery_id else None
    found = found or delivery_with_context(session, delivery_id)
    if found is None or not is_answerable(found[0]):
        result.delivery_id = delivery_id
        case = open_case_of_delivery(session, delivery_id) if found is not None else None
        if case is not None:  # an answer to the agent's email, which carries the survey's reply address
            thread_customer_reply(session, case, message)
            result.intent, result.case_id = "case_reply", case.id
        else:
            result.intent = "late"
        return result, found[2].id if found else None
    owner = found[2]
    assert owner.id is not None
    opted_out = message.channel in opted_out_of_any(session, [owner.id])
    return _advance(rt, session, message, found, [owner], owner.locale or rt.settings.default_locale, opted_out,
                    result)


def _advance(
    rt: Runtime,
    session: Session,
    message: Message,
    found: AnswerContext,
    contacts: list[Contact],
    locale: str,
    opted_out: bool,
    result: InboundResult,
) -> tuple[InboundResult, int | None]:
    """The reply rules applied to the open survey this message answers."""
    delivery, event, owner = found
    definition = rt.definition(rt.flow_version(session, delivery.flow_id))
    # A response is made with the first recorded answer, which also sets answered_at.
    response = response_for_delivery(session, delivery.id or 0) if delivery.answered_at is not None else None
    conversation = Conversation(
        kind=QuestionKind(definition.question.kind),
        phase=Phase(delivery.conversation),
        reprompts=delivery.reprompts,
        score=response.score if response else None,
        comment=response.comment if response else None,
    )
    try:
        step = advance(
            conversation, message.text, definition, locale, opted_out, survey_context(owner, event, definition)
        )
    except TemplateProblem:
        log.warning("delivery %s: a reply template failed to render; sent unrendered", delivery.id)
        step = advance(conversation, message.text, definition, locale, opted_out)
    result.delivery_id = delivery.id
    result.intent = str(step.intent)
    _apply(rt, session, delivery, definition, step, contacts, message.channel, response)
    result.replies = [_reply(message, delivery, r.kind, r.text) for r in step.replies]
    return result, delivery.contact_id


def _no_open_delivery(
    session: Session,
    message: Message,
    contacts: list[Contact],
    locale: str,
    opted_out: bool,
    result: InboundResult,
) -> None:
    """Keywords work without a survey open; anything else is stored, and marked late if it answers one."""
    parsed = parse_reply(message.text, QuestionKind.NPS, "awaiting_score", opted_out)
    if parsed.intent is Intent.OPT_OUT:
        opt_out(session, contacts, message.channel)
        result.intent = str(Intent.OPT_OUT)
        result.replies = [_reply(message, None, "opt_out", builtin_text("opt_out", locale))]
    elif parsed.intent is Intent.OPT_IN and opted_out:
        _opt_in(session, contacts, message.channel)
        result.intent = str(Intent.OPT_IN)
        result.replies = [_reply(message, None, "opt_in", builtin_text("opt_in", locale))]
    elif parsed.intent is Intent.HELP:
        result.intent = str(Intent.HELP)
        text = builtin_text("help", locale, range=range_hint(QuestionKind.NPS))
        result.replies = [_reply(message, None, "help", text)]
    else:
        contact_ids = [c.id for c in contacts if c.id is not None]
        case = open_case_for(session, contact_ids, message.channel)
        expired = latest_expired_for(session, contact_ids, message.channel)
        if case is not None:
            thread_customer_reply(session, case, message)
            result.intent = "case_reply"
            result.delivery_id = case.delivery_id
            result.case_id = case.id
        elif expired is not None:
            result.intent = "late"
            result.delivery_id = expired.id
        else:
            result.intent = "unmatched"


def _apply(
    rt: Runtime,
    session: Session,
    delivery: Delivery,
    definition: FlowDefinition,
    step: Step,
    contacts: list[Contact],
    channel: str,
    response: Response | None,
) -> None:
    """The delivery's new state and status trail, then the response, tagged, written and routed."""
    now = utcnow()
    conversation = step.conversation
    moves: list[tuple[DeliveryStatus, str | None]] = []
    if delivery.status == DeliveryStatus.UNKNOWN:
        assert delivery.id is not None
        record_reached(session, delivery.id)
        moves.append((DeliveryStatus.DELIVERED, "the customer replied, so the send reached them"))
    if step.opt_out:
        opt_out(session, contacts, channel, keep=delivery.id)
        if delivery.answered_at is None:
            moves.append((DeliveryStatus.CANCELLED, "contact opted out"))
    elif step.opt_in:
        _opt_in(session, contacts, channel)
    if step.recorded:
        if delivery.answered_at is None:
            delivery.answered_at = now
            moves.append((DeliveryStatus.ANSWERED, None))
        if conversation.phase is Phase.AWAITING_COMMENT and delivery.comment_until is None:
            delivery.comment_until = now + definition.comment_window_td
    status = moves[-1][0] if moves else delivery.status
    if conversation.phase is Phase.CLOSED and status == DeliveryStatus.ANSWERED:
        moves.append((DeliveryStatus.COMPLETED, "no usable score" if conversation.score is None else None))
    delivery.conversation = str(conversation.phase)
    delivery.reprompts = conversation.reprompts
    save_conversation(session, delivery, moves, bool(conversation.comment) if step.recorded else None)
    if step.recorded:
        _save_response(rt, session, delivery, definition, conversation, response)


def _save_response(
    rt: Runtime,
    session: Session,
    delivery: Delivery,
    definition: FlowDefinition,
    conversation: Conversation,
    before: Response | None,
) -> None:
    """The answer as it now stands, tagged, written, then routed (a new answer may open a case)."""
    assert delivery.id is not None
    now = utcnow()
    if before is None:
        response = Response(
            delivery_id=delivery.id,
            flow_key=delivery.flow_key,
            channel=delivery.channel,
            contact_id=delivery.contact_id,
            question=str(definition.question.kind),
            answered_at=now,
            recheck_of=delivery.recheck_of,
            is_test=delivery.is_test,
        )
    else:
        response = Response(**before.model_dump())
    band = conversation.band
    response.score = conversation.score
    response.band = str(band) if band else None
    response.comment = conversation.comment
    response.updated_at = now
    tag_response(rt, response, session)
    save_response(session, response, before)
    if not response.is_test:  # subscribers hear of customers' answers, not of an admin trying a flow
        note_response(session, response, before)
    if response.recheck_of is not None:
        record_recheck_answer(session, before, response)
    elif not response.is_test:  # a test's answer opens no case in anyone's queue
        route_response(session, response, definition, before is None)


def opt_out(
    session: Session, contacts: list[Contact], channel: str, keep: int | None = None, source: str = "reply"
) -> None:
    """Opt every contact at this address out of the channel and cancel what was waiting for them, except the
    delivery `keep` (the survey the opt-out answered, which its caller settles)."""
    now = utcnow()
    for contact in contacts:
        assert contact.id is not None
        set_opt_out(session, contact.id, channel, now, source)
        for delivery in pending_deliveries(session, contact.id, channel):
            if delivery.id == keep:
                continue
            delivery.conversation = "closed"
            record_status(session, delivery, DeliveryStatus.CANCELLED, "contact opted out")


def _opt_in(session: Session, contacts: list[Contact], channel: str) -> None:
    for contact in contacts:
        assert contact.id is not None
        set_opt_out(session, contact.id, channel, None, "reply")


def _reply(message: Message, delivery: Delivery | None, kind: str, text: str) -> Outbound:
    return Outbound(channel=message.channel, to=message.address, text=text, kind=kind,
                    delivery_id=delivery.id if delivery else None, token=delivery.token if delivery else None)
