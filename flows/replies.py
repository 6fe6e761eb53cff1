"""The reply parser: what a customer's text message means for the survey they are answering.

Customers answer by SMS, WhatsApp, email or a Slack DM in their own words. This module turns one such
message into an `Intent` (and a score and comment where it carries them) following the rules in the
design brief, section "Replies on text channels". It is pure: no I/O, no state beyond its arguments.

The guiding trade-off: a wrong score is worse than a re-prompt. The parser takes a score only when the
customer clearly gave one; anything doubtful (two numbers, a range, a decimal, a negation, a count of
days) is re-prompted, because the conversation allows one re-prompt and keeps a second unusable reply
as a comment. Opt-outs are the opposite: a clear request to stop always wins, in any state, even when
the same message also carries a score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from flows.questions import QuestionKind, Scale, scale_for

AWAITING_SCORE = "awaiting_score"
AWAITING_COMMENT = "awaiting_comment"
STATES = (AWAITING_SCORE, AWAITING_COMMENT)


class Intent(StrEnum):
    ANSWER = "answer"
    REPROMPT = "reprompt"
    COMMENT = "comment"
    SCORE_CORRECTION = "score_correction"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


@dataclass(frozen=True)
class Reply:
    """What one inbound message means. `score` and `comment` are set only when the message carries them."""

    intent: Intent
    score: int | None = None
    comment: str | None = None


def parse_reply(text: str, kind: QuestionKind | str, state: str, opted_out: bool = False) -> Reply:
    """Interpret one customer message.

    `state` is "awaiting_score" or "awaiting_comment"; `opted_out` says whether the contact has opted
    out of the channel, which turns a plain YES into an opt-in.
    """
    kind = QuestionKind(kind)
    if state not in STATES:
        raise ValueError(f"unknown conversation state {state!r}; expected one of {', '.join(STATES)}")

    keyword = _keyword_intent(text, opted_out)
    if keyword is not None:
        return Reply(keyword)
    if _asks_to_opt_out(text):
        return Reply(Intent.OPT_OUT)
    if state == AWAITING_COMMENT:
        return _parse_comment(text, kind)
    if kind is QuestionKind.THUMBS:
        return _parse_thumbs(text)
    return _parse_score(text, scale_for(kind))


# --- text preparation -------------------------------------------------------------------------------

# Any apostrophe: curly ones from phones, and U+FFFD, which is how real exports lose them ("I\ufffdve").
# Patterns use this instead of rewriting the text, so a comment stays exactly what the customer wrote.
_APOS = "['\u2019\u2018\u02bc\u00b4\ufffd]"


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


# --- keywords ---------------------------------------------------------------------------------------

OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"})
OPT_IN_KEYWORDS = frozenset({"start", "unstop"})
HELP_KEYWORDS = frozenset({"help", "info"})
# Keywords that are an unmistakable instruction even as one clause of a longer message ("Great. STOP").
# END, CANCEL, QUIT and REVOKE are common words in complaints, so they count only as the whole message.
_STRONG_OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "optout"})

# Words a customer adds around a keyword without changing it: "STOP PLEASE", "please cancel", "help me".
_COURTESY_WORDS = frozenset(
    {"please", "pls", "plz", "now", "thanks", "thank", "you", "thx", "ty", "ok", "okay", "it", "me"}
)


def _keyword_of(text: str) -> str | None:
    """The keyword a message (or clause) consists of, if any.

    Case, surrounding punctuation, emoji, numbers and courtesy words are ignored, and the remaining
    words are joined, so "Opt-out", "opt out" and "STOP ALL" read as OPTOUT and STOPALL. A message with
    any other word in it is not a keyword: "stopped", "the end result" and "cancel my order" are not.
    """
    words = [w for w in re.findall(r"[^\W\d_]+", text.casefold()) if w not in _COURTESY_WORDS]
    return "".join(words) if words else None


def _keyword_intent(text: str, opted_out: bool) -> Intent | None:
    """Intent of a message that is a keyword as a whole (STOP, START, HELP, ...)."""
    keyword = _keyword_of(text)
    if keyword in OPT_OUT_KEYWORDS:
        return Intent.OPT_OUT
    if keyword in OPT_IN_KEYWORDS or (keyword == "yes" and opted_out):
        return Intent.OPT_IN
    if keyword in HELP_KEYWORDS:
        return Intent.HELP
    return None


# --- plain-language opt-out -------------------------------------------------------------------------

# A request is recognised only at the start of a clause, after optional polite lead-ins. That is what
# keeps "the driver didn't stop at my door" or "I asked them to stop texting" from counting.
_CLAUSE_BREAK = re.compile(r"[.!?;:,\n]+|\s[-\u2013\u2014]+\s*|\b(?:but|and|so|then|also)\b", re.IGNORECASE)
_LEAD_IN = (
    r"(?:(?:please|pls|plz|plse|kindly|just|ok|okay|hi|hello|hey|now|"
    r"can you|could you|would you|will you|can u|could u|"
    rf"i want you to|i need you to|i{_APOS}d like you to|i would like you to|"
    rf"i want to|i wanna|i{_APOS}d like to|i would like to|i wish to|i need to|let me|"
    rf"i said|i told you to|i asked you to|i{_APOS}ve asked you to|can i|how do i|how can i)\b[\s,]*)*"
)
_MESSAGE_NOUN = (
    r"(?:texts?|txts?|messages?|msgs?|sms(?:es)?|surveys?|e-?mails?|mails?|spam|junk|"
    r"notifications?|reminders?|questionnaires?)"
)
_CONTACT_VERB = r"(?:text|txt|message|msg|contact|e-?mail|sms|call|ring|bother|spam|survey|pester|bug)"
_CONTACT_VERB_ING = (
    r"(?:texting|txting|messaging|msging|contacting|e-?mailing|mailing|spamming|bugging|bothering|"
    r"pestering|harassing|calling|ringing|surveying)"
)
_DETERMINERS = r"(?:\s+(?:me|us|any|all|the|your|ur|more|of|these|those|this|such|so|many|stupid))*"
_CLAUSE_END = r"(?:\s+(?:please|pls|plz|now|again|anymore|any\s+more|ever|thanks|thank\s+you))*\W*$"
_NEGATED = rf"(?:don{_APOS}?t|do\s+not|never)"
_OPT_OUT_REQUESTS = [
    # a bare STOP after a lead-in: "I said STOP", "can you stop"
    rf"(?:stop|stop\s*all|unsubscribe|opt[\s-]*out)(?:\s+it)?{_CLAUSE_END}",
    # stop texting me / stop messaging / stop contacting me
    rf"stop\s+{_CONTACT_VERB_ING}\b",
    # stop sending me these texts / stop receiving surveys
    rf"stop\s+(?:sending|receiving|getting){_DETERMINERS}\s+{_MESSAGE_NOUN}\b",
    # stop sending these please / stop sending me  (but not "stop sending me the wrong size")
    rf"stop\s+(?:sending|receiving|getting)(?:\s+(?:me|us))?"
    rf"(?:\s+(?:these|those|this|them|it|that))?{_CLAUSE_END}",
    # unsubscribe me / opt me out / opt-out
    r"(?:unsubscribe|unsub|opt[\s-]*(?:me\s+)?out)\b",
    # remove me from your list / take me off / delete my number
    r"(?:remove|delete|erase|drop)\s+me\b|take\s+me\s+off\b",
    r"(?:remove|delete|erase)\s+my\s+"
    r"(?:number|phone|mobile|details|data|info|information|contact|e-?mail|address)\b",
    # don't message me again / never contact me
    rf"{_NEGATED}\s+(?:ever\s+)?{_CONTACT_VERB}\s+(?:me|us)\b",
    rf"{_NEGATED}\s+send(?:\s+(?:me|us))?{_DETERMINERS}\s+{_MESSAGE_NOUN}\b",
    # I don't want these messages / I no longer wish to be contacted
    rf"(?:i\s+)?(?:don{_APOS}?t|do\s+not|no\s+longer)\s+(?:want|wish)(?:\s+to\s+(?:receive|get))?"
    rf"{_DETERMINERS}\s+{_MESSAGE_NOUN}\b",
    rf"(?:i\s+)?(?:don{_APOS}?t|do\s+not|no\s+longer)\s+(?:want|wish)\s+to\s+be\s+"
    r"(?:contacted|texted|messaged|e-?mailed|surveyed)\b",
    # no more texts
    rf"no\s+more\s+(?:{_MESSAGE_NOUN}|of\s+(?:these|this|them|those))\b",
    r"leave\s+me\s+alone\b",
]
_OPT_OUT_REQUEST = re.compile(rf"{_LEAD_IN}(?:{'|'.join(_OPT_OUT_REQUESTS)})", re.IGNORECASE)


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_BREAK.split(text) if c.strip()]


def _asks_to_opt_out(text: str) -> bool:
    """True when any clause is a plain request to stop ("please unsubscribe me") or a bare STOP.

    Checked before any score, so "0 - stop texting me" opts out rather than scoring a 0.
    """
    for clause in _clauses(text):
        if _keyword_of(clause) in _STRONG_OPT_OUT_KEYWORDS or _OPT_OUT_REQUEST.match(clause):
            return True
    return False


# --- numbers in a message ---------------------------------------------------------------------------

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_WORD = "|".join(NUMBER_WORDS)
# Digits may carry a decimal or time part ("8.5", "10:30"), which makes them unclear rather than a score.
# A number word must not continue with a hyphen or apostrophe ("one-off", "one's").
_NUMBER = rf"\d+(?:[.,:]\d+)*|(?:{_WORD})(?!(?:-|{_APOS})\w)"
_MENTION = re.compile(
    rf"""
    (?<![\w#£$€¥])(?<!\d[.,:])       # not inside a word, an order number (#4471) or a price (£24.99)
    (?P<num>{_NUMBER})(?![\w%])      # not 3pm, 2nd or 100%
    (?:\s*(?:/|out\s+of|outta|of)\s*(?P<den>\d+|{_WORD})(?![\w%]))?   # 9/10, seven out of ten
    (?P<unit>\s+(?:stars?|points?|pts)\b)?                            # 5 stars
    """,
    re.IGNORECASE | re.VERBOSE,
)
# A number followed by one of these counts something ("3 days", "2 items", "4 of the boxes"): not a score.
_QUANTITY_WORDS = frozenset({
    "of", "x", "am", "pm", "p", "percent", "per",
    "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "hr", "hrs", "hour", "hours",
    "day", "days", "week", "weeks", "wk", "wks", "month", "months", "year", "years", "yr", "yrs",
    "time", "times", "item", "items", "thing", "things", "parcel", "parcels", "package", "packages",
    "box", "boxes", "order", "orders", "people", "person", "persons", "call", "calls", "email", "emails",
    "text", "texts", "message", "messages", "attempt", "attempts", "try", "tries",
    "pound", "pounds", "quid", "dollars", "euros", "bucks", "kg", "km", "miles",
})  # fmt: skip
# A tentative score: "maybe 8", and as a join, two alternatives ("8, maybe 9").
_HEDGE = r"(?:maybe|perhaps|possibly)"
# Words right before a number that show it is being given as a score: "a 7", "I'd say 3", "give it 8".
_SCORE_CUE = re.compile(
    r"\b(?:a|an|solid|strong|firm|easy|say|give|gave|giving|it|you|u|ya|them|rate|rated|rating|"
    rf"score|scored|of|is|be|mark|{_HEDGE})\s+$",
    re.IGNORECASE,
)
# A negation shortly before the number, in the same clause: "never score 10", "not a 10".
_NEGATION_BEFORE = re.compile(
    rf"(?:n{_APOS}t|\b(?:not|never|no|nowhere|hardly)\b)(?:\s+[^\s,.;:!?]+){{0,3}}\s+$", re.IGNORECASE
)
# What joins two numbers into a range or a choice: "7 or 8", "6-7", "between 6 and 7", "8, maybe 9".
_RANGE_JOIN = re.compile(
    rf"\s*,?\s*(?:[-\u2013\u2014~&]+|or(?:\s+(?:{_HEDGE}|even))?|(?:or\s+)?{_HEDGE}|to|and|till?)\s*", re.IGNORECASE
)
_CLAUSE_END_BEFORE = re.compile(r"(?:^|[,.;:!?\n\-\u2013\u2014])\s*$")
# Nothing but an interjection before the number: "ok 9 - great", "Hi, 8".
_ONLY_INTERJECTION = re.compile(r"\W*(?:(?:ok|okay|hmm+|um+|erm+|uh+|well|hi|hello|hey|sure|so)\b\W*)+", re.IGNORECASE)


@dataclass(frozen=True)
class _Mention:
    """One number in a message, with what surrounds it."""

    value: int | None  # None for a number that is not whole ("8.5", "10:30")
    out_of: int | None  # the top of the scale the customer named: "9/10" -> 10
    start: int
    end: int  # after any "/10", "out of 10" or "stars"
    spelled: bool
    quantity: bool  # "3 days", "2 items": a count, never the score


def _number_value(token: str) -> int | None:
    token = token.casefold()
    if token in NUMBER_WORDS:
        return NUMBER_WORDS[token]
    return int(token) if token.isdigit() else None


def _followed_by_quantity_word(text: str, end: int) -> bool:
    following = re.match(r"\s*([^\W\d_]+)", text[end:])
    return following is not None and following.group(1).casefold() in _QUANTITY_WORDS


def _mentions(text: str) -> list[_Mention]:
    """Every number in the message, in order."""
    found = []
    for match in _MENTION.finditer(text):
        den = match.group("den")
        found.append(
            _Mention(
                value=_number_value(match.group("num")),
                out_of=_number_value(den) if den else None,
                start=match.start(),
                end=match.end(),
                spelled=not match.group("num")[0].isdigit(),
                quantity=not (den or match.group("unit")) and _followed_by_quantity_word(text, match.end()),
            )
        )
    return found


def _score_in(mention: _Mention, scale: Scale) -> int | None:
    """The score a mention gives on this scale, or None when it is unclear or does not fit.

    "4/5" on a 0-10 question is a score on another scale, so it is not taken either.
    """
    if mention.value is None or not scale.contains(mention.value):
        return None
    if mention.out_of is not None and mention.out_of != scale.high:
        return None
    return mention.value


def _is_range(text: str, first: _Mention, second: _Mention) -> bool:
    """True for two different numbers offered as alternatives: "7 or 8", "8-9", "6 and 7"."""
    return first.value != second.value and bool(_RANGE_JOIN.fullmatch(text[first.end : second.start]))


def _has_range(text: str, mentions: list[_Mention]) -> bool:
    scores = [m for m in mentions if not m.quantity]
    return any(_is_range(text, a, b) for a, b in zip(scores, scores[1:], strict=False))


# --- comments ---------------------------------------------------------------------------------------

_LEADING_SEPARATORS = re.compile(r"^[\s\-\u2013\u2014:;,.!?)\]/*~]+")


def _comment_after(rest: str) -> str | None:
    """The comment that follows a leading answer, or None.

    Leading separators ("8 - great", "9: fine", "7. Slow") are dropped. What is left is a comment only
    if it has words: "10 😍" or "9!!" is an enthusiastic score, not a comment.
    """
    comment = _LEADING_SEPARATORS.sub("", rest).rstrip()
    return comment if _has_letters(comment) else None


# --- awaiting a score: numeric scales ---------------------------------------------------------------

_OPENING = re.compile(r"[\s\"'“(\[*]*")
_SIGNED_NUMBER = re.compile(r"[\s\"'“(\[*]*[-\u2212+]\d")


def _opening_length(text: str) -> int:
    """Length of the blank space and opening quotes before the first real character."""
    opening = _OPENING.match(text)
    return opening.end() if opening else 0


def _ends_a_word(text: str, end: int) -> bool:
    """True when the text after `end` is blank or starts with a break (punctuation, dash, emoji, line)."""
    return re.match(r"\s*(?:$|\n|[^\w\s])", text[end:]) is not None


def _leading_mention(text: str, mentions: list[_Mention]) -> _Mention | None:
    """The number the message starts with, if it starts with a score.

    A spelled-out number must be followed by a break ("Nine!", "Six, colour was off"), so that "one of
    the best" is not a 1; digits may run straight into the comment ("8 great service").
    """
    if not mentions or mentions[0].start != _opening_length(text):
        return None
    first = mentions[0]
    if first.quantity or (first.spelled and first.out_of is None and not _ends_a_word(text, first.end)):
        return None
    return first


def _answer_from_leading(text: str, leading: _Mention, mentions: list[_Mention], scale: Scale) -> Reply:
    """A message that starts with its score: the score, then anything after it is the comment."""
    later = [m for m in mentions if m.start >= leading.end and not m.quantity]
    if later and _is_range(text, leading, later[0]):
        return Reply(Intent.REPROMPT)
    score = _score_in(leading, scale)
    if score is None:
        return Reply(Intent.REPROMPT)
    return Reply(Intent.ANSWER, score=score, comment=_comment_after(text[leading.end :]))


def _clearly_given(text: str, mention: _Mention) -> bool:
    """Whether a number inside a message is offered as the score.

    It is when it names its scale ("rated 9/10"), follows a cue ("I'd give it a 7", "a solid 8") or a
    mere interjection ("ok 9 - great"), or ends the message ("The end result was great, 9"). A number
    word at the end must also start its clause, so "the only one" is not a 1. Other numbers ("room 5
    was dirty") are just part of the sentence.
    """
    if mention.quantity:
        return False
    before = text[: mention.start]
    if mention.out_of is not None or _SCORE_CUE.search(before) or _ONLY_INTERJECTION.fullmatch(before):
        return True
    ends_message = not _has_letters(text[mention.end :]) and not re.search(r"\d", text[mention.end :])
    if mention.spelled:
        return ends_message and bool(_CLAUSE_END_BEFORE.search(before))
    return ends_message


def _answer_from_anywhere(text: str, mentions: list[_Mention], scale: Scale) -> Reply:
    """A message whose score is not at the start ("I'd say 8"): one clear score, no comment."""
    given = [m for m in mentions if _clearly_given(text, m)]
    if not given or _has_range(text, mentions):
        return Reply(Intent.REPROMPT)
    if any(_NEGATION_BEFORE.search(text[: m.start]) for m in given):
        return Reply(Intent.REPROMPT)
    if len({(m.value, m.out_of) for m in given}) > 1:
        return Reply(Intent.REPROMPT)
    score = _score_in(given[0], scale)
    return Reply(Intent.ANSWER, score=score) if score is not None else Reply(Intent.REPROMPT)


def _parse_score(text: str, scale: Scale) -> Reply:
    """Awaiting a score on a numeric scale (NPS, CSAT, CES)."""
    if _SIGNED_NUMBER.match(text):
        return Reply(Intent.REPROMPT)  # "-1" or "+1": never a score on our scales
    mentions = _mentions(text)
    leading = _leading_mention(text, mentions)
    if leading is not None:
        return _answer_from_leading(text, leading, mentions, scale)
    return _answer_from_anywhere(text, mentions, scale)


# --- awaiting a score: thumbs -----------------------------------------------------------------------

THUMBS_UP, THUMBS_DOWN = 1, 0
_SKIN_TONE = "[\U0001f3fb-\U0001f3ff]?\ufe0f?"
_THUMB_SIGN = re.compile(
    rf"(?P<up>(?:\U0001f44d{_SKIN_TONE}\s*)+)|(?P<down>(?:\U0001f44e{_SKIN_TONE}\s*)+)"
    r"|\bthumbs?[\s-]*(?:(?P<up_word>up)|(?P<down_word>down))\b",
    re.IGNORECASE,
)
# Yes/no words, including the replies the built-in French, Spanish and German re-prompts ask for.
# "no" and the short words must stand alone ("no - still waiting"), because "no problems at all" and
# "up to you" are not answers; "yes" and its kin may run straight into a comment.
_YES_WORDS = r"yes|yeah|yep|yup|sí|si|oui|ja"
_NO_WORDS = r"nope|nah|nein"
_ALONE_UP_WORDS = r"y|up"
_ALONE_DOWN_WORDS = r"no|n|down|non"
_LEADING_YES_NO = re.compile(
    rf"""[\s"'“(\[*]*(?:
        (?P<up>{_YES_WORDS})\b
      | (?P<down>{_NO_WORDS})\b
      | (?P<up_alone>{_ALONE_UP_WORDS})\b(?=\s*(?:$|\n|[^\w\s]))
      | (?P<down_alone>{_ALONE_DOWN_WORDS})\b(?=\s*(?:$|\n|[^\w\s]))
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def _thumb_value(match: re.Match[str]) -> int:
    groups = match.groupdict()
    return THUMBS_UP if any(groups.get(g) for g in ("up", "up_word", "up_alone")) else THUMBS_DOWN


def _leading_thumb(text: str) -> re.Match[str] | None:
    """A thumbs answer at the very start: an emoji, "thumbs up/down", or a yes/no word."""
    sign = _THUMB_SIGN.match(text, _opening_length(text))
    return sign or _LEADING_YES_NO.match(text)


def _parse_thumbs(text: str) -> Reply:
    """Awaiting a thumbs answer: yes/no words, up/down, "thumbs up/down" or the 👍/👎 emoji.

    Further in than the start, only the unmistakable signs count ("great 👍", "I'd say thumbs up"), and
    a message that points both ways ("👍👎", "yes but thumbs down") is re-prompted.
    """
    leading = _leading_thumb(text)
    values = {_thumb_value(m) for m in _THUMB_SIGN.finditer(text)}
    if leading is not None:
        values.add(_thumb_value(leading))
    if len(values) != 1:
        return Reply(Intent.REPROMPT)
    if leading is None:
        return Reply(Intent.ANSWER, score=values.pop())
    comment = _comment_after(text[leading.end() :])
    return Reply(Intent.ANSWER, score=_thumb_value(leading), comment=comment)


# --- awaiting a comment -----------------------------------------------------------------------------


def _bare_score(text: str, kind: QuestionKind) -> int | None:
    """The score a message consists of and nothing else ("7", "nine!", "9/10", "👎"), if in range.

    For thumbs only the thumb signs count: the 0/1 behind them is our storage, not what customers type,
    and "yes"/"no" after "anything to add?" answer that question, not the survey.
    """
    if kind is QuestionKind.THUMBS:
        signs = list(_THUMB_SIGN.finditer(text))
        leftover = _THUMB_SIGN.sub("", text)
        values = {_thumb_value(m) for m in signs}
        if len(values) != 1 or _has_letters(leftover) or re.search(r"\d", leftover):
            return None
        return values.pop()
    mentions = _mentions(text)
    if len(mentions) != 1 or mentions[0].start != _opening_length(text):
        return None
    rest = text[mentions[0].end :]
    if _has_letters(rest) or re.search(r"\d", rest):
        return None
    return _score_in(mentions[0], scale_for(kind))


def _parse_comment(text: str, kind: QuestionKind) -> Reply:
    """Awaiting a comment: any text is the comment; a bare in-range number corrects the score instead."""
    score = _bare_score(text, kind)
    if score is not None:
        return Reply(Intent.SCORE_CORRECTION, score=score)
    return Reply(Intent.COMMENT, comment=text.strip() or None)
