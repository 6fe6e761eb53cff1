"""/app/flows: admins list, edit, enable, disable, diff and roll back flows in the browser, on both databases."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import select

from bot.ingest import NewContact, NewEvent, ingest_event
from bot.insights import export_responses, funnel
from bot.runtime import Runtime
from bot.sandbox import sandbox_reply
from storage.flow_versions import current_flow, flow_versions
from storage.insights import ExportFilters
from storage.metrics import Filters, metric_totals
from storage.models import Delivery, FollowUp, Response, ResponseTally, Role, SentTally
from storage.responses import list_responses
from storage.types import utcnow
from tests.helpers import DETRACTORS_TO_RECOVERY, flow_yaml, install_flow, tick
from tests.web_client import add_user, button_names, csrf_token, sign_in, submit, unnamed_controls

ADMIN, AGENT = "admin@example.com", "agent@example.com"
KEY = "nps-test"
EDIT = f"/app/flows/{KEY}"
SCRIPT = "<script>alert(1)</script>"


def text_of(client: FlaskClient, path: str = EDIT) -> str:
    found = re.search(r'<textarea id="yaml"[^>]*>(.*?)</textarea>', client.get(path).get_data(as_text=True), re.S)
    assert found, "no editor on the page"
    return html_lib.unescape(found[1])


@pytest.fixture
def admin(client: FlaskClient, rt: Runtime) -> FlaskClient:
    install_flow(rt, flow_yaml(KEY))
    password = add_user(rt, ADMIN, Role.ADMIN)
    sign_in(client, ADMIN, password)
    return client


def test_an_agent_is_refused_every_flow_page(client: FlaskClient, rt: Runtime) -> None:
    install_flow(rt, flow_yaml(KEY))
    sign_in(client, AGENT, add_user(rt, AGENT, Role.AGENT))
    for path in ("/app/flows", "/app/flows/new", EDIT, f"{EDIT}/versions"):
        page = client.get(path)
        assert page.status_code == 403 and "Admins only" in page.get_data(as_text=True), path
    token = csrf_token(client, "/app/cases")
    for path in (EDIT, f"{EDIT}/disable", f"{EDIT}/versions/1/rollback", "/app/flows/-/preview"):
        assert client.post(path, data={"csrf_token": token, "yaml": "x"}).status_code == 403, path
    assert 'href="/app/flows"' not in client.get("/app/cases").get_data(as_text=True)


def test_signed_out_is_sent_to_sign_in(client: FlaskClient) -> None:
    page = client.get("/app/flows")
    assert page.status_code == 303 and page.headers["Location"].startswith("/login")


def test_the_list_shows_state_channels_version_and_the_last_30_days(admin: FlaskClient, rt: Runtime) -> None:
    ingest_event(rt, NewEvent("order.delivered", "evt-1", NewContact("cust-1", {"phone": "+447911000001"})))
    ingest_event(rt, NewEvent("order.delivered", "evt-2", NewContact("cust-2", {"phone": "+447911000002"})))
    tick(rt)
    sandbox_reply(rt, "sms", "+447911000001", "9")
    page = admin.get("/app/flows")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Flows</h1>" in body
    assert '<a href="/app/flows" aria-current="page">Flows</a>' in body
    row = re.search(r'<tr>\s*<th scope="row"><a href="/app/flows/nps-test">.*?</tr>', body, re.S)
    assert row, body
    cells = re.findall(r"<td>(.*?)</td>", row[0], re.S)
    assert ">enabled<" in cells[0] and cells[1] == "sms, email" and cells[2].startswith("1 ")
    assert cells[3] == "2" and cells[4].startswith("1 ") and "(50%)" in cells[4]
    assert unnamed_controls(body) == []


def test_saving_makes_a_new_version_and_shows_it(admin: FlaskClient, rt: Runtime) -> None:
    text = text_of(admin).replace("name: Test flow nps-test", "name: Renamed flow")
    saved = submit(admin, EDIT, EDIT, {"yaml": text, "action": "save"})
    assert saved.status_code == 303 and saved.headers["Location"] == EDIT
    page = admin.get(EDIT).get_data(as_text=True)
    assert "Saved nps-test as version 2." in page and "Version 2," in page
    assert "name: Renamed flow" in text_of(admin)
    with rt.session() as session:
        assert [f.version for f in flow_versions(session, KEY)] == [2, 1]
    again = submit(admin, EDIT, EDIT, {"yaml": text, "action": "save"})
    shown = admin.get(again.headers["Location"]).get_data(as_text=True)
    assert "Nothing changed: nps-test stays at version 2." in shown


def test_a_broken_flow_is_shown_again_with_each_problem_at_its_line(admin: FlaskClient, rt: Runtime) -> None:
    text = text_of(admin)
    lines = text.splitlines()
    kind_line = next(n for n, row in enumerate(lines, 1) if row.strip().startswith("kind:"))
    broken = text.replace("kind: nps", "kind: nps3").replace("delay: 0s", f"delay: 0s\nnote: {SCRIPT}")
    page = submit(admin, EDIT, EDIT, {"yaml": broken, "action": "save"})
    body = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "The flow was not saved: 2 problems" in body
    assert (f'<a href="#yaml" data-line="{kind_line + 1}" class="problem-line">Line {kind_line + 1}</a>, '
            f"<code>question.kind</code>: must be one of nps, csat, ces, thumbs") in body
    assert '<code>note</code>: unknown field' in body
    assert SCRIPT not in body and "note: &lt;script&gt;alert(1)&lt;/script&gt;" in body  # in the textarea, escaped
    assert 'aria-invalid="true"' in body
    with rt.session() as session:
        assert current_flow(session, KEY).version == 1


def test_yaml_syntax_errors_and_a_changed_key_are_named(admin: FlaskClient) -> None:
    page = submit(admin, EDIT, EDIT, {"yaml": "key: nps-test\nname: [unclosed\n", "action": "save"})
    assert page.status_code == 422 and "YAML syntax error" in page.get_data(as_text=True)
    other = text_of(admin).replace(f"key: {KEY}", "key: another")
    page = submit(admin, EDIT, EDIT, {"yaml": other, "action": "save"})
    assert page.status_code == 422
    assert "<code>key</code>: must stay &#39;nps-test&#39;; to make another flow use New flow" in page.get_data(
        as_text=True)


def test_a_new_flow_is_created_and_may_not_take_a_used_key(admin: FlaskClient, rt: Runtime) -> None:
    assert admin.get("/app/flows/new").status_code == 200
    text = text_of(admin, "/app/flows/new").replace("key: my-flow", "key: fresh").replace(
        "name: My new flow", f"name: {SCRIPT}")
    made = submit(admin, "/app/flows/new", "/app/flows/new", {"yaml": text, "action": "save"})
    assert made.status_code == 303 and made.headers["Location"] == "/app/flows/fresh"
    listing = admin.get("/app/flows").get_data(as_text=True)
    assert SCRIPT not in listing and "&lt;script&gt;alert(1)&lt;/script&gt;" in listing
    taken = submit(admin, "/app/flows/new", "/app/flows/new", {"yaml": flow_yaml(KEY), "action": "save"})
    assert taken.status_code == 422
    assert "is the key of an existing flow; choose another" in taken.get_data(as_text=True)
    with rt.session() as session:
        assert current_flow(session, "fresh").enabled is False


def test_disable_and_enable_are_versions_too(admin: FlaskClient, rt: Runtime) -> None:
    assert button_names(admin.get(EDIT).get_data(as_text=True))[1:3] == ["Disable", "Preview"]
    off = submit(admin, EDIT, f"{EDIT}/disable", {})
    assert off.status_code == 303
    assert "nps-test is disabled (version 2)." in admin.get(EDIT).get_data(as_text=True)
    with rt.session() as session:
        assert current_flow(session, KEY).enabled is False
    submit(admin, EDIT, f"{EDIT}/enable", {})
    with rt.session() as session:
        flow = current_flow(session, KEY)
        assert flow.enabled is True and flow.version == 3


def test_posts_without_the_csrf_token_are_refused(admin: FlaskClient, rt: Runtime) -> None:
    for path in (EDIT, f"{EDIT}/disable", f"{EDIT}/versions/1/rollback", "/app/flows/new", "/app/flows/-/preview"):
        page = admin.post(path, data={"yaml": flow_yaml(KEY), "action": "save"})
        assert page.status_code == 400 and "This form has expired" in page.get_data(as_text=True), path
    with rt.session() as session:
        assert current_flow(session, KEY).version == 1


def test_history_shows_each_change_and_rolls_back_as_a_new_version(admin: FlaskClient, rt: Runtime) -> None:
    text = text_of(admin)
    submit(admin, EDIT, EDIT, {"yaml": text.replace("Reply 0-10.", f"Reply 0-10. {SCRIPT}"), "action": "save"})
    page = admin.get(f"{EDIT}/versions")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "What version 2 changed" in body
    assert '<span class="diff-removed"><span class="visually-hidden">removed: </span>-    en: Hi' in body
    assert "Reply 0-10. &lt;script&gt;alert(1)&lt;/script&gt;</span>" in body and SCRIPT not in body
    assert '<span class="diff-added"><span class="visually-hidden">added: </span>+    en: Hi' in body
    first = admin.get(f"{EDIT}/versions?version=1").get_data(as_text=True)
    assert "What version 1 changed" in first and '<span class="diff-added"><span class="visually-hidden">added: ' \
        '</span>+key: nps-test</span>' in first
    assert button_names(body)[1:] == ["Roll back to version 1"]

    back = submit(admin, f"{EDIT}/versions", f"{EDIT}/versions/1/rollback", {})
    assert back.status_code == 303
    assert "Rolled nps-test back to version 1: it is now version 3." in admin.get(
        back.headers["Location"]).get_data(as_text=True)
    with rt.session() as session:
        current = current_flow(session, KEY)
        assert current.version == 3 and current.definition == flow_versions(session, KEY)[-1].definition
    assert SCRIPT not in text_of(admin)
    assert admin.get(f"{EDIT}/versions/9/rollback").status_code == 405
    assert submit(admin, f"{EDIT}/versions", f"{EDIT}/versions/9/rollback", {}).status_code == 404


def test_an_unknown_flow_is_a_404_page(admin: FlaskClient) -> None:
    for path in ("/app/flows/nope", "/app/flows/nope/versions"):
        page = admin.get(path)
        assert page.status_code == 404 and "No such flow" in page.get_data(as_text=True)
    assert submit(admin, EDIT, "/app/flows/nope/disable", {}).status_code == 404


def test_every_control_of_the_editor_is_named(admin: FlaskClient) -> None:
    body = admin.get(EDIT).get_data(as_text=True)
    assert unnamed_controls(body) == []
    assert '<label for="yaml">Flow (YAML)</label>' in body
    assert 'src="/static/app/flow_editor.js"' in body



def figures(rt: Runtime) -> tuple:
    """What every report reads: /metrics' totals (tallied days and counted edges), the funnel, the tallies,
    the responses the API lists, the cases and the responses' CSV export."""
    now = utcnow()
    with rt.session() as session:
        totals = (metric_totals(session, Filters()), metric_totals(session, Filters(since=now - timedelta(hours=1),
                                                                                    until=now + timedelta(hours=1))))
        tallies = (session.exec(select(sa.func.count()).select_from(ResponseTally)).one(),
                   session.exec(select(sa.func.count()).select_from(SentTally)).one())
        listed = len(list_responses(session))
        cases = session.exec(select(sa.func.count()).select_from(FollowUp)).one()
    exported = "".join(export_responses(rt, ExportFilters()))
    return totals, funnel(rt), funnel(rt, by="flow"), tallies, listed, cases, exported


