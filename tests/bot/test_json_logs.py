"""JSON log lines and request ids: each request's lines carry its id, the worker's name the delivery, and no line
carries personal data."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from bot.logs import JsonFormatter, TextFormatter
from bot.runtime import Runtime
from tests.helpers import event, flow_yaml, install_flow, tick

NAME, EMAIL, PHONE = "Grace Hopper", "grace.hopper@example.com", "+447400123456"
PERSONAL = (NAME, EMAIL, PHONE, PHONE.removeprefix("+"), "cust-grace")


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """What a JSON handler on the root logger writes, as `touchpoint web` and `worker` have by default."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_request_and_the_worker_tick_log_json_tied_by_the_delivery_id(
    client: FlaskClient, rt: Runtime, auth: dict[str, str], log_lines: io.StringIO
) -> None:
    install_flow(rt, flow_yaml())
    contact = {"external_id": "cust-grace", "name": NAME, "email": EMAIL, "phone": PHONE}
    with client.post("/api/v1/events", json=event("evt-1", contact=contact),
                     headers={**auth, "X-Request-ID": "req-7f3a9c"}) as response:
        assert response.status_code == 202 and response.headers["X-Request-ID"] == "req-7f3a9c"
        [delivery] = [d["id"] for d in response.get_json()["deliveries"]]
    tick(rt)

    lines = parsed(log_lines)
    [web] = [line for line in lines if line["logger"] == "touchpoint.ingest"]
    assert web["level"] == "INFO" and web["request_id"] == "req-7f3a9c"
    assert web["deliveries"] == str(delivery) and web["duplicate"] == "false" and web["type"] == "order.delivered"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", web["time"])
    [sent] = [line for line in lines if line["logger"] == "touchpoint.outbox"]
    assert sent["request_id"] is None  # the worker serves no request: the delivery id ties it to the one above
    assert (sent["delivery"], sent["kind"], sent["outcome"]) == (str(delivery), "question", "sent")
    assert set(web) >= {"time", "level", "logger", "message", "request_id"}
    for value in PERSONAL:
        assert value not in log_lines.getvalue()


def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(client: FlaskClient) -> None:
    seen = set()
    for given in (None, "", "has space", "x" * 129, "ada@example.com", "quote\"d"):
        headers = {} if given is None else {"X-Request-ID": given}
        with client.get("/healthz", headers=headers) as response:
            made = response.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", made) and made != given
        seen.add(made)
    assert len(seen) == 6
    with client.get("/healthz", headers={"X-Request-ID": "0c4b:9e2f-Trace.1"}) as response:
        assert response.headers["X-Request-ID"] == "0c4b:9e2f-Trace.1"


def test_errors_keep_their_request_id_and_their_traceback_is_masked(
    app, client: FlaskClient, log_lines: io.StringIO  # type: ignore[no-untyped-def]
) -> None:
    app.testing = False

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError(f"cannot reach {EMAIL}")

    with client.get("/boom", headers={"X-Request-ID": "req-boom"}) as response:
        assert response.status_code == 500 and response.headers["X-Request-ID"] == "req-boom"
    [error] = [line for line in parsed(log_lines) if line["level"] == "ERROR"]
    assert error["request_id"] == "req-boom" and "RuntimeError: cannot reach ***@***" in error["exception"]
    assert EMAIL not in log_lines.getvalue()


def test_text_lines_name_the_request_id_too(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with client.get("/api/v1/flows", headers={"X-Request-ID": "req-text"}):
        pass
    logging.getLogger("touchpoint.test").info("after the request")
    records = [r for r in caplog.records if r.name == "touchpoint.test"]
    assert TextFormatter().format(records[0]).endswith("INFO touchpoint.test after the request")

    with client.get("/healthz", headers={"X-Request-ID": "req-text"}):
        logging.getLogger("touchpoint.test").info("during it")
    during = [r for r in caplog.records if r.getMessage() == "during it"][0]
    assert TextFormatter().format(during).endswith("during it request_id=req-text")


def test_only_our_own_lines_get_fields_from_their_key_value_pairs() -> None:
    def line(name: str, message: str) -> dict:
        record = logging.getLogger(name).makeRecord(name, logging.INFO, __file__, 1, message, None, None)
        return json.loads(JsonFormatter().format(record))

    ours = line("touchpoint.worker", "tick sent=2 delivery=- message=ok")
    assert (ours["sent"], ours["delivery"], ours["message"]) == ("2", None, "tick sent=2 delivery=- message=ok")
    access = line("gunicorn.access", '"GET /x?a1=1&zz=2 HTTP/1.1" 200 request_id=req-9')
    assert access["request_id"] == "req-9" and "a1" not in access and "zz" not in access
