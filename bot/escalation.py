"""Escalation: a case past its SLA is announced once to its queue's lead by email, besides its Slack card, and
may be handed to the person the queue names for overdue cases.

The worker's tick marks breaches (storage.followups.mark_breached); this step then claims each new breach with a
conditional update, so any number of workers announce it once. A breach is escalated only within an hour of
being marked: setting a lead on a queue full of old breaches does not send a burst of mail about them. The email
goes through the email channel (SMTP when configured, the sandbox otherwise), like any message, and the case's
trail says it was sent, or why not.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.outbox import send_and_record
from bot.runtime import Runtime
from channels.base import Outbound
from storage.followups import add_activity, breaches_to_escalate, case_with_context, claim_escalation
from storage.models import FollowUp, FollowUpStatus, Message

log = logging.getLogger("touchpoint.escalation")

CATCH_UP = timedelta(hours=1)  # a worker that was down this long still escalates what it missed


def escalate_breaches(rt: Runtime, now: datetime) -> int:
    """Escalate the cases that breached their SLA lately; returns how many were escalated."""
    with rt.session() as session:
        ids = breaches_to_escalate(session, now, now - CATCH_UP, rt.settings.worker_batch)
    done = 0
    for followup_id in ids:
        claimed, mail = _escalate(rt, followup_id, now)
        if mail is not None:
            _send(rt, followup_id, *mail)
        done += claimed
    return done


def _escalate(rt: Runtime, followup_id: int, now: datetime) -> tuple[bool, tuple[Outbound, int] | None]:
    """Claim the breach (False: another worker did) and hand the case over; the lead's email, if there is one,
    with the customer it is about."""
    with rt.session() as session:
        if not claim_escalation(session, followup_id, now):
            return False, None
        return True, _hand_over_and_tell(rt, session, followup_id)


def _hand_over_and_tell(rt: Runtime, session: Session, followup_id: int) -> tuple[Outbound, int] | None:
    found = case_with_context(session, followup_id)
    assert found is not None
    followup, queue, response, contact = found
    if queue.overdue_assignee and followup.assignee != queue.overdue_assignee:
        followup.assignee = queue.overdue_assignee
        followup.status = FollowUpStatus.CLAIMED
        add_activity(session, followup, "assigned", None, "overdue: the queue hands its overdue cases over",
                     detail=queue.overdue_assignee)
    if not queue.lead_email:
        return None
    if "email" not in rt.channels:
        add_activity(session, followup, "escalation_failed", None, detail="the email channel is not running")
        return None
    customer = contact.name or contact.external_id
    score = "no score" if response.score is None else f"{response.question.upper()} {response.score}"
    lines = [
        f"Case #{followup.id} in {queue.name or queue.key} is past its due time "
        f"({followup.due_at:%Y-%m-%d %H:%M} UTC).",
        "",
        f"Customer: {customer}, who answered {score}" + (f" ({response.band})" if response.band else ""),
        f"Comment: {response.comment}" if response.comment else "No comment.",
        f"Assigned to: {followup.assignee or 'nobody'}",
        f"Priority: {followup.priority}",
        "",
        f"Open the case: {rt.settings.public_url}/app/cases/{followup.id}",
    ]
    mail = Outbound(channel="email", to=queue.lead_email, text="\n".join(lines), kind="escalation",
                    subject=f"Overdue: case #{followup.id} in {queue.name or queue.key}")
    return mail, followup.contact_id


def _send(rt: Runtime, followup_id: int, mail: Outbound, about: int) -> None:
    """The message is recorded as the customer's (`about`), whom it quotes: erasing them erases it too."""
    def into_case(session: Session, row: Message) -> None:
        case = session.get(FollowUp, followup_id)
        assert case is not None
        add_activity(session, case, "escalated", None, message_id=row.id, detail=mail.to)

    attempt = send_and_record(rt, mail, about, on_sent=into_case)
    if attempt.error is not None:
        log.warning("case %s: escalation email not sent (%s)", followup_id, attempt.outcome)
        with rt.session() as session:
            case = session.get(FollowUp, followup_id)
            assert case is not None
            add_activity(session, case, "escalation_failed", None, detail=f"the email was {attempt.outcome}")
