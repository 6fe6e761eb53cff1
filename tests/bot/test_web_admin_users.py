"""/app/admin/users: an admin adds people, sees who can sign in, disables, enables and resets them."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from bot.runtime import Runtime
from storage.models import Role
from tests.web_client import add_user, alert, button_names, sign_in, submit, unnamed_controls, user_id

ADMIN, AGENT = "admin@example.com", "agent@example.com"
PAGE = "/app/admin/users"


@pytest.fixture
def admin(client: FlaskClient, rt: Runtime) -> FlaskClient:
    """The test client, signed in as an admin; an agent exists too."""
    password = add_user(rt, ADMIN, Role.ADMIN)
    add_user(rt, AGENT)
    sign_in(client, ADMIN, password)
    return client


def one_time_password(html: str) -> str:
    found = re.search(r'<code id="one-time-password">([^<]+)</code>', html)
    assert found, "no one-time password on the page"
    return found[1]


def row(html: str, email: str) -> str:
    found = re.search(rf"<tr>\s*<th scope=\"row\">{re.escape(email)}.*?</tr>", html, re.S)
    assert found, f"no row for {email}"
    return found[0]


def test_the_list_shows_each_users_role_and_state_and_every_control_is_named(admin: FlaskClient) -> None:
    page = admin.get(PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Users</h1>" in html
    assert '<a href="/app/admin/users" aria-current="page">Users</a>' in html
    assert "<td>agent</td>" in row(html, AGENT) and ">active</span>" in row(html, AGENT)
    assert '<span class="tag">you</span>' in row(html, ADMIN) and "<td>admin</td>" in row(html, ADMIN)
    assert "never" in row(html, AGENT)
    assert "<button" not in row(html, ADMIN)  # nothing to do to oneself here
    assert unnamed_controls(html) == []
    assert button_names(html) == ["Sign out", "Create user", f"Disable {AGENT}", f"Reset password of {AGENT}"]
    assert '<label for="email">Email</label>' in html and '<label for="role">Role</label>' in html


def test_a_new_users_one_time_password_is_shown_once_and_works(admin: FlaskClient) -> None:
    created = submit(admin, PAGE, PAGE, {"email": " New.Person@Example.com ", "role": "agent"})
    html = created.get_data(as_text=True)
    assert created.status_code == 201
    assert "<h2>One-time password for new.person@example.com</h2>" in html
    assert "http://touchpoint.test/login" in html
    password = one_time_password(html)
    assert ">one-time password</span>" in row(html, "new.person@example.com")
    assert password not in admin.get(PAGE).get_data(as_text=True)

    newcomer = admin.application.test_client()
    assert sign_in(newcomer, "new.person@example.com", password).headers["Location"] == "/app/account/password"


def test_a_bad_or_taken_email_is_named_and_nothing_is_created(admin: FlaskClient) -> None:
    bad = submit(admin, PAGE, PAGE, {"email": "not an email", "role": "agent"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert '<h2 id="error-summary-title">There is a problem</h2>' in html
    assert '<li><a href="#email">Email is not an email address</a></li>' in html
    assert 'value="not an email"' in html and 'aria-describedby="email-error"' in html

    taken = submit(admin, PAGE, PAGE, {"email": AGENT, "role": "admin"})
    assert taken.status_code == 409
    assert f"A user with the email {AGENT} already exists" in taken.get_data(as_text=True)

    role = submit(admin, PAGE, PAGE, {"email": "someone@example.com", "role": "owner"})
    assert role.status_code == 422 and "Role must be agent or admin" in role.get_data(as_text=True)
    assert "someone@example.com" not in admin.get(PAGE).get_data(as_text=True)


def test_disable_enable_and_reset_a_user(admin: FlaskClient, rt: Runtime) -> None:
    agent = admin.application.test_client()
    agent_password = add_user(rt, "second@example.com")
    sign_in(agent, "second@example.com", agent_password)
    second = user_id(rt, "second@example.com")

    disabled = submit(admin, PAGE, f"{PAGE}/{second}/disable", {})
    assert disabled.status_code == 303 and disabled.headers["Location"] == PAGE
    html = admin.get(PAGE).get_data(as_text=True)
    assert "second@example.com is disabled and signed out everywhere." in html
    assert ">disabled</span>" in row(html, "second@example.com")
    assert 'Enable<span class="visually-hidden"> second@example.com</span>' in row(html, "second@example.com")
    assert agent.get("/app/cases").status_code == 303

    assert submit(admin, PAGE, f"{PAGE}/{second}/enable", {}).status_code == 303
    assert "second@example.com can sign in again." in admin.get(PAGE).get_data(as_text=True)

    reset = submit(admin, PAGE, f"{PAGE}/{second}/reset-password", {})
    html = reset.get_data(as_text=True)
    assert reset.status_code == 200 and "<h2>One-time password for second@example.com</h2>" in html
    assert alert(sign_in(agent, "second@example.com", agent_password)) == "Wrong email or password."
    assert sign_in(agent, "second@example.com", one_time_password(html)).headers["Location"] == (
        "/app/account/password")


def test_an_admin_cannot_disable_or_reset_themselves_here(admin: FlaskClient, rt: Runtime) -> None:
    me = user_id(rt, ADMIN)
    for action in ("disable", "reset-password"):
        refused = submit(admin, PAGE, f"{PAGE}/{me}/{action}", {})
        assert refused.status_code == 409
        assert "<h1>Not on your own account</h1>" in refused.get_data(as_text=True)
    assert admin.get(PAGE).status_code == 200


def test_unknown_users_and_ids_are_404_pages(admin: FlaskClient) -> None:
    for user in ("999", str(2**40)):
        answer = submit(admin, PAGE, f"{PAGE}/{user}/disable", {})
        assert answer.status_code == 404 and "<h1>No such user</h1>" in answer.get_data(as_text=True)
