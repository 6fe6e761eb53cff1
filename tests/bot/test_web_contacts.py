"""/app/contacts: an admin finds a customer, sees their surveys and consent, opts a channel back in where allowed,
exports everything held about them and erases them; the export and the figures are checked against the tables."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import SQLModel, select

from bot.runtime import Runtime
from storage.contacts import set_opt_out
from storage.models import AuditEntry, Contact, Role
from storage.types import utcnow
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick
from tests.web_client import add_user, sign_in, submit, unnamed_controls

ADMIN, AGENT = "admin@example.com", "agent@example.com"
PHONE, COMMENT = "+447911123456", "The <b>courier</b> threw it over the fence"


def customer(rt: Runtime, client: FlaskClient, auth: dict[str, str]) -> int:
    """Ada answered a detractor score with a comment on SMS (a case opened), then texted STOP; she also clicked
    the unsubscribe link of an email."""
    install_flow(rt, flow_yaml(extra=DETRACTORS_TO_RECOVERY))
    assert client.post("/api/v1/events", json=event(), headers=auth).status_code == 202
    tick(rt)
    for text in ("2", COMMENT, "STOP"):
        client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": text}, headers=auth)
    with rt.session() as session:
        contact = session.exec(select(Contact).where(Contact.external_id == "cust-1")).one()
        assert contact.id is not None
        set_opt_out(session, contact.id, "email", utcnow(), "email link")
        return contact.id


@pytest.fixture
def admin(client: FlaskClient, rt: Runtime) -> FlaskClient:
    sign_in(client, ADMIN, add_user(rt, ADMIN, Role.ADMIN))
    return client


def test_search_finds_by_id_name_phone_and_email_and_agents_get_403(
        admin: FlaskClient, rt: Runtime, auth: dict[str, str]) -> None:
    contact_id = customer(rt, admin, auth)
    for text in ("cust", "Ada", "+44 7911 123456", "ADA@example.com"):
        html = admin.get("/app/contacts", query_string={"q": text}).get_data(as_text=True)
        assert f'href="/app/contacts/{contact_id}">cust-1</a>' in html, text
    assert "No contact matches “&lt;i&gt;nobody”" in admin.get("/app/contacts?q=<i>nobody").get_data(as_text=True)
    long = admin.get("/app/contacts", query_string={"q": "x" * 400})
    assert long.status_code == 422 and "Search for at most 320 characters" in long.get_data(as_text=True)
    assert unnamed_controls(admin.get(f"/app/contacts/{contact_id}").get_data(as_text=True)) == []

    agent = admin.application.test_client()
    sign_in(agent, AGENT, add_user(rt, AGENT))
    for path in ("/app/contacts", f"/app/contacts/{contact_id}", f"/app/contacts/{contact_id}/erase"):
        assert agent.get(path).status_code == 403, path
    assert submit(agent, "/app/cases", f"/app/contacts/{contact_id}/export", {}).status_code == 403


def test_the_contact_page_shows_surveys_and_consent_with_its_source(
        admin: FlaskClient, rt: Runtime, auth: dict[str, str]) -> None:
    contact_id = customer(rt, admin, auth)
    html = admin.get(f"/app/contacts/{contact_id}").get_data(as_text=True)
    assert "NPS 2 (detractor)" in html and "The &lt;b&gt;courier&lt;/b&gt;" in html and "<b>courier" not in html
    assert ">Case 1</a>" in html
    assert "by replied with an opt-out word (STOP)" in html
    assert "The customer must text START to opt in again." in html
    assert "by the unsubscribe link" in html and "Opt in to email</button>" in html
    assert "Opt in to sms" not in html


def test_opting_in_needs_the_customers_request_and_never_follows_an_sms_stop(
        admin: FlaskClient, rt: Runtime, auth: dict[str, str]) -> None:
    contact_id = customer(rt, admin, auth)
    page = f"/app/contacts/{contact_id}"
    assert admin.post(f"{page}/consent/email/opt-in", data={"confirm": "yes"}).status_code == 400  # no CSRF token
    unconfirmed = submit(admin, page, f"{page}/consent/email/opt-in", {})
    assert unconfirmed.status_code == 422
    assert "Confirm that the customer asked to hear from us again" in unconfirmed.get_data(as_text=True)
    stop = submit(admin, page, f"{page}/consent/sms/opt-in", {"confirm": "yes"})
    assert stop.status_code == 409 and "The customer must text START to opt in to sms again" in stop.get_data(
        as_text=True)
    done = submit(admin, page, f"{page}/consent/email/opt-in", {"confirm": "yes"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "Opted back in to email." in html and "opted in again" in html and "by an admin" in html
    with rt.session() as session:
        audited = session.exec(select(AuditEntry).where(AuditEntry.kind == "consent")).all()
    assert [(a.actor, a.object_key, a.action, a.detail) for a in audited] == [
        ("customer", f"contact #{contact_id} sms", "opted_out", {"source": "reply", "was": None}),
        ("customer", f"contact #{contact_id} email", "opted_out", {"source": "email link", "was": None}),
        (ADMIN, f"contact #{contact_id} email", "opted_in", {"source": "admin", "was": "email link"})]


def _rows_referencing(rt: Runtime, contact_id: int) -> dict[str, set[Any]]:
    """Independently of the export: each table's rows that point at the contact, or at a row of the contact's
    events, surveys, answers, messages or cases."""
    tables = SQLModel.metadata.tables
    held: dict[str, set[Any]] = {"contact": {contact_id}}
    with rt.engine.connect() as conn:
        for _ in range(4):
            for table in tables.values():
                for fk in table.foreign_keys:
                    target = fk.column.table.name
                    if target in held and target != table.name and "id" in table.c:
                        ids = conn.execute(sa.select(table.c.id).where(fk.parent.in_(held[target]))).scalars()
                        held.setdefault(table.name, set()).update(ids)
    return {name: ids for name, ids in held.items() if ids}


def _export(admin: FlaskClient, contact_id: int) -> dict[str, Any]:
    response = submit(admin, f"/app/contacts/{contact_id}", f"/app/contacts/{contact_id}/export", {})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="contact-{contact_id}.json"'
    return json.loads(response.get_data(as_text=True))


def test_the_export_lists_every_row_held_and_erasure_empties_it_without_changing_the_figures(
        admin: FlaskClient, rt: Runtime, auth: dict[str, str]) -> None:
    contact_id = customer(rt, admin, auth)
    exported = _export(admin, contact_id)["tables"]
    held = _rows_referencing(rt, contact_id)
    assert {"event", "delivery", "statuschange", "message", "response", "followup", "activity",
            "contact_address", "channelconsent"} <= set(exported)
    for table, ids in held.items():
        assert {row["id"] for row in exported[table]} >= ids, table
    assert exported["contact"][0]["name"] == "Ada Lovelace"
    assert [(a["kind"], a["object_key"], a["action"]) for a in exported["audit_log"]] == [
        ("consent", f"contact #{contact_id} sms", "opted_out"),
        ("consent", f"contact #{contact_id} email", "opted_out")]
    assert COMMENT in json.dumps(exported, ensure_ascii=False)
    api = admin.get("/api/v1/contacts/cust-1/export", headers=auth).get_json()
    assert api["tables"].keys() == exported.keys()

    figures = admin.get("/api/v1/metrics", headers=auth).get_json()
    confirm = admin.get(f"/app/contacts/{contact_id}/erase").get_data(as_text=True)
    assert "Erase cust-1 now</button>" in confirm
    erased = submit(admin, f"/app/contacts/{contact_id}/erase", f"/app/contacts/{contact_id}/erase", {},
                    follow_redirects=True)
    assert "personal data is erased" in erased.get_data(as_text=True)
    after = json.dumps(_export(admin, contact_id), ensure_ascii=False)
    for personal in ("Ada", "Lovelace", PHONE, "ada@example.com", "cust-1", "courier", "STOP"):
        assert personal not in after, personal
    assert admin.get("/api/v1/metrics", headers=auth).get_json() == figures
    again = submit(admin, f"/app/contacts/{contact_id}", f"/app/contacts/{contact_id}/erase", {})
    assert again.status_code == 409
    with rt.session() as session:
        actions = [a.action for a in session.exec(select(AuditEntry).where(AuditEntry.kind == "contact")).all()]
    assert actions == ["exported", "exported", "erased", "exported"]
