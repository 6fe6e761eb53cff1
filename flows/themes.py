"""Themes of a comment from a keyword taxonomy: what the customer is talking about, for routing and reports.

A keyword matches whole words, case-insensitively; a trailing `*` matches any ending ("deliver*" finds
"delivery" and "delivered"); a keyword of several words matches them with any spacing between.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

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


def _pattern(keyword: str) -> str:
    words = [re.escape(word) for word in keyword.lower().split()]
    tail = r"\w*" if words and words[-1].endswith(r"\*") else r"\b"
    if tail != r"\b":
        words[-1] = words[-1][:-2]
    return r"\b" + r"\s+".join(words) + tail


class ThemeTagger:
    """A compiled taxonomy: one regular expression per theme, built once."""

    def __init__(self, taxonomy: Mapping[str, Sequence[str]] = DEFAULT_THEMES) -> None:
        self.patterns = [
            (theme, re.compile("|".join(_pattern(k) for k in keywords if k.strip()), re.IGNORECASE))
            for theme, keywords in taxonomy.items()
            if any(k.strip() for k in keywords)
        ]

    def __call__(self, text: str | None) -> list[str]:
        """Themes in taxonomy order; none for an empty comment."""
        if not text:
            return []
        return [theme for theme, pattern in self.patterns if pattern.search(text)]


_DEFAULT = ThemeTagger()


def tag_themes(text: str | None, taxonomy: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    return (_DEFAULT if taxonomy is None else ThemeTagger(taxonomy))(text)
