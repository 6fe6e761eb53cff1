"""Themes of a comment from a keyword taxonomy: what the customer is talking about, for routing and reports.

A keyword matches whole words, case-insensitively; a trailing `*` matches any ending ("deliver*" finds
"delivery" and "delivered"); a keyword of several words matches them in order, whatever the spacing or
punctuation between them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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

    def found_in(self, words: set[str], text: str) -> bool:
        return (
            not self.words.isdisjoint(words)
            or (bool(self.prefixes) and any(word.startswith(self.prefixes) for word in words))
            or any(phrase in text for phrase in self.phrases)
        )


class ThemeTagger:
    """A compiled taxonomy: keyword sets per theme, so a comment is split into words once."""

    def __init__(self, taxonomy: Mapping[str, Sequence[str]] = DEFAULT_THEMES) -> None:
        self.themes = [(theme, _Keywords.of(keywords)) for theme, keywords in taxonomy.items()]

    def __call__(self, text: str | None) -> list[str]:
        """Themes in taxonomy order; none for an empty comment."""
        if not text:
            return []
        words = _WORD.findall(text.lower())
        joined, unique = " " + " ".join(words) + " ", set(words)
        return [theme for theme, keywords in self.themes if keywords.found_in(unique, joined)]


_DEFAULT = ThemeTagger()


def tag_themes(text: str | None, taxonomy: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    return (_DEFAULT if taxonomy is None else ThemeTagger(taxonomy))(text)
