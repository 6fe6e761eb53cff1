"""GET /api/v1/exports/responses.csv at 10,000 and 100,000 responses (1,000,000 with --million), on SQLite and
PostgreSQL, beside a raw SELECT of the same rows (and PostgreSQL's own COPY ... TO STDOUT CSV).

    python -m bench.export [--million | --sizes 10000,1000000] [--cases] [--postgresql URL-of-a-server-database]

With --cases, every response also opened a case (one queue) and the cases' export is measured instead:
GET /api/v1/exports/cases.csv beside its own SELECT.

Each database is filled by the database itself (bench.metrics_query.fill: one event, delivery and response
per row). Each measurement runs in a fresh process, so its peak RSS is its own: the export reads the CSV
through the app (test client, chunks counted and dropped, as a client saving to disk would), the baseline
runs the export's SELECT as SQL text on the driver (no type conversion, no CSV) and iterates its rows from a
streamed cursor (server-side on PostgreSQL), and on PostgreSQL the same SELECT as `COPY (...) TO STDOUT WITH
(FORMAT csv, HEADER)` read in the driver's pieces: the server writing the CSV itself, the fastest a CSV of these
rows can come. Rows/s, the ratio to the raw SELECT of the same database and size, and memory are printed as a
table: "RSS before" is the process after imports and setup, before the query;
"max RSS during" the largest resident size sampled while the rows came (every 20 CSV pieces, every 10,000 raw
rows); "process peak" the kernel's high-water mark for the whole process, setup included.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

SIZES = (10_000, 100_000)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(mode: str, url: str) -> None:
    """One measurement, in its own process; prints a JSON line. A mode ending in "-cases" reads the cases."""
    from bot.app import create_app
    from bot.settings import Settings
    from storage.apikeys import create_api_key
    from storage.db import make_engine, session_scope
    from storage.insights import ExportFilters, case_query, response_query

    engine = make_engine(url)
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    with session_scope(engine) as session:
        key = create_api_key(session, f"bench-{time.monotonic_ns()}")
    client = app.test_client()
    mode, _, of = mode.partition("-")
    path, query = (("cases.csv", case_query(ExportFilters())) if of == "cases"
                   else ("responses.csv", response_query(ExportFilters())))
    before = _current_rss_mib()
    rows = size = 0
    during = before
    started = time.perf_counter()
    if mode == "export":
        response = client.get(f"/api/v1/exports/{path}", headers={"Authorization": f"Bearer {key}"},
                              buffered=False)
        for i, chunk in enumerate(response.response):
            if i % 20 == 0:
                during = max(during, _current_rss_mib())
            size += len(chunk)
            rows += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        response.close()
        rows -= 1  # the header
    elif mode == "copy":
        sql = str(query.compile(dialect=engine.dialect))
        with engine.connect() as conn, conn.connection.driver_connection.cursor() as cursor, \
                cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            for i, data in enumerate(copy):
                if i % 200 == 0:
                    during = max(during, _current_rss_mib())
                size += len(data)
                rows += bytes(data).count(b"\n")
        rows -= 1
    else:
        sql = str(query.compile(dialect=engine.dialect))
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=1000).exec_driver_sql(sql)
            for _row in result:
                rows += 1
                if rows % 10_000 == 0:
                    during = max(during, _current_rss_mib())
    elapsed = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": elapsed, "bytes": size, "rss_before": before,
                      "during": max(during, _current_rss_mib()), "peak": _rss_mib()}))
    app.extensions["touchpoint"].close()
    engine.dispose()


def run_child(mode: str, url: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.export", "--child", mode, url], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def add_cases(engine: sa.Engine) -> None:
    """A case for every response, in one queue, made by the database itself."""
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO queue (key, name, sla_minutes, created_at) "
                             "VALUES ('bench', 'Bench', 1440, '2026-01-01')")
        conn.exec_driver_sql(
            "INSERT INTO followup (response_id, delivery_id, queue_id, contact_id, channel, status, priority, "
            "due_at, reason, created_at, updated_at) "
            "SELECT r.id, r.delivery_id, q.id, r.contact_id, r.channel, 'open', 'high', r.answered_at, "
            "'band=detractor', r.answered_at, r.answered_at FROM response r, queue q WHERE q.key = 'bench'")
    with engine.connect() as conn:
        maintenance = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(maintenance)


def measure(name: str, url: str, rows: int, cases: bool = False) -> list[str]:
    from bench.metrics_query import fill
    from storage.db import make_engine
    from storage.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    fill(engine, rows)
    if cases:
        add_cases(engine)
    engine.dispose()
    lines = []
    what = "cases" if cases else "responses"
    modes = [("raw", "raw SELECT on the driver, rows iterated"), ("export", f"GET /exports/{what}.csv")]
    if name == "PostgreSQL":
        modes.insert(1, ("copy", "COPY (SELECT) TO STDOUT CSV"))
    raw_rate = None
    for mode, label in modes:
        result = run_child(f"{mode}-cases" if cases else mode, url)
        assert result["rows"] == rows, result
        rate = result["rows"] / result["seconds"]
        raw_rate = raw_rate or rate
        lines.append(f"| {name} | {rows:,} | {label} | {rate:,.0f} | {rate / raw_rate:.2f} | "
                     f"{result['seconds']:.2f} | {result['rss_before']:.0f} | {result['during']:.0f} | "
                     f"{result['peak']:.0f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also 1,000,000 rows (minutes, and ~1 GB on disk)")
    parser.add_argument("--sizes", help="comma-separated row counts instead (10000,1000000)")
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database on the server where a scratch database is created and dropped")
    parser.add_argument("--cases", action="store_true", help="the cases' export instead of the responses'")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from storage.db import make_engine

    sizes = (*SIZES, 1_000_000) if args.million else SIZES
    if args.sizes:
        sizes = tuple(int(size) for size in args.sizes.split(","))
    lines = ["| database | rows | what | rows/s | x raw | seconds | RSS before MiB | max RSS during MiB | "
             "process peak MiB |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    admin = make_engine(args.postgresql).execution_options(isolation_level="AUTOCOMMIT")
    scratch = "touchpoint_bench_export"
    try:
        for rows in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                lines += measure("SQLite", f"sqlite:///{Path(tmp) / 'export.db'}", rows, args.cases)
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {scratch}")
                conn.exec_driver_sql(f"CREATE DATABASE {scratch}")
            lines += measure("PostgreSQL", sa.make_url(args.postgresql).set(database=scratch).render_as_string(False),
                             rows, args.cases)
            print("\n".join(lines[-5:]), flush=True)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
        admin.dispose()
    print()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
