"""Email end to end: the real server sends to a real SMTP server; the test reads the mail as a client would.

Links are followed over HTTP against the running server; link scanners are played by GETs on every link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterator
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import StartServer
from tests.e2e.processes import Server, cli
from tests.fakes.smtp import FakeSmtp
from tests.helpers import event, flow_yaml

HOOK_SECRET, MAILGUN_KEY = "hook-secret", "mailgun-signing-key"
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
        TOUCHPOINT_EMAIL_WEBHOOK_SECRET=HOOK_SECRET,
        TOUCHPOINT_MAILGUN_SIGNING_KEY=MAILGUN_KEY,
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
    assert f"5: {mail_server.url}/s/{token}/5" in text
    # The flow's question is English only: its scale's ends are labelled in English too.
    assert f"10 (Extremely likely): {mail_server.url}/s/{token}/10" in text
    links = score_links(html)
    assert [link for link in links if "/unsubscribe" not in link] == [
        f"{mail_server.url}/s/{token}/{score}" for score in range(11)]
    assert "<script" not in html and "<form" not in html


def test_the_mail_and_its_pages_read_the_email_wording_and_label_the_scale_ends(
    start_server: StartServer, smtp: FakeSmtp
) -> None:
    server = start_server(TOUCHPOINT_SMTP_URL=smtp.url, TOUCHPOINT_SANDBOX="on")
    common = flow_yaml("mail-csat", kind="csat", channels="[email, sms]", ask="always")
    sms_line = next(line for line in common.splitlines() if "Reply 0-10" in line)
    flow = server.cwd / "flow.yaml"
    flow.write_text(common.replace(sms_line, sms_line + """
  channel_text:
    email:
      en: "Hi {{ contact.first_name }}! How did we do?"
      fr: "Bonjour {{ contact.first_name }} ! Comment nous en sommes-nous sortis ?"
