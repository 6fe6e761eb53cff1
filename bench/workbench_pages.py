"""Server time of the workbench's pages beside the JSON API listing the same cases, on PostgreSQL.

    python -m bench.workbench_pages [--cases 100000] [--responses 1000000] [--runs 200]
                                    [--postgresql URL-of-the-server]

Fills a scratch database with bench.cases_query's rows (cases, answers, messages, trails; one case in ten
unresolved), signs an agent in through Flask's test client and times each request from the client's call to the
whole response, so it is the server's time without a network or a browser: the inbox (its first page, and one
queue's), a case page (rotating over unresolved cases), the queue page, and beside each the API request that
lists or shows the same cases. Prints p50/p95/p99 per view and the ratio of its p50 to the API's.
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from bench.cases_query import fill
from bench.ingest_http import postgres_database
from bot.app import create_app
from bot.settings import Settings
from bot.users import create_user
from storage.apikeys import create_api_key
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import FollowUp, Role

AGENT = "agent-3@example.com"  # holds cases in the seeded rows
SAMPLE_CASES = 50


@dataclass(frozen=True)
class View:
    name: str
    page: Callable[[], str]  # the path of the next request (a case page rotates over cases)
    api: Callable[[], str]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(client: FlaskClient, paths: Callable[[], str], runs: int, headers: dict[str, str] | None = None
          ) -> list[float]:
    samples = []
    for _ in range(3):  # warm the caches, the templates and the statements
        client.get(paths(), headers=headers)
    for _ in range(runs):
        path = paths()
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"GET {path}: {answer.status_code}")
    return samples


def sign_in(client: FlaskClient, password: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token, "no sign-in form"
    answer = client.post("/login", data={"csrf_token": token[1], "email": AGENT, "password": password})
    if answer.status_code != 303 or answer.headers["Location"] != "/app":
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.headers.get('Location')}")


def views(url: str) -> list[View]:
    engine = make_engine(url)
    with Session(engine) as session:
        ids = list(session.exec(select(FollowUp.id).where(FollowUp.status != "resolved")
                                .order_by(col(FollowUp.id)).limit(SAMPLE_CASES * 20)).all())[::20]
    engine.dispose()
    return [
        View("inbox: open cases, first page", lambda: "/app/cases",
             lambda: "/api/v1/followups?status=unresolved"),
        View("inbox: one queue's open cases", lambda: "/app/cases?queue=q1",
             lambda: "/api/v1/followups?status=unresolved&queue=q1"),
        View("inbox: my open cases", lambda: "/app/cases?assignee=me",
             lambda: f"/api/v1/followups?status=unresolved&assignee={AGENT.replace('@', '%40')}"),
        View("case page", rotating("/app/cases/", ids), rotating("/api/v1/followups/", ids)),
        View("queue page (counts, 30-day figures)", lambda: "/app/queues", lambda: "/api/v1/queues"),
    ]


def rotating(prefix: str, ids: list[int]) -> Callable[[], str]:
    rotation = itertools.cycle(ids)
    return lambda: f"{prefix}{next(rotation)}"


def run(url: str, cases: int, responses: int, runs: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    fill(engine, responses, cases)
    with engine.begin() as conn:  # the seeded cases name agents "agent-N"; the signed-in one is agent-3@example.com
        conn.execute(sa.text("UPDATE followup SET assignee = assignee || '@example.com' WHERE assignee IS NOT NULL"))
        conn.exec_driver_sql("ANALYZE followup")
    with Session(engine) as session:
        stored = session.exec(select(sa.func.count()).select_from(FollowUp)).one()
        key = create_api_key(session, "bench")
        session.commit()
    engine.dispose()
    print(f"{stored:,} cases and {responses:,} answers stored in {time.perf_counter() - started:.0f} s")

    app = create_app(Settings(_env_file=None, database_url=url, secret_key="bench-secret",  # type: ignore[call-arg]
                              public_url="http://touchpoint.bench", sandbox="auto"))
    rt = app.extensions["touchpoint"]
    client = app.test_client()
    sign_in(client, create_user(rt, AGENT, Role.AGENT, one_time=False).password)
    api = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    print(f"\n{runs} requests per view, through Flask's test client (server time)\n")
    print("| view | p50 ms | p95 ms | p99 ms | API p50 ms | API p95 ms | page p50 / API p50 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for view in views(url):
        page = timed(client, view.page, runs)
        listed = timed(api, view.api, runs, auth)
        p50, api50 = statistics.median(page), statistics.median(listed)
        print(f"| {view.name} | {p50:.1f} | {percentile(page, .95):.1f} | {percentile(page, .99):.1f} | "
              f"{api50:.1f} | {percentile(listed, .95):.1f} | {p50 / api50:.2f}x |")
    rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="the server where a scratch database (touchpoint_bench_pages) is created and dropped")
    args = parser.parse_args()
    if not 0 < args.cases <= args.responses:
        raise SystemExit("--cases must be from 1 to --responses")
    scratch = sa.make_url(args.postgresql).set(database="touchpoint_bench_pages").render_as_string(False)
    with postgres_database(scratch) as url:
        run(url, args.cases, args.responses, args.runs)


if __name__ == "__main__":
    main()
