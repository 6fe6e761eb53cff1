"""Quoted history is cut away from email replies, whichever mail client wrote them (talon's real replies)."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from channels.email.quoting import html_to_text, strip_reply

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def eml_text(name: str) -> str:
    raw = (FIXTURES / "talon_standard_replies" / name).read_bytes()
    message = BytesParser(policy=policy.default).parsebytes(raw)
    return message.get_body(preferencelist=("plain",)).get_content()


# Every talon standard reply, with the new text its author typed above (thunderbird: below) the quote.
# talon itself keeps iPhone's "Sent from my iPhone" and Sparrow's "-- " signature; we drop both on purpose.
TALON_STANDARD_REPLIES = {
    "android.eml": "Hello",  # Russian attribution wrapped over two lines: '02.04.2012 14:20 пользователь ... написал:'
    "aol.eml": "Hello",  # -----Original Message-----
    "apple_mail.eml": "Hello",  # On Apr 3, 2012, at 4:19 PM, bob wrote:
    "apple_mail_2.eml": "Hello",  # the attribution itself is quoted with ">"
    "comcast.eml": "Hello",  # ----- Original Message ----- (and a trailing space after Hello)
    "gmail.eml": "Hello",  # On Mon, Apr 2, 2012 at 6:26 PM, Megan One <xxx@gmail.com> wrote:
    "hotmail.eml": "Hello",  # only "> " quoted headers, and a line of tabs and spaces at the end
    "iphone.eml": "Hello",  # Sent from my iPhone, then an attribution split by quoted-printable "wr=\note:"
    "outlook.eml": "Hello",  # From: ... [mailto:...] / Sent: ... header block, unquoted history below
    "sparrow.eml": "Hello",  # "-- " signature block, then On Tuesday, April 3, 2012 at 4:55 PM, xxx wrote:
    "thunderbird.eml": "Hello",  # bottom-posted: attribution and quote first, the reply below
    "yahoo.eml": "Hello",  # ----- Original Message -----
}


def test_every_talon_standard_reply_fixture_is_listed() -> None:
    names = {path.name for path in (FIXTURES / "talon_standard_replies").glob("*.eml")}
    assert names == set(TALON_STANDARD_REPLIES)


@pytest.mark.parametrize(("name", "expected"), sorted(TALON_STANDARD_REPLIES.items()))
def test_strip_reply_on_talon_standard_replies(name: str, expected: str) -> None:
    assert strip_reply(eml_text(name)) == expected


def test_talon_reply_texts_show_what_we_drop_on_purpose() -> None:
    folder = FIXTURES / "talon_standard_replies"
    assert (folder / "iphone_reply_text").read_text().strip() == "Hello\n\nSent from my iPhone"
    assert (folder / "sparrow_reply_text").read_text().startswith("Hello \n\n-- \nxxx\nSent with Sparrow")


HI_FINE = "Hi. I am fine.\n\nThanks,\nAlex"
HI_FINE_TIGHT = "Hi. I am fine.\nThanks,\nAlex"  # paragraphs with no blank paragraph between them


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gmail.html", HI_FINE),  # gmail_quote attribution + <blockquote>
        ("hotmail.html", HI_FINE),  # <hr> then Date:/Subject:/From: headers
        ("mail_ru.html", HI_FINE_TIGHT),  # 'Thu, 26 Jun 2014 14:00:51 +0400 от Alexander L <abc@example.com>:'
        ("ms_outlook_2003.html", HI_FINE),  # <hr> then From:/Sent:
        ("ms_outlook_2007.html", HI_FINE_TIGHT),  # bordered <div>, From:/Sent: headers
        ("ms_outlook_2010.html", HI_FINE_TIGHT),  # From: Foo [mailto:foo@bar.com] On Behalf Of ... / Sent:
        ("thunderbird.html", HI_FINE),  # moz-cite-prefix "On 26.06.2014 14:41, Alexander L wrote:"
        ("windows_mail.html", HI_FINE),  # Russian headers От: / Отправлено: / Кому:
        ("yandex_ru.html", HI_FINE),  # '26.06.2014, 14:41, "Alexander L" <abc@example.com>:' + <blockquote>
    ],
)
def test_strip_reply_on_talon_html_replies(name: str, expected: str) -> None:
    html = (FIXTURES / "talon_html_replies" / name).read_bytes().decode("utf-8", "replace")
    assert strip_reply(html_to_text(html)) == expected


def test_strip_reply_stays_fast_on_hostile_input() -> None:
    stacked = "On 1 Jan 2020, a@b.com wrote:\n> x\n" * 20_000 + "ok"
    assert strip_reply(stacked) == "ok"
    assert strip_reply("<" + "@" * 50_000 + "> wrote:") == "<" + "@" * 50_000 + "> wrote:"


def test_html_to_text_marks_blockquotes_and_skips_styles() -> None:
    html = "<html><head><style>p {margin:0}</style></head><body><p>Yes &amp; no</p><blockquote>Q<br>R</blockquote>"
    assert html_to_text(html) == "Yes & no\n> Q\n> R"


QUESTION_QUOTE = (
    "On Tue, Mar 4, 2025 at 10:02 AM Touchpoint <reply+abc@in.example.com> wrote:\n"
    "> How likely are you to recommend us to a friend?\n"
    "> Reply with a number from 0 to 10.\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9\n\n" + QUESTION_QUOTE, "9"),
        ("9\n" + QUESTION_QUOTE, "9"),  # no blank line before the attribution
        (("9\n\n" + QUESTION_QUOTE).replace("\n", "\r\n"), "9"),
        ("10 - great support\r\n\r\nSent from my Android\r\n\r\n" + QUESTION_QUOTE, "10 - great support"),
        ("7\n\nGet Outlook for iOS\n________________________________\nFrom: Touchpoint\nSent: Tuesday\n> Q", "7"),
        (QUESTION_QUOTE, ""),  # the customer only quoted
        ("> How likely are you to recommend us?\n", ""),
        ("\n\n", ""),
        ("Slow delivery.\n\n-- \nJane Doe\nACME Corp\n+1 555 0100", "Slow delivery."),
        ("6, it crashed on 3 March.\nAs I wrote: it is slow", "6, it crashed on 3 March.\nAs I wrote: it is slow"),
        ("8\n\nLe mar. 4 mars 2025 à 10:02, Touchpoint <reply+abc@in.example.com> a écrit :\n> Q", "8"),
        ("8\n\nAm Di., 4. März 2025 um 10:02 Uhr schrieb Touchpoint <reply+abc@in.example.com>:\n> Q", "8"),
        ("8\n\nEl mar, 4 mar 2025 a las 10:02, Touchpoint (<reply+abc@in.example.com>) escribió:\n> Q", "8"),
        ("8\n\n---------- Forwarded message ---------\nFrom: Touchpoint", "8"),
        ("Touchpoint wrote:\n> How likely?\n5", "5"),  # bottom-posted under an undated attribution
    ],
)
def test_strip_reply_cases(text: str, expected: str) -> None:
    assert strip_reply(text) == expected
