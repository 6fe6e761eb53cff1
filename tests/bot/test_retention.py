"""Retention: texts and provider payloads go after their days; scores, bands and the figures stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.retention import apply_retention
from bot.runtime import Runtime
from storage.apikeys import create_api_key
from storage.models import Activity, Message, Response
from storage.types import utcnow
from tests.conftest import make_settings
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick

PHONE = "+447911123456"


@pytest.fixture
def app(database_url: str) -> Flask:
    app = create_app(make_settings(database_url, retain_text_days=30, retain_raw_days=7))
    yield app
    app.extensions["touchpoint"].close()


def answered_and_resolved(rt: Runtime, client: FlaskClient) -> dict:
    with rt.session() as session:
        auth = {"Authorization": f"Bearer {create_api_key(session, 'tests')}"}
    install_flow(rt, flow_yaml(ask="never", extra=DETRACTORS_TO_RECOVERY))
    client.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    reply = {"channel": "sms", "from": PHONE, "text": "1 - the courier was rude"}
    assert client.post("/api/v1/sandbox/inbound", json=reply, headers=auth).status_code == 200
    [case] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    client.post(f"/api/v1/followups/{case['id']}/notes", json={"text": "called Ada back"}, headers=auth)
    client.post(f"/api/v1/followups/{case['id']}/resolve", json={"note": "refunded"}, headers=auth)
    with rt.session() as session:
        session.add(Message(direction="in", channel="sms", address=PHONE, text="9", raw={"Body": "9"},
                            processed_at=utcnow()))
        session.add(Message(direction="in", channel="sms", address=PHONE, text="8", raw={"Body": "8"}))
    return client.get("/api/v1/metrics", headers=auth).get_json()


def stored(rt: Runtime) -> tuple[list, list, list]:
    with rt.session() as session:
        responses = [(r.score, r.band, r.comment) for r in session.exec(select(Response))]
        rows = session.exec(select(Message).order_by(Message.id))
        messages = [(m.text, m.raw, m.direction == "out" or m.processed_at is not None) for m in rows]
        notes = [a.text for a in session.exec(select(Activity).where(Activity.kind.in_(["note", "resolved"])))]
    return responses, messages, notes


def test_payloads_go_after_their_days_and_texts_after_theirs(app: Flask) -> None:
    rt: Runtime = app.extensions["touchpoint"]
    client = app.test_client()
    figures = answered_and_resolved(rt, client)
    with rt.session() as session:
        auth = {"Authorization": f"Bearer {create_api_key(session, 'after')}"}

    first = apply_retention(rt, utcnow() + timedelta(days=10))
    responses, messages, notes = stored(rt)
    assert first.texts == 0 and first.payloads >= 1
    assert responses == [(1, "detractor", "the courier was rude")]
    assert all(raw is None for _, raw, done in messages if done)
    assert ("8", {"Body": "8"}, False) in messages  # unprocessed: still the worker's to retry
    assert "1 - the courier was rude" in [text for text, _, _ in messages]
    assert sorted(notes) == ["called Ada back", "refunded"]

    later = apply_retention(rt, utcnow() + timedelta(days=40))
    responses, messages, notes = stored(rt)
    assert later.texts > 0
    assert responses == [(1, "detractor", None)]
    assert all(text == "" and raw is None for text, raw, _ in messages)
    assert notes == [None, None]
    assert client.get("/api/v1/metrics", headers=auth).get_json() == figures
    assert apply_retention(rt, utcnow() + timedelta(days=40)) == type(later)(0, 0)


def test_without_retention_days_nothing_is_cleared(database_url: str) -> None:
    app = create_app(make_settings(database_url, retain_text_days=None, retain_raw_days=None))
    rt: Runtime = app.extensions["touchpoint"]
    answered_and_resolved(rt, app.test_client())
    before = stored(rt)
    assert apply_retention(rt, utcnow() + timedelta(days=3650)) == type(apply_retention(rt, utcnow()))(0, 0)
    assert stored(rt) == before
    rt.close()


def test_retention_days_must_be_positive(database_url: str) -> None:
    with pytest.raises(ValueError, match="retain_text_days"):
        make_settings(database_url, retain_text_days=0)
