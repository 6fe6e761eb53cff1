"""Many worker processes on PostgreSQL: every due delivery is sent exactly once, none is left behind."""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from flows.loader import load_flow
from storage.db import make_engine
from storage.models import Contact, ContactAddress, Delivery, DeliveryStatus, Event, Flow, Message
from storage.types import utcnow
from tests.e2e.processes import Server, server_env, touchpoint_command
from tests.helpers import flow_yaml

DELIVERIES = 2000
WORKERS = 4


def seed_due_deliveries(url: str, count: int) -> None:
    """Stored state as if `count` events had been ingested a while ago: all due now."""
    engine = make_engine(url)
    definition = load_flow(flow_yaml("load"), "load.yaml").model_dump(mode="json")
    now = utcnow()
    with Session(engine) as session:
        flow = Flow(key="load", name="load", definition=definition)
        session.add(flow)
        contacts = [
            Contact(external_id=f"c{i}", address_rows=[ContactAddress(kind="phone", address=f"+4479110{i:05d}")])
            for i in range(count)
        ]
        session.add_all(contacts)
        session.flush()
        events = [
            Event(type="order.delivered", contact_id=c.id, idempotency_key=f"k{c.id}", properties={}) for c in contacts
        ]
        session.add_all(events)
        session.flush()
        session.add_all(
            Delivery(
                event_id=e.id,
                flow_id=flow.id,
                flow_key="load",
                contact_id=e.contact_id,
                channel="sms",
                due_at=now,
                token=secrets.token_urlsafe(12),
            )
            for e in events
        )
        session.commit()
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_four_workers_send_two_thousand_deliveries_exactly_once(database_url: str, tmp_path: Path) -> None:
    env = server_env(database_url, TOUCHPOINT_WORKER_BATCH="50")
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(WORKERS)]  # noqa: SIM115
    workers = [
        subprocess.Popen([*touchpoint_command(), "worker"], env=env, cwd=tmp_path, stdout=log, stderr=log)
        for log in logs
    ]
    engine = make_engine(database_url)
    waiter = Server("", "", env, tmp_path)

    def all_sent() -> bool:
        with Session(engine) as session:
            waiting = session.exec(
                select(sa.func.count())
                .select_from(Delivery)
                .where(Delivery.status.in_([DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING]))
            ).one()
        return waiting == 0

    try:
        # The work appears once every worker is ticking, so that none can take it all before the others start.
        waiter.wait_for(lambda: all("worker started" in (tmp_path / f"worker{i}.log").read_text()
                                    for i in range(WORKERS)), timeout=60, what="every worker to start")
        seed_due_deliveries(database_url, DELIVERIES)
        waiter.wait_for(all_sent, timeout=180, what="every delivery to be sent")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)
        for log in logs:
            log.close()

    with Session(engine) as session:
        statuses = session.exec(select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all()
        sent_messages = session.exec(
            select(Message.delivery_id, sa.func.count())
            .where(Message.direction == "out", Message.kind == "question")
            .group_by(Message.delivery_id)
        ).all()
    engine.dispose()
    assert dict(statuses) == {"sent": DELIVERIES}
    assert len(sent_messages) == DELIVERIES
    assert {count for _, count in sent_messages} == {1}
    worker_logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(WORKERS)]
    senders = [re.findall(r"TickReport\(sent=(\d+)", text) for text in worker_logs]
    assert sum(any(int(n) for n in found) for found in senders) >= 2, "the load was not shared"
