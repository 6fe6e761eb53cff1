"""Closing the loop: tag the answer, route it to a queue, and let a person work the case.

Every step of a case lands in its activity trail, including the messages exchanged with the customer.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.api.errors import ApiError, not_found
from bot.outbox import outbound_row, with_session_windows
from bot.recipients import recipient_of
from bot.runtime import Runtime
from channels.base import CaseView, ChannelError, Outbound
from flows.questions import QuestionKind
from flows.routing import Answer, route
from flows.schema import FlowDefinition
from flows.sentiment import mismatch, tag_sentiment
from storage.contacts import opted_out_channels
from storage.followups import add_activity, case_with_context, ensure_queue, followup_for_response, open_followup
from storage.models import Contact, Delivery, FollowUp, FollowUpStatus, Message, Response
from storage.types import utcnow


def tag_response(rt: Runtime, response: Response) -> None:
    """Sentiment, themes and the score/comment mismatch flag, refreshed whenever the answer changes."""
    if response.comment:
        sentiment = tag_sentiment(response.comment)
        response.sentiment = sentiment.label
        response.polarity = sentiment.polarity
        response.themes = rt.themes(response.comment)
        response.mismatch = mismatch(response.band, sentiment)
    else:
        response.sentiment, response.polarity, response.themes, response.mismatch = None, None, [], False


def route_response(
    session: Session, response: Response, definition: FlowDefinition, is_new: bool = False
) -> FollowUp | None:
    """Open a case when a routing rule matches and none is open for this answer yet."""
    assert response.id is not None
    if not definition.routing or (not is_new and followup_for_response(session, response.id) is not None):
        return None
    answer = Answer(response.score, response.band, response.sentiment, response.themes, response.channel)
    rule = route(definition.routing, answer)
    if rule is None:
        return None
    reasons = [f"{key} {value}" for key, value in rule.when.model_dump(exclude_none=True).items()]
    return open_followup(
        session,
        response_id=response.id,
        delivery_id=response.delivery_id,
        contact_id=response.contact_id,
        channel=response.channel,
        queue=ensure_queue(session, rule.queue),
        priority=rule.priority,
        sla=rule.sla_td,
        reason=", ".join(reasons) or "routing rule",
    )


def get_case(session: Session, followup_id: int) -> FollowUp:
    followup = session.get(FollowUp, followup_id, with_for_update=True)
    if followup is None:
        raise not_found("follow-up", followup_id)
    return followup


def _require_open(followup: FollowUp, action: str) -> None:
    if followup.status == FollowUpStatus.RESOLVED:
        raise ApiError(409, "resolved", f"follow-up {followup.id} is resolved; it cannot be {action}")


def claim_case(session: Session, followup_id: int, assignee: str) -> FollowUp:
    followup = get_case(session, followup_id)
    _require_open(followup, "claimed")
    followup.assignee = assignee
    followup.status = FollowUpStatus.CLAIMED
    add_activity(session, followup, "claimed", assignee)
    return followup


def add_note(session: Session, followup_id: int, author: str, text: str) -> FollowUp:
    followup = get_case(session, followup_id)
    add_activity(session, followup, "note", author, text)
    return followup


def resolve_case(session: Session, followup_id: int, author: str, note: str | None) -> FollowUp:
    followup = get_case(session, followup_id)
    _require_open(followup, "resolved again")
    followup.status = FollowUpStatus.RESOLVED
    followup.resolved_at = utcnow()
    add_activity(session, followup, "resolved", author, note)
    return followup


def reply_to_customer(rt: Runtime, followup_id: int, author: str, text: str) -> FollowUp:
    """Send the agent's message on the channel the customer answered on; refuse if they opted out."""
    with rt.session() as session:
        followup = get_case(session, followup_id)
        _require_open(followup, "replied to")
        contact = session.get(Contact, followup.contact_id)
        assert contact is not None and contact.id is not None
        if followup.channel in opted_out_channels(session, contact.id):
            raise ApiError(409, "opted_out", f"the customer opted out of {followup.channel}; nothing was sent")
        channel = rt.channels.get(followup.channel)
        address = channel.address(recipient_of(contact)) if channel else None
        if channel is None or address is None:
            raise ApiError(409, "unreachable", f"the customer cannot be reached on {followup.channel} now")
        delivery = session.get(Delivery, followup.delivery_id)
        token = delivery.token if delivery else None
        outbound = Outbound(followup.channel, address, text, "agent", followup.delivery_id, token=token)
        [message] = with_session_windows(session, [outbound])
    try:
        result = channel.send(message)
    except ChannelError as error:
        raise ApiError(502, "channel_error", f"{followup.channel} did not take the message: {error}") from None
    with rt.session() as session:
        followup = get_case(session, followup_id)
        row: Message = outbound_row(message, followup.contact_id, result.provider_message_id, result.transport)
        session.add(row)
        session.flush()
        add_activity(session, followup, "reply", author, text, row.id)
        return followup


def thread_customer_reply(session: Session, followup: FollowUp, message: Message) -> None:
    """A customer's message while their case is open belongs in the case, where the agent sees it."""
    add_activity(session, followup, "customer_reply", None, message.text, message.id)


def case_view(session: Session, followup_id: int) -> CaseView | None:
    found = case_with_context(session, followup_id)
    if found is None:
        return None
    followup, queue, response, contact = found
    assert followup.id is not None
    return CaseView(
        id=followup.id,
        queue=queue.key,
        status=followup.status,
        priority=followup.priority,
        assignee=followup.assignee,
        due_at=followup.due_at,
        breached=followup.breached_at is not None,
        customer=contact.name or contact.external_id,
        channel=followup.channel,
        kind=QuestionKind(response.question),
        score=response.score,
        band=response.band,
        comment=response.comment,
        sentiment=response.sentiment,
        reason=followup.reason,
        revision=max(followup.updated_at, response.updated_at),
    )
