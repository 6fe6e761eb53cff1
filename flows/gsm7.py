"""SMS text economics: keep messages in the GSM-7 alphabet when we can, and count what they cost.

One curly apostrophe from a template editor turns a whole message into UCS-2, which halves the characters
per segment (70 instead of 160) and so doubles the bill. Typographic punctuation is replaced with its
plain equivalent; a text that needs other characters (emoji, most non-Latin scripts) is left as written,
since it is UCS-2 either way.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def encoding(text: str) -> str:
    """GSM-7 when every character is in the GSM 03.38 basic or extension table, else UCS-2."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


@dataclass(frozen=True)
class SmsCount:
    """What a text costs: its encoding, its length in septets (GSM-7) or UTF-16 units (UCS-2), and segments."""

    encoding: str
    units: int
    segments: int
    per_segment: int  # what one segment holds at this length: 160/70 alone, 153/67 when split


def _units(text: str, gsm: bool) -> list[int]:
    if gsm:
        return [2 if ch in _EXTENDED else 1 for ch in text]
    return [len(ch.encode("utf-16-le")) // 2 for ch in text]


def count(text: str) -> SmsCount:
    """Encoding and segments as a phone splits the text: an escaped GSM-7 character or a UTF-16 surrogate pair
    is never cut between two segments, so a split message can need one more than its length divided."""
    gsm = is_gsm7(text)
    sizes = _units(text, gsm)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    total = sum(sizes)
    if total <= single:
        return SmsCount("GSM-7" if gsm else "UCS-2", total, 1, single)
    used, parts = 0, 1
    for size in sizes:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return SmsCount("GSM-7" if gsm else "UCS-2", total, parts, part)


def segments(text: str) -> int:
    """How many SMS segments the text is billed as."""
    return count(text).segments
