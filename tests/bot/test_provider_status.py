"""Provider status reports: a report that beats the send's commit is held, then applied, never lost."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlmodel import select

from bot.provider_status import apply_status, retry_held_statuses
from bot.runtime import Runtime
from channels.base import DeliveryState, StatusReport
from storage.models import HeldStatus, Message
from storage.types import utcnow
from tests.helpers import event, flow_yaml, install_flow, tick


def test_a_report_for_a_message_not_stored_yet_is_held_then_applied(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = client.post("/api/v1/events", json=event(), headers=auth).get_json()["deliveries"]
    report = StatusReport("sms", "SM-early", DeliveryState.DELIVERED, "delivered")
    apply_status(rt, report)
    with rt.session() as session:
        assert len(session.exec(select(HeldStatus)).all()) == 1

    tick(rt)  # the send commits; the sandbox gave it another id, so the report still waits
    with rt.session() as session:
        question = session.exec(select(Message).where(Message.kind == "question")).one()
        question.provider_message_id = "SM-early"  # as a real provider's id would be
        session.add(question)
    assert retry_held_statuses(rt, utcnow()) == 1

    shown = client.get(f"/api/v1/deliveries/{planned['id']}", headers=auth).get_json()
    assert shown["status"] == "delivered"
    with rt.session() as session:
        assert session.exec(select(HeldStatus)).all() == []
