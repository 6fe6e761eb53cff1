"""/app/cases: the inbox and the case page, driven as a browser would, on both databases."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.case_admin import add_root_cause, save_reply
from bot.followups import saved_replies_for_case
from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import Runtime
from bot.sandbox import sandbox_reply
from bot.settings import Settings
from storage.contacts import set_opt_out
from storage.models import Delivery, FollowUp, Message, Response, Role, TaggingCorrection
from storage.types import utcnow
from tests.bot.test_rechecks import make_due, resolved_case, sms
from tests.bot.test_reply_channels import case_on
from tests.helpers import DETRACTORS_TO_RECOVERY, flow_yaml, install_flow, tick
from tests.web_client import add_user, alert, button_names, csrf_token, sign_in, submit, unnamed_controls

AGENT, TEAMMATE = "agent@example.com", "kim@example.com"
INBOX = "/app/cases"
SCRIPT = "<script>alert(1)</script>"


def customer_answers(rt: Runtime, n: int, score: str = "1", comment: str | None = None) -> str:
    phone = f"+4479111{n:05d}"
    ingest_event(rt, NewEvent("order.delivered", f"evt-{n}",
                              NewContact(f"cust-{n}", {"name": f"Customer {n}", "phone": phone})))
    tick(rt)
    sandbox_reply(rt, "sms", phone, score)
    if comment is not None:
        sandbox_reply(rt, "sms", phone, comment)
    return phone


def cases(rt: Runtime) -> list[FollowUp]:
    with rt.session() as session:
        return list(session.exec(select(FollowUp).order_by(FollowUp.id)).all())


@pytest.fixture
def agent(client: FlaskClient, rt: Runtime) -> FlaskClient:
    """Signed in as an agent; a teammate exists; one detractor's case, with a comment that is a script."""
    install_flow(rt, flow_yaml(extra=DETRACTORS_TO_RECOVERY))
    customer_answers(rt, 1, "1", SCRIPT)
    password = add_user(rt, AGENT, Role.AGENT)
    add_user(rt, TEAMMATE, Role.AGENT)
    sign_in(client, AGENT, password)
    return client


def case_url(rt: Runtime) -> str:
    return f"{INBOX}/{cases(rt)[0].id}"


def test_the_inbox_lists_the_case_with_counts_and_the_comment_as_text(agent: FlaskClient, rt: Runtime) -> None:
    page = agent.get(INBOX)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Cases</h1>" in html
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f'<a href="{case_url(rt)}">Customer 1</a>' in html
    assert re.search(r"<dt>Open</dt><dd>1</dd>", html) and re.search(r"<dt>Overdue</dt><dd>0</dd>", html)
    assert ">high</span>" in html and "<td>unassigned</td>" in html and "<td>recovery</td>" in html
    assert unnamed_controls(html) == []
    for label in ("Queue", "Status", "Priority", "Assignee", "Flow", "Channel", "Band", "Sentiment", "Theme",
                  "Created from", "Created to"):
        assert f">{label}</label>" in html
    assert 'data-refresh="/app/cases?status=unresolved&amp;fragment=1"' in html

    fragment = agent.get(INBOX + "?fragment=1").get_data(as_text=True)
    assert fragment.lstrip().startswith("<table") and "<html" not in fragment and "Customer 1" in fragment


def test_filters_narrow_the_list_and_bad_ones_are_named(agent: FlaskClient, rt: Runtime) -> None:
    customer_answers(rt, 2, "3")
    both = agent.get(INBOX).get_data(as_text=True)
    assert "Customer 1" in both and "Customer 2" in both
    mine = agent.get(INBOX + "?assignee=me").get_data(as_text=True)
    assert "No cases match." in mine
    submit(agent, case_url(rt), case_url(rt) + "/claim", {})
    mine = agent.get(INBOX + "?assignee=me").get_data(as_text=True)
    assert "Customer 1" in mine and "Customer 2" not in mine
    unassigned = agent.get(INBOX + "?assignee=unassigned").get_data(as_text=True)
    assert "Customer 2" in unassigned and "Customer 1" not in unassigned
    assert "Customer 1" not in agent.get(INBOX + "?queue=other").get_data(as_text=True)
    assert "Customer 1" in agent.get(INBOX + "?band=detractor&channel=sms&priority=high").get_data(as_text=True)
    assert "No cases match." in agent.get(INBOX + "?from=2999-01-01").get_data(as_text=True)
    assert "Customer 2" in agent.get(INBOX + "?to=2999-01-01&status=").get_data(as_text=True)

    bad = agent.get(INBOX + "?band=grumpy&from=yesterday")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Band must be one of: detractor, passive, promoter" in html
    assert "Created from must be a date like 2026-03-31" in html


