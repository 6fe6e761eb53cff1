"""GET /api/v1/metrics over a million stored responses, on SQLite and PostgreSQL.

    python -m bench.metrics_query [--rows 1000000] [--runs 20] [--postgresql URL-of-a-server-database]

Fills a database at the schema before the metric tallies with `--rows` deliveries and responses (four
flows, four channels, every question kind and sentiment, answers every 30 s over a year), upgrades it (the
migration tallies what is there), then times the endpoint through the app, without and with filters, beside
a bare `SELECT count(*) FROM response` on the same engine as the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from bot.app import create_app
from bot.settings import Settings
from storage.apikeys import create_api_key
from storage.db import make_engine, session_scope
from storage.migrate import upgrade

CASES = {
    "no filter": "",
    "flow": "?flow=flow-1",
    "channel + since": "?channel=sms&since=2026-07-01T00:00:00Z",
    "partial days": "?since=2026-03-01T12:30:00Z&until=2026-09-15T08:00:00Z",
}


def _series(dialect: str, rows: int) -> str:
    if dialect == "postgresql":
        return f"SELECT i, timestamp '2026-01-01' + i * interval '30 seconds' AS at FROM generate_series(1, {rows}) i"
    return (
        f"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows}) "
        "SELECT i, datetime('2026-01-01', '+' || (i * 30) || ' seconds') AS at FROM g"
    )


def fill(engine: sa.Engine, rows: int) -> None:
    """Bulk rows made by the database itself: one contact, then events, deliveries and responses."""
    series = _series(engine.dialect.name, rows)
    statements = [
        "INSERT INTO contact (external_id, attributes, created_at, updated_at) "
        "VALUES ('bench', '{}', '2026-01-01', '2026-01-01')",
        "INSERT INTO flow (key, version, name, definition, enabled, current, created_at) "
        "VALUES ('flow-0', 1, '', '{}', true, true, '2026-01-01')",
        f"INSERT INTO event (type, contact_id, properties, idempotency_key, occurred_at, received_at) "
        f"SELECT 'bench', 1, '{{}}', 'e' || i, at, at FROM ({series}) s",
        f"INSERT INTO delivery (event_id, flow_id, flow_key, contact_id, channel, channel_plan, status, due_at, "
        f"attempts, token, conversation, reprompts, sent_at, created_at, updated_at) "
        f"SELECT i, 1, 'flow-' || (i % 4), 1, "
        f"CASE i % 4 WHEN 0 THEN 'sms' WHEN 1 THEN 'email' WHEN 2 THEN 'slack' ELSE 'web' END, '[]', 'completed', "
        f"at, 1, 't' || i, 'closed', 0, at, at, at FROM ({series}) s",
        f"INSERT INTO response (delivery_id, flow_key, channel, contact_id, question, score, band, comment, "
        f"sentiment, polarity, themes, mismatch, answered_at, updated_at) "
        f"SELECT i, 'flow-' || (i % 4), "
        f"CASE i % 4 WHEN 0 THEN 'sms' WHEN 1 THEN 'email' WHEN 2 THEN 'slack' ELSE 'web' END, 1, "
        f"CASE i % 3 WHEN 0 THEN 'nps' WHEN 1 THEN 'csat' ELSE 'ces' END, "
        f"CASE i % 3 WHEN 0 THEN i % 11 WHEN 1 THEN 1 + i % 5 ELSE 1 + i % 7 END, "
        f"CASE i % 5 WHEN 0 THEN 'detractor' WHEN 1 THEN 'passive' ELSE 'promoter' END, 'comment', "
        f"CASE i % 3 WHEN 0 THEN 'negative' WHEN 1 THEN 'neutral' ELSE 'positive' END, 0.0, '[]', false, at, at "
        f"FROM ({series}) s",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        # What autovacuum would have done by the time a million answers have come in.
        maintenance = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(maintenance)


def timings(call: Callable[[], object], runs: int) -> list[float]:
    call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def measure(name: str, url: str, rows: int, runs: int) -> None:
    upgrade(url, "0002")
    engine = make_engine(url)
    started = time.perf_counter()
    fill(engine, rows)
    filled = time.perf_counter()
    upgrade(url)
    print(f"\n{name}: {rows:,} responses stored in {filled - started:.0f} s; "
          f"the upgrade that tallies them took {time.perf_counter() - filled:.1f} s")
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    with session_scope(engine) as session:
        key = create_api_key(session, "bench")
    client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}

    def count() -> object:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM response").scalar()

    baseline = statistics.median(timings(count, runs))
    print("| request | p50 ms | p99 ms | p50 vs count(*) |\n|---|---:|---:|---:|")
    print(f"| baseline: SELECT count(*) FROM response | {baseline:.1f} | - | 1.00x |")
    for case, query in CASES.items():
        def get(query: str = query) -> object:
            response = client.get("/api/v1/metrics" + query, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
            return response
        samples = timings(get, runs)
        p50 = statistics.median(samples)
        print(f"| GET /api/v1/metrics{query} ({case}) | {p50:.1f} | {p99(samples):.1f} | {p50 / baseline:.2f}x |")
    print("answer without filters:", client.get("/api/v1/metrics", headers=headers).get_json())
    engine.dispose()
    app.extensions["touchpoint"].close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database on the server where a scratch database is created and dropped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{Path(tmp) / 'metrics.db'}", args.rows, args.runs)
    admin = make_engine(args.postgresql).execution_options(isolation_level="AUTOCOMMIT")
    scratch = "touchpoint_bench_metrics"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {scratch}")
        conn.exec_driver_sql(f"CREATE DATABASE {scratch}")
    try:
        measure("PostgreSQL", sa.make_url(args.postgresql).set(database=scratch).render_as_string(False),
                args.rows, args.runs)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")


if __name__ == "__main__":
    main()
