"""Comment sentiment, offline: TextBlob's pattern lexicon, extended with how customers talk about service.

Plain TextBlob misses most complaints ("still waiting", "flight cancelled", "no one called back") because
its lexicon is about adjectives in reviews. We keep its lexicon, negation and intensifier handling, fill its
gaps with VADER's word list (both ship their data, so nothing is downloaded), add the words and phrases of
customer service, read emoji, and treat "didn't"/"can't" as negations (TextBlob's own tokenizer splits them
so that the negation is lost). Tuned and measured by bench/sentiment_accuracy.py; see docs/performance.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from textblob.en import Sentiment as _Lexicon

POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
# A comment in a language the tagger does not read: marked, not guessed.
UNKNOWN = "unknown"

POSITIVE_ABOVE = 0.2
NEGATIVE_BELOW = 0.0
# Complaints wrapped in politeness ("thanks for keeping me on hold") are still complaints.
NEGATIVE_WEIGHT = 1.5
# "It didn't arrive", "they don't answer": a negated verb is weak evidence of a complaint on its own.
NEGATION_SCORE = -0.2
VADER_SCALE = 0.3

# Words the review-trained lexicon lacks or weighs wrongly for service comments.
SERVICE_WORDS: dict[str, float] = {
    # things going wrong
    "delay": -0.5, "delayed": -0.6, "delays": -0.5, "cancelled": -0.6, "canceled": -0.6, "cancellation": -0.4,
    "cancelled flightled": -0.8, "late": -0.4, "later": 0.0, "lost": -0.5, "stuck": -0.6, "stranded": -0.7,
    "missed": -0.4, "broken": -0.6, "broke": -0.5, "damaged": -0.6, "wrong": -0.5, "waiting": -0.4,
    "waited": -0.4, "wait": -0.3, "hold": -0.3, "refund": -0.2, "complaint": -0.5, "complain": -0.5,
    "issue": -0.3, "issues": -0.3, "problem": -0.4, "problems": -0.4, "fault": -0.4, "faulty": -0.6,
    "error": -0.4, "fail": -0.6, "failed": -0.6, "fails": -0.6, "failure": -0.6, "fix": -0.2, "unable": -0.4,
    "nobody": -0.4, "ignored": -0.6, "ignoring": -0.6, "rude": -0.8, "unhelpful": -0.7, "useless": -0.8,
    "unacceptable": -0.9, "ridiculous": -0.7, "joke": -0.5, "disappointed": -0.7, "disappointing": -0.7,
    "frustrated": -0.7, "frustrating": -0.7, "annoyed": -0.6, "annoying": -0.6, "angry": -0.7, "upset": -0.6,
    "furious": -0.9, "worst": -1.0, "awful": -1.0, "horrible": -1.0, "terrible": -1.0, "sucks": -0.8,
    "suck": -0.7, "sux": -0.7, "crap": -0.8, "shit": -0.8, "shitty": -0.9, "fuck": -0.7, "fucking": -0.5,
    "wtf": -0.7, "smh": -0.6, "ugh": -0.6, "meh": -0.3, "mess": -0.6, "chaos": -0.6, "nightmare": -0.9,
    "overbooked": -0.6, "oversold": -0.6, "diverted": -0.4, "misconnect": -0.5, "rebooked": -0.2,
    "charged": -0.3, "overcharged": -0.8, "fee": -0.2, "fees": -0.3, "expensive": -0.4, "pricey": -0.3,
    "slow": -0.5, "dirty": -0.6, "cold": -0.2, "hung": -0.4, "disconnected": -0.5, "unreliable": -0.7,
    "incompetent": -0.9, "incompetence": -0.9, "lied": -0.8, "lie": -0.6, "lies": -0.6, "scam": -0.9,
    "hours": -0.2, "hrs": -0.2, "again": -0.1, "yet": -0.1, "still": -0.1, "never": -0.2, "poor": -0.6,
    "lack": -0.4, "lacking": -0.4, "sorry": -0.2, "why": -0.2, "unfortunately": -0.5, "cant": -0.3,
    "junk": -0.8, "garbage": -0.9, "trash": -0.8, "worthless": -0.9, "pathetic": -0.9, "lame": -0.6,
    "disaster": -0.9, "debacle": -0.8, "died": -0.6, "dies": -0.5, "dead": -0.5, "overpriced": -0.7,
    "overrated": -0.6, "unconvincing": -0.6, "implausible": -0.5, "nonsense": -0.7, "foolish": -0.6,
    "stupid": -0.7, "sucked": -0.8, "screwed": -0.8, "robbed": -0.8, "disgraceful": -0.9, "disgusting": -0.9,
    "sad": -0.5, "mediocre": -0.5, "bland": -0.5, "boring": -0.6, "bored": -0.5, "flaw": -0.5, "flawed": -0.5,
    "poorly": -0.6, "misleading": -0.7, "unprofessional": -0.8, "apologize": -0.2, "apology": -0.2,
    "blah": -0.5, "lacked": -0.5, "bother": -0.3, "regret": -0.6, "returning": -0.3, "unusable": -0.8,
    "hate": -0.8, "hated": -0.8, "waste": -0.7, "wasted": -0.7, "avoid": -0.6, "return": -0.2,
    "returned": -0.3, "dropped": -0.4, "drops": -0.4, "outage": -0.6, "down": -0.2, "confusing": -0.5,
    "complicated": -0.4, "difficult": -0.4, "hassle": -0.6, "impossible": -0.6, "nothing": -0.2,
    # things going right
    "thanks": 0.5, "thank": 0.5, "thx": 0.5, "ty": 0.4, "appreciate": 0.6, "appreciated": 0.6,
    "love": 0.7, "loved": 0.7, "loving": 0.6, "lovely": 0.7, "helpful": 0.6, "friendly": 0.6,
    "quick": 0.4, "quickly": 0.4, "fast": 0.4, "easy": 0.5, "smooth": 0.5, "efficient": 0.5, "kind": 0.5,
    "polite": 0.5, "professional": 0.5, "recommend": 0.5, "recommended": 0.5, "awesome": 0.8, "amazing": 0.8,
    "fantastic": 0.8, "brilliant": 0.8, "excellent": 0.9, "outstanding": 0.9, "superb": 0.9, "perfect": 0.9,
    "great": 0.7, "good": 0.5, "best": 0.8, "nice": 0.5, "happy": 0.6, "pleased": 0.6, "glad": 0.5,
    "impressed": 0.6, "reliable": 0.5, "resolved": 0.4, "solved": 0.4, "sorted": 0.3, "cheers": 0.4,
    "kudos": 0.7, "yay": 0.6, "wow": 0.3, "cool": 0.4, "fun": 0.5, "comfortable": 0.5, "ontime": 0.4,
    "enjoy": 0.6, "enjoyed": 0.6, "wonderful": 0.8, "beautiful": 0.7, "delicious": 0.8, "tasty": 0.7,
    "fascinating": 0.6, "amazed": 0.6, "pleasant": 0.6, "attentive": 0.6, "courteous": 0.6, "prompt": 0.5,
    "sturdy": 0.5, "nicest": 0.8, "works": 0.2, "ok": 0.05, "okay": 0.05, "fine": 0.1, "alright": 0.1,
    "worked": 0.2, "thankful": 0.6, "grateful": 0.6, "favorite": 0.6, "favourite": 0.6,
}

# Multi-word phrases; checked on the lower-cased text before the words.
SERVICE_PHRASES: dict[str, float] = {
    r"\bstill (?:waiting|no|not|haven'?t|hasn'?t|nothing)\b": -0.8,
    r"\bno(?: ?one|body) (?:called|answered|responded|replied|got back|came|showed|helped)\b": -0.9,
    r"\b(?:never|didn'?t|did not) (?:called?|got back|arrived?|received?|turned up|came|showed up|heard)\b": -0.8,
    r"\bon hold\b": -0.6,
    r"\bhung up\b": -0.7,
    r"\bno (?:response|reply|answer|help|one|call|refund|email|update|signal|internet|service)\b": -0.7,
    r"\bnot (?:working|happy|helpful|good enough|impressed|received|fixed|resolved)\b": -0.7,
    r"\b(?:doesn'?t|don'?t|won'?t|isn'?t|can'?t|couldn'?t|wouldn'?t) (?:work|load|connect|help|answer|get)\b": -0.6,
    r"\bwaste of (?:time|money)\b": -0.9,
    r"\b(?:cancel+ed|delayed) (?:flight|flighted|again)\b": -0.6,
    r"\b(?:lost|missing) (?:my )?(?:bag|bags|luggage|baggage|order|parcel|package)\b": -0.8,
    r"\bmissed (?:my )?(?:connection|flight)\b": -0.7,
    r"\bcustomer (?:service|care|support) (?:is|was|has been|sucks)\b": -0.4,
    r"\b(?:thank you|thanks a lot|many thanks|thanks so much|much appreciated)\b": 0.7,
    r"\b(?:well done|good job|great job|keep it up|above and beyond|spot on|no problem|no issues?)\b": 0.8,
    r"\b(?:on time|no complaints|no hassle|easy to use|went smoothly)\b": 0.6,
}

EMOJI: dict[str, float] = {
    **dict.fromkeys("😡😠🤬😤👎💩😞😢😭🙄😒😩😫😖😣😔☹🙁😑😐🤦😱😾💔", -0.7),
    **dict.fromkeys("😍🥰😊🙂😀😃😄😁😆👍👏🙏🎉💯✨😎🤩❤💙💜💚💛🧡🖤♥😻🙌🥳😘👌", 0.7),
}
EMOTICONS: dict[str, float] = {
    ":)": 0.6, ":-)": 0.6, ":d": 0.7, ":-d": 0.7, ";)": 0.5, "<3": 0.7, ":p": 0.3,
    ":(": -0.7, ":-(": -0.7, ":/": -0.4, ":-/": -0.4, ":'(": -0.7, ">:(": -0.8, "d:": -0.6,
}

_TOKEN = re.compile(
    r">:\(|:'\(|[:;]-?[()dp/]|<3|d:"  # emoticons
    r"|[a-z]+(?:'[a-z]+)?"  # words and contractions
    r"|[!?]"
    r"|[\U0001F300-\U0001FAFF\u2600-\u27BF]"  # emoji
)
_NEGATED = re.compile(r"(?:n't|nt)$")
_NEGATION_WORDS = {"didnt", "dont", "doesnt", "wont", "cant", "couldnt", "wouldnt", "isnt", "wasnt", "arent",
                   "werent", "havent", "hasnt", "hadnt", "shouldnt", "aint"}
_PHRASES = [(re.compile(pattern), score) for pattern, score in SERVICE_PHRASES.items()]
# Most comments hold none of the phrases: one search over all of them decides whether to try each.
_ANY_PHRASE = re.compile("|".join(f"(?:{pattern})" for pattern in SERVICE_PHRASES))
_NEGATIONS = frozenset(("no", "not", "n't", "never", "nothing", "nobody", "without"))
# TextBlob's tokens it reads as punctuation, and its emoticons (first listed wins, as in its own loop).
_PUNCTUATION = ".,;:!?()[]{}`''\"@#$^&*+-|=~_"
# Links, email addresses and @mentions carry no opinion, and "http://" would read as the frowning ":/".
_NO_SENTIMENT = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|<?@\w+>?", re.IGNORECASE)


@dataclass(frozen=True)
class Sentiment:
    label: str
    polarity: float


def _lexicon() -> _Lexicon:
    """TextBlob's English lexicon plus ours; read into `_known` once per process, then let go."""
    default = __import__("textblob.en", fromlist=["sentiment"]).sentiment
    lexicon = _Lexicon(path=default.path, language="en", synset="wordnet_id", negations=tuple(_NEGATIONS),
                       modifiers=("RB",), modifier=lambda w: w.endswith("ly"))
    lexicon.load()
    for word, valence in _vader_words().items():
        if word not in lexicon:
            lexicon.annotate(word, None, valence * VADER_SCALE, 0.5, 1.0)
    for word, polarity in {**SERVICE_WORDS, **EMOJI, **EMOTICONS}.items():
        current = dict.get(lexicon, word, {}).get(None)
        intensity = current[2] if current else 1.0
        lexicon.annotate(word, None, polarity, 0.8, intensity)
    return lexicon