"""), encoding="utf-8")
    cli(server.env, "flows", "import", str(flow), cwd=server.cwd)

    delivery_id, mail = survey_mail(server, smtp)
    text, html = parts(mail)
    assert "Reply" not in text and "Reply" not in html
    assert text.startswith("Bonjour Ada ! Comment nous en sommes-nous sortis ?")
    assert "1 (Très insatisfait): " in text and "5 (Très satisfait): " in text
    assert ">Très insatisfait</td>" in html and ">Très satisfait</td>" in html
    assert 'aria-label="1, Très insatisfait"' in html and 'aria-label="3"' in html

    one = next(link for link in score_links(html) if link.endswith("/1"))
    landing = requests.get(one, timeout=10).text
    assert "Comment nous en sommes-nous sortis ?" in landing and "Reply" not in landing
    assert "Votre réponse : 1" in landing and "1 = Très insatisfait, 5 = Très satisfait" in landing
    page = requests.post(one.rsplit("/", 1)[0] + "/answer", data={"score": "2"}, timeout=10).text
    assert 'data-state="comment"' in page and "Comment nous en sommes-nous sortis ?" in page
    assert 'aria-describedby="ends"' in page and '<p class="ends" id="ends">' in page
    assert "<span>1 = Très insatisfait</span>" in page
    assert server.api("GET", f"/deliveries/{delivery_id}").json()["response"]["score"] == 2


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


def reply_payload(provider: str, token: str, text: str, message_id: str) -> dict:
    """What each provider posts for a reply to our mail, signed or authenticated as it does."""
    to = f"reply+{token}@in.shop.example.com"
    if provider == "postmark":
        body = {"FromFull": {"Email": ADA["email"], "Name": "Ada"}, "ToFull": [{"Email": to, "Name": ""}],
                "Subject": "Re: question", "TextBody": text, "MessageID": "pm-1",
                "Headers": [{"Name": "Message-ID", "Value": f"<{message_id}>"}]}
        return {"json": body, "auth": ("postmark", HOOK_SECRET)}
    if provider == "sendgrid":
        fields = {"from": f"Ada <{ADA['email']}>", "to": to, "subject": "Re: question", "text": text,
                  "headers": f"Message-ID: <{message_id}>\nSubject: Re: question\n",
                  "envelope": json.dumps({"to": [to], "from": ADA["email"]})}
        return {"files": {name: (None, value) for name, value in fields.items()}, "params": {"secret": HOOK_SECRET}}
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    signature = hmac.new(MAILGUN_KEY.encode(), (timestamp + nonce).encode(), hashlib.sha256).hexdigest()
    return {"data": {"sender": ADA["email"], "from": f"Ada <{ADA['email']}>", "recipient": to,
                     "subject": "Re: question", "body-plain": text, "Message-Id": f"<{message_id}>",
                     "timestamp": timestamp, "token": nonce, "signature": signature}}


def reply_token_of(mail: EmailMessage) -> str:
    return re.fullmatch(r"reply\+([\w-]+)@in\.shop\.example\.com", mail["Reply-To"]).group(1)


@pytest.mark.parametrize("provider", ["sendgrid", "mailgun", "postmark"])
def test_a_reply_by_email_is_answered_once_whatever_the_provider(
    mail_server: Server, smtp: FakeSmtp, provider: str
) -> None:
    delivery_id, mail = survey_mail(mail_server, smtp)
    text = "9 thanks!\n\nOn Tue, 3 Mar 2026 at 10:00, Shop & Co <surveys@shop.example.com> wrote:\n> How likely"
    payload = reply_payload(provider, reply_token_of(mail), text, "reply-1@mail.example.com")
    url = f"{mail_server.url}/webhooks/email/inbound/{provider}"
    assert requests.post(url, timeout=10, **payload).status_code == 200
    assert requests.post(url, timeout=10, **payload).status_code == 200  # the provider retries
    response = mail_server.api("GET", f"/deliveries/{delivery_id}").json()["response"]
    assert (response["score"], response["comment"]) == (9, "thanks!")
    mail_server.wait_for(lambda: len(smtp.to(ADA["email"])) == 2, what="the thanks by email")
    assert "Thank you!" in parts(smtp.to(ADA["email"])[1])[0]


@pytest.mark.parametrize("provider", ["sendgrid", "mailgun", "postmark"])
def test_unauthenticated_email_webhooks_are_refused(mail_server: Server, smtp: FakeSmtp, provider: str) -> None:
    delivery_id, mail = survey_mail(mail_server, smtp)
    payload = reply_payload(provider, reply_token_of(mail), "0", "forged@mail.example.com")
    payload.pop("auth", None)
    payload.pop("params", None)
    if provider == "mailgun":
        payload["data"]["signature"] = "0" * 64
    url = f"{mail_server.url}/webhooks/email/inbound/{provider}"
    assert requests.post(url, timeout=10, **payload).status_code == 403
    wrong = requests.post(url, timeout=10, auth=("x", "wrong"), params={"secret": "wrong"}, **payload)
    assert wrong.status_code == 403
    assert mail_server.api("GET", f"/deliveries/{delivery_id}").json()["response"] is None


FIXTURES = Path(__file__).resolve().parents[1] / "channels" / "email" / "fixtures"


def bounce_payload(provider: str, ours: str) -> dict:
    """A hard bounce (SendGrid, Mailgun) or a spam complaint (Postmark) about our message, as each posts it."""
    if provider == "sendgrid":
        event = [{"event": "bounce", "type": "bounce", "email": ADA["email"], "smtp-id": f"<{ours}>",
                  "touchpoint_message": ours, "reason": "550 5.1.1 unknown user", "timestamp": int(time.time())}]
        return {"json": event, "params": {"secret": HOOK_SECRET}}
    if provider == "mailgun":
        body = json.loads((FIXTURES / "mailgun_event_permanent_failure.json").read_text(encoding="utf-8"))
        body["event-data"]["recipient"] = ADA["email"]
        body["event-data"]["user-variables"] = {"touchpoint_message": ours}
        stamp, nonce = str(int(time.time())), secrets.token_hex(16)
        digest = hmac.new(MAILGUN_KEY.encode(), (stamp + nonce).encode(), hashlib.sha256).hexdigest()
        body["signature"] = {"timestamp": stamp, "token": nonce, "signature": digest}
        return {"json": body}
    body = json.loads((FIXTURES / "postmark_spam_complaint.json").read_text(encoding="utf-8"))
    body["Email"], body["Metadata"] = ADA["email"], {"touchpoint_message": ours}
    return {"json": body, "auth": ("postmark", HOOK_SECRET)}


@pytest.mark.parametrize("provider", ["sendgrid", "mailgun", "postmark"])
def test_a_hard_bounce_or_complaint_stops_email_and_moves_the_survey_on(
    mail_server: Server, smtp: FakeSmtp, provider: str
) -> None:
    delivery_id, mail = survey_mail(mail_server, smtp)
    url = f"{mail_server.url}/webhooks/email/events/{provider}"
    payload = bounce_payload(provider, mail["Message-ID"].strip("<>"))
    assert requests.post(url, timeout=10, **payload).status_code == 200
    shown = mail_server.wait_for(
        lambda: (d := mail_server.api("GET", f"/deliveries/{delivery_id}").json())["channel"] == "sms"
        and d["status"] == "sent" and d, what="the survey by SMS")
    assert [m["status"] for m in shown["messages"] if m["channel"] == "email"] == ["failed"]
    [later] = mail_server.api("POST", "/events", json=event_body("o-2")).json()["deliveries"]
    assert later["channel"] == "sms"


def test_mail_to_the_unsubscribe_address_unsubscribes(mail_server: Server, smtp: FakeSmtp) -> None:
    _, mail = survey_mail(mail_server, smtp)
    to = re.search(r"<mailto:([^>]+)>", mail["List-Unsubscribe"]).group(1)
    body = {"FromFull": {"Email": ADA["email"]}, "ToFull": [{"Email": to}], "Subject": "unsubscribe",
            "TextBody": "", "MessageID": "pm-2"}
    url = f"{mail_server.url}/webhooks/email/inbound/postmark"
    assert requests.post(url, json=body, auth=("postmark", HOOK_SECRET), timeout=10).status_code == 200
    [later] = mail_server.api("POST", "/events", json=event_body("o-2")).json()["deliveries"]
    assert later["channel"] == "sms"


def event_body(key: str) -> dict:
    return event(key, contact=ADA)


def recorded_payload(provider: str, to: str) -> dict:
    """A provider's own recorded payload, readdressed to the survey's reply address."""
    if provider == "sendgrid":
        body = (FIXTURES / "sendgrid_inbound_parse_raw_data.txt").read_text(encoding="utf-8")
        body = body.replace("inbound@inbound.inbound.com", to).replace("\r\n", "\n")  # headers and envelope
        body = body.replace("\n", "\r\n")
        return {"data": body.encode(), "params": {"secret": HOOK_SECRET},
                "headers": {"Content-Type": "multipart/form-data; boundary=xYzZY"}}
    if provider == "mailgun":
        fields = json.loads((FIXTURES / "mailgun_inbound_route_fields.json").read_text(encoding="utf-8"))
        fields["recipient"] = to
        fields["timestamp"], fields["token"] = str(int(time.time())), secrets.token_hex(16)
        fields["signature"] = hmac.new(MAILGUN_KEY.encode(), (fields["timestamp"] + fields["token"]).encode(),
                                       hashlib.sha256).hexdigest()
        return {"data": fields}
    body = json.loads((FIXTURES / "postmark_inbound_docs_example.json").read_text(encoding="utf-8"))
    body["ToFull"] = [{"Email": to, "Name": "", "MailboxHash": ""}]
    body["OriginalRecipient"] = to
    return {"json": body, "auth": ("postmark", HOOK_SECRET)}


@pytest.mark.parametrize("provider", ["sendgrid", "mailgun", "postmark"])
def test_each_providers_recorded_payload_reaches_the_survey(mail_server: Server, smtp: FakeSmtp, provider: str) -> None:
    delivery_id, mail = survey_mail(mail_server, smtp)
    to = f"reply+{reply_token_of(mail)}@in.shop.example.com"
    answer = requests.post(f"{mail_server.url}/webhooks/email/inbound/{provider}", timeout=10,
                           **recorded_payload(provider, to))
    assert answer.status_code == 200, answer.text
    inbound = [m for m in mail_server.api("GET", f"/deliveries/{delivery_id}").json()["messages"]
               if m["direction"] == "in"]
    assert len(inbound) == 1 and inbound[0]["kind"] == "reprompt" and inbound[0]["text"]
