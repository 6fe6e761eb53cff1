"""Inbound SMS webhook under gunicorn on PostgreSQL: signature check, store, parse, TwiML answer.

    .venv/bin/python -m bench.twilio_webhook [--rate 200] [--seconds 10] [--workers 2]

Every request is a customer answering an open survey ("9"), signed as Twilio signs it, with its own
MessageSid, so each one is checked, stored raw, matched to its delivery, parsed, recorded as a response and
answered with TwiML thanks. The surveys are created and sent beforehand (sandbox transport, in this
process). Both endpoints are warmed up first (200 requests from 16 clients). Baseline in the same server and
run: `GET /api/v1/openapi.json` (no auth, no database) at the same rate. The load generator shares the 2
cores; its CPU share is in the table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import requests

from bench.ingest_http import (
    WARM_UP_REQUESTS,
    Send,
    beside_baseline,
    count_rows,
    gunicorn_server,
    parse_args,
    postgres_database,
    prepare_database,
    print_median_ratio,
    print_setup,
    print_table,
    raise_on_sigterm,
)
from bot.dispatch import dispatch_due
from bot.ingest import ingest_event
from bot.inputs import EventIn, new_event
from bot.runtime import build_runtime
from bot.settings import Settings
from storage.types import utcnow
from tests.fakes.twilio_api import inbound_sms_params, sign

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/touchpoint_bench_twilio"
ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER = "AC" + "7" * 32, "bench-auth-token", "+15017250604"


def phone(i: int) -> str:
    return f"+447911{i:06d}"


def open_surveys(database_url: str, count: int) -> None:
    """`count` contacts, each with a survey sent and waiting for the answer."""
    rt = build_runtime(Settings(_env_file=None, database_url=database_url, sandbox="on", log_level="WARNING"))
    try:
        for i in range(count):
            contact = {"external_id": f"bench-{i}", "name": "Ada Lovelace", "phone": phone(i)}
            ingest_event(rt, new_event(EventIn.model_validate(
                {"type": "order.delivered", "idempotency_key": f"bench-{i}", "contact": contact})))
        while dispatch_due(rt, utcnow()):
            pass
    finally:
        rt.close()


def webhook_sender(url: str, first: int, count: int) -> Send:
    """Call i answers survey first + i; payloads and signatures are made before the clock starts."""
    signed = []
    for i in range(first, first + count):
        params = inbound_sms_params(phone(i), OUR_NUMBER, "9", account_sid=ACCOUNT_SID)
        signed.append((params, {"X-Twilio-Signature": sign(url, params, AUTH_TOKEN)}))

    def send(session: requests.Session, i: int) -> bool:
        if i >= len(signed):
            return False  # more requests than open surveys: counted as errors
        params, headers = signed[i]
        try:
            answer = session.post(url, data=params, headers=headers, timeout=30)
        except requests.RequestException:
            return False
        return answer.status_code == 200 and "<Message" in answer.text

    return send


def main() -> None:
    args = parse_args(__doc__, DEFAULT_DATABASE_URL, rate=200.0)
    raise_on_sigterm()
    warm, at_rate, at_max = WARM_UP_REQUESTS, int(args.rate * args.seconds), int(args.seconds * 600)
    print_setup(args)
    with tempfile.TemporaryDirectory(prefix="bench-twilio-") as tmp, postgres_database(args.database_url) as url:
        key = prepare_database(url)
        open_surveys(url, warm + at_rate + at_max * args.rounds)
        twilio_env = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM": OUR_NUMBER,
                      "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "TOUCHPOINT_SANDBOX": "on"}
        with gunicorn_server(url, key, args.workers, Path(tmp), **twilio_env) as server:
            hook = server.url + "/webhooks/twilio/sms"
            groups = beside_baseline(server, "POST /webhooks/twilio/sms", webhook_sender(hook, 0, warm),
                                     webhook_sender(hook, warm, at_rate),
                                     lambda i: webhook_sender(hook, warm + at_rate + i * at_max, at_max), args)
            rss = server.rss_line()
        print_table(groups)
        print_median_ratio(groups)
        print(f"\ngunicorn peak RSS (VmHWM) after load: {rss}")
        answered = warm + sum(len(group[-1].latencies) for group in groups)
        stored = count_rows(url, "SELECT count(*) FROM response WHERE score = 9")
        print(f"database check: {answered} webhooks answered with thanks, {stored} responses stored -> "
              f"{'ok' if stored == answered else 'MISMATCH'}")


if __name__ == "__main__":
    main()