def test_the_list_pages_by_fifty_with_a_next_page_link(agent: FlaskClient, rt: Runtime) -> None:
    for n in range(2, 53):
        customer_answers(rt, n, "0")
    first = agent.get(INBOX).get_data(as_text=True)
    assert first.count('href="/app/cases/') == 50
    found = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first)
    assert found
    second = agent.get(found[1].replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('href="/app/cases/') == 2 and "Next page" not in second
    assert "data-refresh" not in second  # only the first page refreshes itself
    shown = set(re.findall(r'href="/app/cases/(\d+)"', first + second))
    assert shown == {str(c.id) for c in cases(rt)}
    assert agent.get(INBOX + "?after=nonsense").status_code == 422


def test_the_case_page_shows_customer_answer_thread_and_named_actions(agent: FlaskClient, rt: Runtime) -> None:
    page = agent.get(case_url(rt))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<code>cust-1</code>" in html and "+447911100001" in html and "Customer 1" in html
    assert ">detractor</span>" in html and "Sorry about that. What went wrong?" in html  # the thread
    assert unnamed_controls(html) == []
    assert button_names(html) == ["Sign out", "Correct sentiment", "Correct themes", "Reply", "Add note", "Claim",
                                  "Assign", "Resolve"]
    assert '<label for="note">Note</label>' in html and '<label for="reply">Reply</label>' in html
    assert '<label for="assignee">Teammate</label>' in html and f'<option value="{TEAMMATE}">' in html
    assert "Root cause" not in html  # the admins' list is empty
    assert agent.get(INBOX + "/999999").status_code == 404


def test_claim_assign_note_resolve_and_reopen(agent: FlaskClient, rt: Runtime) -> None:
    url = case_url(rt)
    claimed = submit(agent, url, url + "/claim", {})
    assert claimed.status_code == 303 and claimed.headers["Location"] == url
    html = agent.get(url).get_data(as_text=True)
    assert "You have the case." in html and f"assigned to {AGENT}" in html
    assert "Claim" not in button_names(html)

    submit(agent, url, url + "/assign", {"assignee": TEAMMATE})
    assert cases(rt)[0].assignee == TEAMMATE
    assert f"The case is {TEAMMATE}&#39;s now." in agent.get(url).get_data(as_text=True)

    submit(agent, url, url + "/note", {"note": "called her, <b>refund</b> promised"})
    html = agent.get(url).get_data(as_text=True)
    assert "Your note is added." in html and "called her, &lt;b&gt;refund&lt;/b&gt; promised" in html
    empty = submit(agent, url, url + "/note", {"note": "  "})
    assert empty.status_code == 422 and alert(empty) == "Note is empty: write something first"

    with rt.session() as session:
        add_root_cause(session, "Late delivery")
    bad = submit(agent, url, url + "/resolve", {"root_cause": "Weather", "resolution_note": "refunded"})
    assert bad.status_code == 422
    assert "&#39;Weather&#39; is not a root cause on the list; one of: Late delivery" in bad.get_data(as_text=True)
    assert ">refunded</textarea>" in bad.get_data(as_text=True)  # what was typed is kept
    done = submit(agent, url, url + "/resolve", {"root_cause": "Late delivery", "resolution_note": "refunded"})
    assert done.status_code == 303 and cases(rt)[0].status == "resolved"
    html = agent.get(url).get_data(as_text=True)
    assert "The case is resolved." in html and "root cause: Late delivery" in html
    assert button_names(html) == ["Sign out", "Correct sentiment", "Correct themes", "Add note", "Reopen"]
    assert "Customer 1" not in agent.get(INBOX).get_data(as_text=True)  # off the open list

    again = submit(agent, url, url + "/claim", {})
    assert again.status_code == 409 and "is resolved; it cannot be claimed" in (alert(again) or "")
    submit(agent, url, url + "/reopen", {})
    assert cases(rt)[0].status == "claimed"
    assert "The case is open again." in agent.get(url).get_data(as_text=True)


def test_a_reply_reaches_the_customer_and_saved_replies_fill_the_box(agent: FlaskClient, rt: Runtime) -> None:
    url = case_url(rt)
    with rt.session() as session:
        save_reply(session, "sorry", "Hi {{ contact.first_name }}, sorry about the {{ score }}.")
    html = agent.get(url).get_data(as_text=True)
    assert 'data-text="Hi Customer, sorry about the 1."' in html
    assert '<label for="channel">Send on</label>' in html  # the customer's channels, the answered one first
    assert re.findall(r'<option value="(\w+)"[^>]*>\1 \(', html) == ["sms", "whatsapp"]
    assert button_names(html) == ["Sign out", "Correct sentiment", "Correct themes", "Use saved reply", "Reply",
                                  "Add note", "Claim", "Assign", "Resolve"]
    filled = submit(agent, url, url + "/reply", {"saved": "sorry", "use_saved": "1", "reply": ""})
    assert filled.status_code == 200 and ">Hi Customer, sorry about the 1.</textarea>" in filled.get_data(as_text=True)

    sent = submit(agent, url, url + "/reply", {"reply": "We are on it, <sorry>."})
    assert sent.status_code == 303
    with rt.session() as session:
        out = session.exec(select(Message).where(Message.kind == "agent")).all()
    assert [(m.channel, m.address, m.text) for m in out] == [("sms", "+447911100001", "We are on it, <sorry>.")]
    html = agent.get(url).get_data(as_text=True)
    assert "Your reply is sent on sms." in html and f"{AGENT} replied on sms" in html
    assert "We are on it, &lt;sorry&gt;." in html

    refused = submit(agent, url, url + "/reply", {"reply": "Hello again", "channel": "slack"})
    assert refused.status_code == 422
    assert alert(refused) == ("Cannot reply on slack: the customer has no address for slack; "
                              "reply on one of: sms, whatsapp")
    assert ">Hello again</textarea>" in refused.get_data(as_text=True)


def test_an_opted_out_customer_is_a_message_on_the_page(agent: FlaskClient, rt: Runtime) -> None:
    url = case_url(rt)
    contact_id = cases(rt)[0].contact_id
    with rt.session() as session:
        for channel in ("sms", "whatsapp"):
            set_opt_out(session, contact_id, channel, utcnow(), "test")
    html = agent.get(url).get_data(as_text=True)
    assert "No channel reaches this customer now" in html
    refused = submit(agent, url, url + "/reply", {"reply": "Sorry!", "channel": ""})
    assert refused.status_code == 409
    assert alert(refused) == "The customer opted out of sms; nothing was sent; no other channel reaches them now"


def test_every_action_refuses_a_post_without_the_csrf_token(agent: FlaskClient, rt: Runtime) -> None:
    url = case_url(rt)
    for action in ("claim", "assign", "note", "reply", "resolve", "reopen", "sentiment", "themes"):
        refused = agent.post(f"{url}/{action}", data={"note": "x", "reply": "x"})
        assert refused.status_code == 400 and "This form has expired" in refused.get_data(as_text=True)
    wrong = agent.post(url + "/claim", data={"csrf_token": csrf_token(agent, url) + "x"})
    assert wrong.status_code == 400
    assert cases(rt)[0].status == "open" and cases(rt)[0].assignee is None


def test_an_agent_corrects_the_sentiment_and_the_themes_in_one_click(agent: FlaskClient, rt: Runtime) -> None:
    """The same correction as the API's: the page shows the new tags, the correction is stored for the model."""
    url = case_url(rt)
    html = agent.get(url).get_data(as_text=True)
    assert "<summary>Tags wrong?</summary>" in html and '<label for="right_sentiment">Right sentiment</label>' in html
    assert "<legend>Themes the comment is about</legend>" in html and 'value="delivery"' in html

    done = submit(agent, url, url + "/sentiment", {"sentiment": "negative"})
    assert done.status_code == 303 and done.headers["Location"] == url
    html = agent.get(url).get_data(as_text=True)
    assert "The sentiment is now negative." in html and "<dd>negative</dd>" in html

    done = submit(agent, url, url + "/themes", {"theme": ["delivery", "price"]})
    assert done.status_code == 303
    html = agent.get(url).get_data(as_text=True)
    assert "The themes are now delivery, price." in html and "<dd>delivery, price</dd>" in html
    assert 'name="theme" value="price" checked' in html
    submit(agent, url, url + "/themes", {"theme": ["price"]})  # "delivery" unticked: removed
    assert "<dd>price</dd>" in agent.get(url).get_data(as_text=True)
    with rt.session() as session:
        stored = session.exec(select(Response).where(Response.id == cases(rt)[0].response_id)).one()
        corrections = session.exec(select(TaggingCorrection).order_by(TaggingCorrection.id)).all()
    assert (stored.sentiment, stored.themes) == ("negative", ["price"])
    assert [(c.sentiment, c.themes) for c in corrections] == [("negative", None), (None, ["delivery", "price"]),
                                                              (None, ["price"])]

    bad = submit(agent, url, url + "/sentiment", {"sentiment": "furious"})
    assert bad.status_code == 422 and alert(bad) == "Right sentiment: choose one of negative, neutral, positive"
    unknown = submit(agent, url, url + "/themes", {"theme": ["weather"]})
    assert unknown.status_code == 422 and "&#39;weather&#39; is not in the taxonomy" in unknown.get_data(as_text=True)
    assert unnamed_controls(agent.get(url).get_data(as_text=True)) == []


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    assert client.get(INBOX).headers["Location"] == "/login?next=/app/cases"
    assert client.get(INBOX + "/1").headers["Location"] == "/login?next=/app/cases/1"


def test_a_widget_case_offers_the_customers_other_channels_and_replies_on_one(client: FlaskClient,
                                                                               rt: Runtime) -> None:
    case = case_on(rt, "[web, email, sms]")
    sign_in(client, AGENT, add_user(rt, AGENT, Role.AGENT))
    url = f"{INBOX}/{case.id}"
    html = client.get(url).get_data(as_text=True)
    assert re.findall(r'<option value="(\w+)"[^>]*>\1 \(', html) == ["email", "sms", "whatsapp", "slack"]
    sent = submit(client, url, url + "/reply", {"reply": "Sorry, Ada: refunded.", "channel": "email"})
    assert sent.status_code == 303
    assert "Your reply is sent on email." in client.get(url).get_data(as_text=True)
    with rt.session() as session:
        out = session.exec(select(Message).where(Message.kind == "agent")).all()
    assert [(m.channel, m.address) for m in out] == [("email", "ada@example.com")]


def test_the_answer_to_did_we_fix_it_shows_on_the_case_page(client: FlaskClient, rt: Runtime, auth: dict) -> None:
    case_id = resolved_case(rt, client, auth)
    sign_in(client, AGENT, add_user(rt, AGENT))
    assert "Did we fix it?" not in client.get(f"{INBOX}/{case_id}").get_data(as_text=True)
    make_due(rt, case_id)
    tick(rt)
    sms(client, auth, "9")
    html = client.get(f"{INBOX}/{case_id}").get_data(as_text=True)
    assert re.search(r'<dt>Did we fix it\?</dt><dd>9 <span class="band band-promoter">promoter</span>, <time', html)
    assert "recheck answered (9 (promoter))" in html


def test_a_request_that_failed_after_reading_a_flow_leaves_its_cases_working(agent: FlaskClient, rt: Runtime,
                                                                            settings: Settings) -> None:
    """A process keeps the flow versions it has read; a rolled-back request that read one first must not spoil it
    for the requests after it."""
    case = cases(rt)[0]
    fresh = create_app(settings).extensions["touchpoint"]  # a process that has read no flow yet
    try:
        with pytest.raises(RuntimeError), fresh.session() as session:
            found = session.get(Delivery, case.delivery_id)
            assert found is not None
            flow_id = found.flow_id
            fresh.flow_version(session, flow_id)
            raise RuntimeError("the request fails after reading the flow")
        with fresh.session() as session:
            assert [reply.name for reply in saved_replies_for_case(fresh, session, case.id)] == []
            assert fresh.definition(fresh.flow_version(session, flow_id)).key == "nps-test"
    finally:
        fresh.close()
