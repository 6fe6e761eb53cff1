"""Email replies from SendGrid, Mailgun and Postmark read alike, and bounces and complaints are classified the
same whatever the provider."""

from __future__ import annotations

import json
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from channels.email.providers import (
    EmailPayloadError,
    InboundEmail,
    mailgun_event,
    parse_mailgun,
    parse_postmark,
    parse_sendgrid,
    postmark_event,
    reply_token,
    sendgrid_events,
    verify_mailgun,
)
from channels.email.quoting import strip_reply

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MAILGUN_KEY = "TEST_WEBHOOK_SIGNING_KEY"


def form_fields(name: str) -> dict[str, str]:
    """The fields of a SendGrid multipart/form-data body (boundary xYzZY), as a web framework would give them."""
    body = (FIXTURES / name).read_bytes()
    header = b"Content-Type: multipart/form-data; boundary=xYzZY\n\n"
    form = BytesParser(policy=policy.default).parsebytes(header + body)
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True).decode()
        for part in form.iter_parts()
    }


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def raw_message(**headers: str) -> str:
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("<p>8</p><blockquote>How likely are you to recommend us?</blockquote>", subtype="html")
    return message.as_string()


# --- inbound parsing ------------------------------------------------------------------------------------


def test_sendgrid_parsed_mode() -> None:
    parsed = parse_sendgrid(form_fields("sendgrid_inbound_parse_default_data.txt"))
    assert parsed == InboundEmail(
        sender="test@example.com",
        recipients=["inbound@inbound.example.com"],
        subject="Testing non-raw",
        text="Hello Twilio SendGrid!\n",
        message_id=None,
        in_reply_to=None,
        provider="sendgrid",
    )


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("sendgrid_inbound_parse_raw_data.txt", "Inbound Parse Test Raw Data"),
        ("sendgrid_inbound_parse_raw_data_with_attachments.txt", "Inbound Parse Test Raw Data with Attachment"),
    ],
)
def test_sendgrid_raw_mode_reads_the_mime_message(name: str, subject: str) -> None:
    parsed = parse_sendgrid(form_fields(name))
    assert parsed.sender == "test@example.com"
    assert parsed.recipients == ["inbound@inbound.inbound.com"]
    assert parsed.subject == subject  # the MIME Subject, not the sample's unrelated `subject` field
    assert parsed.text == "Hello Twilio SendGrid!\n"
    assert parsed.provider == "sendgrid"


def test_sendgrid_raw_html_only_message_becomes_text_and_keeps_threading_ids() -> None:
    raw = raw_message(
        From='"Ana Silva" <Ana.Silva@Example.com>',
        To="reply+Tok3n@in.example.com",
        Subject="Re: How did we do?",
        Message_ID="<CAF=abc@mail.example.com>",
        In_Reply_To="<tp.1001@touchpoint.example.com>",
    )
    parsed = parse_sendgrid({"email": raw})  # no envelope: recipients come from the To header
    assert parsed.sender == "ana.silva@example.com"
    assert parsed.recipients == ["reply+Tok3n@in.example.com"]
    assert parsed.text == "8\n> How likely are you to recommend us?"
    assert strip_reply(parsed.text) == "8"
    assert (parsed.message_id, parsed.in_reply_to) == ("CAF=abc@mail.example.com", "tp.1001@touchpoint.example.com")


def test_sendgrid_envelope_recipients_win_over_the_to_field() -> None:
    form = form_fields("sendgrid_inbound_parse_default_data.txt")
    form["to"] = "Survey Team <team@example.com>"
    form["envelope"] = json.dumps({"to": ["reply+abc123@inbound.example.com"], "from": "test@example.com"})
    form["headers"] += "Message-ID: <m1@example.com>\nIn-Reply-To: <tp.7@touchpoint.example.com>\n"
    parsed = parse_sendgrid(form)
    assert parsed.recipients == ["reply+abc123@inbound.example.com"]
    assert (parsed.message_id, parsed.in_reply_to) == ("m1@example.com", "tp.7@touchpoint.example.com")


def test_mailgun_route_fields() -> None:
    parsed = parse_mailgun(fixture_json("mailgun_inbound_route_fields.json"))
    assert parsed == InboundEmail(
        sender="from+test@example.org",  # the From header; `sender` is the envelope's envelope-from@example.org
        recipients=["test@inbound.example.com"],
        subject="Test subject",  # from message-headers: the fixture has no `subject` field
        text="Test body plain",
        message_id="CAEPk3R+4Zr@mail.example.org",
        in_reply_to=None,
        provider="mailgun",
    )


