"""Slack button clicks under gunicorn on PostgreSQL: how fast Slack gets its ack, beside a bare route.

    .venv/bin/python -m bench.slack_ack [--rate 100] [--seconds 10] [--workers 2]

Every request is a customer clicking "9" on their own survey DM, signed as Slack signs it: Bolt checks the
signature, the answer is stored (reply rules, response, tallies), and only then is Slack acknowledged; the
message update (chat.update) runs after the ack, against a local Slack Web API double in this process. The
latency measured is the ack: the HTTP answer Slack waits for, which must come within 3 s. Surveys are created
and sent beforehand; both endpoints are warmed up first (200 requests from 16 clients). Baseline in the same
server and run: `GET /api/v1/openapi.json` (no auth, no database).
"""

from __future__ import annotations

import os
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
from bot.flow_admin import store_definitions
from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import build_runtime
from bot.settings import Settings
from flows.loader import load_flow
from storage.types import utcnow
from tests.fakes.slack_api import FakeSlack, block_actions_payload, interaction_body, sign

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/touchpoint_bench_slack"
SECRET = "bench-signing-secret"
FLOW_YAML = """\
key: bench-slack
name: Bench Slack
trigger:
  event: slack.bench
delay: 0s
channels: [slack]
question:
  kind: nps
  text:
    en: "How likely are you to recommend us?"
comment: {ask: never}
expire_after: 3d
"""


def user(i: int) -> str:
    return f"U{i:08d}"


def open_surveys(database_url: str, slack: FakeSlack, count: int) -> list[tuple[str, str, str]]:
    """`count` contacts with a survey DM each; returns (user, DM channel, message ts) per survey."""
    for i in range(count):
        slack.add_user(user(i), None, f"user{i}")
    rt = build_runtime(Settings(_env_file=None, database_url=database_url, log_level="WARNING"))
    try:
        with rt.session() as session:
            store_definitions(session, [load_flow(FLOW_YAML, "bench-slack.yaml")])
        for i in range(count):
            contact = NewContact(f"bench-{i}", {"slack_user_id": user(i)})
            ingest_event(rt, NewEvent("slack.bench", f"bench-{i}", contact))
        while dispatch_due(rt, utcnow()):
            pass
    finally:
        rt.close()
    surveys = []
    for i in range(count):
        dm = slack.dm_channel(user(i))
        assert dm is not None, f"survey {i} was not sent"
        surveys.append((user(i), dm, slack.messages(dm)[0]["ts"]))
    return surveys


def click_sender(url: str, slack: FakeSlack, surveys: list[tuple[str, str, str]]) -> Send:
    """Call i clicks 9 on survey i; bodies and signatures are made before the clock starts."""
    bodies = []
    for who, dm, ts in surveys:
        nine = next(b for block in slack.messages(dm)[0]["blocks"] if block["type"] == "actions"
                    for b in block["elements"] if b["text"]["text"] == "9")
        body = interaction_body(block_actions_payload(who, nine["action_id"], nine["value"], dm, ts))
        bodies.append((body, {**sign(body, SECRET), "Content-Type": "application/x-www-form-urlencoded"}))

    def send(session: requests.Session, i: int) -> bool:
        if i >= len(bodies):
            return False
        body, headers = bodies[i]
        try:
            return session.post(url, data=body, headers=headers, timeout=30).status_code == 200
        except requests.RequestException:
            return False

    return send


def main() -> None:
    args = parse_args(__doc__, DEFAULT_DATABASE_URL, rate=100.0)
    raise_on_sigterm()
    at_rate, at_max = int(args.rate * args.seconds), int(args.seconds * 400)
    warm_up = WARM_UP_REQUESTS
    print_setup(args)
    with FakeSlack() as slack, tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp, \
            postgres_database(args.database_url) as url:
        env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_BASE_URL": slack.base_url,
               "SLACK_MPS": "100000"}
        os.environ.update(env)
        key = prepare_database(url)
        surveys = open_surveys(url, slack, warm_up + at_rate + at_max * args.rounds)
        warm, surveys = surveys[:warm_up], surveys[warm_up:]
        with gunicorn_server(url, key, args.workers, Path(tmp), **env) as server:
            events = server.url + "/slack/events"
            at_rate_clicks = click_sender(events, slack, surveys[:at_rate])
            groups = beside_baseline(server, "POST /slack/events (click)", click_sender(events, slack, warm),
                                     at_rate_clicks,
                                     lambda i: click_sender(events, slack, surveys[at_rate + i * at_max:][:at_max]),
                                     args)
            rss = server.rss_line()
        print_table(groups)
        print_median_ratio(groups)
        print(f"\ngunicorn peak RSS (VmHWM) after load: {rss}")
        acked = warm_up + sum(len(group[-1].latencies) for group in groups)
        stored = count_rows(url, "SELECT count(*) FROM response WHERE score = 9")
        updated = sum(1 for _, dm, _ in warm + surveys if any("edited" in m for m in slack.messages(dm)))
        print(f"database check: {acked} clicks acknowledged, {stored} responses stored, {updated} messages updated "
              f"-> {'ok' if stored == acked else 'MISMATCH'}")


if __name__ == "__main__":
    main()
