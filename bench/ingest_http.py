"""HTTP ingestion under gunicorn on PostgreSQL: `POST /api/v1/events` beside a bare baseline, same server.

    .venv/bin/python -m bench.ingest_http [--database-url URL] [--seconds 10] [--rate 200] [--workers 2]
                                          [--clients 16]

What runs: `touchpoint web` (gunicorn with the project's own config: `--workers` gthread workers x 4 threads,
access log on) against a PostgreSQL database this script creates, migrates and drops afterwards. One flow is installed
(`order.delivered`, sms then email, no delay), so every event upserts its contact, stores the event and
schedules one delivery. Every event has its own idempotency key and its own contact; a request counts as
ok only if it answers 202 with exactly one delivery. No worker runs: only ingestion is measured.

Baseline: `GET /api/v1/openapi.json`, the cheapest route the app has (no route is added for the bench): no
auth, no database, a document built once and cached; each call only serialises it (~27 kB of JSON).
`GET /healthz` is measured beside it as a second reference: also no auth, but it checks a pooled connection
out (with pre-ping) and runs `SELECT 1`, so it costs a little more than the baseline.

Load comes from this process, in threads, one `requests.Session` each (keep-alive), after a warm-up of every
endpoint (200 requests from 16 clients: every gunicorn thread and pooled connection in use once):
- fixed rate: `--rate` requests/s for `--seconds` (open loop; latency counts from the scheduled send time,
  so a server that falls behind shows it in p99);
- max: `--clients` closed-loop clients for `--seconds`, each sending the next request as soon as one returns.

The client shares the machine with gunicorn and PostgreSQL; the table shows the client's own CPU use and
how busy all CPUs of the machine were (from /proc/stat) during each phase.
Peak RSS is VmHWM from /proc/<pid>/status of the gunicorn master and each worker, idle and after the load
(forked workers share pages, so the sum over-counts).
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.flow_admin import store_definitions
from flows.loader import load_flow
from storage.apikeys import create_api_key
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Delivery, Event

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/touchpoint_bench_ingest"
BASELINE = "/api/v1/openapi.json"
WARM_UP_REQUESTS = 200  # per endpoint, from WARM_UP_CLIENTS at once, before any clock starts
WARM_UP_CLIENTS = 16
FLOW_YAML = """\
key: bench-ingest
name: Bench ingest
trigger:
  event: order.delivered
delay: 0s
channels: [sms, email]
question:
  kind: nps
  text:
    en: "Hi {{ contact.first_name }}! How likely are you to recommend us? Reply 0-10."
thanks: {en: "Thank you!"}
expire_after: 3d
"""

Send = Callable[[requests.Session, int], bool]


# ---------------------------------------------------------------- databases and processes (shared with dispatch)


def sqlalchemy_url(url: str) -> sa.URL:
    """A psycopg 3 URL whatever spelling was given (`postgresql://` or `postgresql+psycopg://`)."""
    return sa.make_url(url).set(drivername="postgresql+psycopg")


def url_string(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


@contextmanager
def postgres_database(url: str, template: str | None = None) -> Iterator[str]:
    """Create the database named in `url` (refusing one that exists), yield its URL, drop it afterwards."""
    target = sqlalchemy_url(url)
    name = target.database
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"database name {name!r}: use letters, digits and underscores only")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first():
                raise SystemExit(f"database {name} exists; drop it (dropdb {name}) or pass another --database-url")
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{suffix}')
        try:
            yield url_string(target)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def clean_env(database_url: str, **extra: str) -> dict[str, str]:
    """Our environment without any Touchpoint setting or provider credential, plus the given settings."""
    prefixes = ("TOUCHPOINT_", "TWILIO_", "SLACK_", "SMTP_", "SENDGRID_", "WHATSAPP_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(TOUCHPOINT_DATABASE_URL=database_url, TOUCHPOINT_SECRET_KEY="bench-secret", TOUCHPOINT_SANDBOX="auto")
    env.update(extra)
    return env


def touchpoint_command() -> list[str]:
    script = Path(sys.executable).parent / "touchpoint"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to its own process group if it does not exit."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def proc_status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmHWM = peak RSS, VmRSS = current), or 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def code_version() -> str:
    """The commit of the code under test (with `-dirty` for uncommitted changes), or `unknown` outside git."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).resolve().parent,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def raise_on_sigterm() -> None:
    """So `finally` blocks (dropping databases, stopping servers) also run when we are terminated."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


# ---------------------------------------------------------------- server


@dataclass
class Server:
    url: str
    api_key: str
    process: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        return [self.process.pid, *children_of(self.process.pid)]

    def rss_line(self) -> str:
        peaks = {pid: proc_status_kib(pid, "VmHWM") / 1024 for pid in self.pids()}
        parts = " ".join(f"{pid}:{mib:.0f}" for pid, mib in peaks.items())
        return f"{sum(peaks.values()):.0f} MiB total (master first, pid:MiB {parts})"


def prepare_database(database_url: str, flow_yaml: str = FLOW_YAML) -> str:
    """Migrate, install the flow, and return a new API key."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            store_definitions(session, [load_flow(flow_yaml, "bench.yaml")])
            key = create_api_key(session, "bench")
            session.commit()
    finally:
        engine.dispose()
    return key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn_server(database_url: str, api_key: str, workers: int, workdir: Path, **extra_env: str) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(database_url, TOUCHPOINT_PUBLIC_URL=url, **extra_env)
    command = [*touchpoint_command(), "web", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    with open(workdir / "gunicorn.log", "wb") as log:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=log, start_new_session=True)
        try:
            wait_healthy(url, process, workers)
            yield Server(url, api_key, process)
        finally:
            stop_process(process)


