"""Themes of a comment from a keyword taxonomy: what the customer is talking about, for routing and reports.

A keyword matches whole words, case-insensitively; a trailing `*` matches any ending ("deliver*" finds
"delivery" and "delivered"); a keyword of several words matches them in order, whatever the spacing or
punctuation between them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_

DEFAULT_THEMES: dict[str, list[str]] = {
    "delivery": ["deliver*", "shipping", "shipped", "courier", "parcel*", "package*", "arriv*", "dispatch*",
                 "tracking", "postage", "late", "lost", "missing", "damaged"],
    "price": ["price*", "pricing", "cost*", "expensive", "cheap*", "overpriced", "afford*", "fee", "fees", "bill*",
              "charg*", "refund*", "money", "value", "discount*", "subscription", "invoice*", "pay", "paid",
              "payment*"],
    "staff": ["staff", "agent*", "employee*", "rep", "reps", "representative*", "engineer*", "technician*",
              "advisor*", "adviser*", "team", "crew", "driver*", "rude", "friendly", "helpful", "polite",
              "manager*", "person", "someone", "nobody", "no one"],
    "support": ["support", "customer service", "call back", "called back", "callback", "on hold", "hold",
                "waiting", "wait*", "respon*", "repl*", "answer*", "contact*", "phone*", "call", "calls", "called",
                "email*", "chat", "complain*", "ticket*"],
    "product": ["product*", "quality", "broken", "broke", "faulty", "defect*", "feature*", "item*", "size",
                "fit", "works", "working", "stopped working", "device*", "router", "box", "equipment", "speed*",
                "slow", "connection", "signal", "internet", "broadband", "wifi"],
    "app/website": ["app", "apps", "website*", "site", "web", "online", "login", "log in", "password*", "checkout",
                    "page*", "portal", "account", "bug*", "crash*", "error*", "glitch*", "download*", "update*"],
    "onboarding": ["setup", "set up", "install*", "onboarding", "getting started", "activat*", "first time",
                   "sign up", "signup", "registration", "connect*"],
}


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class _Keywords:
    words: frozenset[str]
    prefixes: tuple[str, ...]
    phrases: tuple[str, ...]

    @classmethod
    def of(cls, keywords: Sequence[str]) -> _Keywords:
        split = [(_WORD.findall(k.lower()), k.strip().endswith("*")) for k in keywords]
        return cls(
            words=frozenset(w[0] for w, star in split if len(w) == 1 and not star),
            prefixes=tuple(w[0] for w, star in split if len(w) == 1 and star),
            phrases=tuple(" " + " ".join(w) + ("" if star else " ") for w, star in split if len(w) > 1),
        )

    def has_word(self, word: str) -> bool:
        return word in self.words or (bool(self.prefixes) and word.startswith(self.prefixes))


# Words seen are remembered with the themes they name; a bound keeps a stream of odd words from growing it.
CACHE_WORDS = 50_000


class _ThemesOfWord(dict[str, int]):
    """word -> bit mask of the themes whose words or prefixes it matches, worked out on first sight."""

    def __init__(self, themes: list[tuple[str, _Keywords]]) -> None:
        super().__init__()
        self.themes = themes

    def __missing__(self, word: str) -> int:
        mask = 0
        for index, (_, keywords) in enumerate(self.themes):
            if keywords.has_word(word):
                mask |= 1 << index
        if len(self) < CACHE_WORDS:
            self[word] = mask
        return mask


class ThemeTagger:
    """A compiled taxonomy: keyword sets per theme, so a comment is split into words once, and each distinct word
    is looked up in the taxonomy once per process."""

    def __init__(self, taxonomy: Mapping[str, Sequence[str]] = DEFAULT_THEMES) -> None:
        self.themes = [(theme, _Keywords.of(keywords)) for theme, keywords in taxonomy.items()]
        self._phrased = [(1 << index, keywords.phrases) for index, (_, keywords) in enumerate(self.themes)
                         if keywords.phrases]
        self._bits = [(1 << index, theme) for index, (theme, _) in enumerate(self.themes)]
        self._of_word = _ThemesOfWord(self.themes)

    def __call__(self, text: str | None) -> list[str]:
        """Themes in taxonomy order; none for an empty comment."""
        if not text:
            return []
        return self.of_words(_WORD.findall(text.lower()))

    def of_words(self, words: list[str]) -> list[str]:
        """Themes of a comment already lower-cased and split into words (`\\w+`)."""
        mask = reduce(or_, map(self._of_word.__getitem__, set(words)), 0)
        if self._phrased:
            joined = " " + " ".join(words) + " "
            for bit, phrases in self._phrased:
                if not mask & bit and any(phrase in joined for phrase in phrases):
                    mask |= bit
        return [theme for bit, theme in self._bits if mask & bit] if mask else []


_DEFAULT = ThemeTagger()


def tag_themes(text: str | None, taxonomy: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    return (_DEFAULT if taxonomy is None else ThemeTagger(taxonomy))(text)