def test_mailgun_top_level_fields_and_envelope_sender_fallback() -> None:
    form = fixture_json("mailgun_inbound_route_fields.json")
    form.update({
        "message-headers": "[]",
        "sender": "Envelope@Example.org",
        "recipient": "reply+mg_77@in.example.com",
        "subject": "Re: How did we do?",
        "Message-Id": "<reply-1@example.org>",
        "In-Reply-To": "<tp.1002@touchpoint.example.com>",
    })
    parsed = parse_mailgun(form)
    assert parsed.sender == "envelope@example.org"
    assert parsed.subject == "Re: How did we do?"
    assert (parsed.message_id, parsed.in_reply_to) == ("reply-1@example.org", "tp.1002@touchpoint.example.com")
    assert reply_token(parsed.recipients, "in.example.com") == "mg_77"


def test_postmark_docs_example() -> None:
    parsed = parse_postmark(fixture_json("postmark_inbound_docs_example.json"))
    assert parsed.sender == "support@postmarkapp.com"
    assert parsed.recipients == [
        "yourhash+SampleHash@inbound.postmarkapp.com",
        "firstcc@postmarkapp.com",
        "secondCc@postmarkapp.com",
    ]
    assert (parsed.subject, parsed.text) == ("Test subject", "This is a test text body.")
    assert parsed.message_id == "73e6d360-66eb-11e1-8e72-a8904824019b"  # no Message-ID header: Postmark's id
    assert parsed.provider == "postmark"


def test_postmark_anymail_example_uses_the_message_id_header() -> None:
    parsed = parse_postmark(fixture_json("postmark_inbound_anymail_test.json"))
    assert parsed.sender == "from+test@example.org"
    assert parsed.recipients == ["test@inbound.example.com", "other@example.com", "cc@example.com"]
    assert (parsed.subject, parsed.text) == ("Test subject", "Test body plain")
    assert parsed.message_id == "CAEPk3R+4Zr@mail.example.org"


def test_postmark_html_only_body() -> None:
    payload = fixture_json("postmark_inbound_anymail_test.json") | {"TextBody": "", "HtmlBody": "<div>7<br>ok</div>"}
    assert parse_postmark(payload).text == "7\nok"


# --- reply tokens ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipients", "token"),
    [
        (["reply+abc@in.example.com"], "abc"),
        (['"Survey" <reply+Ab_9-z@IN.Example.COM>'], "Ab_9-z"),
        (["team@example.com", "Survey <reply+x1@in.example.com>, other@example.com"], "x1"),
        (["reply+abc@other.example.com"], None),
        (["noreply+abc@in.example.com"], None),
        (["reply+abc@in.example.com.evil.org"], None),
        (["reply+a.b@in.example.com"], None),
        (["reply@in.example.com"], None),
        ([], None),
    ],
)
def test_reply_token(recipients: list[str], token: str | None) -> None:
    assert reply_token(recipients, "in.example.com") == token


def test_reply_token_from_a_parsed_sendgrid_reply() -> None:
    form = form_fields("sendgrid_inbound_parse_default_data.txt")
    form["envelope"] = json.dumps({"to": ["Reply+K7xQ2@Inbound.Example.com"]})
    assert reply_token(parse_sendgrid(form).recipients, "inbound.example.com") == "K7xQ2"


# --- bad payloads ---------------------------------------------------------------------------------------


def sendgrid_with(changes: dict[str, str | None]) -> dict[str, str]:
    """The SendGrid parsed-mode sample with fields changed (None removes the field)."""
    form = form_fields("sendgrid_inbound_parse_default_data.txt") | changes
    return {key: value for key, value in form.items() if value is not None}


def mailgun_with(changes: dict[str, str]) -> dict[str, str]:
    return fixture_json("mailgun_inbound_route_fields.json") | changes


def postmark_with(changes: dict[str, Any]) -> dict[str, Any]:
    return fixture_json("postmark_inbound_docs_example.json") | changes


