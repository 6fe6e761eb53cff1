"""The daily digest: an agent switches it on for themselves and gets one email a day of the open cases they hold,
through a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.digest import send_digests
from bot.followups import claim_case, resolve_case
from bot.runtime import Runtime
from bot.users import list_users
from storage.models import FollowUp, Role
from storage.types import utcnow
from tests.bot.test_web_cases import cases, customer_answers
from tests.conftest import make_settings
from tests.fakes.smtp import FakeSmtp
from tests.helpers import DETRACTORS_TO_RECOVERY, flow_yaml, install_flow, tick
from tests.web_client import add_user, button_names, sign_in, submit, unnamed_controls

AGENT, OTHER = "agent@example.com", "kim@example.com"
ACCOUNT = "/app/account"


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


def smtp_app(database_url: str, smtp: FakeSmtp, monkeypatch: pytest.MonkeyPatch, hour: int) -> Flask:
    monkeypatch.setenv("TOUCHPOINT_SMTP_URL", smtp.url)
    return create_app(make_settings(database_url, sandbox="on", digest_hour=hour))


@pytest.fixture
def any_hour(database_url: str, smtp: FakeSmtp, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    app = smtp_app(database_url, smtp, monkeypatch, 0)
    yield app
    app.extensions["touchpoint"].close()


def digest_switch(client: FlaskClient, on: bool) -> None:
    answer = submit(client, ACCOUNT, f"{ACCOUNT}/digest", {"digest": "on"} if on else {})
    assert answer.status_code == 303 and answer.headers["Location"] == ACCOUNT


def agent_with_cases(app: Flask) -> tuple[FlaskClient, list[int]]:
    """An agent signed in, holding an overdue case and an open one; a resolved case of theirs and a teammate's
    case are not theirs to do."""
    rt: Runtime = app.extensions["touchpoint"]
    install_flow(rt, flow_yaml(extra=DETRACTORS_TO_RECOVERY))
    for n in (1, 2, 3, 4):
        customer_answers(rt, n, "1")
    ids = [case.id for case in cases(rt)]
    with rt.session() as session:
        for case_id, who in zip(ids, (AGENT, AGENT, AGENT, OTHER), strict=True):
            claim_case(session, case_id, who)
        resolve_case(session, ids[2], AGENT, "sorted")
        overdue = session.get(FollowUp, ids[0])
        assert overdue is not None
        overdue.due_at = utcnow() - timedelta(hours=2)
    client = app.test_client()
    sign_in(client, AGENT, add_user(rt, AGENT, Role.AGENT))
    add_user(rt, OTHER, Role.AGENT)
    return client, ids


def test_the_account_page_switches_the_digest_on_and_off(client: FlaskClient, rt: Runtime) -> None:
    sign_in(client, AGENT, add_user(rt, AGENT))
    html = client.get(ACCOUNT).get_data(as_text=True)
    assert "<h1>Your account</h1>" in html and '<a href="/app/account">Your account</a>' in html
    assert '<label for="digest">Email me my open and overdue cases every day</label>' in html
    assert "Sent from 07:00 UTC" in html and " checked" not in html
    assert unnamed_controls(html) == [] and button_names(html) == ["Sign out", "Save"]

    assert client.post(f"{ACCOUNT}/digest", data={"digest": "on"}).status_code == 400  # no CSRF token
    assert not next(a for a in list_users(rt) if a.email == AGENT).digest

    digest_switch(client, True)
    html = client.get(ACCOUNT).get_data(as_text=True)
    assert "You will get the daily email of your open cases." in html and 'value="on" checked' in html
    assert next(a for a in list_users(rt) if a.email == AGENT).digest
    digest_switch(client, False)
    assert "The daily email is off." in client.get(ACCOUNT).get_data(as_text=True)
    assert not next(a for a in list_users(rt) if a.email == AGENT).digest


def test_the_digest_arrives_once_with_the_agents_open_cases(any_hour: Flask, smtp: FakeSmtp) -> None:
    rt: Runtime = any_hour.extensions["touchpoint"]
    client, ids = agent_with_cases(any_hour)
    digest_switch(client, True)
    assert tick(rt).digests == 1
    [mail] = smtp.to(AGENT)
    assert mail["Subject"] == "Your cases today: 2 open, 1 overdue"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    overdue, _, rest = body.partition("Open (1)")
    assert "Overdue (1)" in overdue and f"- Case #{ids[0]} in recovery, high priority, was due " in overdue
    assert f"http://touchpoint.test/app/cases/{ids[0]}\n" in overdue
    assert f"- Case #{ids[1]} in recovery, high priority, due " in rest
    assert f"http://touchpoint.test/app/cases/{ids[1]}\n" in rest
    for not_listed in ids[2:]:
        assert f"/app/cases/{not_listed}\n" not in body
    assert "Customer" not in body  # no customer's name leaves in a digest
    assert tick(rt).digests == 0 and len(smtp.to(AGENT)) == 1
    assert smtp.to(OTHER) == []  # did not ask for it


def test_switched_off_no_digest_is_sent(any_hour: Flask, smtp: FakeSmtp) -> None:
    rt: Runtime = any_hour.extensions["touchpoint"]
    client, _ = agent_with_cases(any_hour)
    digest_switch(client, True)
    digest_switch(client, False)
    assert tick(rt).digests == 0 and smtp.to(AGENT) == []


def test_the_digest_waits_for_its_hour_and_comes_again_the_next_day(
    database_url: str, smtp: FakeSmtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = smtp_app(database_url, smtp, monkeypatch, 7)
    rt: Runtime = app.extensions["touchpoint"]
    try:
        client, _ = agent_with_cases(app)
        digest_switch(client, True)
        today = utcnow().date()
        at = lambda day, hour: datetime(day.year, day.month, day.day, hour, tzinfo=UTC)  # noqa: E731
        assert send_digests(rt, at(today, 6)) == 0 and smtp.to(AGENT) == []
        assert send_digests(rt, at(today, 7)) == 1
        assert send_digests(rt, at(today, 23)) == 0
        assert send_digests(rt, at(today + timedelta(days=1), 9)) == 1
        assert len(smtp.to(AGENT)) == 2
    finally:
        rt.close()
