"""The conversation state machine: state + reply -> new state + messages to send.

A survey conversation is tiny (score, then maybe a comment), but every path of it is a promise to
a customer: one re-prompt at most, a thank-you at the end, and an opt-out honoured in any state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from flows.questions import Band, QuestionKind, band_for
from flows.replies import Intent, parse_reply
from flows.schema import FlowDefinition
from flows.texts import builtin_text, range_hint, reprompt_text


class Phase(StrEnum):
    AWAITING_SCORE = "awaiting_score"
    AWAITING_COMMENT = "awaiting_comment"
    CLOSED = "closed"


@dataclass(frozen=True)
class Conversation:
    kind: QuestionKind
    phase: Phase = Phase.AWAITING_SCORE
    reprompts: int = 0
    score: int | None = None
    comment: str | None = None

    @property
    def band(self) -> Band | None:
        return band_for(self.kind, self.score) if self.score is not None else None


@dataclass(frozen=True)
class Reply:
    """A message to send back: `kind` says why (reprompt, comment_prompt, thanks, help, opt_out, opt_in)."""

    kind: str
    text: str


@dataclass(frozen=True)
class Step:
    conversation: Conversation
    intent: Intent
    replies: list[Reply] = field(default_factory=list)
    opt_out: bool = False
    opt_in: bool = False

    @property
    def recorded(self) -> bool:
        """True when this step changed what the customer answered (score or comment)."""
        return self.intent in (Intent.ANSWER, Intent.COMMENT, Intent.SCORE_CORRECTION) or (
            self.intent is Intent.REPROMPT and self.conversation.phase is Phase.CLOSED
        )


def advance(
    conversation: Conversation,
    text: str,
    flow: FlowDefinition,
    locale: str | None,
    opted_out: bool = False,
    context: Mapping[str, Any] | None = None,
) -> Step:
    """Apply one customer reply to the conversation; `context` renders the flow's templated texts."""
    state = "awaiting_comment" if conversation.phase is Phase.AWAITING_COMMENT else "awaiting_score"
    parsed = parse_reply(text, conversation.kind, state, opted_out)
    intent = parsed.intent

    if intent is Intent.OPT_OUT:
        closed = replace(conversation, phase=Phase.CLOSED)
        return Step(closed, intent, [Reply("opt_out", builtin_text("opt_out", locale))], opt_out=True)
    if intent is Intent.OPT_IN:
        return Step(conversation, intent, [Reply("opt_in", builtin_text("opt_in", locale))], opt_in=True)
    if intent is Intent.HELP:
        help_text = builtin_text("help", locale, range=range_hint(conversation.kind))
        return Step(conversation, intent, [Reply("help", help_text)])
    if conversation.phase is Phase.CLOSED:
        return Step(conversation, intent)

    if intent is Intent.ANSWER:
        assert parsed.score is not None
        return _answer(conversation, parsed.score, parsed.comment, flow, locale, context)
    if intent is Intent.REPROMPT:
        return _unusable(conversation, text, locale)
    if intent is Intent.SCORE_CORRECTION:
        assert parsed.score is not None
        return _correct(conversation, parsed.score, flow, locale, context)
    comment = (parsed.comment or text).strip()
    return _finish(replace(conversation, comment=comment), intent, flow, locale, context)


def _answer(
    conversation: Conversation,
    score: int,
    comment: str | None,
    flow: FlowDefinition,
    locale: str | None,
    context: Mapping[str, Any] | None,
) -> Step:
    answered = replace(conversation, score=score, comment=comment or conversation.comment)
    band = answered.band
    if comment or band is None or not flow.wants_comment(band):
        return _finish(answered, Intent.ANSWER, flow, locale, context)
    waiting = replace(answered, phase=Phase.AWAITING_COMMENT)
    return Step(waiting, Intent.ANSWER, [Reply("comment_prompt", flow.comment_prompt(locale, band, context))])


def _unusable(conversation: Conversation, text: str, locale: str | None) -> Step:
    """One re-prompt; a second unusable reply is kept as a comment and the conversation closes politely."""
    if conversation.reprompts == 0:
        again = replace(conversation, reprompts=1)
        return Step(again, Intent.REPROMPT, [Reply("reprompt", reprompt_text(conversation.kind, locale))])
    kept = replace(conversation, reprompts=conversation.reprompts + 1, comment=text.strip(), phase=Phase.CLOSED)
    return Step(kept, Intent.REPROMPT, [Reply("thanks", builtin_text("closed_unusable", locale))])


def _correct(
    conversation: Conversation,
    score: int,
    flow: FlowDefinition,
    locale: str | None,
    context: Mapping[str, Any] | None,
) -> Step:
    corrected = replace(conversation, score=score)
    band = corrected.band
    assert band is not None
    note = builtin_text("score_updated", locale, score=score)
    if not flow.wants_comment(band):
        return _finish(corrected, Intent.SCORE_CORRECTION, flow, locale, context, prefix=note)
    prompt = f"{note} {flow.comment_prompt(locale, band, context)}"
    return Step(corrected, Intent.SCORE_CORRECTION, [Reply("comment_prompt", prompt)])


def _finish(
    conversation: Conversation,
    intent: Intent,
    flow: FlowDefinition,
    locale: str | None,
    context: Mapping[str, Any] | None,
    prefix: str = "",
) -> Step:
    thanks = flow.thanks_text(locale, context) or builtin_text("thanks", locale)
    text = f"{prefix} {thanks}".strip()
    return Step(replace(conversation, phase=Phase.CLOSED), intent, [Reply("thanks", text)])
