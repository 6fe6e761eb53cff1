"""Each agent's daily email of the cases they hold that are still open, the overdue ones first.

Asked for on the account page (off by default). The worker's tick sends it from the configured hour (UTC,
TOUCHPOINT_DIGEST_HOUR) on: a worker that was down at that hour still sends the day's digest later that day.
Each user's day is claimed with a conditional update before the mail goes out, so any number of workers send it
once; a mail the server refused is not retried that day (tomorrow's brings the same cases). It goes through the
email channel like an escalation, and only while that channel runs. It names cases, queues and due times, never a
customer: it leaves our systems, and a copy kept for no one customer could not be erased with them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.errors import UserNotFound
from bot.outbox import send_and_record
from bot.runtime import Runtime
from channels.base import Outbound
from storage.cases import UNRESOLVED, CaseFilters, CaseRow, list_cases
from storage.users import claim_digest, digests_due
from storage.users import set_digest as store_digest

log = logging.getLogger("touchpoint.digest")

MOST_LISTED = 100  # cases listed by name; the rest are counted, with a link to them all


def set_digest(rt: Runtime, user_id: int, on: bool) -> None:
    with rt.session() as session:
        if not store_digest(session, user_id, on):
            raise UserNotFound(user_id)


def send_digests(rt: Runtime, now: datetime) -> int:
    """Send today's digests still due; returns how many were sent."""
    if now.hour < rt.settings.digest_hour or "email" not in rt.channels:
        return 0
    today = now.date()
    with rt.session() as session:
        due = digests_due(session, today, rt.settings.worker_batch)
    sent = 0
    for user_id in due:
        mail = _claim_and_write(rt, user_id, now)
        if mail is None:
            continue
        attempt = send_and_record(rt, mail, None)
        if attempt.error is not None:
            log.warning("user %s: digest not sent (%s)", user_id, attempt.outcome)
        else:
            sent += 1
    return sent


def _claim_and_write(rt: Runtime, user_id: int, now: datetime) -> Outbound | None:
    """Today's digest for the user, claimed; None when another worker has it or there is nothing open."""
    with rt.session() as session:
        user = claim_digest(session, user_id, now.date())
        if user is None:
            return None
        rows = list_cases(session, CaseFilters(assignee=user.email, status=UNRESOLVED), limit=MOST_LISTED + 1)
        email = user.email
    if not rows:
        return None  # no news is not worth an email
    overdue = [row for row in rows[:MOST_LISTED] if row.followup.due_at < now]
    upcoming = [row for row in rows[:MOST_LISTED] if row.followup.due_at >= now]
    base = rt.settings.public_url
    lines = [f"The cases you hold that are still open, soonest due first ({now:%Y-%m-%d}).", ""]
    for title, group in ((f"Overdue ({len(overdue)})", overdue), (f"Open ({len(upcoming)})", upcoming)):
        if group:
            lines += [title, *(_line(row, base, now) for row in group), ""]
    if len(rows) > MOST_LISTED:
        lines += [f"And more: {base}/app/cases?assignee=me", ""]
    lines += [f"Your cases: {base}/app/cases?assignee=me",
              f"You get this email because you asked for it; switch it off at {base}/app/account"]
    more = "+" if len(rows) > MOST_LISTED else ""
    subject = f"Your cases today: {len(rows[:MOST_LISTED])}{more} open, {len(overdue)} overdue"
    return Outbound(channel="email", to=email, text="\n".join(lines), kind="digest", subject=subject)


def _line(row: CaseRow, base: str, now: datetime) -> str:
    case = row.followup
    due = "was due" if case.due_at < now else "due"
    return (f"- Case #{case.id} in {row.queue}, {case.priority} priority, {due} {case.due_at:%Y-%m-%d %H:%M} UTC: "
            f"{base}/app/cases/{case.id}")
