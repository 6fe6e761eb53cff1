"""Follow-up: a person works the case that routing opened (claim or assign, note, reply, resolve, reopen).

Every step of a case lands in its activity trail, including the messages exchanged with the customer, and moves
the case's revision, so its alert card is drawn again. The actions take plain inputs and raise bot.errors; the
surface that called them says it its own way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from bot.case_admin import saved_replies, saved_reply
from bot.errors import (
    CaseClosed,
    CaseNotFound,
    CaseNotResolved,
    CustomerOptedOut,
    CustomerUnreachable,
    InvalidValue,
    ProviderRefused,
)
from bot.outbox import send_and_record, with_session_windows
from bot.rechecks import cancel_rechecks, schedule_recheck
from bot.recipients import contact_fields, recipient_of
from bot.runtime import Runtime
from bot.webhooks import note_case_resolved
from channels.base import CaseView, Outbound
from flows.questions import Band, QuestionKind
from flows.templates import TemplateProblem, render_template, reply_context
from storage.case_lists import list_root_causes, root_cause_named
from storage.cases import ThreadEntry, case_thread, latest_recheck_answer, recheck_deliveries
from storage.contacts import opted_out_channels
from storage.followups import add_activity, case_with_context
from storage.models import Contact, Delivery, Event, FollowUp, FollowUpStatus, Message, Queue, Response
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
    """The person takes the case themselves; a claimed case changes hands (both are in the trail)."""
    followup = get_case(session, followup_id)
    _require_open(followup, "claimed")
    followup.assignee = assignee
    followup.status = FollowUpStatus.CLAIMED
    add_activity(session, followup, "claimed", assignee, detail=assignee)
    return followup


def assign_case(session: Session, followup_id: int, assignee: str | None, actor: str) -> FollowUp:
    """`actor` hands the case to a teammate, or back to the queue (assignee None: open, unassigned). Giving it to
    whoever has it already changes nothing and adds nothing to the trail."""
    followup = get_case(session, followup_id)
    _require_open(followup, "assigned")
    if followup.assignee == assignee:
        return followup
    followup.assignee = assignee
    followup.status = FollowUpStatus.OPEN if assignee is None else FollowUpStatus.CLAIMED
    add_activity(session, followup, "unassigned" if assignee is None else "assigned", actor, detail=assignee)
    return followup


def add_note(session: Session, followup_id: int, author: str, text: str) -> FollowUp:
    followup = get_case(session, followup_id)
    add_activity(session, followup, "note", author, text)
    return followup


def resolve_case(
    session: Session, followup_id: int, author: str, note: str | None, root_cause: str | None = None
) -> FollowUp:
    """Close the case with what was done (`note`) and why it happened: a root cause from the admins' list, which
    is required while the list has any (and refused when it names none of them)."""
    followup = get_case(session, followup_id)
    _require_open(followup, "resolved again")
    cause = _root_cause(session, root_cause)
    followup.status = FollowUpStatus.RESOLVED
    followup.resolved_at = utcnow()
    followup.root_cause = cause
    add_activity(session, followup, "resolved", author, note, detail=cause)
    note_case_resolved(session, followup, author)
    recheck = schedule_recheck(session, followup)
    if recheck is not None:
        add_activity(session, followup, "recheck_scheduled", None, detail=f"{recheck.due_at:%Y-%m-%d %H:%M} UTC")
    return followup


def _root_cause(session: Session, given: str | None) -> str | None:
    """The list's own spelling of the root cause given; None when the list is empty and none is given."""
    if given is not None:
        found = root_cause_named(session, given)
        if found is not None:
            return found.name
    names = [cause.name for cause in list_root_causes(session)]
    if given is None and not names:
        return None
    choices = f"one of: {', '.join(names)}" if names else "the list of root causes is empty"
    if given is None:
        raise InvalidValue("root_cause", f"a root cause is required to resolve a case; {choices}")
    raise InvalidValue("root_cause", f"{given!r} is not a root cause on the list; {choices}")


def reopen_case(session: Session, followup_id: int, actor: str, reason: str | None) -> FollowUp:
    """A resolved case comes back (the customer says it is not fixed): open, or still with its assignee, due
    again one queue SLA from now (its old due time has passed, or the case would be born overdue)."""
    followup = get_case(session, followup_id)
    if followup.status != FollowUpStatus.RESOLVED:
        raise CaseNotResolved(f"follow-up {followup_id} is not resolved; only a resolved case can be reopened")
    _reopen(session, followup, actor, reason)
    return followup


