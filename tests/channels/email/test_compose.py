"""What a survey email is made of, for every question kind, without an SMTP server."""

from __future__ import annotations

import pytest

from channels.base import Outbound, Question
from channels.email.transport import Brand, EmailConfig, choices, compose, config_from_env
from flows.questions import QuestionKind

CONFIG = EmailConfig("smtp.example.com", 587, "user", "secret-password", False, "Shop <s@shop.example.com>",
                     "in.shop.example.com", "https://tp.example.com", Brand(name="Shop"))


@pytest.mark.parametrize(
    ("kind", "labels"),
    [(QuestionKind.NPS, [str(s) for s in range(11)]), (QuestionKind.CSAT, ["1", "2", "3", "4", "5"]),
     (QuestionKind.CES, [str(s) for s in range(1, 8)])],
)
def test_a_link_per_score(kind: QuestionKind, labels: list[str]) -> None:
    found = choices(kind, "tok", "https://tp.example.com", "en")
    assert [c.label for c in found] == labels
    assert found[0].url == f"https://tp.example.com/s/tok/{found[0].score}"


def test_thumbs_read_as_words_in_the_customers_language() -> None:
    found = choices(QuestionKind.THUMBS, "tok", "", "es")
    assert [(c.score, c.label.split()[-1]) for c in found] == [(1, "Sí"), (0, "No")]


def test_a_message_without_a_question_has_no_buttons_but_keeps_the_headers() -> None:
    mail = compose(Outbound("email", "ada@example.com", "We called you back.", "agent", 1, token="tok"), CONFIG)
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "/s/tok/" not in html.replace("/s/tok/unsubscribe", "")
    assert mail["Reply-To"] == "reply+tok@in.shop.example.com" and "List-Unsubscribe-Post" in mail


def test_html_escapes_what_the_flow_wrote() -> None:
    message = Outbound("email", "a@example.com", "<b>Hi</b> & welcome", "question", 1,
                       question=Question(QuestionKind.NPS), token="tok")
    html = compose(message, CONFIG).get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;Hi&lt;/b&gt; &amp; welcome" in html


def test_smtp_url_and_secrets() -> None:
    config = config_from_env({"TOUCHPOINT_SMTP_URL": "smtps://me%40x.com:p%40ss@mail.example.com",
                              "EMAIL_FROM": "surveys@x.com"}, "https://tp/")
    assert config is not None
    assert (config.host, config.port, config.implicit_tls, config.username, config.password) == (
        "mail.example.com", 465, True, "me@x.com", "p@ss")
    assert "p@ss" not in repr(config) and config.sender.endswith("<surveys@x.com>")
    assert config_from_env({}, "https://tp") is None
    with pytest.raises(ValueError, match="TOUCHPOINT_SMTP_URL"):
        config_from_env({"TOUCHPOINT_SMTP_URL": "http://mail.example.com"}, "https://tp")


def test_a_message_with_its_own_subject_keeps_it_and_has_no_survey_headers() -> None:
    mail = compose(Outbound("email", "lead@shop.example.com", "Case #4 is overdue.", "escalation",
                            subject="Overdue: case #4 in Recovery"), CONFIG)
    assert mail["Subject"] == "Overdue: case #4 in Recovery"
    assert "Reply-To" not in mail and "List-Unsubscribe" not in mail
