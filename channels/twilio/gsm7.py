"""SMS text economics: keep messages in the GSM-7 alphabet when we can, and count what they cost.

One curly apostrophe from a template editor turns a whole message into UCS-2, which halves the characters
per segment (70 instead of 160) and so doubles the bill. Typographic punctuation is replaced with its
plain equivalent; a text that needs other characters (emoji, most non-Latin scripts) is left as written,
since it is UCS-2 either way.
"""

from __future__ import annotations

import math

_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENDED = set("^{}\\[~]|€\f")
_PLAIN = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u00b4": "'", "`": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u2022": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ", "\u200b": "", "\u2060": "", "\ufeff": "",
    "\t": " ",
})
_ELLIPSIS = "\u2026"

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENDED for ch in text)


def to_gsm7(text: str) -> str:
    """The text with typographic punctuation made plain, if that makes it GSM-7; else the text unchanged."""
    plain = text.translate(_PLAIN).replace(_ELLIPSIS, "...")
    return plain if is_gsm7(plain) else text


def segments(text: str) -> int:
    """How many SMS segments the text is billed as."""
    if is_gsm7(text):
        septets = len(text) + sum(ch in _EXTENDED for ch in text)
        return 1 if septets <= GSM7_SINGLE else math.ceil(septets / GSM7_PART)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= UCS2_SINGLE else math.ceil(units / UCS2_PART)