def _reopen(session: Session, followup: FollowUp, actor: str | None, reason: str | None) -> None:
    assert followup.id is not None
    queue = session.get(Queue, followup.queue_id)
    assert queue is not None
    followup.status = FollowUpStatus.CLAIMED if followup.assignee else FollowUpStatus.OPEN
    followup.resolved_at = None
    followup.root_cause = None
    followup.breached_at = followup.escalated_at = None
    followup.due_at = utcnow() + timedelta(minutes=queue.sla_minutes)
    add_activity(session, followup, "reopened", actor, reason)
    cancel_rechecks(session, followup.id, "the case was reopened")


def record_recheck_answer(session: Session, before: Response | None, after: Response) -> None:
    """A "did we fix it?" answer goes to its case's trail; a detractor's (now, not before) reopens the case, since
    the customer says it is not fixed. The answer's messages are in the case's thread."""
    assert after.recheck_of is not None
    followup = get_case(session, after.recheck_of)
    if before is None:
        detail = f"{after.score} ({after.band})" if after.score is not None else "no score"
        add_activity(session, followup, "recheck_answered", None, detail=detail)
    elif (before.score, before.band) != (after.score, after.band):
        followup.updated_at = utcnow()  # the card shows the answer: a corrected score draws it again
    turned = after.band == Band.DETRACTOR and (before is None or before.band != Band.DETRACTOR)
    if turned and followup.status == FollowUpStatus.RESOLVED:
        _reopen(session, followup, None, "the customer's answer to \"did we fix it?\" says it is not fixed")


@dataclass(frozen=True)
class ReplyChannel:
    """A channel the case's customer can be written to now, and the address the message would go to."""

    channel: str
    address: str  # as the contact's record has it (a phone, an email, an external id for the widget)
    answered_here: bool  # the channel the customer answered the survey on


def reply_channels(rt: Runtime, session: Session, followup_id: int) -> list[ReplyChannel]:
    """Where an agent can write to the case's customer now: a running channel that carries replies, on which they
    have an address and have not opted out. The channel they answered on comes first, then the survey's other
    channels in the flow's order, then the rest."""
    followup = _case(session, followup_id)
    contact = session.get(Contact, followup.contact_id)
    assert contact is not None and contact.id is not None
    opted_out = opted_out_channels(session, contact.id)
    found = []
    for name in _candidates(rt, session, followup):
        address = _address(rt, name, contact)
        if address is not None and _why_not(rt, name, contact, opted_out) is None:
            channel = rt.channels[name]
            kind = channel.address_kind
            shown = contact.external_id if kind is None else contact.addresses.get(kind)
            found.append(ReplyChannel(name, shown or channel.contact_address(address), name == followup.channel))
    return found


def _case(session: Session, followup_id: int) -> FollowUp:
    followup = session.get(FollowUp, followup_id)
    if followup is None:
        raise CaseNotFound(followup_id)
    return followup


def _candidates(rt: Runtime, session: Session, followup: FollowUp) -> list[str]:
    delivery = session.get(Delivery, followup.delivery_id)
    plan = delivery.channel_plan if delivery is not None else []
    return list(dict.fromkeys([followup.channel, *plan, *rt.channels]))


def _address(rt: Runtime, name: str, contact: Contact) -> str | None:
    channel = rt.channels.get(name)
    return channel.address(recipient_of(contact)) if channel is not None else None


def _why_not(rt: Runtime, name: str, contact: Contact, opted_out: set[str]) -> str | None:
    """Why the agent cannot write to the customer on this channel now, or None when they can."""
    channel = rt.channels.get(name)
    if channel is None:
        return f"{name} is not running"
    if not channel.carries_replies:
        return f"{name} cannot carry a reply"
    if name in opted_out:
        return f"the customer opted out of {name}"
    if _address(rt, name, contact) is None:
        return f"the customer has no address for {name}"
    return None