@pytest.mark.parametrize(
    ("parse", "payload", "field"),
    [
        (parse_sendgrid, lambda: sendgrid_with({"from": None}), "from"),
        (parse_sendgrid, lambda: sendgrid_with({"from": "Example User"}), "from"),
        (parse_sendgrid, lambda: sendgrid_with({"envelope": "{not json"}), "envelope"),
        (parse_sendgrid, lambda: sendgrid_with({"envelope": '{"to": "a@b.com"}'}), "envelope"),
        (parse_sendgrid, lambda: sendgrid_with({"envelope": '{"to": []}', "to": ""}), "to"),
        (parse_sendgrid, lambda: {"email": "  "}, "email"),
        (parse_sendgrid, lambda: {"email": "Subject: hi\n\nno sender\n"}, "email"),
        (parse_mailgun, lambda: mailgun_with({"message-headers": "{"}), "message-headers"),
        (parse_mailgun, lambda: mailgun_with({"message-headers": '[["To"]]'}), "message-headers"),
        (parse_mailgun, lambda: {"recipient": "a@b.com", "body-plain": "9"}, "sender"),
        (parse_mailgun, lambda: {"sender": "a@b.com", "body-plain": "9"}, "recipient"),
        (parse_postmark, lambda: ["not", "an", "object"], "payload"),
        (parse_postmark, lambda: postmark_with({"FromFull": {}}), "FromFull.Email"),
        (parse_postmark, lambda: postmark_with({"ToFull": "x@y.com"}), "ToFull"),
        (parse_postmark, lambda: postmark_with({"Headers": {"a": "b"}}), "Headers"),
        (parse_postmark, lambda: postmark_with({"TextBody": 9}), "TextBody"),
        (sendgrid_events, lambda: {"event": "bounce"}, "payload"),
        (sendgrid_events, lambda: [{"event": "bounce"}], "[0].email"),
        (mailgun_event, lambda: {"signature": {}}, "event-data"),
        (mailgun_event, lambda: {"event-data": {"event": "failed"}}, "event-data.recipient"),
        (postmark_event, lambda: {"RecordType": "Bounce", "Type": "HardBounce"}, "Email"),
        (postmark_event, lambda: {"RecordType": "Delivery", "Email": "a@b.com"}, "Recipient"),
    ],
)
def test_bad_payloads_name_the_field(parse: Any, payload: Any, field: str) -> None:
    with pytest.raises(EmailPayloadError) as caught:
        parse(payload())
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError) and caught.value.reason and field in str(caught.value)


# --- Mailgun signatures ---------------------------------------------------------------------------------


def mailgun_vector() -> tuple[str, str, str]:
    fields = fixture_json("mailgun_inbound_route_fields.json")
    return fields["timestamp"], fields["token"], fields["signature"]


def test_verify_mailgun_accepts_the_vector() -> None:
    timestamp, token, signature = mailgun_vector()
    assert signature == "3e24f71c7e802be94c5abca2fd6ca6957cca2e1e2396d26716b87e1ca8c56634"
    assert verify_mailgun(MAILGUN_KEY, timestamp, token, signature, now=int(timestamp) + 5)
    assert verify_mailgun(MAILGUN_KEY, timestamp, token, signature.upper(), now=int(timestamp) + 5)


@pytest.mark.parametrize(
    ("key", "signature_change", "age"),
    [
        (MAILGUN_KEY, "0" * 64, 5),  # changed signature
        (MAILGUN_KEY, "", 5),  # no signature
        (MAILGUN_KEY, None, 301),  # stale timestamp
        (MAILGUN_KEY, None, -301),  # timestamp far in the future
        ("WRONG_KEY", None, 5),
        ("", None, 5),
    ],
)
def test_verify_mailgun_rejects(key: str, signature_change: str | None, age: int) -> None:
    timestamp, token, signature = mailgun_vector()
    signature = signature if signature_change is None else signature_change
    assert not verify_mailgun(key, timestamp, token, signature, now=int(timestamp) + age)


def test_verify_mailgun_rejects_the_old_vector_by_the_clock_and_bad_timestamps() -> None:
    timestamp, token, signature = mailgun_vector()
    assert not verify_mailgun(MAILGUN_KEY, timestamp, token, signature)  # 2016 is long past
    for bad_timestamp in ("soon", "nan", "1461261330.0", "-1"):
        assert not verify_mailgun(MAILGUN_KEY, bad_timestamp, token, signature, now=int(timestamp))
    assert not verify_mailgun(MAILGUN_KEY, timestamp, token + "x", signature, now=int(timestamp))


@pytest.mark.parametrize(
    "name",
    ["mailgun_event_permanent_failure.json", "mailgun_event_temporary_failure.json", "mailgun_event_complained.json",
     "mailgun_event_delivered.json"],
)
def test_mailgun_event_fixtures_are_signed(name: str) -> None:
    signature = fixture_json(name)["signature"]
    now = int(signature["timestamp"]) + 1
    assert verify_mailgun(MAILGUN_KEY, signature["timestamp"], signature["token"], signature["signature"], now=now)