@lru_cache(maxsize=1)
def _known() -> dict[str, tuple[float, float, bool]]:
    """The lexicon as a plain dict, word -> (polarity, intensity, is a modifier): TextBlob's own look-ups go
    through a lazy dict and cost more than the rest of the tagging together."""
    return {word: (entry[None][0], entry[None][2], "RB" in entry) for word, entry in _lexicon().items()
            if None in entry}


def english_words() -> frozenset[str] | dict[str, tuple[float, float, bool]]:
    """The English words the lexicon knows (TextBlob's, VADER's and ours): a cheap test of a text's language."""
    return _known()


@lru_cache(maxsize=1)
def _emoticons() -> dict[str, float]:
    found: dict[str, float] = {}
    for (_kind, value), faces in _text_emoticons().items():
        for face in faces:
            found.setdefault(face.lower(), value)
    return found


def _text_emoticons() -> dict[tuple[str, float], set[str]]:
    return __import__("textblob._text", fromlist=["EMOTICONS"]).EMOTICONS


def _assessments(words: list[str]) -> list[float]:
    """The polarity of each opinion found, as TextBlob's `Sentiment.assessments` finds them for untagged words
    ("very good" intensified, "not good" reversed and halved, "good!" boosted), on plain dicts."""
    known, emoticons = _known(), _emoticons()
    found: list[list[float]] = []  # [polarity, intensity, sign]
    modifier: str | None = None
    negation: str | None = None
    for word in words:
        entry = known.get(word)
        if entry is not None:
            value, intensity, modifies = entry
            if modifier is None:
                found.append([value, intensity, 1.0])
            else:
                last = found[-1]
                last[0] = max(-1.0, min(value * last[1], 1.0))
                last[1] = intensity
            if negation is not None:
                last = found[-1]
                last[1] = 1.0 / last[1]
                last[2] = -1.0
            modifier = word if modifies else None
            negation = word if word in _NEGATIONS else None
            continue
        if word in _NEGATIONS:
            negation = word
        elif negation and len(word.strip("'")) > 1:
            negation = None
        if negation is not None and modifier is not None and modifier.endswith("ly"):
            found[-1][2] = -1.0
            negation = None
        elif modifier and len(word) > 2:
            modifier = None
        if word == "!" and found:
            found[-1][0] = max(-1.0, min(found[-1][0] * 1.25, 1.0))
        if not word.isalpha() and len(word) <= 5 and word not in _PUNCTUATION and word in emoticons:
            found.append([emoticons[word], 1.0, 1.0])
    return [value * -0.5 if sign < 0 else value for value, _intensity, sign in found]