def reply_to_customer(rt: Runtime, followup_id: int, author: str, text: str, channel: str | None = None) -> FollowUp:
    """Send the agent's message on `channel`, one of `reply_channels`, or by default on the channel the customer
    answered on. Nothing is sent when it cannot go: an opted-out or unreachable customer on the default channel is
    CustomerOptedOut or CustomerUnreachable (naming the channels that would do), a `channel` not on the list is
    InvalidValue naming why. The customer's answers on that channel join the case."""
    with rt.session() as session:
        followup = get_case(session, followup_id)
        _require_open(followup, "replied to")
        contact = session.get(Contact, followup.contact_id)
        assert contact is not None and contact.id is not None
        target = channel or followup.channel
        problem = _why_not(rt, target, contact, opted_out_channels(session, contact.id))
        if problem is not None:
            others = [c.channel for c in reply_channels(rt, session, followup_id) if c.channel != target]
            hint = f"; reply on one of: {', '.join(others)}" if others else "; no other channel reaches them now"
            if target != followup.channel:
                raise InvalidValue("channel", f"cannot reply on {target}: {problem}{hint}")
            if problem.startswith("the customer opted out"):
                raise CustomerOptedOut(f"{problem}; nothing was sent{hint}")
            raise CustomerUnreachable(f"the customer cannot be reached on {target} now ({problem}){hint}")
        address = _address(rt, target, contact)
        assert address is not None
        delivery = session.get(Delivery, followup.delivery_id)
        token = delivery.token if delivery else None
        outbound = Outbound(target, address, text, "agent", followup.delivery_id, token=token)
        [message] = with_session_windows(session, [outbound])
        contact_id = contact.id

    def into_case(session: Session, row: Message) -> None:
        case = get_case(session, followup_id)
        case.reply_channel = None if target == case.channel else target
        case.first_reply_at = case.first_reply_at or row.created_at
        add_activity(session, case, "reply", author, text, row.id, detail=target)

    attempt = send_and_record(rt, message, contact_id, on_sent=into_case)
    if attempt.error is not None:
        raise ProviderRefused(f"{target} did not take the message: {attempt.error}")
    with rt.session() as session:
        return get_case(session, followup_id)


def case_thread_of(session: Session, followup_id: int) -> list[ThreadEntry]:
    """The case page's thread: the survey, the customer's answers and replies, the agent's replies, the "did we
    fix it?" survey and its answer, and every trail entry, in time order."""
    followup = _case(session, followup_id)
    return case_thread(session, followup, [followup.delivery_id, *recheck_deliveries(session, followup_id)])


def thread_customer_reply(session: Session, followup: FollowUp, message: Message) -> None:
    """A customer's message while their case is open belongs in the case, where the agent sees it."""
    add_activity(session, followup, "customer_reply", None, message.text, message.id)


def case_view(session: Session, followup_id: int) -> CaseView | None:
    found = case_with_context(session, followup_id)
    if found is None:
        return None
    followup, queue, response, contact = found
    assert followup.id is not None
    recheck = latest_recheck_answer(session, followup.id)
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
        root_cause=followup.root_cause,
        recheck=None if recheck is None or recheck.score is None else (recheck.score, recheck.band),
    )


def render_saved_reply(rt: Runtime, session: Session, followup_id: int, name: str) -> str:
    """A saved reply filled in for this case's customer and answer, for the agent to edit and send."""
    template = saved_reply(session, name)
    return _render(template.text, _reply_context(rt, session, followup_id))


@dataclass(frozen=True)
class FilledReply:
    """A saved reply filled in for one case; `text` is None (and `problem` says why) when this case's data trips
    its template, which was checked when it was saved but may still use a value this event lacks."""

    name: str
    text: str | None
    problem: str | None = None


def saved_replies_for_case(rt: Runtime, session: Session, followup_id: int) -> list[FilledReply]:
    """Every saved reply, by name, filled in for this case."""
    context = _reply_context(rt, session, followup_id)
    filled = []
    for reply in saved_replies(session):
        try:
            filled.append(FilledReply(reply.name, _render(reply.text, context)))
        except InvalidValue as problem:
            filled.append(FilledReply(reply.name, None, problem.message))
    return filled


def _render(text: str, context: dict) -> str:
    try:
        return render_template(text, context)
    except TemplateProblem as problem:  # checked when saved; data can still trip it (a filter on a missing value)
        raise InvalidValue("name", f"the saved reply cannot be filled in for this case: {problem}") from None


def _reply_context(rt: Runtime, session: Session, followup_id: int) -> dict:
    found = case_with_context(session, followup_id)
    if found is None:
        raise CaseNotFound(followup_id)
    followup, _queue, response, contact = found
    delivery = session.get(Delivery, followup.delivery_id)
    assert delivery is not None
    event = session.get(Event, delivery.event_id)
    definition = rt.definition(rt.flow_version(session, delivery.flow_id))
    flow = {"key": definition.key, "name": definition.name}
    return reply_context(contact_fields(contact), (event.properties if event else None) or {}, flow,
                         response.score, response.band, response.comment)
