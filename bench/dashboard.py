"""Each view of the insights dashboard (/app/insights), timed through the app as a signed-in user, over N stored
responses on SQLite and PostgreSQL.

    python -m bench.dashboard [--responses 100000] [--runs 20] [--postgresql URL-of-a-server-database]

The database fills itself with SQL: 2,000 contacts (a `plan` attribute), then per response an event (a `store`
property), a sent delivery and the answer (four flows, four channels, every question kind, a third with themes,
1% mismatches) spread evenly over the 365 days up to today, and a case for one answer in 20. The tallies (the
funnel's too, by storage.funnel.refill) are then filled from those rows by SQL, as the commits would have kept
them, and the segments contact.plan and event.store are picked, as an admin would (storage.segments.pick counts
their answers by SQL; the time it takes is printed). The page's NPS for its range is checked: it must count the
rows a plain count(*) finds. Each view is then requested `--runs` times (after one warm-up): p50, p95 and p99 of
the server time in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

VIEWS = {
    "scores (12 weeks, NPS by week)": "",
    "scores, one flow": "?flow=flow-1",
    "scores, one channel, CSAT": "?channel=sms&metric=csat",
    "scores by day": "?bucket=day",
    "scores by month, a year": "?bucket=month&from={year_ago}",
    "scores, segment: flow": "?segment=flow",
    "scores, segment: channel": "?segment=channel",
    "scores, segment: contact.plan": "?segment=contact.plan",
    "scores, segment: event.store": "?segment=event.store",
    "funnel (12 weeks)": "/funnel",
    "funnel, one flow": "/funnel?flow=flow-1",
    "comments (12 weeks)": "/comments",
    "comments, one flow": "/comments?flow=flow-1",
    "closing the loop (12 weeks)": "/loop",
    "closing the loop, one flow": "/loop?flow=flow-1",
}
CONTACTS = 2000
PICKED = ("contact.plan", "event.store")  # segments an admin keeps a tally of: picking one counts its answers
CHANNEL = "CASE i % 4 WHEN 0 THEN 'sms' WHEN 1 THEN 'email' WHEN 2 THEN 'slack' ELSE 'web' END"


def _series(dialect: str, rows: int, start: datetime, step: float) -> str:
    begin = start.strftime("%Y-%m-%d %H:%M:%S")
    if dialect == "postgresql":
        return (f"SELECT i, timestamp '{begin}' + i * interval '{step} seconds' AS at "
                f"FROM generate_series(1, {rows}) i")
    return (f"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows}) "
            f"SELECT i, datetime('{begin}', '+' || CAST(i * {step} AS INTEGER) || ' seconds') AS at FROM g")


def _json(dialect: str, text: str) -> str:
    return f"CAST({text} AS jsonb)" if dialect == "postgresql" else text


def fill(engine: sa.Engine, rows: int, today: datetime) -> None:
    """Rows made by the database itself, then the tallies counted from them."""
    from storage.funnel import refill

    d = engine.dialect.name
    start = today - timedelta(days=365)
    series = _series(d, rows, start, round(365 * 86400 / rows, 3))
    contacts = _series(d, CONTACTS, start, 0)
    day = "CAST({} AS date)" if d == "postgresql" else "date({})"
    each = "jsonb_array_elements_text(r.themes)" if d == "postgresql" else "json_each(r.themes)"
    plan = "CASE i % 3 WHEN 0 THEN 'free' WHEN 1 THEN 'team' ELSE 'business' END"
    themes = _json(d, "CASE i % 6 WHEN 0 THEN '[\"delivery\"]' WHEN 1 THEN '[\"price\", \"support\"]' ELSE '[]' END")
    attributes = _json(d, "'{\"plan\": \"' || " + plan + " || '\"}'")
    properties = _json(d, "'{\"store\": \"s' || (i % 5) || '\"}'")
    statements = [
        f"INSERT INTO contact (external_id, attributes, created_at, updated_at) "
        f"SELECT 'c' || i, {attributes}, at, at FROM ({contacts}) s",
        "INSERT INTO flow (key, version, name, definition, enabled, current, created_at) "
        "VALUES ('flow-0', 1, '', '{}', true, true, '2026-01-01')",
        "INSERT INTO queue (key, name, sla_minutes, created_at) VALUES ('recovery', 'Recovery', 240, '2026-01-01')",
        f"INSERT INTO event (type, contact_id, properties, idempotency_key, occurred_at, received_at) "
        f"SELECT 'bench', 1 + i % {CONTACTS}, {properties}, 'e' || i, "
        f"at, at FROM ({series}) s",
        f"INSERT INTO delivery (event_id, flow_id, flow_key, contact_id, channel, channel_plan, status, due_at, "
        f"attempts, token, conversation, reprompts, sent_at, created_at, updated_at) "
        f"SELECT i, 1, 'flow-' || (i % 4), 1 + i % {CONTACTS}, {CHANNEL}, '[]', 'completed', at, 1, 't' || i, "
        f"'closed', 0, at, at, at FROM ({series}) s",
        f"INSERT INTO response (delivery_id, flow_key, channel, contact_id, question, score, band, comment, "
        f"sentiment, polarity, themes, mismatch, answered_at, updated_at) "
        f"SELECT i, 'flow-' || (i % 4), {CHANNEL}, 1 + i % {CONTACTS}, "
        f"CASE i % 3 WHEN 0 THEN 'nps' WHEN 1 THEN 'csat' ELSE 'ces' END, "
        f"CASE i % 3 WHEN 0 THEN i % 11 WHEN 1 THEN 1 + i % 5 ELSE 1 + i % 7 END, "
        f"CASE i % 5 WHEN 0 THEN 'detractor' WHEN 1 THEN 'passive' ELSE 'promoter' END, 'comment ' || i, "
        f"CASE i % 3 WHEN 0 THEN 'negative' WHEN 1 THEN 'neutral' ELSE 'positive' END, 0.0, {themes}, "
        f"i % 100 = 0, at, at FROM ({series}) s",
        f"INSERT INTO followup (response_id, delivery_id, queue_id, contact_id, channel, status, priority, due_at, "
        f"created_at, updated_at, first_reply_at, resolved_at) "
        f"SELECT i, i, 1, 1 + i % {CONTACTS}, {CHANNEL}, 'resolved', 'high', at, at, at, at, at "
        f"FROM ({series}) s WHERE i % 20 = 0",
        f"INSERT INTO responsetally (day, flow_key, channel, question, band, sentiment, shard, answers, scored, "
        f"score_sum, score_sq_sum) SELECT {day.format('answered_at')}, flow_key, channel, question, "
        f"coalesce(band, ''), coalesce(sentiment, ''), 0, count(*), count(score), coalesce(sum(score), 0), "
        f"coalesce(sum(score * score), 0) FROM response WHERE recheck_of IS NULL "
        f"GROUP BY {day.format('answered_at')}, flow_key, channel, question, band, sentiment",
        f"INSERT INTO themetally (day, flow_key, channel, question, theme, band, shard, answers, scored, score_sum, "
        f"score_sq_sum) SELECT {day.format('r.answered_at')}, r.flow_key, r.channel, r.question, t.value, "
        f"coalesce(r.band, ''), 0, count(*), count(r.score), coalesce(sum(r.score), 0), "
        f"coalesce(sum(r.score * r.score), 0) FROM response r, {each} t WHERE r.recheck_of IS NULL "
        f"GROUP BY {day.format('r.answered_at')}, r.flow_key, r.channel, r.question, t.value, r.band",
        f"INSERT INTO senttally (day, flow_key, channel, shard, sent) SELECT {day.format('sent_at')}, flow_key, "
        f"channel, 0, count(*) FROM delivery WHERE sent_at IS NOT NULL GROUP BY {day.format('sent_at')}, flow_key, "
        f"channel",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
        refill(conn)
    with engine.connect() as conn:
        maintenance = "VACUUM ANALYZE" if d == "postgresql" else "ANALYZE"
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(maintenance)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _check_tallies(client: object, engine: sa.Engine, today: datetime) -> None:
    """The page's NPS for the last 7 days counts what count(*) counts in the rows."""
    html = client.get("/app/insights").get_data(as_text=True)  # type: ignore[attr-defined]
    shown = re.search(r"<h3>NPS</h3>.*?(\d+) answers", html, re.S)
    since = (today - timedelta(days=6)).replace(hour=0, minute=0, second=0, microsecond=0)
    with engine.connect() as conn:
        counted = conn.execute(sa.text("SELECT count(*) FROM response WHERE question = 'nps' AND answered_at >= :s"),
                               {"s": since.replace(tzinfo=None)}).scalar()
    assert shown and int(shown[1]) == counted, (shown and shown[1], counted)


