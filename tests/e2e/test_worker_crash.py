"""A worker killed in the middle of a batch: only the send in flight may have gone out, the rest is sent again."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.app import create_app
from bot.runtime import Runtime
from storage.apikeys import create_api_key
from storage.models import Delivery
from storage.types import utcnow
from tests.conftest import make_settings
from tests.e2e.processes import Server, server_env, touchpoint_command
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import event, flow_yaml, install_flow, tick, twilio_env


def test_a_worker_killed_mid_batch_leaves_unknown_only_the_send_in_flight(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeTwilio() as twilio:
        for name, value in twilio_env(twilio).items():
            monkeypatch.setenv(name, value)
        app = create_app(make_settings(database_url))
        rt, client = app.extensions["touchpoint"], app.test_client()
        try:
            install_flow(rt, flow_yaml(channels="[sms]"))
            with rt.session() as session:
                auth = {"Authorization": f"Bearer {create_api_key(session, 'tests')}"}
            phones = [f"+44791112340{i}" for i in range(3)]
            for i, phone in enumerate(phones):
                body = event(f"e{i}", contact={"external_id": f"c{i}", "name": "Ada", "phone": phone})
                assert client.post("/api/v1/events", json=body, headers=auth).status_code == 202

            twilio.hang_next(1, 60)  # the first provider call never returns
            env = server_env(database_url, TOUCHPOINT_WORKER_CONCURRENCY="1", **twilio_env(twilio))
            with open(tmp_path / "worker.log", "w") as log:
                worker = subprocess.Popen([*touchpoint_command(), "worker"], env=env, cwd=tmp_path, stdout=log,
                                          stderr=log)
                try:
                    Server("", "", env, tmp_path).wait_for(lambda: "sending" in statuses(rt),
                                                           timeout=60, what="a batch with one send in flight")
                finally:
                    worker.kill()
                    worker.wait(timeout=10)
            twilio.reset()  # the hang is spent even if the killed worker's request never reached the double

            with rt.session() as session:  # as if the lease had run out
                session.execute(sa.update(Delivery).values(lease_until=utcnow()))
            report = tick(rt)
            with rt.session() as session:
                rows = session.exec(select(Delivery).order_by(Delivery.id)).all()
            assert [row.status for row in rows] == ["unknown", "sent", "sent"]
            assert [row.attempts for row in rows] == [1, 1, 1]
            assert sorted(m.params["To"] for m in twilio.sent) == phones[1:]
            assert (report.unknown, report.released, report.sent) == (1, 2, 2)
        finally:
            rt.close()


def statuses(rt: Runtime) -> list[str]:
    with rt.session() as session:
        return sorted(session.exec(select(Delivery.status)).all())
