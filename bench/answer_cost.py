"""What one SMS answer costs, one request at a time: statements, CPU of the app and of PostgreSQL, wall time.

    .venv/bin/python -m bench.answer_cost [--answers 1000] [--database-url postgresql://.../scratch]

The saturation bench (bench.twilio_webhook) shares 2 cores between gunicorn, PostgreSQL and the load generator,
and its ratio moves with the machine; this one posts signed webhooks through the Flask test client in this
process, each a customer answering "9" to their own open survey, and divides by the answers: the statements
run, this process's CPU, the CPU of every PostgreSQL process (read from /proc, so the server must run on this
machine), the time inside the driver and the wall time. Baseline in the same run: `GET /api/v1/openapi.json`
(no database) measured the same way. Run it on two commits taking turns to compare their answer paths.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.ingest_http import postgres_database, prepare_database
from bench.twilio_webhook import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, open_surveys, phone
from tests.fakes.twilio_api import inbound_sms_params, sign

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/touchpoint_bench_answer_cost"
WARM_UP = 100
PUBLIC_URL = "http://127.0.0.1:8000"


def postgres_cpu_seconds() -> float:
    """User and system time of every process named postgres, with their waited-for children."""
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        ticks += sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


class Statements:
    """Statements run on an engine, and the time inside the driver."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count, self.seconds = 0, 0.0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool) -> None:
        context.bench_started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool) -> None:
        self.count += 1
        self.seconds += time.perf_counter() - context.bench_started


def measure(statements: Statements, requests: list[Any]) -> dict[str, float]:
    """Per request: statements, app CPU ms, PostgreSQL CPU ms, driver ms, wall ms."""
    statements.count, statements.seconds = 0, 0.0
    cpu, postgres, wall = time.process_time(), postgres_cpu_seconds(), time.perf_counter()
    for request in requests:
        request()
    n = len(requests)
    return {"statements": statements.count / n, "app CPU ms": (time.process_time() - cpu) * 1000 / n,
            "PostgreSQL CPU ms": (postgres_cpu_seconds() - postgres) * 1000 / n,
            "in driver ms": statements.seconds * 1000 / n, "wall ms": (time.perf_counter() - wall) * 1000 / n}


def answer(client: Any, i: int) -> Any:
    params = inbound_sms_params(phone(i), OUR_NUMBER, "9", account_sid=ACCOUNT_SID)
    signature = sign(PUBLIC_URL + "/webhooks/twilio/sms", params, AUTH_TOKEN)

    def post() -> None:
        response = client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200 and b"<Message" in response.data, response.data

    return post


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL database to create, use and drop (must not exist yet)")
    parser.add_argument("--answers", type=int, default=1000)
    args = parser.parse_args()
    from bot.app import create_app
    from bot.settings import Settings

    with postgres_database(args.database_url) as url:
        prepare_database(url)
        open_surveys(url, WARM_UP + args.answers)
        os.environ.update({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                           "TWILIO_FROM": OUR_NUMBER, "TWILIO_API_BASE_URL": "http://127.0.0.1:9"})
        app = create_app(Settings(_env_file=None, database_url=url, sandbox="on", log_level="WARNING",
                                  public_url=PUBLIC_URL))
        rt = app.extensions["touchpoint"]
        client = app.test_client()
        statements = Statements(rt.engine)
        baseline = [lambda: client.get("/api/v1/openapi.json")] * args.answers
        measure(statements, [answer(client, i) for i in range(WARM_UP)] + baseline[:WARM_UP])
        rows = {"GET /api/v1/openapi.json (baseline)": measure(statements, baseline),
                "POST /webhooks/twilio/sms (an answer)": measure(statements, [
                    answer(client, i) for i in range(WARM_UP, WARM_UP + args.answers)])}
        with rt.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT count(*) FROM response WHERE score = 9").scalar_one()
        rt.close()
    columns = list(next(iter(rows.values())))
    print(f"{args.answers} requests each, one at a time, after {WARM_UP} to warm up; per request:\n")
    print("| request | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.1f}" if c == "statements" else f"{row[c]:.2f}"
                                         for c in columns) + " |")
    answer_row = rows["POST /webhooks/twilio/sms (an answer)"]
    baseline_row = rows["GET /api/v1/openapi.json (baseline)"]
    ratio = {c: answer_row[c] / max(baseline_row[c], 1e-9) for c in ("app CPU ms", "wall ms")}
    print(f"\nan answer vs the baseline: app CPU {ratio['app CPU ms']:.1f}x, wall {ratio['wall ms']:.1f}x; "
          f"answers stored: {stored} of {WARM_UP + args.answers} -> "
          f"{'ok' if stored == WARM_UP + args.answers else 'MISMATCH'}")


if __name__ == "__main__":
    main()