def measure(name: str, url: str, responses: int, runs: int) -> list[str]:
    from bot.app import create_app
    from bot.settings import Settings
    from bot.users import create_user
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.models import Role
    from storage.segments import pick

    today = datetime.now(UTC).replace(tzinfo=None)
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    fill(engine, responses, today)
    print(f"{name}: {responses:,} responses stored and tallied in {time.perf_counter() - started:.0f} s", flush=True)
    for segment in PICKED:
        started = time.perf_counter()
        with Session(engine) as session:
            pick(session, segment, "bench")
            session.commit()
        print(f"{name}: {segment} picked (its answers counted) in {time.perf_counter() - started:.1f} s", flush=True)
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    rt = app.extensions["touchpoint"]
    client = app.test_client()
    password = create_user(rt, "bench@example.com", Role.AGENT, one_time=False).password
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token
    client.post("/login", data={"csrf_token": token[1], "email": "bench@example.com", "password": password})
    _check_tallies(client, engine, today)
    year_ago = (today - timedelta(days=364)).date().isoformat()
    lines = []
    for view, query in VIEWS.items():
        path = "/app/insights" + query.format(year_ago=year_ago)
        assert client.get(path).status_code == 200
        samples = []
        for _ in range(runs):
            begun = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - begun) * 1000)
            assert response.status_code == 200 and "There is a problem" not in response.get_data(as_text=True)
        lines.append(f"| {name} | {responses:,} | {view} | {statistics.median(samples):.0f} | "
                     f"{percentile(samples, 0.95):.0f} | {percentile(samples, 0.99):.0f} |")
        print(lines[-1], flush=True)
    rt.close()
    engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database on the server where a scratch database is created and dropped")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one database only")
    args = parser.parse_args()
    from storage.db import make_engine

    lines = ["| database | responses | view | p50 ms | p95 ms | p99 ms |", "|---|---:|---|---:|---:|---:|"]
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            lines += measure("SQLite", f"sqlite:///{Path(tmp) / 'dashboard.db'}", args.responses, args.runs)
    if args.only != "sqlite":
        admin = make_engine(args.postgresql).execution_options(isolation_level="AUTOCOMMIT")
        scratch = f"touchpoint_bench_dashboard_{os.getpid()}"  # two runs on one server do not collide
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {scratch}")
            conn.exec_driver_sql(f"CREATE DATABASE {scratch}")
        try:
            url = sa.make_url(args.postgresql).set(database=scratch).render_as_string(False)
            lines += measure("PostgreSQL", url, args.responses, args.runs)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
            admin.dispose()
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