def _vader_words() -> dict[str, float]:
    """VADER's crowd-rated word list (valence -4..4 scaled to -1..1), for the words TextBlob's lexicon lacks."""
    text = files("vaderSentiment").joinpath("vader_lexicon.txt").read_text("utf-8")
    rows = (line.split("\t")[:2] for line in text.splitlines() if line)
    return {word: float(valence) / 4 for word, valence in rows if word.isalpha()}


def _words(text: str) -> list[str]:
    words: list[str] = []
    for token in _TOKEN.findall(text):
        if "'" in token and _NEGATED.search(token):
            words.append(token.split("'")[0][:-1] or token)
            words.append("n't")
        elif token in _NEGATION_WORDS:
            words.append(token[:-2])
            words.append("n't")
        else:
            words.append(token)
    return words


def clean(text: str) -> str:
    """Lower-cased, without links, email addresses and @mentions: the text every tagger reads."""
    lowered = text[:5000].lower()
    if "@" in lowered or "http" in lowered or "www." in lowered:
        lowered = _NO_SENTIMENT.sub(" ", lowered)
    return lowered


def polarity(text: str) -> float:
    """Average polarity of the opinion words and phrases in the text, -1..1; 0 when it has none."""
    lowered = clean(text)
    return polarity_of(lowered, _words(lowered))


