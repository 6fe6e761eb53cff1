"""The flow editor's preview: the question as each channel shows it, for the text as typed, on both databases."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient

from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import Runtime
from storage.models import Role
from tests.bot.test_web_flows import ADMIN, AGENT, EDIT, KEY, SCRIPT, text_of
from tests.helpers import flow_yaml, install_flow
from tests.web_client import add_user, csrf_token, sign_in, submit

FLOW = flow_yaml(KEY, channels="[sms, email, slack, web, telegram]").replace(
    "How likely are you to recommend us? Reply 0-10.", "How was {{ event.product or 'it' }}? Reply 0-10.")


@pytest.fixture
def admin(client: FlaskClient, rt: Runtime) -> FlaskClient:
    install_flow(rt, FLOW)
    ingest_event(rt, NewEvent("signup", "evt-1", NewContact("cust-ada", {"name": "Ada Lovelace"})))
    sign_in(client, ADMIN, add_user(rt, ADMIN, Role.ADMIN))
    return client


def preview(client: FlaskClient, text: str, contact: str = "", properties: str = "") -> str:
    page = client.post("/app/flows/-/preview", data={"key": KEY, "yaml": text, "contact": contact,
                                                   "properties": properties},
                       headers={"X-CSRF-Token": csrf_token(client, EDIT)})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def section(body: str, channel: str) -> str:
    found = re.search(rf'<article class="channel-preview" id="preview-{channel}".*?</article>', body, re.S)
    assert found, f"no {channel} preview"
    return found[0]


def test_the_editor_shows_every_channel_for_a_sample_contact(admin: FlaskClient) -> None:
    body = admin.get(EDIT).get_data(as_text=True)
    sms = section(body, "sms")
    assert '<p class="bubble">Hi Sam! How was it? Reply 0-10.</p>' in sms
    assert "GSM-7, 31 characters,\n    <strong>1 segment</strong>" in sms
    email = section(body, "email")
    assert "<strong>Subject:</strong>" in email and '<iframe name="email-preview"' in email and " sandbox " in email
    slack = section(body, "slack")
    assert "<span>0</span>" in slack and "<span>10</span>" in slack and "&#34;type&#34;: &#34;actions&#34;" in slack
    assert "<span>0</span>" in section(body, "web") and "Hi Sam!" in section(body, "telegram")


def test_the_preview_follows_the_typed_text_contact_and_event(admin: FlaskClient) -> None:
    long_text = FLOW.replace("Reply 0-10.", "Reply 0-10. " + "x" * 140)
    body = preview(admin, long_text, "cust-ada", "product=the blue kettle")
    sms = section(body, "sms")
    assert "Hi Ada! How was the blue kettle? Reply 0-10. xxx" in sms
    assert "<strong>2 segments</strong>" in sms and "(153 a segment)" in sms
    unicode = preview(admin, FLOW.replace("Reply 0-10.", "Reply 0-10 😀"))
    assert "UCS-2" in section(unicode, "sms") and "(70 a segment)" in section(unicode, "sms")
    assert "For a sample contact, Sam Example: no contact has that external id." in preview(admin, FLOW, "nobody")
    assert "For a sample contact, Sam Example." in preview(admin, FLOW)
    assert "For <code>cust-ada</code>." in preview(admin, FLOW, "cust-ada")


def test_customer_text_in_the_preview_is_escaped(admin: FlaskClient) -> None:
    body = preview(admin, FLOW, "", f"product={SCRIPT}")
    assert SCRIPT not in body and "How was &lt;script&gt;alert(1)&lt;/script&gt;?" in body
    slack = section(body, "slack")
    assert json.loads(re.search(r'<pre class="blocks">(.*?)</pre>', slack, re.S)[1]  # noqa: RUF100
                      .replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
                      .replace("&#39;", "'"))[0]["text"]["text"].startswith("Hi Sam! How was <script>")


def test_a_broken_flow_or_properties_say_why_there_is_no_preview(admin: FlaskClient) -> None:
    assert "The preview shows once the flow has no problems:" in preview(admin, "key: [")
    assert "Event properties: line 1: expected key=value" in preview(admin, FLOW, "", "oops")
    broken = preview(admin, FLOW.replace("{{ event.product or 'it' }}", "{{ event.product | nosuchfilter }}"))
    assert "The preview shows once the flow has no problems:" in broken  # the loader checks templates
    assert ('<a href="#yaml" data-line="10">Line 10</a>, <code>question.text.en</code>: template error: '
            "no filter named &#39;nosuchfilter&#39;") in broken


def test_the_preview_button_works_without_scripts(admin: FlaskClient) -> None:
    text = text_of(admin).replace("Reply 0-10.", "Reply 0-10. " + "y" * 150)
    page = submit(admin, EDIT, EDIT, {"yaml": text, "action": "preview", "contact": "cust-ada", "properties": ""})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<strong>2 segments</strong>" in section(body, "sms")
    assert "y" * 150 in body and 'value="cust-ada"' in body


def test_the_email_is_its_own_document_with_a_strict_policy(admin: FlaskClient) -> None:
    page = admin.post("/app/flows/-/preview/email", data={"csrf_token": csrf_token(admin, EDIT), "key": KEY,
                                                        "yaml": FLOW, "contact": "", "properties": f"product={SCRIPT}"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy and "sandbox" in policy
    assert "script-src" not in policy and page.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "How was &lt;script&gt;alert(1)&lt;/script&gt;?" in body and SCRIPT not in body
    assert admin.get(EDIT).headers["X-Frame-Options"] == "DENY"  # the app's own pages are never framed


def test_an_agent_gets_no_preview(client: FlaskClient, rt: Runtime) -> None:
    install_flow(rt, FLOW)
    sign_in(client, AGENT, add_user(rt, AGENT, Role.AGENT))
    token = csrf_token(client, "/app/cases")
    for path in ("/app/flows/-/preview", "/app/flows/-/preview/email"):
        assert client.post(path, data={"yaml": FLOW}, headers={"X-CSRF-Token": token}).status_code == 403