def wait_healthy(url: str, process: subprocess.Popen[bytes], workers: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see its log")
        try:
            up = requests.get(url + "/healthz", timeout=2).status_code == 200
            if up and len(children_of(process.pid)) >= workers:
                time.sleep(1.0)  # let every worker finish importing the app
                return
        except requests.RequestException:  # not listening yet, or too busy starting to answer
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not become healthy in time")


# ---------------------------------------------------------------- load


@dataclass
class Run:
    endpoint: str
    mode: str
    latencies: list[float]
    errors: int
    elapsed: float
    client_cpu: float
    machine_busy: float
    rate: float | None = None

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def machine_ticks() -> tuple[int, int]:
    """(all, idle + iowait) jiffies of every CPU since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values), values[3] + values[4]


def busy_since(before: tuple[int, int]) -> float:
    total, idle = machine_ticks()
    spent = total - before[0]
    return 1 - (idle - before[1]) / spent if spent else 0.0


def run_threads(target: Callable[[requests.Session], None], count: int) -> None:
    def body() -> None:
        with requests.Session() as session:
            target(session)

    threads = [threading.Thread(target=body, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def fixed_rate(endpoint: str, send: Send, rate: float, seconds: float, clients: int) -> Run:
    """Open loop: request i is due at start + i/rate; its latency counts from that moment."""
    total = int(rate * seconds)
    counter = itertools.count()
    latencies: list[float] = []
    errors = [0]
    cpu, ticks = cpu_seconds(), machine_ticks()
    start = time.perf_counter() + 0.05
    ended = [start]

    def client(session: requests.Session) -> None:
        while (i := next(counter)) < total:
            due = start + i / rate
            if (pause := due - time.perf_counter()) > 0:
                time.sleep(pause)
            ok = send(session, i)
            done = time.perf_counter()
            ended[0] = max(ended[0], done)
            if ok:
                latencies.append(done - due)
            else:
                errors[0] += 1

    run_threads(client, clients)
    used = cpu_seconds() - cpu
    return Run(endpoint, f"{rate:g}/s", latencies, errors[0], ended[0] - start, used, busy_since(ticks), rate)


def warm_up(endpoint: str, send: Send, count: int = WARM_UP_REQUESTS, clients: int = WARM_UP_CLIENTS) -> None:
    """Steady state before measuring: requests from many clients at once, so every gunicorn thread has served
    one and every pooled connection is open, with its statements compiled and prepared. Without it the first
    few dozen requests of a phase (new connections, first compilations) make the p99 of 2,000."""
    counter = itertools.count()
    failed = [0]

    def client(session: requests.Session) -> None:
        while (i := next(counter)) < count:
            failed[0] += not send(session, i)

    run_threads(client, clients)
    if failed[0]:
        raise SystemExit(f"warm-up of {endpoint}: {failed[0]} of {count} requests failed")


def max_throughput(endpoint: str, send: Send, seconds: float, clients: int) -> Run:
    """Closed loop: `clients` threads each send back to back until the time is up."""
    counter = itertools.count()
    latencies: list[float] = []
    errors = [0]
    cpu, ticks = cpu_seconds(), machine_ticks()
    start = time.perf_counter()
    stop = start + seconds

    def client(session: requests.Session) -> None:
        while (began := time.perf_counter()) < stop:
            ok = send(session, next(counter))
            if ok:
                latencies.append(time.perf_counter() - began)
            else:
                errors[0] += 1

    run_threads(client, clients)
    elapsed, used = time.perf_counter() - start, cpu_seconds() - cpu
    return Run(endpoint, f"max, {clients} clients", latencies, errors[0], elapsed, used, busy_since(ticks))


def event_sender(server: Server, key_prefix: str) -> Send:
    """POST one event per call; call i uses its own idempotency key and its own contact."""
    url = server.url + "/api/v1/events"
    headers = {"Authorization": f"Bearer {server.api_key}"}

    def send(session: requests.Session, i: int) -> bool:
        body = {
            "type": "order.delivered",
            "idempotency_key": f"{key_prefix}-{i}",
            "contact": {
                "external_id": f"{key_prefix}-c{i}",
                "name": "Ada Lovelace",
                "phone": f"+447911{i % 1_000_000:06d}",
                "email": f"ada{i}@example.com",
            },
            "properties": {"order_id": i, "country": "GB"},
        }
        try:
            answer = session.post(url, json=body, headers=headers, timeout=30)
        except requests.RequestException:
            return False
        return answer.status_code == 202 and len(answer.json()["deliveries"]) == 1

    return send


def get_sender(url: str) -> Send:
    def send(session: requests.Session, _i: int) -> bool:
        try:
            return session.get(url, timeout=30).status_code == 200
        except requests.RequestException:
            return False

    return send


# ---------------------------------------------------------------- report


def ratio_cell(run: Run, base: Run) -> str:
    def x(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "-"

    return (
        f"p50 {x(run.percentile(0.5), base.percentile(0.5))}, p99 {x(run.percentile(0.99), base.percentile(0.99))}, "
        f"req/s {x(run.throughput, base.throughput)}"
    )


def print_median_ratio(groups: list[list[Run]]) -> None:
    """Over the max-throughput rounds: the endpoint's (last run's) req/s over the baseline's, round by round."""
    ratios = sorted(group[-1].throughput / group[0].throughput for group in groups if group[0].rate is None)
    if len(ratios) > 1:
        listed = ", ".join(f"{r:.2f}x" for r in ratios)
        print(f"\nthroughput vs baseline over {len(ratios)} rounds: {listed}; median {ratios[len(ratios) // 2]:.2f}x")