def test_send_me_a_test_arrives_in_the_sandbox_is_answered_there_and_counts_nowhere(
        admin: FlaskClient, rt: Runtime) -> None:
    install_flow(rt, flow_yaml(KEY, extra=DETRACTORS_TO_RECOVERY).replace("trigger:", "throttle: 30d\ntrigger:"))
    ingest_event(rt, NewEvent("order.delivered", "evt-1", NewContact("cust-1", {"phone": "+447911000001"})))
    tick(rt)
    sandbox_reply(rt, "sms", "+447911000001", "2")
    before = figures(rt)
    body = admin.get(EDIT).get_data(as_text=True)
    assert '<label for="test-address">Your address on that channel</label>' in body
    assert '<option value="sms" selected>sms (sandbox)</option>' in body

    for attempt in range(2):  # a second test is not held back by the flow's throttle
        sent = submit(admin, EDIT, f"{EDIT}/test", {"channel": "sms", "address": "+447911123999"})
        assert sent.status_code == 303 and sent.headers["Location"] == f"{EDIT}?tested=sms#send-test"
        assert tick(rt).sent == 1, attempt
    page = admin.get(f"{EDIT}?tested=sms").get_data(as_text=True)
    assert "A test of version 2 is on its way by sms." in page
    assert '<a href="/sandbox">answer it in the sandbox</a>' in page

    thread = admin.get("/sandbox/messages?channel=sms&address=%2B447911123999").get_json()["items"]
    assert [m["kind"] for m in thread] == ["question", "question"]
    assert "How likely are you to recommend us?" in thread[-1]["text"]
    answered = admin.post("/sandbox/reply", json={"channel": "sms", "address": "+447911123999", "text": "1"})
    assert answered.status_code == 200 and answered.get_json()["intent"] == "answer"
    admin.post("/sandbox/reply", json={"channel": "sms", "address": "+447911123999", "text": "Too slow"})
    with rt.session() as session:
        [response] = session.exec(select(Response).where(Response.is_test == sa.true())).all()
        assert response.score == 1 and response.comment == "Too slow"
        assert all(d.is_test for d in session.exec(select(Delivery).where(Delivery.contact_id == response.contact_id)))
    assert figures(rt) == before


