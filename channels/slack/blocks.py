"""Block Kit for the Slack channel: the survey DM, its answered state, the comment modal and case cards.

Every message also carries plain `text`: Slack shows it in notifications and to screen readers.
"""

from __future__ import annotations

from typing import Any

from channels.base import CaseView, SurveyView
from flows.questions import EndLabels, QuestionKind, answer_text
from flows.texts import builtin_text, choice_labels, end_legend

Block = dict[str, Any]

SCORE_ACTION = "tp_score"  # action ids are tp_score_<n>; the value is "<token>:<answer text>"
COMMENT_ACTION = "tp_comment"
COMMENT_VIEW = "tp_comment_view"
CASE_CLAIM, CASE_RESOLVE, CASE_REPLY = "tp_case_claim", "tp_case_resolve", "tp_case_reply"
REPLY_VIEW = "tp_case_reply_view"
RESOLVE_VIEW = "tp_case_resolve_view"
TEXT_INPUT = "text"
CHOICE_INPUT = "choice"
_MAX_OPTIONS = 100  # Slack's limit for a static select
_NPS_FIRST_ROW = 6  # 0-5 on the first row, 6-10 on the second


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:75], "emoji": True}


def _section(markdown: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown[:3000]}}


def _button(action_id: str, label: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "text": _plain(label), "value": value[:2000]}
    if style:
        button["style"] = style
    return button


def question_blocks(
    text: str, kind: QuestionKind, token: str, locale: str | None, labels: EndLabels | None = None
) -> list[Block]:
    """The question, one button per answer (NPS on two rows, every other scale on one) and, under them,
    what the scale's ends mean."""
    buttons = [
        _button(f"{SCORE_ACTION}_{score}", label, f"{token}:{answer_text(kind, score)}")
        for score, label in choice_labels(kind, locale)
    ]
    rows = [buttons[:_NPS_FIRST_ROW], buttons[_NPS_FIRST_ROW:]] if kind is QuestionKind.NPS else [buttons]
    blocks = [_section(text)] + [
        {"type": "actions", "block_id": f"tp_survey_{i}", "elements": row} for i, row in enumerate(rows)
    ]
    if labels is not None:
        legend = ", ".join(end_legend(kind, labels))
        blocks.append({"type": "context", "block_id": "tp_survey_ends",
                       "elements": [{"type": "plain_text", "text": legend[:2000], "emoji": True}]})
    return blocks


def answered_blocks(view: SurveyView) -> tuple[str, list[Block]]:
    """The survey message after a click: what was chosen, the comment if any, and the way to add one."""
    if view.score is None:
        return view.question, question_blocks(view.question, view.kind, view.token, view.locale, view.labels)
    chosen = dict(choice_labels(view.kind, view.locale)).get(view.score, str(view.score))
    summary = builtin_text("slack_chosen", view.locale, score=chosen)
    blocks = [_section(view.question), _section(summary)]
    if view.comment:
        saved = builtin_text("slack_comment_saved", view.locale, comment=view.comment)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": saved[:3000]}]})
    elif view.open and view.phase == "awaiting_comment":
        label = builtin_text("slack_add_comment", view.locale)
        blocks.append({"type": "actions", "block_id": "tp_comment", "elements": [
            _button(COMMENT_ACTION, label, view.token, "primary")]})
    return summary.replace("*", ""), blocks


def closed_blocks(locale: str | None) -> tuple[str, list[Block]]:
    """For a survey that is gone (an unknown or erased token): the message keeps no stale buttons."""
    closed = builtin_text("slack_closed", locale)
    return closed, [_section(closed)]


def comment_modal(view: SurveyView, metadata: str) -> dict[str, Any]:
    """The comment box, labelled with the band's prompt; `metadata` says which survey and message it is for."""
    title = builtin_text("slack_comment_title", view.locale)
    return {
        "type": "modal",
        "callback_id": COMMENT_VIEW,
        "private_metadata": metadata,
        "title": _plain(title[:24]),
        "submit": _plain(builtin_text("slack_comment_send", view.locale)[:24]),
        "blocks": [{
            "type": "input",
            "block_id": "comment",
            "label": _plain(view.prompt or title),
            "element": {"type": "plain_text_input", "action_id": TEXT_INPUT, "multiline": True, "max_length": 3000},
        }],
    }


def comment_of(state: dict[str, Any], block_id: str = "comment") -> str:
    """The text typed into a modal's input block."""
    return ((state.get(block_id) or {}).get(TEXT_INPUT) or {}).get("value") or ""


_BAND_EMOJI = {"detractor": ":red_circle:", "passive": ":large_yellow_circle:", "promoter": ":large_green_circle:"}


