"""The insights digest: one email per period to the enabled admins over real SMTP, with the figures the insights
services give, and names escaped in its HTML part."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlmodel import select

from bot.insights import score_summary
from bot.insights_digest import send_digest
from bot.runtime import Runtime
from bot.users import create_user
from storage.apikeys import create_api_key
from storage.followups import ensure_queue
from storage.models import FollowUp, Response, Role
from tests.answers import store_answers, store_sends
from tests.conftest import make_settings
from tests.fakes.smtp import FakeSmtp
from tests.helpers import flow_yaml, install_flow

ADMIN, AGENT = "boss@shop.example.com", "agent@shop.example.com"
WEDNESDAY = date(2026, 4, 1)
WEEK = date(2026, 3, 23)  # the ISO week that ended last: Monday 23 to Sunday 29 March
NAME = "<b>Checkout</b> & co"


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


@pytest.fixture
def app(database_url: str, smtp: FakeSmtp, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    from bot.app import create_app

    monkeypatch.setenv("TOUCHPOINT_SMTP_URL", smtp.url)
    app = create_app(make_settings(database_url))
    yield app
    app.extensions["touchpoint"].close()


@pytest.fixture
def last_weeks(rt: Runtime) -> None:
    """Last week: 20 promoters, 10 passives, 10 detractors who commented (NPS 25 of 40 answers) and 10 sends
    never answered; the week before: 30 promoters, 10 passives (NPS 75). Three open cases, two overdue."""
    install_flow(rt, flow_yaml("checkout").replace("name: Test flow checkout", f'name: "{NAME}"'))
    create_user(rt, ADMIN, Role.ADMIN)
    create_user(rt, AGENT, Role.AGENT)
    store_answers(rt, WEEK - timedelta(days=3), [10] * 30 + [8] * 10, flow="checkout")
    store_answers(rt, WEEK, [10] * 20 + [8] * 10, flow="checkout")
    store_answers(rt, WEEK + timedelta(days=6), [2] * 10, flow="checkout", comment="Late <again>",
                  themes=["delivery"], sentiment="negative")
    store_sends(rt, WEEK + timedelta(days=1), 10, flow="checkout")
    now = datetime.now(UTC)
    with rt.session() as session:
        queue = ensure_queue(session, "recovery")
        queue.name = "Recovery & returns"
        session.flush()
        detractors = session.exec(select(Response).where(Response.score == 2).limit(4)).all()
        for response, due, status in zip(detractors, (-1, -2, 5, -3), ("open", "claimed", "open", "resolved"),
                                          strict=True):
            session.add(FollowUp(response_id=response.id, delivery_id=response.delivery_id, queue_id=queue.id,
                                 contact_id=response.contact_id, channel="sms", status=status,
                                 due_at=now + timedelta(hours=due)))


def body(mail: object, kind: str) -> str:
    return mail.get_body((kind,)).get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]


def test_the_weekly_digest_goes_once_to_the_admins_with_the_services_figures(
    rt: Runtime, app: Flask, smtp: FakeSmtp, last_weeks: None
) -> None:
    assert send_digest(rt, WEDNESDAY) == 1
    assert send_digest(rt, WEDNESDAY) == 0 and send_digest(rt, WEDNESDAY + timedelta(days=4)) == 0
    [mail] = smtp.to(ADMIN)
    assert smtp.to(AGENT) == []
    assert mail["Subject"] == "Insights: week of 2026-03-23 to 2026-03-29"
    s = score_summary(rt, "nps", WEEK, WEEK + timedelta(days=7), flow="checkout")
    c = s.current
    assert (c.n, c.value) == (40, 25.0) and s.change.delta == -50.0 and s.change.significant
    with rt.session() as session:
        auth = {"Authorization": f"Bearer {create_api_key(session, 'tests')}"}
    metrics = app.test_client().get("/api/v1/metrics", headers=auth, query_string={
        "flow": "checkout", "since": "2026-03-23T00:00:00Z", "until": "2026-03-30T00:00:00Z"}).get_json()
    assert (metrics["responses"], metrics["sent"], metrics["response_rate"], metrics["sentiment"]["negative"]) == (
        40, 50, 0.8, 10)
    text = body(mail, "plain")
    assert text.startswith(
        "Touchpoint insights, week of 2026-03-23 to 2026-03-29 (UTC)\n\n"
        f"{NAME} (checkout)\n"
        f"  NPS: {c.value:.1f} (95% interval {c.low:.1f} to {c.high:.1f}, 40 answers); "
        "-50.0 points from the week before (significant)\n"
        "  Answers: 40 of 50 sent (response rate 80.0%), 10 with a comment (comment rate 25.0%)\n"
        "  Top themes: delivery (10)\n\n"
        "Cases now\n"
        "  Recovery & returns (recovery): 3 open, 2 overdue\n\n"
        "Dashboard: http://touchpoint.test/app/insights")
    assert "Late" not in text  # no comment is quoted
    html = body(mail, "html")
    assert "&lt;b&gt;Checkout&lt;/b&gt; &amp; co" in html and "<b>Checkout" not in html
    assert "Recovery &amp; returns" in html

    assert send_digest(rt, date(2026, 4, 6)) == 1  # the next Monday: the week of 30 March
    assert [m["Subject"] for m in smtp.to(ADMIN)][1] == "Insights: week of 2026-03-30 to 2026-04-05"


def test_a_daily_digest_covers_yesterday_and_off_sends_none(rt: Runtime, smtp: FakeSmtp, last_weeks: None) -> None:
    rt.settings.insights_digest = "daily"
    assert send_digest(rt, WEEK + timedelta(days=7)) == 1 and send_digest(rt, WEEK + timedelta(days=7)) == 0
    [mail] = smtp.to(ADMIN)
    assert mail["Subject"] == "Insights: 2026-03-29"
    assert ("  NPS: -100.0 (95% interval -100.0 to -100.0, 10 answers); "
            "too few answers to compare with the day before\n") in body(mail, "plain")
    rt.settings.insights_digest = "off"
    assert send_digest(rt, WEEK + timedelta(days=8)) == 0 and len(smtp.to(ADMIN)) == 1
