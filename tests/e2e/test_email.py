"""Email end to end: the real server sends to a real SMTP server; the test reads the mail as a client would.

Links are followed over HTTP against the running server; link scanners are played by GETs on every link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest
import requests

from tests.e2e.conftest import StartServer
from tests.e2e.processes import Server, cli
from tests.fakes.smtp import FakeSmtp
from tests.helpers import event, flow_yaml

ADA = {"external_id": "ada", "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+447911123456",
       "locale": "fr"}


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


@pytest.fixture
def mail_server(start_server: StartServer, smtp: FakeSmtp) -> Server:
    server = start_server(
        TOUCHPOINT_SMTP_URL=smtp.url,
        TOUCHPOINT_EMAIL_FROM="surveys@shop.example.com",
        TOUCHPOINT_EMAIL_REPLY_DOMAIN="in.shop.example.com",
        TOUCHPOINT_BRAND_NAME="Shop & Co",
        TOUCHPOINT_BRAND_FOOTER="1 Market Street, Springfield",
        TOUCHPOINT_SANDBOX="on",
    )
    flow = server.cwd / "flow.yaml"
    flow.write_text(flow_yaml("mail-nps", channels="[email, sms]", ask="always"), encoding="utf-8")
    cli(server.env, "flows", "import", str(flow), cwd=server.cwd)
    return server


def survey_mail(server: Server, smtp: FakeSmtp, key: str = "o-1") -> tuple[int, EmailMessage]:
    [planned] = server.api("POST", "/events", json=event(key, contact=ADA)).json()["deliveries"]
    server.wait_for(lambda: len(smtp.to(ADA["email"])) >= 1, what="the survey email")
    return planned["id"], smtp.to(ADA["email"])[-1]


def parts(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def score_links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.hrefs


def test_the_mail_has_both_parts_the_headers_and_a_link_per_score(mail_server: Server, smtp: FakeSmtp) -> None:
    _, mail = survey_mail(mail_server, smtp)
    assert mail["Subject"] == "Une petite question de Shop & Co"
    [sender] = mail["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Shop & Co", "surveys@shop.example.com")
    assert re.fullmatch(r"<[^@]+@shop\.example\.com>", mail["Message-ID"])
    token = re.fullmatch(r"reply\+([\w-]+)@in\.shop\.example\.com", mail["Reply-To"]).group(1)
    assert mail["List-Unsubscribe"].strip() == (f"<mailto:unsubscribe+{token}@in.shop.example.com>, "
                                        f"<{mail_server.url}/s/{token}/unsubscribe>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(mail)
    assert "How likely are you to recommend us?" in text and "1 Market Street, Springfield" in text
    assert f"10: {mail_server.url}/s/{token}/10" in text
    links = score_links(html)
    assert [link for link in links if "/unsubscribe" not in link] == [
        f"{mail_server.url}/s/{token}/{score}" for score in range(11)]
    assert "<script" not in html and "<form" not in html


def test_a_link_scanner_opening_every_link_records_nothing(mail_server: Server, smtp: FakeSmtp) -> None:
    delivery_id, mail = survey_mail(mail_server, smtp)
    for link in score_links(parts(mail)[1]):
        assert requests.get(link, timeout=10).status_code == 200
    shown = mail_server.api("GET", f"/deliveries/{delivery_id}").json()
    assert shown["response"] is None and shown["status"] == "sent"
    assert mail_server.api("POST", "/events", json=event("o-2", contact=ADA)).json()["skipped"] == []


def test_a_click_records_the_score_the_comment_follows_and_the_score_can_change(
    mail_server: Server, smtp: FakeSmtp
) -> None:
    delivery_id, mail = survey_mail(mail_server, smtp)
    seven = next(link for link in score_links(parts(mail)[1]) if link.endswith("/7"))
    landing = requests.get(seven, timeout=10)
    assert 'name="score" value="7"' in landing.text and "document.getElementById" in landing.text
    base = seven.rsplit("/", 1)[0]
    page = requests.post(f"{base}/answer", data={"score": "7"}, timeout=10)  # what the page's script sends
    assert 'data-state="comment"' in page.text
    assert mail_server.api("GET", f"/deliveries/{delivery_id}").json()["response"]["score"] == 7

    changed = requests.post(f"{base}/answer", data={"score": "9"}, timeout=10)
    assert 'value="9" aria-pressed="true"' in changed.text
    done = requests.post(f"{base}/comment", data={"comment": "Livraison rapide, merci"}, timeout=10)
    assert 'data-state="done"' in done.text
    response = mail_server.api("GET", f"/deliveries/{delivery_id}").json()["response"]
    assert (response["score"], response["comment"]) == (9, "Livraison rapide, merci")
    late = requests.post(f"{base}/answer", data={"score": "0"}, timeout=10)
    assert 'data-state="done"' in late.text
    assert mail_server.api("GET", f"/deliveries/{delivery_id}").json()["response"]["score"] == 9


def test_unknown_tokens_and_bad_scores_get_a_friendly_page(mail_server: Server, smtp: FakeSmtp) -> None:
    _, mail = survey_mail(mail_server, smtp)
    unknown = requests.get(f"{mail_server.url}/s/not-a-token/5", timeout=10)
    assert unknown.status_code == 404 and 'data-state="invalid"' in unknown.text
    base = score_links(parts(mail)[1])[0].rsplit("/", 1)[0]
    assert requests.get(f"{base}/11", timeout=10).status_code == 404
    assert requests.post(f"{base}/answer", data={"score": "eleven"}, timeout=10).status_code == 422


def test_one_click_unsubscribe_stops_every_email_survey(mail_server: Server, smtp: FakeSmtp) -> None:
    _, mail = survey_mail(mail_server, smtp)
    url = re.search(r"<(https?://[^>]+)>", mail["List-Unsubscribe"]).group(1)
    asked = requests.get(url, timeout=10)
    assert 'data-state="confirm"' in asked.text  # a GET only asks
    assert mail_server.api("POST", "/events", json=event("o-2", contact=ADA)).json()["deliveries"][0]["channel"] \
        == "email"
    one_click = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert one_click.status_code == 200 and 'data-state="unsubscribed"' in one_click.text
    [third] = mail_server.api("POST", "/events", json=event("o-3", contact=ADA)).json()["deliveries"]
    assert third["channel"] == "sms"


def test_a_refused_address_falls_back_to_the_next_channel(mail_server: Server, smtp: FakeSmtp) -> None:
    smtp.refuse(ADA["email"])
    [planned] = mail_server.api("POST", "/events", json=event("o-1", contact=ADA)).json()["deliveries"]
    shown = mail_server.wait_for(
        lambda: (d := mail_server.api("GET", f"/deliveries/{planned['id']}").json())["channel"] == "sms"
        and d["status"] == "sent" and d, what="the fallback to SMS")
    assert any("550" in (change["detail"] or "") for change in shown["history"])
