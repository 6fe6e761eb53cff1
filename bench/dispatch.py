"""Worker dispatch throughput: due deliveries sent per second on the sandbox transport, against raw SQL.

    .venv/bin/python -m bench.dispatch [--deliveries 5000] [--database-url URL] [--timeout 120]

Seeding: one flow (`order.delivered`, sms then email, delay 0) and `--deliveries` events, each for its own
contact, go through the app's own ingestion (`bot.ingest.ingest_event`, 4 threads), so every delivery is
due at once. This is done once per backend into a template; each setup below then runs on its own copy
(PostgreSQL `CREATE DATABASE ... TEMPLATE`, SQLite backup API), so every setup starts from the same state.

Setups, each on a fresh copy:
- raw SQL, in this process on one connection: claim a batch of `worker_batch` (100, the app default) due
  ids (`FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite) and mark them `sending` in one
  transaction; then, in a second transaction, per delivery insert the outbound message row and mark the
  delivery `sent`. That is the minimum the worker must also do; it skips the ORM, the opt-out/throttle/
  quiet-hours re-checks, template rendering, the status trail, the daily sent tally and logging.
- `touchpoint worker` x1 and x2 on PostgreSQL, x1 on SQLite: the real CLI with default settings (tick 1 s,
  batch 100, 8 provider calls in flight), sandbox transport. Seconds run from the first send's start (the
  earliest `sending` status change; a claim writes none) to the last `sent_at`, both from the database, so
  process start-up and the first tick's wait are left out; the wall time including them is shown too.

Every setup is checked: each delivery `sent`, exactly one outbound question message per delivery, all on
the sandbox transport. Peak RSS is VmHWM of each worker process, read just before it is stopped.
Databases (PostgreSQL `<name>`, `<name>_raw`, `<name>_w1`, `<name>_w2`, from `--database-url`) and the
temporary SQLite files are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bench.ingest_http import (
    clean_env,
    code_version,
    postgres_database,
    prepare_database,
    proc_status_kib,
    raise_on_sigterm,
    sqlalchemy_url,
    stop_process,
    touchpoint_command,
)
from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import build_runtime
from bot.settings import Settings
from storage.db import make_engine
from storage.models import Delivery, DeliveryStatus, Message, StatusChange
from storage.types import UTCDateTime, utcnow

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/touchpoint_bench_dispatch"
BATCH = Settings.model_fields["worker_batch"].default
TARGET = 1000.0
TICK_SENT = re.compile(r"TickReport\(sent=(\d+)")


@dataclass
class Result:
    setup: str
    backend: str
    sent: int
    seconds: float
    wall: float | None = None
    rss_mib: list[float] = field(default_factory=list)
    shares: list[int] = field(default_factory=list)
    check: str = ""
    passed: bool = False

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- seeding


def event_payload(i: int) -> NewEvent:
    contact = NewContact(
        f"dispatch-c{i}",
        {"name": "Ada Lovelace", "phone": f"+447911{i % 1_000_000:06d}", "email": f"ada{i}@example.com"},
    )
    return NewEvent("order.delivered", f"dispatch-{i}", contact, {"order_id": i})


def seed(database_url: str, count: int) -> float:
    """Migrate, install the flow and ingest `count` events through the app; returns the seconds it took."""
    prepare_database(database_url)
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        sandbox="auto",
        secret_key="bench",
        db_pool_size=4,
        log_level="WARNING",
    )
    rt = build_runtime(settings)
    payloads = [event_payload(i) for i in range(count)]
    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda payload: ingest_event(rt, payload), payloads))
    finally:
        rt.close()
    scheduled = sum(len(result.deliveries) for result in results)
    if scheduled != count:
        raise SystemExit(f"seeding scheduled {scheduled} deliveries, expected {count}")
    return time.perf_counter() - began


def copy_sqlite(source: Path, target: Path) -> str:
    """A consistent copy of a WAL-mode SQLite database; returns its URL."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


# ---------------------------------------------------------------- raw SQL baseline


