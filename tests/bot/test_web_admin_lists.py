"""/app/admin/root-causes and /app/admin/saved-replies: admins keep the casework lists on pages, agents cannot."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bot.case_admin import root_causes, saved_replies
from bot.runtime import Runtime
from storage.models import Role
from tests.web_client import add_user, button_names, csrf_token, sign_in, submit, unnamed_controls

ADMIN, AGENT = "admin@example.com", "agent@example.com"
CAUSES, REPLIES = "/app/admin/root-causes", "/app/admin/saved-replies"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def admin(client: FlaskClient, rt: Runtime) -> FlaskClient:
    sign_in(client, ADMIN, add_user(rt, ADMIN, Role.ADMIN))
    return client


def stored_causes(rt: Runtime) -> list[str]:
    with rt.session() as session:
        return root_causes(session)


def stored_replies(rt: Runtime) -> dict[str, str]:
    with rt.session() as session:
        return {reply.name: reply.text for reply in saved_replies(session)}


def test_an_agent_gets_403_on_both_pages_and_does_not_see_them_in_the_menu(client: FlaskClient,
                                                                           rt: Runtime) -> None:
    sign_in(client, AGENT, add_user(rt, AGENT))
    token = csrf_token(client, "/app/cases")
    for page in (CAUSES, REPLIES):
        assert client.get(page).status_code == 403
        assert client.post(page, data={"csrf_token": token, "name": "x", "text": "y"}).status_code == 403
    assert "Root causes" not in client.get("/app/cases").get_data(as_text=True)
    assert stored_causes(rt) == [] and stored_replies(rt) == {}


def test_a_post_without_the_csrf_token_is_refused(admin: FlaskClient, rt: Runtime) -> None:
    assert admin.post(CAUSES, data={"name": "Late delivery"}).status_code == 400
    assert admin.post(REPLIES, data={"name": "Sorry", "text": "Sorry!"}).status_code == 400
    assert stored_causes(rt) == [] and stored_replies(rt) == {}


def test_an_admin_adds_and_removes_root_causes(admin: FlaskClient, rt: Runtime) -> None:
    page = admin.get(CAUSES).get_data(as_text=True)
    assert '<a href="/app/admin/root-causes" aria-current="page">Root causes</a>' in page
    assert "The list is empty" in page
    added = submit(admin, CAUSES, CAUSES, {"name": "  Late delivery "})
    assert added.status_code == 303 and added.headers["Location"] == CAUSES
    submit(admin, CAUSES, CAUSES, {"name": SCRIPT})
    html = admin.get(CAUSES).get_data(as_text=True)
    assert "Root cause &lt;script&gt;alert(1)&lt;/script&gt; is added." in html
    assert SCRIPT not in html and "<th scope=\"row\">Late delivery</th>" in html
    assert unnamed_controls(html) == []
    assert button_names(html)[-2:] == [f"Remove {SCRIPT}", "Remove Late delivery"]
    assert stored_causes(rt) == [SCRIPT, "Late delivery"]

    removed = submit(admin, CAUSES, f"{CAUSES}/remove", {"name": "Late delivery"})
    assert removed.status_code == 303
    assert "Root cause Late delivery is off the list" in admin.get(CAUSES).get_data(as_text=True)
    assert stored_causes(rt) == [SCRIPT]


def test_a_bad_or_taken_root_cause_is_named_on_the_page(admin: FlaskClient, rt: Runtime) -> None:
    submit(admin, CAUSES, CAUSES, {"name": "Late delivery"})
    empty = submit(admin, CAUSES, CAUSES, {"name": "   "})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert '<li><a href="#name">Name must not be empty</a></li>' in html and 'aria-describedby="name-error"' in html
    taken = submit(admin, CAUSES, CAUSES, {"name": "LATE delivery"})
    assert taken.status_code == 409
    assert "Name LATE delivery is on the list already" in taken.get_data(as_text=True)
    long = submit(admin, CAUSES, CAUSES, {"name": "x" * 65})
    assert long.status_code == 422 and "Name at most 64 characters" in long.get_data(as_text=True)
    assert stored_causes(rt) == ["Late delivery"]


def test_an_admin_adds_edits_and_removes_a_saved_reply(admin: FlaskClient, rt: Runtime) -> None:
    added = submit(admin, REPLIES, REPLIES, {"name": "Apology", "text": "Sorry {{ contact.first_name }}."})
    assert added.status_code == 303
    html = admin.get(REPLIES).get_data(as_text=True)
    assert "Saved reply Apology is added." in html and "Sorry {{ contact.first_name }}.</textarea>" in html
    assert unnamed_controls(html) == []
    assert button_names(html)[-3:] == ["Add saved reply", "Save Apology", "Remove Apology"]
    (reply_id,) = _ids(admin)

    edited = submit(admin, REPLIES, f"{REPLIES}/{reply_id}", {"name": "Apology", "text": f"We are sorry. {SCRIPT}"})
    assert edited.status_code == 303
    html = admin.get(REPLIES).get_data(as_text=True)
    assert "Saved reply Apology is changed." in html
    assert SCRIPT not in html and "We are sorry. &lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in html
    assert stored_replies(rt) == {"Apology": f"We are sorry. {SCRIPT}"}

    assert submit(admin, REPLIES, f"{REPLIES}/remove", {"name": "Apology"}).status_code == 303
    assert "Saved reply Apology is removed." in admin.get(REPLIES).get_data(as_text=True)
    assert stored_replies(rt) == {}


def test_bad_saved_replies_are_named_with_what_was_typed_kept(admin: FlaskClient, rt: Runtime) -> None:
    unknown = submit(admin, REPLIES, REPLIES, {"name": "Hi", "text": "Hi {{ contact.frist_name }}"})
    html = unknown.get_data(as_text=True)
    assert unknown.status_code == 422
    assert '<li><a href="#text">Text: ' in html and "frist_name" in html
    assert 'value="Hi"' in html and "Hi {{ contact.frist_name }}</textarea>" in html

    empty = submit(admin, REPLIES, REPLIES, {"name": "", "text": ""})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422
    assert '<a href="#name">Name must not be empty</a>' in html and '<a href="#text">Text must not be empty</a>' in html

    submit(admin, REPLIES, REPLIES, {"name": "Hi", "text": "Hello"})
    taken = submit(admin, REPLIES, REPLIES, {"name": "hi", "text": "Other"})
    assert taken.status_code == 409 and "Name hi is taken" in taken.get_data(as_text=True)

    (reply_id,) = _ids(admin)
    bad_edit = submit(admin, REPLIES, f"{REPLIES}/{reply_id}", {"name": "Hi", "text": "   "})
    html = bad_edit.get_data(as_text=True)
    assert bad_edit.status_code == 422
    assert f'<a href="#text-{reply_id}">Text of Hi must not be empty</a>' in html
    assert f'aria-describedby="text-{reply_id}-error"' in html
    assert stored_replies(rt) == {"Hi": "Hello"}


def _ids(client: FlaskClient) -> list[int]:
    html = client.get(REPLIES).get_data(as_text=True)
    return [int(part.split('"')[0]) for part in html.split('action="/app/admin/saved-replies/')[1:]
            if part[0].isdigit()]