def test_a_test_needs_a_running_channel_and_a_valid_address(admin: FlaskClient, rt: Runtime) -> None:
    bad = submit(admin, EDIT, f"{EDIT}/test", {"channel": "sms", "address": f"not a phone {SCRIPT}"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'aria-invalid="true" aria-describedby="test-error"' in body
    assert "Address " in body and SCRIPT not in body
    web = submit(admin, EDIT, f"{EDIT}/test", {"channel": "web", "address": "x"})
    assert web.status_code == 422 and "a test goes by one of" in web.get_data(as_text=True)
    missing = submit(admin, EDIT, "/app/flows/nope/test", {"channel": "sms", "address": "+447911123999"})
    assert missing.status_code == 404
    with rt.session() as session:
        assert session.exec(select(sa.func.count()).select_from(Delivery)).one() == 0


def test_a_flow_keyed_preview_has_its_own_pages(admin: FlaskClient, rt: Runtime) -> None:
    install_flow(rt, flow_yaml("preview"))
    text = text_of(admin, "/app/flows/preview").replace("name: Test flow preview", "name: Renamed")
    saved = submit(admin, "/app/flows/preview", "/app/flows/preview", {"yaml": text, "action": "save"})
    assert saved.status_code == 303 and saved.headers["Location"] == "/app/flows/preview"
    with rt.session() as session:
        assert current_flow(session, "preview").name == "Renamed"