def raw_statements(postgres: bool) -> dict[str, sa.TextClause]:
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    at = sa.bindparam("now", type_=UTCDateTime())
    return {
        "claim": sa.text(
            "SELECT id FROM delivery WHERE status = 'scheduled' AND due_at <= :now "
            f"ORDER BY due_at, id LIMIT :limit{lock}"
        ).bindparams(at),
        "sending": sa.text(
            "UPDATE delivery SET status = 'sending', attempts = attempts + 1, lease_until = :lease WHERE id IN :ids"
        ).bindparams(sa.bindparam("lease", type_=UTCDateTime()), sa.bindparam("ids", expanding=True)),
        "message": sa.text(
            "INSERT INTO message (direction, channel, address, contact_id, delivery_id, kind, text, transport, "
            "provider_message_id, status, created_at) "
            "SELECT 'out', d.channel, a.address, d.contact_id, d.id, 'question', :text, 'sandbox', :provider_id, "
            "'sent', :now FROM delivery d JOIN contact_address a ON a.contact_id = d.contact_id AND a.kind = 'phone' "
            "WHERE d.id = :id"
        ).bindparams(at),
        "sent": sa.text(
            "UPDATE delivery SET status = 'sent', sent_at = :now, lease_until = NULL WHERE id = :id"
        ).bindparams(at),
    }


def raw_sql(database_url: str) -> float:
    """Claim in batches, then record message + `sent` one delivery at a time; returns the seconds it took."""
    engine = make_engine(database_url)
    sql = raw_statements(engine.dialect.name == "postgresql")
    text = "Hi Ada! How likely are you to recommend us? Reply 0-10."
    began = time.perf_counter()
    try:
        while True:
            now = utcnow()
            with engine.begin() as conn:
                ids = list(conn.execute(sql["claim"], {"now": now, "limit": BATCH}).scalars())
                if ids:
                    conn.execute(sql["sending"], {"lease": now + timedelta(seconds=120), "ids": ids})
            if not ids:
                return time.perf_counter() - began
            with engine.begin() as conn:
                for delivery_id in ids:
                    values = {"id": delivery_id, "now": utcnow(), "text": text, "provider_id": f"sb-{uuid.uuid4().hex}"}
                    conn.execute(sql["message"], values)
                    conn.execute(sql["sent"], values)
    finally:
        engine.dispose()


# ---------------------------------------------------------------- the real worker


def pending(engine: sa.Engine) -> int:
    waiting = [DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING]
    with Session(engine) as session:
        return session.exec(
            select(sa.func.count()).select_from(Delivery).where(col(Delivery.status).in_(waiting))
        ).one()


def dispatch_window(engine: sa.Engine) -> float:
    """Seconds from the first claim to the last `sent_at`, as the database recorded them."""
    with Session(engine) as session:
        first = session.exec(select(sa.func.min(StatusChange.at)).where(StatusChange.status == "sending")).one()
        last = session.exec(select(sa.func.max(Delivery.sent_at))).one()
    return (last - first).total_seconds() if first and last else 0.0


@contextmanager
def workers(database_url: str, logs: list[Path]) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = clean_env(database_url)
    handles = [path.open("wb") for path in logs]
    processes = []
    try:
        for handle in handles:
            process = subprocess.Popen(
                [*touchpoint_command(), "worker"],
                env=env,
                cwd=logs[0].parent,
                stdout=handle,
                stderr=handle,
                start_new_session=True,
            )
            processes.append(process)
        yield processes
    finally:
        for process in processes:
            stop_process(process)
        for handle in handles:
            handle.close()


def run_workers(database_url: str, count: int, workdir: Path, tag: str, timeout: float) -> Result:
    engine = make_engine(database_url)
    logs = [workdir / f"{tag}-worker{i}.log" for i in range(count)]
    try:
        began = time.perf_counter()
        with workers(database_url, logs) as processes:
            while pending(engine) and time.perf_counter() - began < timeout:
                if any(p.poll() is not None for p in processes):
                    raise SystemExit(f"a worker exited early; see {logs}")
                time.sleep(0.1)
            wall = time.perf_counter() - began
            rss = [proc_status_kib(p.pid, "VmHWM") / 1024 for p in processes]
        seconds = dispatch_window(engine)
    finally:
        engine.dispose()
    shares = [sum(map(int, TICK_SENT.findall(path.read_text(errors="replace")))) for path in logs]
    return Result(f"touchpoint worker x{count}", "", 0, seconds, wall, rss, shares)


# ---------------------------------------------------------------- checks and report


