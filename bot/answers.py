"""Surveys answered through a link rather than a reply: the pages of the email (and web) channels.

A link carries the delivery's unguessable token, so the answer needs no address matching. Clicks and
comment forms go through the same reply rules as a text message (a score is sent as its number), and are
stored as inbound messages like any other answer.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session

from bot.inbound import opt_out, process_stored, receive, store_received
from bot.recipients import question_text, recipient_of, survey_context
from bot.runtime import Runtime
from channels.base import Inbound, ReplyMode, SurveyView
from flows.questions import Band, QuestionKind
from flows.texts import builtin_text
from storage.deliveries import AnswerContext, delivery_by_token, delivery_with_context_by_token, is_answerable
from storage.responses import response_for_delivery


def survey_view(rt: Runtime, token: str) -> SurveyView | None:
    with rt.session() as session:
        found = delivery_with_context_by_token(session, token)
        return _view(rt, session, found) if found is not None else None


def _view(rt: Runtime, session: Session, found: AnswerContext) -> SurveyView:
    delivery, event, contact = found
    definition = rt.definition(rt.flow_version(session, delivery.flow_id))
    response = response_for_delivery(session, delivery.id or 0)
    locale = contact.locale or rt.settings.default_locale
    context = survey_context(contact, event, definition)
    score = response.score if response else None
    band = Band(response.band) if response and response.band else None
    return SurveyView(
        token=delivery.token,
        channel=delivery.channel,
        kind=QuestionKind(definition.question.kind),
        locale=locale,
        question=question_text(definition, locale, context, delivery.channel, delivery.recheck_of is not None),
        score=score,
        comment=response.comment if response else None,
        phase=delivery.conversation,
        prompt=definition.comment_prompt(locale, band, context) if band and definition.wants_comment(band)
        else None,
        thanks=definition.thanks_text(locale, context) or builtin_text("thanks", locale),
        open=is_answerable(delivery),
        labels=definition.end_labels(locale, delivery.channel),
    )


def answer_by_token(rt: Runtime, token: str, text: str) -> SurveyView | None:
    """A click or a form: stored and run through the reply rules in one transaction. Unlike a provider's
    webhook there is no retry to protect: if it fails, nothing is stored and the customer sees the error."""
    with rt.session() as session:
        found = delivery_with_context_by_token(session, token)
        if found is None:
            return None
        delivery, _event, contact = found
        channel = rt.channels.get(delivery.channel)
        address = (channel.address(recipient_of(contact)) if channel else None) or f"link:{contact.external_id}"
        inbound = Inbound(delivery.channel, address, text, f"link-{uuid.uuid4().hex}", {"via": "link", "text": text})
        message, _ = store_received(session, inbound, delivery.id)
        process_stored(rt, session, message, ReplyMode.DROP, found)
        return _view(rt, session, found)


def unsubscribe_by_token(rt: Runtime, token: str, source: str, channel: str | None = None) -> bool:
    """Opt out of `channel`, the channel of the link or address used (an agent's email about a widget survey
    carries that survey's token), else the survey's own."""
    with rt.session() as session:
        found = delivery_with_context_by_token(session, token)
        if found is None:
            return False
        delivery, _event, contact = found
        opt_out(session, [contact], channel or delivery.channel, source=source)
        return True


def reply_by_token(rt: Runtime, token: str, inbound: Inbound) -> bool:
    with rt.session() as session:
        delivery = delivery_by_token(session, token)
        delivery_id = delivery.id if delivery else None
    if delivery_id is None:
        return False
    receive(rt, inbound, ReplyMode.SEND, delivery_id=delivery_id)
    return True
