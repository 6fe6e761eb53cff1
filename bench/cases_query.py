"""The workbench's queries over 100,000 cases and 1,000,000 responses, on SQLite and PostgreSQL.

    python -m bench.cases_query [--responses 1000000] [--runs 30] [--postgresql URL-of-a-server-database]

Fills a database at the current schema with `--responses` answers from 50,000 customers (four flows and
channels, one answer every 30 s over a year), a case for every tenth answer (100,000) in five queues, one in ten
of them unresolved, with their messages and trail; then times the inbox (storage.cases.list_cases) with each
kind of filter, a page deep in the list, the counts per queue, a customer's answers and a case's thread. Each is
timed twice: with the indexes of revision 0010, and with them dropped, beside a bare `SELECT count(*) FROM
followup` as the baseline. The deep page is also read with OFFSET, for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from bench.ingest_http import FLOW_YAML, postgres_database
from bench.metrics_query import p99, timings
from bot.flow_admin import store_definitions
from flows.loader import load_flow
from storage.cases import (
    UNRESOLVED,
    CaseFilters,
    case_thread,
    contact_answers,
    list_cases,
    queue_counts,
    queue_figures,
)
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import FollowUp

CUSTOMERS = 50_000
NOW = datetime(2026, 7, 1, tzinfo=UTC)
CASES: dict[str, CaseFilters] = {
    "unresolved, all queues": CaseFilters(status=UNRESOLVED),
    "unresolved in one queue": CaseFilters(status=UNRESOLVED, queue="q1"),
    "open (unclaimed) in one queue": CaseFilters(status="open", queue="q1"),
    "one agent's unresolved": CaseFilters(status=UNRESOLVED, assignee="agent-3"),
    "unassigned": CaseFilters(unassigned=True),
    "resolved, one flow": CaseFilters(status="resolved", flow="flow-1"),
    "any status, high priority, sms": CaseFilters(priority="high", channel="sms"),
    "detractors with a negative comment": CaseFilters(band="detractor", sentiment="negative"),
    "theme price, unresolved": CaseFilters(theme="price", status=UNRESOLVED),
    "created in one week": CaseFilters(created_since=NOW - timedelta(days=7), created_until=NOW),
    "a flow without cases (walks them all)": CaseFilters(flow="flow-4"),
}
# What revision 0010 adds for these queries, to time them without it.
INDEXES = ("ix_followup_due", "ix_followup_unresolved_due", "ix_followup_unresolved_queue_due",
           "ix_followup_created_at", "ix_response_contact_answered", "ix_response_recheck_of")


def _series(dialect: str, rows: int) -> str:
    if dialect == "postgresql":
        return f"SELECT i, timestamp '2026-01-01' + i * interval '30 seconds' AS at FROM generate_series(1, {rows}) i"
    return (
        f"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows}) "
        "SELECT i, datetime('2026-01-01', '+' || (i * 30) || ' seconds') AS at FROM g"
    )


def _later(dialect: str, column: str, hours: int) -> str:
    if dialect == "postgresql":
        return f"{column} + interval '{hours} hours'"
    return f"datetime({column}, '+{hours} hours')"


def fill(engine: sa.Engine, responses: int, cases: int | None = None) -> None:
    """Bulk rows made by the database itself: `cases` cases (a tenth of the answers unless told), one for every
    n-th answer."""
    d = engine.dialect.name
    every = max(1, responses // cases) if cases else 10
    answers, customers = _series(d, responses), _series(d, CUSTOMERS)
    themes = "CASE i % 7 WHEN 0 THEN '[\"price\"]' WHEN 1 THEN '[\"delivery\", \"staff\"]' ELSE '[]' END"
    empty = "'[]'"
    if d == "postgresql":
        themes, empty = f"({themes})::jsonb", "'[]'::jsonb"
    # Flows and channels change with every case's answer, so the cases have all of them.
    flow = f"'flow-' || ((i / {every}) % 4)"
    channel = (f"CASE (i / {4 * every}) % 4 WHEN 0 THEN 'sms' WHEN 1 THEN 'email' WHEN 2 THEN 'slack' "
               "ELSE 'web' END")
    # Case j answers response i = every * j; status, queue and assignee vary independently of each other.
    picked = f"SELECT i, i / {every} AS j, at FROM ({answers}) s WHERE i % {every} = 0"
    status = "CASE j % 20 WHEN 0 THEN 'open' WHEN 1 THEN 'claimed' ELSE 'resolved' END"
    statements = [
        f"INSERT INTO contact (external_id, name, attributes, created_at, updated_at) "
        f"SELECT 'c' || i, 'Customer ' || i, '{{}}', at, at FROM ({customers}) s",
        *[f"INSERT INTO queue (key, name, sla_minutes, created_at) VALUES ('q{n}', 'Q{n}', 240, '2026-01-01')"
          for n in range(5)],
        f"INSERT INTO event (type, contact_id, properties, idempotency_key, occurred_at, received_at) "
        f"SELECT 'bench', 1 + i % {CUSTOMERS}, '{{}}', 'e' || i, at, at FROM ({answers}) s",
        f"INSERT INTO delivery (event_id, flow_id, flow_key, contact_id, channel, channel_plan, status, due_at, "
        f"attempts, token, conversation, reprompts, sent_at, created_at, updated_at) "
        f"SELECT i, 1 + (i / {every}) % 4, {flow}, 1 + i % {CUSTOMERS}, {channel}, '[]', 'completed', at, 1, "
        f"'t' || i, 'closed', 0, at, at, at FROM ({answers}) s",
        f"INSERT INTO response (delivery_id, flow_key, channel, contact_id, question, score, band, comment, "
        f"sentiment, polarity, themes, mismatch, answered_at, updated_at) "
        f"SELECT i, {flow}, {channel}, 1 + i % {CUSTOMERS}, 'nps', i % 11, "
        f"CASE WHEN i % 11 <= 6 THEN 'detractor' WHEN i % 11 <= 8 THEN 'passive' ELSE 'promoter' END, 'comment', "
        f"CASE i % 3 WHEN 0 THEN 'negative' WHEN 1 THEN 'neutral' ELSE 'positive' END, 0.0, "
        f"{themes}, false, at, at "
        f"FROM ({answers}) s",
        f"INSERT INTO followup (response_id, delivery_id, queue_id, contact_id, channel, status, priority, assignee, "
        f"due_at, reason, created_at, updated_at, resolved_at) "
        f"SELECT i, i, 1 + (j % 7) % 5, 1 + i % {CUSTOMERS}, {channel}, {status}, "
        f"CASE WHEN j % 3 = 0 THEN 'high' ELSE 'normal' END, "
        f"CASE WHEN j % 20 = 0 THEN NULL ELSE 'agent-' || (j % 23) END, {_later(d, 'at', 4)}, "
        f"'band detractor', at, at, CASE WHEN j % 20 IN (0, 1) THEN NULL ELSE {_later(d, 'at', 2)} END "
        f"FROM ({picked}) s",
        f"UPDATE followup SET first_reply_at = {_later(d, 'created_at', 1)} WHERE id % 3 <> 0",
        # A "did we fix it?" survey and answer for one resolved case in four.
        f"INSERT INTO delivery (id, event_id, flow_id, flow_key, contact_id, channel, channel_plan, status, due_at, "
        f"attempts, token, conversation, reprompts, sent_at, created_at, updated_at, recheck_of) "
        f"SELECT {responses} + id, delivery_id, 1, 'recheck', contact_id, channel, '[]', 'completed', resolved_at, 1, "
        f"'r' || id, 'closed', 0, resolved_at, resolved_at, resolved_at, id "
        f"FROM followup WHERE status = 'resolved' AND id % 4 = 0",
        f"INSERT INTO response (delivery_id, flow_key, channel, contact_id, question, score, band, sentiment, "
        f"themes, mismatch, answered_at, updated_at, recheck_of) "
        f"SELECT {responses} + id, 'recheck', channel, contact_id, 'nps', id % 11, "
        f"CASE WHEN id % 11 <= 6 THEN 'detractor' ELSE 'promoter' END, 'neutral', {empty}, false, "
        f"resolved_at, resolved_at, id FROM followup WHERE status = 'resolved' AND id % 4 = 0",
        f"INSERT INTO message (direction, channel, address, contact_id, delivery_id, kind, text, transport, status, "
        f"created_at) SELECT 'out', {channel}, 'a' || i, 1 + i % {CUSTOMERS}, i, 'question', 'How likely...', "
        f"'sandbox', 'sent', at FROM ({picked}) s",
        f"INSERT INTO message (direction, channel, address, contact_id, delivery_id, kind, text, transport, status, "
        f"created_at) SELECT 'in', {channel}, 'a' || i, 1 + i % {CUSTOMERS}, i, 'score', '2 - late again', "
        f"'sandbox', NULL, {_later(d, 'at', 1)} FROM ({picked}) s",
        f"INSERT INTO activity (followup_id, kind, actor, text, at) "
        f"SELECT i / {every}, 'opened', NULL, 'band detractor', at FROM ({picked}) s",
        f"INSERT INTO activity (followup_id, kind, actor, detail, at) "
        f"SELECT i / {every}, 'resolved', 'agent', 'Billing', {_later(d, 'at', 2)} FROM ({picked}) s "
        "WHERE j % 20 NOT IN (0, 1)",
    ]
    with Session(engine) as session:  # real flows (ids 1-5): a case's page reads its flow's definition
        store_definitions(session, [load_flow(FLOW_YAML.replace("bench-ingest", f"flow-{n}")) for n in range(5)])
        session.commit()
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    analyze(engine)


def analyze(engine: sa.Engine) -> None:
    # What autovacuum would have done by the time this much has come in.
    with engine.connect() as conn:
        maintenance = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(maintenance)


def queries(engine: sa.Engine) -> dict[str, Callable[[], object]]:
    def run(work: Callable[[Session], object]) -> Callable[[], object]:
        def call() -> object:
            with Session(engine) as session:
                return work(session)
        return call

    found: dict[str, Callable[[], object]] = {
        f"inbox: {name}": run(lambda s, f=f: list_cases(s, f, limit=51)) for name, f in CASES.items()
    }
    in_queue = select(FollowUp).where(FollowUp.status != "resolved", FollowUp.queue_id == 2)
    with Session(engine) as session:
        total = session.exec(select(sa.func.count()).select_from(in_queue.subquery())).one()
        skip = min(2000, total // 100 * 50)
        last = session.exec(in_queue.order_by(FollowUp.due_at, FollowUp.id).offset(skip - 1).limit(1)).one()
    found[f"inbox: unresolved in one queue, page {skip // 50 + 1} (keyset)"] = run(
        lambda s: list_cases(s, CaseFilters(status=UNRESOLVED, queue="q1"), after=(last.due_at, last.id), limit=51))
    found[f"inbox: the same page by OFFSET {skip}"] = run(
        lambda s: s.exec(in_queue.order_by(FollowUp.due_at, FollowUp.id).offset(skip).limit(51)).all())
    found["counts per queue (due soon = 1 h)"] = run(lambda s: queue_counts(s, NOW, timedelta(hours=1)))
    found["figures per queue, cases of 30 days"] = run(
        lambda s: queue_figures(s, NOW - timedelta(days=30), NOW, NOW))
    found["a customer's answers (20 newest)"] = run(lambda s: contact_answers(s, 4242, 20))

    def thread(s: Session) -> object:
        case = s.get(FollowUp, 5_000)
        assert case is not None
        return case_thread(s, case)

    found["a case's thread"] = run(thread)
    return found


def measure(name: str, url: str, responses: int, runs: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    fill(engine, responses)
    print(f"\n{name}: {responses:,} responses and {responses // 10:,} cases stored in "
          f"{time.perf_counter() - started:.0f} s")

    def count() -> object:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM followup").scalar()

    baseline = statistics.median(timings(count, runs))
    calls = queries(engine)
    indexed = {label: timings(call, runs) for label, call in calls.items()}
    with engine.begin() as conn:
        for index in INDEXES:
            conn.exec_driver_sql(f"DROP INDEX {index}")
        conn.exec_driver_sql("CREATE INDEX ix_response_contact_id ON response (contact_id)")
    analyze(engine)
    bare = {label: timings(call, max(3, runs // 3)) for label, call in calls.items()}
    print("| query | p50 ms | p99 ms | p50 vs count(*) | p50 ms without 0010's indexes |\n|---|---:|---:|---:|---:|")
    print(f"| baseline: SELECT count(*) FROM followup | {baseline:.1f} | - | 1.00x | - |")
    for label, samples in indexed.items():
        p50 = statistics.median(samples)
        print(f"| {label} | {p50:.1f} | {p99(samples):.1f} | {p50 / baseline:.2f}x | "
              f"{statistics.median(bare[label]):.1f} |")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="the server where a scratch database (touchpoint_bench_cases) is created and dropped")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            measure("SQLite", f"sqlite:///{Path(tmp) / 'cases.db'}", args.responses, args.runs)
    scratch = sa.make_url(args.postgresql).set(database="touchpoint_bench_cases").render_as_string(False)
    with postgres_database(scratch) as url:
        measure("PostgreSQL", url, args.responses, args.runs)


if __name__ == "__main__":
    main()
