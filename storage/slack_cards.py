"""Alert cards of follow-up cases in Slack: which need posting or re-rendering, claimed by one worker at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import FollowUp, FollowUpStatus, Queue, Response, SlackCard


def add_missing_cards(session: Session, limit: int) -> int:
    """Open cases in a queue with a Slack channel get a card row; the worker posts it."""
    rows = session.exec(
        select(FollowUp.id, Queue.slack_channel)
        .join(Queue, col(Queue.id) == FollowUp.queue_id)
        .outerjoin(SlackCard, col(SlackCard.followup_id) == FollowUp.id)
        .where(
            col(Queue.slack_channel).is_not(None),
            FollowUp.status != FollowUpStatus.RESOLVED,
            col(SlackCard.followup_id).is_(None),
        )
        .limit(limit)
    ).all()
    for followup_id, channel in rows:
        assert followup_id is not None and channel
        try:
            with session.begin_nested():
                session.add(SlackCard(followup_id=followup_id, channel=channel))
        except sa.exc.IntegrityError:
            pass  # another worker added it first
    return len(rows)


def claim_stale_cards(session: Session, now: datetime, limit: int, lease: timedelta) -> list[SlackCard]:
    """Cards older than their case or its answer, leased to this worker (commits the lease)."""
    cards = session.exec(
        select(SlackCard)
        .join(FollowUp, col(FollowUp.id) == SlackCard.followup_id)
        .join(Response, col(Response.id) == FollowUp.response_id)
        .where(
            sa.or_(col(SlackCard.lease_until).is_(None), col(SlackCard.lease_until) < now),
            sa.or_(
                col(SlackCard.synced_at).is_(None),
                col(SlackCard.synced_at) < FollowUp.updated_at,
                col(SlackCard.synced_at) < Response.updated_at,
            ),
        )
        .order_by(col(SlackCard.followup_id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=SlackCard)
    ).all()
    for card in cards:
        card.lease_until = now + lease
        session.add(card)
    session.commit()
    return list(cards)


def release_card(session: Session, followup_id: int, until: datetime | None = None, error: str | None = None) -> None:
    """Give the card back: to the next tick, or not before `until` (the provider asked us to wait)."""
    card = session.get(SlackCard, followup_id)
    if card is not None:
        card.lease_until = until
        card.error = error[:500] if error else card.error
        session.add(card)


def record_card(session: Session, followup_id: int, channel: str, ts: str, revision: datetime) -> None:
    """The card in Slack now shows the case as of `revision`."""
    card = session.get(SlackCard, followup_id) or SlackCard(followup_id=followup_id, channel=channel)
    card.channel, card.ts, card.lease_until, card.error = channel, ts, None, None
    card.synced_at = max(revision, card.synced_at) if card.synced_at else revision
    session.add(card)


def card_for(session: Session, followup_id: int) -> SlackCard | None:
    return session.get(SlackCard, followup_id)
