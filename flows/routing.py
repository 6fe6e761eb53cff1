"""Routing: which follow-up queue, if any, an answer goes to. The first matching rule wins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flows.schema import RoutingCondition, RoutingRule


@dataclass(frozen=True)
class Answer:
    """What routing may look at: the scored answer, the comment's tags and where it came from."""

    score: int | None
    band: str | None
    sentiment: str | None
    themes: Sequence[str]
    channel: str


def route(rules: Sequence[RoutingRule], answer: Answer) -> RoutingRule | None:
    return next((rule for rule in rules if holds(rule.when, answer)), None)


def holds(when: RoutingCondition, answer: Answer) -> bool:
    checks = (
        when.band is None or when.band == answer.band,
        when.sentiment is None or when.sentiment == answer.sentiment,
        when.theme is None or when.theme in answer.themes,
        when.score_at_most is None or (answer.score is not None and answer.score <= when.score_at_most),
        when.score_at_least is None or (answer.score is not None and answer.score >= when.score_at_least),
        when.channel is None or when.channel == answer.channel,
    )
    return all(checks)