def polarity_of(lowered: str, words: list[str]) -> float:
    """`polarity` on a comment already lower-cased (links, addresses and mentions out) and split into words."""
    scores = [score for pattern, score in _PHRASES if pattern.search(lowered)] if _ANY_PHRASE.search(
        lowered) else []
    scores.extend(_assessments(words))
    scores.extend(NEGATION_SCORE for word in words if word == "n't")
    if not scores:
        return 0.0
    weighted = [(NEGATIVE_WEIGHT if score < 0 else 1.0, score) for score in scores]
    average = sum(weight * score for weight, score in weighted) / sum(weight for weight, _ in weighted)
    return max(-1.0, min(1.0, average))


def label_for(value: float) -> str:
    if value > POSITIVE_ABOVE:
        return POSITIVE
    if value < NEGATIVE_BELOW:
        return NEGATIVE
    return NEUTRAL


def tag_sentiment(text: str | None) -> Sentiment:
    """Never raises: any text, any size, any encoding gets a label."""
    if not text or not text.strip():
        return Sentiment(NEUTRAL, 0.0)
    return sentiment_of(clean(text))


def sentiment_of(lowered: str) -> Sentiment:
    """`tag_sentiment` of a text already through `clean`."""
    value = round(polarity_of(lowered, _words(lowered)), 3)
    return Sentiment(label_for(value), value)


def mismatch(band: str | None, sentiment: Sentiment) -> bool:
    """A comment that contradicts its score: an angry promoter, or a delighted detractor."""
    return (band == "promoter" and sentiment.label == NEGATIVE) or (
        band == "detractor" and sentiment.label == POSITIVE)