def case_card(case: CaseView) -> tuple[str, list[Block]]:
    """An alert card for the queue's channel; its buttons follow the case's status."""
    due = int(case.due_at.timestamp())
    score = "no score" if case.score is None else f"{case.kind.value.upper()} {case.score}"
    title = f"{_BAND_EMOJI.get(case.band or '', ':white_circle:')} *{case.customer}* answered {score}"
    resolved = f"Resolved ({case.root_cause})" if case.root_cause else "Resolved"
    status = {"open": "Open", "claimed": f"Claimed by {case.assignee}", "resolved": resolved}.get(
        case.status, case.status
    )
    fields = [
        f"*Queue*\n{case.queue} ({case.priority})",
        f"*Status*\n{status}",
        f"*Due*\n<!date^{due}^{{date_short_pretty}} {{time}}|{case.due_at:%Y-%m-%d %H:%M} UTC>"
        + (" :warning: overdue" if case.breached and case.status != "resolved" else ""),
        f"*Sentiment*\n{case.sentiment or 'none'}",
        f"*Channel*\n{case.channel}",
        f"*Why*\n{case.reason or 'routing rule'}",
    ]
    blocks: list[Block] = [
        _section(title),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f[:2000]} for f in fields]},
    ]
    if case.comment:
        blocks.append(_section("> " + case.comment.replace("\n", "\n> ")))
    if case.recheck is not None:
        score, band = case.recheck
        fixed = ":white_check_mark:" if band != "detractor" else ":x:"
        blocks.append(_section(f"{fixed} *Did we fix it?* {case.kind.value.upper()} {score} ({band or 'no band'})"))
    if case.status != "resolved":
        value = str(case.id)
        buttons = [_button(CASE_REPLY, "Reply", value), _button(CASE_RESOLVE, "Resolve", value, "primary")]
        if case.status == "open":
            buttons.insert(0, _button(CASE_CLAIM, "Claim", value))
        blocks.append({"type": "actions", "block_id": f"tp_case_{case.id}", "elements": buttons})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Case #{case.id}"}]})
    text = f"Case #{case.id}: {case.customer} answered {score} ({status})"
    return text, blocks


def reply_modal(case: CaseView, metadata: str, channels: list[str] | None = None) -> dict[str, Any]:
    """What the agent writes to the customer. It goes out on the channel the customer answered on; when that
    cannot carry it, or others could too, the agent picks one of `channels` (the first is chosen already)."""
    channels = channels or []
    choose = bool(channels) and channels != [case.channel]
    label = f"Message to {case.customer}" if choose else f"Message to {case.customer} by {case.channel}"
    blocks: list[Block] = [{
        "type": "input",
        "block_id": "reply",
        "label": _plain(label),
        "element": {"type": "plain_text_input", "action_id": TEXT_INPUT, "multiline": True, "max_length": 1600},
    }]
    if choose:
        options = [{"text": _plain(name), "value": name} for name in channels[:_MAX_OPTIONS]]
        blocks.append({"type": "input", "block_id": "channel", "label": _plain("Send by"),
                       "element": {"type": "static_select", "action_id": CHOICE_INPUT, "options": options,
                                   "initial_option": options[0]}})
    return {
        "type": "modal",
        "callback_id": REPLY_VIEW,
        "private_metadata": metadata,
        "title": _plain(f"Reply to case #{case.id}"[:24]),
        "submit": _plain("Send"),
        "blocks": blocks,
    }


def resolve_modal(case: CaseView, root_causes: list[str], metadata: str) -> dict[str, Any]:
    """Resolving asks why it happened (a root cause from the admins' list) and, optionally, what was done."""
    options = [{"text": _plain(name), "value": name[:150]} for name in root_causes[:_MAX_OPTIONS]]
    return {
        "type": "modal",
        "callback_id": RESOLVE_VIEW,
        "private_metadata": metadata,
        "title": _plain(f"Resolve case #{case.id}"[:24]),
        "submit": _plain("Resolve"),
        "blocks": [
            {"type": "input", "block_id": "root_cause", "label": _plain("Root cause"),
             "element": {"type": "static_select", "action_id": CHOICE_INPUT, "options": options,
                         "placeholder": _plain("Why did it happen?")}},
            {"type": "input", "block_id": "note", "optional": True, "label": _plain("What was done"),
             "element": {"type": "plain_text_input", "action_id": TEXT_INPUT, "multiline": True, "max_length": 3000}},
        ],
    }


def choice_of(state: dict[str, Any], block_id: str) -> str | None:
    """The option chosen in a modal's select block."""
    selected = ((state.get(block_id) or {}).get(CHOICE_INPUT) or {}).get("selected_option") or {}
    return selected.get("value")
