"""Alert cards: an open case in a queue with a Slack channel gets a card there, and the card follows the case.

The worker posts a card when a case opens and re-renders it whenever the case or its answer changes, whoever
changed it (the API, a button in Slack, the customer's comment). Each Slack channel gets at most one card
post or update per second from all workers together, so a burst of detractors is spread, not lost.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from bot.followups import case_view
from bot.runtime import Runtime
from channels.base import CardPoster, ChannelError
from channels.registry import card_poster
from storage.models import SlackCard
from storage.pacing import free_slots, hold_sender, take_slots
from storage.slack_cards import add_missing_cards, claim_stale_cards, record_card, release_card

log = logging.getLogger("touchpoint.alerts")

CARD_LEASE = timedelta(seconds=60)
CARD_PACE = 1.0  # card posts per second per Slack channel
RETRY_BROKEN_CHANNEL = timedelta(minutes=10)  # an archived or unknown channel, until someone fixes it


def sync_case_cards(rt: Runtime, now: datetime) -> int:
    """Post or update the cards that are behind their case; returns how many went to Slack."""
    poster = card_poster(rt.channels, "slack")
    if poster is None:
        return 0
    with rt.session() as session:
        add_missing_cards(session, rt.settings.worker_batch)
    with rt.session() as session:
        cards = claim_stale_cards(session, now, rt.settings.worker_batch, CARD_LEASE)
    by_channel: dict[str, list[SlackCard]] = defaultdict(list)
    for card in cards:
        by_channel[card.channel].append(card)
    synced = 0
    for slack_channel, waiting in by_channel.items():
        first, rest = (waiting[0], waiting[1:]) if _take_slot(rt, slack_channel, now) else (None, waiting)
        with rt.session() as session:
            for card in rest:
                release_card(session, card.followup_id)
        if first is not None:
            synced += _sync_card(rt, poster, first, now)
    return synced


def _sender(slack_channel: str) -> str:
    return f"slack:{slack_channel}"


def _take_slot(rt: Runtime, slack_channel: str, now: datetime) -> bool:
    with rt.session() as session:
        if free_slots(session, _sender(slack_channel), CARD_PACE, now, timedelta(seconds=1)) < 1:
            return False
        take_slots(session, _sender(slack_channel), CARD_PACE, now, 1)
        return True


def _sync_card(rt: Runtime, poster: CardPoster, card: SlackCard, now: datetime) -> int:
    with rt.session() as session:
        case = case_view(session, card.followup_id)
    if case is None:
        return 0
    try:
        ts = poster.post_card(card.channel, case, card.ts)
    except ChannelError as error:
        until = None
        if error.retry_after:
            until = now + timedelta(seconds=error.retry_after)
        elif error.permanent:
            until = now + RETRY_BROKEN_CHANNEL
        with rt.session() as session:
            if error.retry_after:
                hold_sender(session, _sender(card.channel), until)
            release_card(session, card.followup_id, until, str(error))
        log.warning("case %s: card not synced to %s: %s", case.id, card.channel, error)
        return 0
    with rt.session() as session:
        record_card(session, card.followup_id, card.channel, ts, case.revision)
    return 1