def print_table(groups: list[list[Run]]) -> None:
    """One group per load mode; the first run of each group is the baseline."""
    print()
    print(
        "| endpoint | load | requests | errors | throughput req/s | p50 ms | p99 ms | ratio vs baseline "
        "| client CPU | machine CPU busy |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for base, *others in groups:
        for row in (base, *others):
            ratio = "1 (baseline)" if row is base else ratio_cell(row, base)
            print(
                f"| {row.endpoint} | {row.mode} | {row.requests} | {row.errors} | {row.throughput:.0f} | "
                f"{row.percentile(0.5):.1f} | {row.percentile(0.99):.1f} | {ratio} | "
                f"{row.client_cpu / row.elapsed:.0%} | {row.machine_busy:.0%} |"
            )
    for row in (row for group in groups for row in group):
        if row.rate and row.throughput < 0.95 * row.rate:
            print(
                f"\nnote: {row.endpoint} did not keep up with {row.rate:g}/s (served {row.throughput:.0f}/s); "
                "its latencies include the queue that built up"
            )


def check_database(database_url: str, accepted: int) -> None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            events = session.exec(select(sa.func.count()).select_from(Event)).one()
            deliveries = session.exec(select(sa.func.count()).select_from(Delivery)).one()
    finally:
        engine.dispose()
    verdict = "ok" if events == deliveries == accepted else "MISMATCH"
    print(
        f"\ndatabase check: {accepted} events accepted over HTTP, {events} events stored, "
        f"{deliveries} deliveries scheduled -> {verdict}"
    )


# ---------------------------------------------------------------- main


def parse_args(description: str = __doc__, database_url: str = DEFAULT_DATABASE_URL,
               rate: float = 200.0) -> argparse.Namespace:
    """The options every HTTP bench shares."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=database_url,
        help="PostgreSQL database to create, use and drop (must not exist yet)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load phase")
    parser.add_argument("--rate", type=float, default=rate, help="requests/s of the fixed-rate phases")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients of the max-throughput phases")
    parser.add_argument("--rounds", type=int, default=1, help="max-throughput rounds, baseline and endpoint taking "
                        "turns; the median ratio is reported (this machine's speed drifts between minutes)")
    return parser.parse_args()


def print_setup(args: argparse.Namespace) -> None:
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; gunicorn workers: {args.workers} x 4 "
        f"threads; {args.seconds:g} s per phase; code {code_version()}"
    )


def beside_baseline(
    server: Server, name: str, warm: Send, at_rate: Send, at_max: Callable[[int], Send], args: argparse.Namespace
) -> list[list[Run]]:
    """An endpoint and the baseline in the same run, both warmed up: at the fixed rate, then as fast as the
    clients go, for `args.rounds` rounds (`at_max(i)` sends round i). `warm` must manage WARM_UP_REQUESTS."""
    baseline = get_sender(server.url + BASELINE)
    warm_up(BASELINE, baseline)
    warm_up(name, warm)
    rate_clients = max(32, int(args.rate / 5))
    groups = [[fixed_rate(f"GET {BASELINE}", baseline, args.rate, args.seconds, rate_clients),
               fixed_rate(name, at_rate, args.rate, args.seconds, rate_clients)]]
    for round_ in range(args.rounds):
        groups.append([max_throughput(f"GET {BASELINE}", baseline, args.seconds, args.clients),
                       max_throughput(name, at_max(round_), args.seconds, args.clients)])
    return groups


def count_rows(database_url: str, sql: str) -> int:
    engine = sa.create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        count = conn.exec_driver_sql(sql).scalar()
    engine.dispose()
    return int(count or 0)


def measure(server: Server, args: argparse.Namespace) -> list[list[Run]]:
    """Per load mode: the baseline, /healthz, then the events endpoint."""
    run_id = uuid.uuid4().hex[:8]
    gets = {path: get_sender(server.url + path) for path in (BASELINE, "/healthz")}
    for path, send in gets.items():
        warm_up(path, send)
    warm_up("events", event_sender(server, f"{run_id}-warm"))
    rate_clients = max(32, int(args.rate / 5))
    senders = [(f"GET {path}", send) for path, send in gets.items()]
    groups = [[fixed_rate(name, send, args.rate, args.seconds, rate_clients) for name, send in
               [*senders, ("POST /api/v1/events", event_sender(server, f"{run_id}-rate"))]]]
    for round_ in range(args.rounds):
        events = ("POST /api/v1/events", event_sender(server, f"{run_id}-max{round_}"))
        groups.append([max_throughput(name, send, args.seconds, args.clients) for name, send in [*senders, events]])
    return groups


def main() -> None:
    args = parse_args()
    raise_on_sigterm()
    print_setup(args)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp, postgres_database(args.database_url) as url:
        key = prepare_database(url)
        with gunicorn_server(url, key, args.workers, Path(tmp)) as server:
            idle = server.rss_line()
            groups = measure(server, args)
            loaded = server.rss_line()
        print_table(groups)
        print_median_ratio(groups)
        print(f"\ngunicorn peak RSS (VmHWM) idle:       {idle}")
        print(f"gunicorn peak RSS (VmHWM) after load: {loaded}")
        accepted = WARM_UP_REQUESTS + sum(len(g[-1].latencies) for g in groups)
        check_database(url, accepted)


if __name__ == "__main__":
    main()
