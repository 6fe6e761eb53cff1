"""`touchpoint demo --history 90d`: a realistic past for the demo flows, so the insights dashboard has something
true to show a newcomer.

Weekdays bring more orders and tickets than weekends; business customers are a little happier than free ones;
one store (Leeds) runs a little worse. In the last 7 days deliveries run late: the NPS flow's detractors jump and
their comments talk about late parcels, a drop the dashboard marks as significant. Comments are tagged by the
service's own tagger, detractors open cases that agents answered and resolved (most within their SLA), and some
events were skipped or their surveys never answered, for the funnel. The recovery queues ask "did we fix it?"
three days after a case is resolved: most customers who answer say it is fixed, fewer for the late parcels,
and a detractor's answer reopens the case, as it does live (bot.followups.record_recheck_answer).

Rows go through the ORM a day at a time, so the tallies the dashboard reads move with them at each commit,
exactly as they do for live answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, select

from bot.rechecks import RECHECK_EVENT
from bot.runtime import Runtime
from bot.tagging import tag_response
from flows.questions import band_for
from storage.followups import ensure_queue
from storage.models import Contact, Delivery, DeliveryStatus, Event, Flow, FollowUp, FollowUpStatus, Response
from storage.tallies import note_skip

KEY_PREFIX = "history-"
CONTACTS = 400
PLANS = (("free", 5), ("team", 3), ("business", 2))
STORES = ("London", "Manchester", "Leeds", "Bristol")
DROP_DAYS = 7  # the late deliveries: the last week of the history
RECHECK_AFTER = timedelta(days=3)
RECHECK_ANSWER_RATE = 0.55
RECHECK_ANSWERED_WITHIN = timedelta(hours=4)
RECOVERED = 0.75  # of the re-surveys answered, those that say it is fixed (a passive or promoter score)
RECOVERED_WHEN_LATE = 0.5  # a late parcel is harder to make up for


@dataclass(frozen=True)
class HistoryFlow:
    key: str
    event: str
    question: str
    channels: tuple[str, ...]
    per_weekday: int  # events on an ordinary weekday
    answer_rate: float
    queue: str | None
    scores: tuple[tuple[int, int], ...]  # (score, weight): an ordinary day's answers


FLOWS = (
    HistoryFlow("post-delivery-nps", "order.delivered", "nps", ("sms", "email"), 70, 0.45, "recovery",
                ((10, 30), (9, 22), (8, 14), (7, 10), (6, 7), (5, 5), (4, 3), (3, 3), (2, 2), (1, 2), (0, 2))),
    HistoryFlow("support-csat", "ticket.solved", "csat", ("email", "slack", "web"), 40, 0.35, "support-recovery",
                ((5, 40), (4, 30), (3, 12), (2, 10), (1, 8))),
    HistoryFlow("onboarding-ces", "onboarding.completed", "ces", ("web", "email"), 12, 0.6, None,
                ((7, 25), (6, 30), (5, 20), (4, 10), (3, 8), (2, 4), (1, 3))),
)
COMMENTS = {
    "late": ["My parcel arrived three days late.", "Late delivery again, days after the promised date.",
             "The courier lost my parcel.", "It arrived late, a week after dispatch."],
    "detractor": ["Too expensive for what you get.", "The app keeps crashing at checkout.",
                  "Support never called back.", "The product stopped working after a week."],
    "passive": ["Fine, but the price went up.", "Okay overall, the website is a bit slow."],
    "promoter": ["Great service, the driver was friendly and helpful.", "Fast delivery, lovely product.",
                 "Really helpful support team, thank you!"],
    "mismatch": ["Terrible, never again."],
}


@dataclass(frozen=True)
class Rechecks:
    """Re-surveys answered before `end`, drawn from their own random stream so the first answers stay the same."""

    end: datetime
    rng: random.Random


def parse_days(text: str) -> int:
    """`90d` or `90` -> 90, between 1 and 730 days."""
    digits = text[:-1] if text.endswith("d") else text
    if not digits.isdigit() or not 1 <= int(digits) <= 730:
        raise ValueError("history must be a number of days such as 90d (1 to 730)")
    return int(digits)


def load_history(rt: Runtime, days: int, *, today: date | None = None, seed: int = 15) -> str:
    """The past `days` days up to yesterday, once: a second run adds nothing. Needs the demo flows."""
    rng = random.Random(seed)
    today = today or datetime.now(UTC).date()
    with rt.session() as session:
        if session.exec(select(Event.id).where(Event.idempotency_key.startswith(KEY_PREFIX))).first():
            return "history: already loaded"
        flows = {f.key: f for f in session.exec(select(Flow).where(Flow.current.is_(True))).all()}
        missing = [f.key for f in FLOWS if f.key not in flows]
        if missing:
            return f"history: the demo flows are missing ({', '.join(missing)}): run `touchpoint demo` first"
        contacts = _contacts(session, rng)
        for flow in FLOWS:
            queue = ensure_queue(session, flow.queue) if flow.queue else None
            if queue is not None and queue.recheck_after_minutes is None:
                queue.recheck_after_minutes = int(RECHECK_AFTER.total_seconds() // 60)
    # Nothing after the history's last day, nor after now: a re-survey not yet due is not answered.
    rechecks = Rechecks(min(datetime.combine(today, time(0), tzinfo=UTC), datetime.now(UTC)), random.Random(seed + 1))
    answers = 0
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        with rt.session() as session:
            for flow in FLOWS:
                answers += _day(rt, session, rng, flow, flows[flow.key].id, contacts, day, offset <= DROP_DAYS,
                                rechecks)
    return (f"history: {days} days up to {today - timedelta(days=1)}, {answers} answers; deliveries ran late "
            f"in the last {DROP_DAYS} days (see /app/insights)")


def _contacts(session: Session, rng: random.Random) -> list[Contact]:
    plans = [plan for plan, weight in PLANS for _ in range(weight)]
    contacts = [Contact(external_id=f"{KEY_PREFIX}{i:04d}", name=f"Customer {i}",
                        attributes={"plan": rng.choice(plans)}) for i in range(CONTACTS)]
    session.add_all(contacts)
    session.flush()
    return contacts


def _volume(rng: random.Random, flow: HistoryFlow, day: date) -> int:
    weekend = day.weekday() >= 5
    return max(0, round(flow.per_weekday * (0.55 if weekend else 1.0) * rng.uniform(0.85, 1.15)))


def _score(rng: random.Random, flow: HistoryFlow, plan: str, store: str, late: bool) -> int:
    scores, weights = zip(*flow.scores, strict=True)
    if late and flow.key == "post-delivery-nps" and rng.random() < 0.45:
        return rng.choice((0, 1, 2, 3, 4, 5))
    if plan == "business" and rng.random() < 0.15:
        return scores[0]
    if store == "Leeds" and rng.random() < 0.12:
        return scores[-1]
    return rng.choices(scores, weights)[0]


def _comment(rng: random.Random, band: str, late: bool) -> str | None:
    if late and band == "detractor":
        return rng.choice(COMMENTS["late"])
    if rng.random() < 0.01 and band == "promoter":
        return COMMENTS["mismatch"][0]
    if rng.random() < (0.7 if band == "detractor" else 0.3):
        return rng.choice(COMMENTS[band])
    return None


def _day(rt: Runtime, session: Session, rng: random.Random, flow: HistoryFlow, flow_id: int,
         contacts: list[Contact], day: date, late: bool, rechecks: Rechecks) -> int:
    answers = 0
    for i in range(_volume(rng, flow, day)):
        at = datetime.combine(day, time(8), tzinfo=UTC) + timedelta(minutes=rng.randrange(13 * 60))
        contact = rng.choice(contacts)
        if rng.random() < 0.06:
            note_skip(session, day, flow.key, rng.choice(("throttled", "throttled", "opted_out", "quiet_hours")))
            continue
        store = rng.choice(STORES)
        key = f"{KEY_PREFIX}{flow.key}-{day}-{i}"
        event = Event(type=flow.event, contact_id=contact.id, idempotency_key=key, occurred_at=at, received_at=at,
                      properties={"store": store, "country": "GB"})
        session.add(event)
        session.flush()
        answered = rng.random() < flow.answer_rate
        failed = not answered and rng.random() < 0.05
        delivery = Delivery(event_id=event.id, flow_id=flow_id, flow_key=flow.key, contact_id=contact.id,
                            channel=rng.choice(flow.channels), due_at=at, token=key[-64:], created_at=at,
                            sent_at=None if failed else at, last_error="unreachable" if failed else None,
                            status=(DeliveryStatus.COMPLETED if answered else DeliveryStatus.FAILED if failed
                                    else DeliveryStatus.EXPIRED),
                            answered_at=at + timedelta(minutes=20) if answered else None)
        session.add(delivery)
        session.flush()
        if answered:
            _answer(rt, session, rng, flow, delivery, contact, store, late, rechecks)
            answers += 1
    return answers


def _answer(rt: Runtime, session: Session, rng: random.Random, flow: HistoryFlow, delivery: Delivery,
            contact: Contact, store: str, late: bool, rechecks: Rechecks) -> None:
    at = delivery.answered_at
    assert at is not None
    score = _score(rng, flow, contact.attributes.get("plan", ""), store, late)
    band = str(band_for(flow.question, score))
    response = Response(delivery_id=delivery.id, flow_key=flow.key, channel=delivery.channel,
                        contact_id=contact.id, question=flow.question, score=score, band=band,
                        comment=_comment(rng, band, late), answered_at=at, updated_at=at)
    tag_response(rt, response)
    session.add(response)
    session.flush()
    if flow.queue and band == "detractor":
        followup = _case(session, rng, flow.queue, response, delivery, at)
        resolved = followup.resolved_at
        if resolved is not None and resolved + RECHECK_AFTER + RECHECK_ANSWERED_WITHIN < rechecks.end:
            _recheck(session, rechecks.rng, flow, followup, delivery, late)


def _case(session: Session, rng: random.Random, queue_key: str, response: Response, delivery: Delivery,
          at: datetime) -> FollowUp:
    queue = ensure_queue(session, queue_key)
    slow = rng.random() < 0.15  # a busy afternoon: past the 4-hour SLA
    first_reply = at + timedelta(minutes=rng.randrange(10, 150) * (3 if slow else 1))
    resolved = first_reply + timedelta(minutes=rng.randrange(10, 90) * (4 if slow else 1))
    done = resolved < datetime.now(UTC)
    followup = FollowUp(response_id=response.id, delivery_id=delivery.id, queue_id=queue.id,
                        contact_id=response.contact_id, channel=delivery.channel, priority="high",
                        due_at=at + timedelta(hours=4), reason="band=detractor", created_at=at, updated_at=at,
                        first_reply_at=first_reply if done else None, status="resolved" if done else "open",
                        resolved_at=resolved if done else None)
    session.add(followup)
    session.flush()
    return followup


def _recheck(session: Session, rng: random.Random, flow: HistoryFlow, followup: FollowUp, first: Delivery,
             late: bool) -> None:
    """The case's "did we fix it?" survey, sent RECHECK_AFTER its resolution on the channel of the first one, and
    its answer when the customer gave one."""
    assert followup.id is not None and followup.resolved_at is not None
    asked = followup.resolved_at + RECHECK_AFTER
    key = f"{KEY_PREFIX}recheck-{followup.id}"
    event = Event(type=RECHECK_EVENT, contact_id=followup.contact_id, idempotency_key=key, occurred_at=asked,
                  received_at=asked)
    session.add(event)
    session.flush()
    answered = rng.random() < RECHECK_ANSWER_RATE
    answered_at = asked + timedelta(minutes=rng.randrange(5, RECHECK_ANSWERED_WITHIN.seconds // 60))
    delivery = Delivery(event_id=event.id, flow_id=first.flow_id, flow_key=first.flow_key,
                        contact_id=followup.contact_id, channel=first.channel, channel_plan=[first.channel],
                        due_at=asked, token=key, created_at=asked, sent_at=asked, recheck_of=followup.id,
                        status=DeliveryStatus.COMPLETED if answered else DeliveryStatus.EXPIRED,
                        conversation="closed", answered_at=answered_at if answered else None)
    session.add(delivery)
    session.flush()
    if not answered:
        return
    scores = [score for score, _ in flow.scores]
    fixed = rng.random() < (RECOVERED_WHEN_LATE if late else RECOVERED)
    pool = [s for s in scores if (str(band_for(flow.question, s)) != "detractor") == fixed]
    score = rng.choice(pool)
    band = str(band_for(flow.question, score))
    session.add(Response(delivery_id=delivery.id, flow_key=first.flow_key, channel=first.channel,
                         contact_id=followup.contact_id, question=flow.question, score=score, band=band,
                         answered_at=answered_at, updated_at=answered_at, recheck_of=followup.id))
    if band == "detractor":  # the customer says it is not fixed: the case is open again, due within its SLA
        followup.status = FollowUpStatus.OPEN
        followup.resolved_at = None
        followup.due_at = answered_at + timedelta(hours=4)
        followup.updated_at = answered_at
        session.add(followup)
