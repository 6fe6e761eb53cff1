"""/app/queues: each queue's cases now and how it closed the loop, with "too few" where nothing is measured."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient

from bot.runtime import Runtime
from storage.followups import ensure_queue
from storage.models import FollowUp, Role
from storage.types import utcnow
from tests.bot.test_rechecks import make_due, resolved_case, sms
from tests.bot.test_web_cases import cases, customer_answers
from tests.helpers import DETRACTORS_TO_RECOVERY, flow_yaml, install_flow, tick
from tests.web_client import add_user, sign_in, unnamed_controls

PAGE = "/app/queues"


def row(html: str, name: str) -> list[str]:
    """The queue's row as its cells' visible text."""
    found = re.search(rf'<tr>\s*<th scope="row"><a href="[^"]*">{name}</a>.*?</tr>', html, re.S)
    assert found, f"no row for {name}"
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found[0], re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


def signed_in(client: FlaskClient, rt: Runtime) -> FlaskClient:
    sign_in(client, "agent@example.com", add_user(rt, "agent@example.com", Role.AGENT))
    return client


def test_the_page_shows_counts_medians_and_sla_and_too_few_where_nothing_is_measured(
    client: FlaskClient, rt: Runtime
) -> None:
    install_flow(rt, flow_yaml(extra=DETRACTORS_TO_RECOVERY))
    for n in (1, 2, 3, 4):
        customer_answers(rt, n, "1")
    now = utcnow()
    # Times to first reply 1h and 2h (median 1.5h); to resolution 1h, 3h and 10h (median 3h), one of them late;
    # the fourth case is open and overdue.
    times = [(timedelta(hours=1), timedelta(hours=1)), (timedelta(hours=2), timedelta(hours=3)),
             (None, timedelta(hours=10)), (None, None)]
    ids = [case.id for case in cases(rt)]
    with rt.session() as session:
        ensure_queue(session, "billing")
        for case_id, (first, done) in zip(ids, times, strict=True):
            case = session.get(FollowUp, case_id)
            assert case is not None
            case.created_at = now - timedelta(hours=12)
            case.due_at = case.created_at + timedelta(hours=4)
            case.first_reply_at = case.created_at + first if first else None
            if done:
                case.status, case.resolved_at = "resolved", case.created_at + done
            session.add(case)

    html = signed_in(client, rt).get(PAGE).get_data(as_text=True)
    assert '<a href="/app/queues" aria-current="page">Queues</a>' in html and "<h1>Queues</h1>" in html
    assert row(html, "Recovery") == [
        "Recovery SLA 24 h", "1", "0", "1", "1 h 30 min 2 of 4 cases replied to", "3 h 3 of 4 cases resolved",
        "50% 2 of 4 in time", "off no \"did we fix it?\" survey"]
    assert row(html, "Billing") == [
        "Billing SLA 24 h", "0", "0", "0", "too few 0 of 0 cases replied to", "too few 0 of 0 cases resolved",
        "too few 0 of 0 in time", "off no \"did we fix it?\" survey"]
    assert unnamed_controls(html) == []
    inbox = client.get("/app/cases").get_data(as_text=True)
    assert '<a href="/app/queues">How each queue closes the loop</a>' in inbox


def test_the_recovery_rate_counts_the_did_we_fix_it_answers(client: FlaskClient, rt: Runtime, auth: dict) -> None:
    case_id = resolved_case(rt, client, auth)
    page = signed_in(client, rt)
    assert row(page.get(PAGE).get_data(as_text=True), "Recovery")[-1] == "too few 0 of 0 answers not unhappy"
    make_due(rt, case_id)
    tick(rt)
    sms(client, auth, "8")
    assert row(page.get(PAGE).get_data(as_text=True), "Recovery")[-1] == "100% 1 of 1 answers not unhappy"


def test_signed_out_the_page_asks_to_sign_in(client: FlaskClient) -> None:
    answer = client.get(PAGE)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login")
