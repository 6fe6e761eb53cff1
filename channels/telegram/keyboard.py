"""The survey as a Telegram message: the question, what the scale's ends mean, and a button per answer.

A button's callback_data (at most 64 bytes, Telegram's limit) is `s:<delivery token>:<answer>`, the answer
written as the customer would type it (`8`; a thumb sign for thumbs), so a click goes through the reply rules
unchanged. A thumb sign rather than "yes": while a comment is awaited the rules read 👎 as a new score but "no"
as the comment, and a click on the other thumb means the score. The token is the survey's unguessable key, as
in an email link: Telegram warns that a client can send any data, so the data names nothing else.
"""

from __future__ import annotations

from typing import Any

from channels.base import ChannelError
from flows.questions import EndLabels, QuestionKind, answer_text
from flows.texts import choice_labels, end_legend

SCORE = "s"
MAX_CALLBACK_DATA = 64  # bytes
_NPS_FIRST_ROW = 6  # 0-5 on the first row, 6-10 on the second: eleven buttons do not fit one phone's width


def question_text(text: str, kind: QuestionKind, labels: EndLabels | None) -> str:
    """The question and, under it, what the ends of the scale mean (the NPS rows wrap, so each names its
    number); thumbs need none, their buttons are the words."""
    if labels is None:
        return text
    return f"{text}\n\n{', '.join(end_legend(kind, labels))}"


def question_markup(kind: QuestionKind, token: str, locale: str | None) -> dict[str, Any]:
    buttons = [{"text": label, "callback_data": callback_data(token, _answer(kind, score))}
               for score, label in choice_labels(kind, locale)]
    rows = [buttons[:_NPS_FIRST_ROW], buttons[_NPS_FIRST_ROW:]] if kind is QuestionKind.NPS else [buttons]
    return {"inline_keyboard": rows}


def _answer(kind: QuestionKind, score: int) -> str:
    if kind is QuestionKind.THUMBS:
        return "\N{THUMBS UP SIGN}" if score == 1 else "\N{THUMBS DOWN SIGN}"
    return answer_text(kind, score)


def callback_data(token: str, answer: str) -> str:
    data = f"{SCORE}:{token}:{answer}"
    if len(data.encode()) > MAX_CALLBACK_DATA:
        raise ChannelError(f"a button's data would be {len(data.encode())} bytes; Telegram takes "
                           f"{MAX_CALLBACK_DATA}", permanent=True, code="callback_data")
    return data


def parse_callback(data: str) -> tuple[str, str] | None:
    """The survey token and the answer a score button carries; None for data that is not ours."""
    kind, _, rest = data.partition(":")
    token, _, answer = rest.partition(":")
    if kind != SCORE or not token or not answer:
        return None
    return token, answer
