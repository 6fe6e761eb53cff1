"""/app/admin/api-keys: an admin creates a key (shown once), sees keys with scopes and last use, revokes one; a
revoked key is refused at once by every web process on the database."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from storage.models import ApiKey, AuditEntry, Role
from tests.web_client import add_user, button_names, sign_in, submit, unnamed_controls

ADMIN, AGENT = "admin@example.com", "agent@example.com"
PAGE = "/app/admin/api-keys"


@pytest.fixture
def admin(client: FlaskClient, rt: Runtime) -> FlaskClient:
    sign_in(client, ADMIN, add_user(rt, ADMIN, Role.ADMIN))
    return client


def new_key(html: str) -> str:
    found = re.search(r'<code id="new-api-key">([^<]+)</code>', html)
    assert found, "no key on the page"
    return found[1]


def test_a_new_key_is_shown_once_with_its_scopes_and_works(admin: FlaskClient, rt: Runtime) -> None:
    created = submit(admin, PAGE, PAGE, {"name": " <Shop> backend ", "scopes": ["read", "events:write"]})
    html = created.get_data(as_text=True)
    assert created.status_code == 201 and "The API key &lt;Shop&gt; backend" in html
    key = new_key(html)
    assert "events:write, read" in html and "never" in html
    assert key not in admin.get(PAGE).get_data(as_text=True)
    with admin.session_transaction() as session:
        assert key not in str(dict(session))  # the signed (not encrypted) cookie never carries it
    answer = admin.get("/api/v1/metrics", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    assert admin.get("/api/v1/apikeys", headers={"Authorization": f"Bearer {key}"}).status_code == 403
    listing = admin.get(PAGE).get_data(as_text=True)
    assert "UTC</time></td>\n      <td><span class=\"state state-active\">" in listing  # last used: a time
    assert unnamed_controls(listing) == []
    assert button_names(listing)[-1] == "Revoke <Shop> backend (#1)"


def test_name_and_scopes_are_checked_inline(admin: FlaskClient) -> None:
    empty = submit(admin, PAGE, PAGE, {"name": "  ", "scopes": []})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and '<li><a href="#scopes">Choose at least one scope</a></li>' in html
    unnamed = submit(admin, PAGE, PAGE, {"name": " ", "scopes": ["read"]})
    assert unnamed.status_code == 422 and "Name must not be empty" in unnamed.get_data(as_text=True)
    odd = submit(admin, PAGE, PAGE, {"name": "x", "scopes": ["root"]})
    assert odd.status_code == 422 and "Choose scopes from the list" in odd.get_data(as_text=True)
    assert admin.post(PAGE, data={"name": "x", "scopes": ["read"]}).status_code == 400  # no CSRF token
    assert "No keys yet." in admin.get(PAGE).get_data(as_text=True)


def test_a_revoked_key_is_refused_at_once_by_every_web_process(
        admin: FlaskClient, rt: Runtime, settings: Settings) -> None:
    key = new_key(submit(admin, PAGE, PAGE, {"name": "helpdesk", "scopes": ["cases"]}).get_data(as_text=True))
    other = create_app(settings)  # a second web process on the same database
    try:
        caller = other.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        assert caller.get("/api/v1/followups", headers=headers).status_code == 200
        with rt.session() as session:
            key_id = session.exec(select(ApiKey.id).where(ApiKey.name == "helpdesk")).one()
        revoked = submit(admin, PAGE, f"{PAGE}/{key_id}/revoke", {}, follow_redirects=True)
        assert "The API key helpdesk is revoked" in revoked.get_data(as_text=True)
        assert caller.get("/api/v1/followups", headers=headers).status_code == 401
        assert admin.get("/api/v1/followups", headers=headers).status_code == 401
    finally:
        other.extensions["touchpoint"].close()
    with rt.session() as session:
        audited = [(a.actor, a.object_key, a.action) for a in session.exec(
            select(AuditEntry).where(AuditEntry.kind == "api_key").order_by(AuditEntry.id)).all()]  # type: ignore[arg-type]
    assert audited == [(ADMIN, "helpdesk", "created"), (ADMIN, f"helpdesk (#{key_id})", "revoked")]
    assert submit(admin, PAGE, f"{PAGE}/999/revoke", {}).status_code == 404


def test_agents_get_403(client: FlaskClient, rt: Runtime) -> None:
    sign_in(client, AGENT, add_user(rt, AGENT))
    assert client.get(PAGE).status_code == 403
    assert submit(client, "/app/cases", PAGE, {"name": "x", "scopes": ["admin"]}).status_code == 403
