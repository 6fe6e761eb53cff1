"""A reply cut down to the customer's new words: quoted history, attributions ("On ... wrote:"), forwarded
headers, mobile taglines and a trailing "-- " signature are removed, and an HTML body is first read as text with
its quotes marked, so the reply rules see the same thing whichever provider or mail client it came through.

It is pure: no Flask, no database, no network.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import NamedTuple

# --- HTML to text -----------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "li", "ol", "p", "pre", "section", "table", "tr", "ul",
})
_HIDDEN_TAGS = frozenset({"head", "script", "style", "title"})
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")
OUTLOOK_SEPARATOR = "_" * 32  # what Outlook writes for <hr> in its plain text part


class _TextExtractor(HTMLParser):
    """Readable text from an HTML mail body: blocks and <br> make lines, <blockquote> becomes "> " lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line = ""
        self.quote_depth = 0
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden_depth += 1
        elif tag == "br":
            self.end_line(force=True)
        elif tag == "hr":
            self.end_line()
            self.line = OUTLOOK_SEPARATOR
            self.end_line()
        elif tag in _BLOCK_TAGS:
            self.end_line()
        if tag == "blockquote":
            self.quote_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden_depth = max(0, self.hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.end_line()
        if tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.hidden_depth:
            return
        text = _HTML_SPACE.sub(" ", data)
        self.line += text.lstrip(" ") if not self.line else text

    def end_line(self, force: bool = False) -> None:
        """Close the current line; an empty one only for <br>, so nested blocks add no blank lines."""
        if not (force or self.line.strip(" ")):
            return
        content = self.line.strip()
        prefix = ">" * self.quote_depth
        self.lines.append(f"{prefix} {content}" if prefix and content else prefix + content)
        self.line = ""


def html_to_text(html: str) -> str:
    """Plain text of an HTML mail body, with quoted blocks as "> " lines so strip_reply can drop them."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    extractor.end_line()
    return "\n".join(extractor.lines).strip("\n")


# --- Reply stripping --------------------------------------------------------------------------------------

# "On Mon, Apr 2, 2012 at 6:26 PM, Megan <a@b.com> wrote:", possibly wrapped over up to three lines, in the
# languages of talon's fixtures and the common mail clients. Some clients (German, Dutch, Russian Gmail)
# end with the address instead of a verb: "Am ... schrieb Megan <a@b.com>:", "26.06.2014, 14:41, ... <a@b>:".
RE_ATTRIBUTION_START = re.compile(r"^(?:On|Le|Am|El|Em|Op|Il|Den|På|W dniu|Dnia|Vào)\s")
RE_DATED_START = re.compile(r"^(?:\d|\w{2,3}\.?,\s)")  # "02.04.2012 14:20 ...", "Thu, 26 Jun ...", "пн, 2 апр."
RE_ATTRIBUTION_END = re.compile(
    r"(?:\b(?:wrote|a écrit|schrieb|escribió|escreveu|schreef|ha scritto|napisał|skrev|написала?|пишет|đã viết)"
    r"|<[^<>\s@]+@[^<>\s@]+>\)?)\s*:\s*$",
    re.IGNORECASE,
)
# "-----Original Message-----", "----- Original Message -----", "---------- Forwarded message ---------".
RE_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Forwarded message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|Mensagem original|Messaggio originale|Oorspronkelijk bericht|Исходное сообщение|"
    r"Пересылаемое сообщение|Wiadomość oryginalna)\s*-{2,}\s*$",
    re.IGNORECASE,
)
RE_UNDERSCORE_SEPARATOR = re.compile(r"^\s*_{10,}\s*$")
# One line of an Outlook-style header block ("From: ...", "Sent: ..."); two in a row start the history.
RE_HEADER_FIELD = re.compile(
    r"^\s*\*?(?:From|Sent|Date|To|Cc|Subject|Von|Gesendet|Datum|An|Betreff|De|Envoyé|À|Objet|Enviado|Fecha|"
    r"Para|Asunto|Assunto|Van|Verzonden|Aan|Onderwerp|От|Отправлено|Дата|Кому|Копия|Тема)\*?\s*:",
    re.IGNORECASE,
)
RE_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:Sent from (?:my|Mail for|Yahoo Mail|Outlook|Samsung)\b.{0,60}|Get Outlook for \w+.{0,40}|"
    r"Envoyé de mon .{1,40}|Von meinem .{1,40} gesendet|Enviado desde mi .{1,40}|Enviado do meu .{1,40}|"
    r"Verstuurd vanaf mijn .{1,40}|Отправлено с .{1,40})\s*$",
    re.IGNORECASE,
)
RE_QUOTED = re.compile(r"^\s*>")
RE_SIGNATURE_DELIMITER = re.compile(r"^--[ \t]*$")
SIGNATURE_MAX_LINES = 10


class _History(NamedTuple):
    """Where quoted history starts (`start`) and, for an attribution line, where that line ends (`end`)."""

    start: int
    end: int
    attribution: bool


def strip_reply(text: str) -> str:
    """The customer's new words only: quoted history, mobile taglines and a trailing "-- " signature removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _cut_history(lines)
    lines = [line for line in lines if not RE_QUOTED.match(line)]
    lines = [line for line in lines if not RE_MOBILE_SIGNATURE.match(line)]
    lines = _cut_signature(lines)
    return "\n".join(line.rstrip() for line in lines).strip()


def _cut_history(lines: list[str]) -> list[str]:
    """Lines above the first quoted history; if nothing is above an attribution, the reply is below the quote."""
    top = 0
    while (history := _find_history(lines, top)) is not None:
        above = lines[top : history.start]
        if _has_text(above) or not history.attribution:
            return above
        top = history.end
        while top < len(lines) and not _is_unquoted_text(lines[top]):
            top += 1
    return lines[top:]


def _find_history(lines: list[str], top: int) -> _History | None:
    for index in range(top, len(lines)):
        line = lines[index]
        if RE_QUOTED.match(line):
            continue
        if RE_ORIGINAL_MESSAGE.match(line) or RE_UNDERSCORE_SEPARATOR.match(line) or _starts_headers(lines, index):
            return _History(index, index + 1, attribution=False)
        start = _attribution_start(lines, index)
        if start is not None:
            return _History(start, index + 1, attribution=True)
    return None


def _starts_headers(lines: list[str], index: int) -> bool:
    return index + 1 < len(lines) and all(RE_HEADER_FIELD.match(line) for line in lines[index : index + 2])


def _attribution_start(lines: list[str], end: int) -> int | None:
    """First line of an "On <date>, <name> wrote:" attribution ending on line `end`, if it is one."""
    if not RE_ATTRIBUTION_END.search(lines[end]):
        return None
    span = _same_paragraph_above(lines, end)
    starts = [k for k in span if RE_ATTRIBUTION_START.match(lines[k].lstrip())]
    start = starts[-1] if starts else next((k for k in span if RE_DATED_START.match(lines[k].lstrip())), None)
    if start is not None and re.search(r"[\d@]", " ".join(lines[start : end + 1])):
        return start
    return end if _quote_follows(lines, end) else None


def _same_paragraph_above(lines: list[str], end: int) -> list[int]:
    """Where a wrapped attribution ending on `end` may start: `end` and up to two unquoted lines above it."""
    span = [end]
    while len(span) < 3 and span[-1] > 0 and _is_unquoted_text(lines[span[-1] - 1]):
        span.append(span[-1] - 1)
    return span


def _is_unquoted_text(line: str) -> bool:
    return bool(line.strip()) and not RE_QUOTED.match(line)


def _quote_follows(lines: list[str], index: int) -> bool:
    following = next((lines[k] for k in range(index + 1, len(lines)) if lines[k].strip()), "")
    return bool(RE_QUOTED.match(following))


def _has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _cut_signature(lines: list[str]) -> list[str]:
    """Drop a trailing signature: the last "-- " line and the few lines after it."""
    delimiters = [index for index, line in enumerate(lines) if RE_SIGNATURE_DELIMITER.match(line)]
    if not delimiters:
        return lines
    last = delimiters[-1]
    if sum(1 for line in lines[last + 1 :] if line.strip()) > SIGNATURE_MAX_LINES:
        return lines
    return lines[:last]
