"""Follow-up: a person works the case that routing opened (claim, note, reply, resolve).

Every step of a case lands in its activity trail, including the messages exchanged with the customer. The
actions take plain inputs and raise bot.errors; the surface that called them says it its own way.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.errors import CaseClosed, CaseNotFound, CustomerOptedOut, CustomerUnreachable, ProviderRefused
from bot.outbox import send_and_record, with_session_windows
from bot.recipients import recipient_of
from bot.runtime import Runtime
from bot.webhooks import note_case_resolved
from channels.base import CaseView, Outbound
from flows.questions import QuestionKind
from storage.contacts import opted_out_channels
from storage.followups import add_activity, case_with_context
from storage.models import Contact, Delivery, FollowUp, FollowUpStatus, Message
from storage.types import utcnow


def get_case(session: Session, followup_id: int) -> FollowUp:
    followup = session.get(FollowUp, followup_id, with_for_update=True)
    if followup is None:
        raise CaseNotFound(followup_id)
    return followup


def _require_open(followup: FollowUp, action: str) -> None:
    if followup.status == FollowUpStatus.RESOLVED:
        raise CaseClosed(f"follow-up {followup.id} is resolved; it cannot be {action}")


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
    note_case_resolved(session, followup, author)
    return followup


def reply_to_customer(rt: Runtime, followup_id: int, author: str, text: str) -> FollowUp:
    """Send the agent's message on the channel the customer answered on; refuse if they opted out."""
    with rt.session() as session:
        followup = get_case(session, followup_id)
        _require_open(followup, "replied to")
        contact = session.get(Contact, followup.contact_id)
        assert contact is not None and contact.id is not None
        if followup.channel in opted_out_channels(session, contact.id):
            raise CustomerOptedOut(f"the customer opted out of {followup.channel}; nothing was sent")
        channel = rt.channels.get(followup.channel)
        address = channel.address(recipient_of(contact)) if channel else None
        if channel is None or address is None:
            raise CustomerUnreachable(f"the customer cannot be reached on {followup.channel} now")
        delivery = session.get(Delivery, followup.delivery_id)
        token = delivery.token if delivery else None
        outbound = Outbound(followup.channel, address, text, "agent", followup.delivery_id, token=token)
        [message] = with_session_windows(session, [outbound])
        contact_id = contact.id

    def into_case(session: Session, row: Message) -> None:
        add_activity(session, get_case(session, followup_id), "reply", author, text, row.id)

    attempt = send_and_record(rt, message, contact_id, on_sent=into_case)
    if attempt.error is not None:
        raise ProviderRefused(f"{followup.channel} did not take the message: {attempt.error}")
    with rt.session() as session:
        return get_case(session, followup_id)


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