# --- delivery events ------------------------------------------------------------------------------------


def test_sendgrid_events_are_classified() -> None:
    events = sendgrid_events(fixture_json("sendgrid_events.json"))
    assert [(event.kind, event.recipient, event.our_message_id) for event in events] == [
        ("other", "ana.silva@example.com", "1001"),  # processed
        ("delivered", "ana.silva@example.com", "1001"),
        ("hard_bounce", "bruno.costa@example.org", "1002"),  # bounce, type bounce
        ("soft_bounce", "carla.mendes@example.net", "1003"),  # bounce, type blocked
        ("hard_bounce", "dario.rossi@example.com", "1004"),  # dropped: Bounced Address
        ("hard_bounce", "eva.novak@example.com", "1005"),  # dropped: Unsubscribed Address
        ("complaint", "ana.silva@example.com", "1001"),  # spamreport
        ("other", "farid.haddad@example.com", "tp.1006.01a2b3c4@touchpoint.example.com"),  # deferred, no custom arg
    ]
    bounce = events[2]
    assert {event.provider for event in events} == {"sendgrid"}
    assert bounce.provider_message_id == "14c5d75ce94.dfd.64b46a.filter0001.16648.5515E0B89.0"
    assert bounce.detail == "550 5.1.1 The email account that you tried to reach does not exist."


@pytest.mark.parametrize(
    ("reason", "kind"),
    [("Spam Reporting Address", "complaint"), ("Invalid", "hard_bounce"), ("Invalid SMTPAPI header", "other")],
)
def test_sendgrid_other_drop_reasons(reason: str, kind: str) -> None:
    [event] = sendgrid_events([{"email": "a@example.com", "event": "dropped", "reason": reason}])
    assert (event.kind, event.provider_message_id, event.our_message_id, event.detail) == (kind, None, None, reason)


@pytest.mark.parametrize(
    ("name", "kind", "recipient", "our_id", "detail"),
    [
        ("mailgun_event_permanent_failure.json", "hard_bounce", "bruno.costa@example.org", "1002",
         "5.1.1 The email account that you tried to reach does not exist."),
        ("mailgun_event_temporary_failure.json", "soft_bounce", "carla.mendes@example.net", "1003",
         "4.2.2 The email account that you tried to reach is over quota."),
        ("mailgun_event_complained.json", "complaint", "ana.silva@example.com", "1001", ""),
        ("mailgun_event_delivered.json", "delivered", "ana.silva@example.com",
         "20250304100000.1.C3D4E5F607182930@mg.touchpoint.example.com", "OK"),  # no custom arg: the Message-ID
    ],
)
def test_mailgun_events_are_classified(name: str, kind: str, recipient: str, our_id: str, detail: str) -> None:
    payload = fixture_json(name)
    event = mailgun_event(payload)
    assert (event.provider, event.kind, event.recipient) == ("mailgun", kind, recipient)
    assert event.provider_message_id == payload["event-data"]["message"]["headers"]["message-id"]
    assert (event.our_message_id, event.detail) == (our_id, detail)


@pytest.mark.parametrize(
    ("name", "kind", "recipient", "detail"),
    [
        ("postmark_bounce.json", "hard_bounce", "bruno.costa@example.org",
         "smtp;550 5.1.1 The email account that you tried to reach does not exist."),
        ("postmark_spam_complaint.json", "complaint", "ana.silva@example.com", "Test spam complaint details"),
        ("postmark_delivery.json", "delivered", "ana.silva@example.com",
         "smtp;250 2.0.0 OK  1741082403 d75a77b69052e-4c1a2b3c4d5sm1234567qtb.12 - gsmtp"),
    ],
)
def test_postmark_events_are_classified(name: str, kind: str, recipient: str, detail: str) -> None:
    payload = fixture_json(name)
    event = postmark_event(payload)
    assert (event.provider, event.kind, event.recipient, event.detail) == ("postmark", kind, recipient, detail)
    assert event.provider_message_id == payload["MessageID"]
    assert event.our_message_id == payload["Metadata"]["touchpoint_message"]


@pytest.mark.parametrize(
    ("bounce_type", "kind"),
    [("SoftBounce", "soft_bounce"), ("Transient", "soft_bounce"), ("BadEmailAddress", "hard_bounce"),
     ("SpamComplaint", "complaint"), ("AutoResponder", "other")],
)
def test_postmark_bounce_types(bounce_type: str, kind: str) -> None:
    assert postmark_event(fixture_json("postmark_bounce.json") | {"Type": bounce_type}).kind == kind