def check_exactly_once(database_url: str, expected: int, result: Result) -> None:
    """Every delivery `sent`, one outbound question message each, all on the sandbox transport."""
    engine = make_engine(database_url)
    question = (Message.direction == "out", Message.kind == "question")
    try:
        with Session(engine) as session:
            statuses = dict(session.exec(select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all())
            per_delivery = session.exec(
                select(Message.delivery_id, sa.func.count()).where(*question).group_by(Message.delivery_id)
            ).all()
            transports = set(session.exec(select(Message.transport).where(*question).distinct()).all())
    finally:
        engine.dispose()
    messages = sum(n for _, n in per_delivery)
    most = max((n for _, n in per_delivery), default=0)
    result.sent = statuses.get("sent", 0)
    result.passed = statuses == {"sent": expected} and messages == len(per_delivery) == expected and most == 1
    result.passed = result.passed and transports == {"sandbox"}
    result.check = (
        f"{result.sent}/{expected} deliveries sent (statuses {statuses}), {messages} sandbox question messages "
        f"for {len(per_delivery)} deliveries, at most {most} per delivery, transports {sorted(transports)} "
        f"-> exactly once: {'PASS' if result.passed else 'FAIL'}"
    )


def print_report(results: list[Result], expected: int) -> None:
    raw = {r.backend: r.rate for r in results if r.setup == "raw SQL"}
    print()
    header = (
        "setup | deliveries | seconds | deliveries/s | ratio vs raw SQL | wall s incl. start-up | worker peak RSS MiB"
    )
    print(f"| {header} |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ratio = r.rate / raw[r.backend] if raw.get(r.backend) else float("nan")
        wall = f"{r.wall:.1f}" if r.wall is not None else "-"
        rss = " + ".join(f"{m:.0f}" for m in r.rss_mib) or "- (in bench process)"
        print(f"| {r.setup}, {r.backend} | {r.sent} | {r.seconds:.2f} | {r.rate:.0f} | {ratio:.2f} | {wall} | {rss} |")
    print()
    for r in results:
        print(f"- {r.setup}, {r.backend}: {r.check}")
        if len(r.shares) > 1:
            print(f"  load shared between workers (sent, from their tick reports): {' / '.join(map(str, r.shares))}")
    for r in results:
        if r.setup != "raw SQL":
            verdict = "met" if r.rate >= TARGET else "NOT met"
            print(f"- target >= {TARGET:.0f} deliveries/s, {r.setup}, {r.backend}: {verdict} ({r.rate:.0f}/s)")
    if not all(r.passed for r in results):
        print(f"\nsome setup did not send all {expected} deliveries exactly once")


# ---------------------------------------------------------------- main

Setup = tuple[str, Callable[[str, Path, str], Result]]


def setups(timeout: float, worker_counts: list[int]) -> list[Setup]:
    def raw(url: str, _workdir: Path, _tag: str) -> Result:
        return Result("raw SQL", "", 0, raw_sql(url))

    def real(count: int) -> Callable[[str, Path, str], Result]:
        return lambda url, workdir, tag: run_workers(url, count, workdir, tag, timeout)

    return [("raw", raw), *((f"w{count}", real(count)) for count in worker_counts)]


def run_setup(setup: Setup, backend: str, url: str, workdir: Path, expected: int) -> Result:
    tag, run = setup
    print(f"running {backend} {tag} ...", flush=True)
    result = run(url, workdir, f"{backend.lower()}-{tag}")
    result.backend = backend
    check_exactly_once(url, expected, result)
    return result


def bench_postgres(base_url: str, count: int, workdir: Path, timeout: float, workers: list[int]) -> list[Result]:
    base = sqlalchemy_url(base_url)
    results = []
    with postgres_database(base_url) as template:
        print(f"PostgreSQL: seeded {count} due deliveries through ingest_event in {seed(template, count):.1f} s")
        for setup in setups(timeout, workers):
            clone = base.set(database=f"{base.database}_{setup[0]}").render_as_string(hide_password=False)
            with postgres_database(clone, template=base.database) as url:
                results.append(run_setup(setup, "PostgreSQL", url, workdir, count))
    return results


def bench_sqlite(count: int, workdir: Path, timeout: float) -> list[Result]:
    template = workdir / "template.db"
    print(f"SQLite: seeded {count} due deliveries through ingest_event in {seed(f'sqlite:///{template}', count):.1f} s")
    results = []
    for setup in setups(timeout, [1]):  # SQLite takes one writer at a time: one worker
        url = copy_sqlite(template, workdir / f"{setup[0]}.db")
        results.append(run_setup(setup, "SQLite", url, workdir, count))
    return results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000, help="due deliveries per setup")
    parser.add_argument(
        "--database-url", default=DEFAULT_DATABASE_URL, help="PostgreSQL database to create (and _raw, _w1...)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one setup's workers")
    parser.add_argument("--workers", default="1,2", help="worker processes per PostgreSQL setup, comma-separated")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL setups only")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    raise_on_sigterm()
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; worker batch {BATCH}; code {code_version()}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    try:
        workers = [int(count) for count in args.workers.split(",")]
        results = bench_postgres(args.database_url, args.deliveries, workdir, args.timeout, workers)
        if not args.no_sqlite:
            results += bench_sqlite(args.deliveries, workdir, args.timeout)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_report(results, args.deliveries)


if __name__ == "__main__":
    main()
