"""A flow's question as each of its channels would show it, for one contact and event, without sending anything.

The preview goes through the same code as a real send: the question text from the flow's templates
(bot.recipients), then each channel's own rendering (the SMS body's GSM-7 clean-up, the email composer, the
Slack blocks, the Telegram keyboard), so what an admin sees cannot drift from what a customer gets.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from sqlmodel import Session

from bot.recipients import question_text, survey_context
from bot.runtime import Runtime
from channels.base import Outbound, Question
from channels.email.transport import compose, preview_config
from channels.slack.blocks import question_blocks
from channels.telegram.keyboard import question_markup
from channels.telegram.keyboard import question_text as telegram_text
from flows.gsm7 import count, to_gsm7
from flows.questions import QuestionKind
from flows.schema import FlowDefinition
from flows.templates import TemplateProblem
from flows.texts import choice_labels, end_legend
from storage.contacts import contact_by_external_id
from storage.models import Contact, Event

PREVIEW_TOKEN = "preview"
SAMPLE_CONTACT = "preview-sample"


@dataclass(frozen=True)
class ChannelPreview:
    """One channel's rendering: `text` always, and what that channel adds (segments, subject and HTML,
    blocks, buttons); `problem` when the flow's template cannot be rendered for this contact and event."""

    channel: str
    text: str = ""
    problem: str | None = None
    sms: dict[str, Any] | None = None
    subject: str | None = None
    html: str | None = None
    plain: str | None = None
    blocks_json: str | None = None
    buttons: list[list[str]] = field(default_factory=list)
    legend: str | None = None


@dataclass(frozen=True)
class Preview:
    contact: str  # whose data filled the templates: the chosen contact's external id, or the sample's
    sample: bool  # the sample contact stood in: none was asked for, or the one asked for is unknown
    unknown: bool  # an external id was asked for and no contact has it
    channels: list[ChannelPreview]


def preview_flow(rt: Runtime, session: Session, definition: FlowDefinition, external_id: str | None,
                 properties: dict[str, Any]) -> Preview:
    """The question on every channel of the flow, for the contact (a sample one when none or unknown)."""
    contact = contact_by_external_id(session, external_id) if external_id else None
    found = contact is not None
    if contact is None:
        contact = Contact(external_id=SAMPLE_CONTACT, name="Sam Example")
    event = Event(type=definition.trigger.event, properties=properties)
    locale = contact.locale or rt.settings.default_locale
    context = survey_context(contact, event, definition)
    shown = [channel_preview(rt, definition, channel, locale, context) for channel in definition.channels]
    return Preview(contact.external_id, not found, bool(external_id) and not found, shown)


def channel_preview(rt: Runtime, definition: FlowDefinition, channel: str, locale: str,
                    context: dict[str, Any]) -> ChannelPreview:
    try:
        text = question_text(definition, locale, context, channel)
    except TemplateProblem as problem:
        return ChannelPreview(channel, problem=str(problem))
    kind = QuestionKind(definition.question.kind)
    question = Question(kind, definition.end_labels(locale, channel))
    message = Outbound(channel=channel, to="preview", text=text, kind="question", question=question,
                       token=PREVIEW_TOKEN, locale=locale)
    render = _RENDERERS.get(channel, _plain)
    return render(rt, message)


def _plain(_rt: Runtime, message: Outbound) -> ChannelPreview:
    return ChannelPreview(message.channel, text=message.text)


def _sms(_rt: Runtime, message: Outbound) -> ChannelPreview:
    body = to_gsm7(message.text) if message.channel == "sms" else message.text
    counted = count(body)
    return ChannelPreview(message.channel, text=body, sms={"encoding": counted.encoding, "length": counted.units,
                                                           "segments": counted.segments,
                                                           "per_segment": counted.per_segment})


def _email(rt: Runtime, message: Outbound) -> ChannelPreview:
    mail = compose(message, preview_config(os.environ, rt.settings.public_url))
    return ChannelPreview(message.channel, text=message.text, subject=str(mail["Subject"]),
                          html=_part(mail, "html"), plain=_part(mail, "plain"))


def _part(mail: EmailMessage, subtype: str) -> str:
    body = mail.get_body(preferencelist=(subtype,))
    return body.get_content() if body is not None else ""


def _slack(_rt: Runtime, message: Outbound) -> ChannelPreview:
    assert message.question is not None and message.token is not None
    question = message.question
    blocks = question_blocks(message.text, question.kind, message.token, message.locale, question.labels)
    rows = [[button["text"]["text"] for button in block["elements"]] for block in blocks if block["type"] == "actions"]
    legend = next((block["elements"][0]["text"] for block in blocks if block["type"] == "context"), None)
    return ChannelPreview(message.channel, text=message.text, blocks_json=json.dumps(blocks, indent=2,
                          ensure_ascii=False), buttons=rows, legend=legend)


def _telegram(_rt: Runtime, message: Outbound) -> ChannelPreview:
    assert message.question is not None and message.token is not None
    question = message.question
    markup = question_markup(question.kind, message.token, message.locale)
    rows = [[button["text"] for button in row] for row in markup["inline_keyboard"]]
    return ChannelPreview(message.channel, text=telegram_text(message.text, question.kind, question.labels),
                          buttons=rows)


def _widget(_rt: Runtime, message: Outbound) -> ChannelPreview:
    assert message.question is not None
    question = message.question
    labels = [label for _, label in choice_labels(question.kind, message.locale)]
    legend = ", ".join(end_legend(question.kind, question.labels)) if question.labels else None
    return ChannelPreview(message.channel, text=message.text, buttons=[labels], legend=legend)


_RENDERERS = {"sms": _sms, "whatsapp": _sms, "email": _email, "slack": _slack, "telegram": _telegram,
              "web": _widget}
