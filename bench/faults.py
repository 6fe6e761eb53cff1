"""Faults on PostgreSQL: 2 web processes and 3 workers take a stream of events while things go wrong.

While N events (10% of them re-sent with the same idempotency key) arrive at a set rate, the Twilio double
answers a burst of 429s and one of 5xx, hangs in two bursts (one past the client's timeout), a worker is
killed with SIGKILL while sends are in flight (and replaced), and every connection of the service to its
database is dropped (`pg_terminate_backend`, its own database only). The load generator retries a failed
request with the same key, as a backend would. Then it waits for the queue to drain and counts:

- accepted: events the service acknowledged; deliveries: surveys it scheduled for them;
- sent per delivery: messages the provider took for one contact (never more than one);
- lost: accepted but neither sent, nor `unknown`, nor failed or suppressed with a reason; a delivery marked
  sent that the provider never took also counts as lost;
- unknown: deliveries whose provider call may have happened (each must match a call the provider saw).

Exit status 1 on any duplicate, loss or `unknown` without a provider call.
    python -m bench.faults [--events 3000 --rate 100]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from bench.ingest_http import (
    clean_env,
    code_version,
    free_port,
    gunicorn_server,
    postgres_database,
    prepare_database,
    raise_on_sigterm,
    stop_process,
    touchpoint_command,
)
from tests.fakes.twilio_api import FakeTwilio

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/touchpoint_bench_faults"
FLOW_YAML = """\
key: faults
name: Faults
trigger:
  event: order.delivered
channels: [sms]
question:
  kind: nps
  text:
    en: "How likely are you to recommend us? Reply 0-10."
"""
PENDING = ("scheduled", "claimed", "sending")
SENT = ("sent", "delivered", "answered", "completed", "expired")
CLIENT_TIMEOUT = 2.0  # Twilio client timeout in the workers; the hangs outlast it
HANG = 8.0  # the first burst of hung calls, during which a worker is killed
LEASE = 6  # seconds before a killed worker's `sending` delivery is shown `unknown`


@dataclass(frozen=True)
class FaultConfig:
    events: int = 3000
    rate: float = 100.0
    web_workers: int = 2
    workers: int = 3
    repeat_share: float = 0.1
    drain_timeout: float = 180.0


@dataclass
class FaultReport:
    accepted: int = 0
    repeats_acknowledged: int = 0
    client_retries: int = 0
    refused: int = 0  # requests still failing after the retries: not accepted, so not lost
    deliveries: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    max_sent_per_delivery: int = 0
    duplicates: int = 0
    lost: int = 0
    unknown: int = 0
    unknown_without_call: int = 0
    in_flight_at_kill: int = 0
    connections_dropped: int = 0
    drain_seconds: float = 0.0
    faults: list[str] = field(default_factory=list)
    hangs_end: float = 0.0  # monotonic time by which the double has answered every hung call
    scraped: Counter[str] = field(default_factory=Counter)  # figures read from /metrics after the run

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.lost or self.unknown_without_call)


def phone(i: int) -> str:
    return f"+447911{i:06d}"


def event_keys(config: FaultConfig) -> list[int]:
    """Event numbers in arrival order: every tenth (by default) repeats an earlier one."""
    every = max(2, round(1 / config.repeat_share)) if config.repeat_share else 0
    keys: list[int] = []
    for n in range(config.events):
        keys.append(keys[n // 2] if every and n % every == every - 1 else n)
    return keys


class Load:
    """Posts the events at the set rate from a pool of clients, retrying a failed request with the same key."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url, self.headers = url + "/api/v1/events", {"Authorization": f"Bearer {api_key}"}
        self.accepted: set[int] = set()
        self.repeats = self.retries = self.refused = 0
        self.lock = threading.Lock()

    def post(self, number: int) -> None:
        body = {"type": "order.delivered", "idempotency_key": f"faults-{number}",
                "contact": {"external_id": f"c{number}", "phone": phone(number)}}
        for attempt in range(4):
            try:
                response = requests.post(self.url, json=body, headers=self.headers, timeout=10)
            except requests.RequestException:
                response = None
            if response is not None and response.status_code in (200, 202):
                with self.lock:
                    self.repeats += response.status_code == 200
                    self.accepted.add(number)
                return
            with self.lock:
                self.retries += 1
            time.sleep(0.2 * (attempt + 1))
        with self.lock:
            self.refused += 1

    def run(self, numbers: list[int], rate: float) -> None:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for index, number in enumerate(numbers):
                delay = start + index / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self.post, number)


def count(url: str, sql: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql(sql).scalar_one())
    finally:
        engine.dispose()


def drop_connections(url: str) -> int:
    """pg_terminate_backend on every connection to this database but our own."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return len(conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()").all())
    finally:
        engine.dispose()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    metrics_port: int  # each worker serves /metrics on a port of its own (several run on this host)


def start_worker(env: dict[str, str], workdir: Path, name: str) -> Worker:
    port = free_port()
    with open(workdir / f"{name}.log", "wb") as log:
        process = subprocess.Popen([*touchpoint_command(), "worker"], env={**env, "TOUCHPOINT_WORKER_METRICS_PORT":
                                   str(port)}, cwd=workdir, stdout=log, stderr=log, start_new_session=True)
    return Worker(process, port)


def scrape(url: str) -> Counter[str]:
    """Sums from a /metrics page, parsed as Prometheus parses it: requests by route, provider calls and errors."""
    found: Counter[str] = Counter()
    text = requests.get(url, timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "touchpoint_http_request_duration_seconds_count":
                found[f"requests {labels['method']} {labels['route']}"] += int(sample.value)
            elif sample.name == "touchpoint_provider_call_seconds_count":
                found[f"provider calls {labels['channel']}"] += int(sample.value)
            elif sample.name == "touchpoint_provider_errors_total":
                found[f"provider errors {labels['outcome']}"] += int(sample.value)
    return found


@contextmanager
def workers(env: dict[str, str], count_: int, workdir: Path) -> Iterator[list[Worker]]:
    started = [start_worker(env, workdir, f"worker-{n}") for n in range(count_)]
    try:
        yield started
    finally:
        for worker in started:
            stop_process(worker.process)


def calls_in_flight(pid: int, port: int) -> int:
    """Open connections from process `pid` to the provider double's `port`. The double closes each connection
    after its answer (HTTP/1.0), so an open one is a call waiting for its answer."""
    try:
        sockets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    inodes = {link[8:-1] for link in sockets if link.startswith("socket:[")}
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                found += 1
    return found


def inject_faults(report: FaultReport, twilio: FakeTwilio, url: str, seconds: float,
                  kill: list[Worker], restart: Callable[[], Worker]) -> None:
    """The schedule of faults over the load's `seconds`, in a thread beside it."""
    def at(share: float) -> None:
        time.sleep(max(0.0, started + share * seconds - time.monotonic()))

    started = time.monotonic()
    at(0.15)
    twilio.fail_next(15, code=20429, retry_after=1)
    report.faults.append("15 x 429 Too Many Requests (Retry-After: 1)")
    at(0.3)
    twilio.hang_next(12, HANG)
    report.hangs_end = time.monotonic() + HANG + 5.0
    port = int(twilio.base_url.rsplit(":", 1)[1])
    deadline = time.monotonic() + HANG  # the sender may still be waiting out the 429s' Retry-After
    while time.monotonic() < deadline and not report.in_flight_at_kill:
        busiest = max(range(len(kill)), key=lambda n: calls_in_flight(kill[n].process.pid, port))
        report.in_flight_at_kill = calls_in_flight(kill[busiest].process.pid, port)
        time.sleep(0.05)
    victim = kill[busiest].process
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    kill.append(restart())
    report.faults.append(f"12 calls hung {HANG:g} s, past the client timeout; the worker with the most of them "
                         f"in flight ({report.in_flight_at_kill}) killed with SIGKILL, and replaced")
    at(0.5)
    twilio.fail_next(15, code=20500)
    report.faults.append("15 x 500 Internal Server Error")
    at(0.65)
    report.connections_dropped = drop_connections(url)
    report.faults.append(f"{report.connections_dropped} database connections dropped (pg_terminate_backend)")
    at(0.8)
    twilio.hang_next(6, 5.0)
    report.hangs_end = max(report.hangs_end, time.monotonic() + 5.0 + 5.0)
    report.faults.append("6 calls hung 5 s (past the 2 s client timeout)")


def drain(url: str, timeout: float) -> float:
    start = time.monotonic()
    pending = f"SELECT count(*) FROM delivery WHERE status IN ({', '.join(repr(s) for s in PENDING)})"
    while time.monotonic() - start < timeout:
        if count(url, pending) == 0:
            return time.monotonic() - start
        time.sleep(0.5)
    return time.monotonic() - start


def tally(report: FaultReport, url: str, accepted: set[int], twilio: FakeTwilio) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT e.idempotency_key, d.status, d.last_error FROM event e "
                "LEFT JOIN delivery d ON d.event_id = e.id").all()
    finally:
        engine.dispose()
    by_key = {key: (status, error) for key, status, error in rows}
    sent = Counter(message.params.get("To") for message in twilio.sent)
    called = {request.params.get("To") for request in twilio.requests}
    report.deliveries = sum(1 for status, _ in by_key.values() if status is not None)
    report.statuses = Counter(status or "none" for status, _ in by_key.values())
    report.max_sent_per_delivery = max(sent.values(), default=0)
    report.duplicates = sum(1 for n in sent.values() if n > 1)
    for number in accepted:
        status, error = by_key.get(f"faults-{number}", (None, None))
        to = phone(number)
        if status == "unknown":
            report.unknown += 1
            report.unknown_without_call += to not in called
        elif status in SENT:
            report.lost += sent[to] == 0
        elif status not in ("failed", "suppressed") or not error:
            report.lost += 1


def run_faults(config: FaultConfig, database_url: str, workdir: Path) -> FaultReport:
    """Everything above on the (new, empty) PostgreSQL database at `database_url`."""
    report = FaultReport()
    api_key = prepare_database(database_url, FLOW_YAML)
    with ExitStack() as stack:
        twilio = stack.enter_context(FakeTwilio())
        provider = {"TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
                    "TWILIO_FROM": "+15017250604", "TWILIO_API_BASE_URL": twilio.base_url, "TWILIO_MPS": "200",
                    "TWILIO_TIMEOUT_SECONDS": str(CLIENT_TIMEOUT)}
        tuning = {"TOUCHPOINT_WORKER_INTERVAL": "0.2", "TOUCHPOINT_RETRY_BASE_SECONDS": "0.2",
                  "TOUCHPOINT_RETRY_MAX_SECONDS": "2", "TOUCHPOINT_MAX_ATTEMPTS": "10",
                  "TOUCHPOINT_SEND_LEASE_SECONDS": str(LEASE), "TOUCHPOINT_LOG_LEVEL": "WARNING"}
        server = stack.enter_context(gunicorn_server(database_url, api_key, config.web_workers, workdir,
                                                     **provider, **tuning))
        env = clean_env(database_url, TOUCHPOINT_PUBLIC_URL=server.url, **provider, **tuning)
        procs = stack.enter_context(workers(env, config.workers, workdir))

        def restart() -> Worker:
            return start_worker(env, workdir, "worker-replacement")

        load = Load(server.url, api_key)
        seconds = config.events / config.rate
        faults = threading.Thread(target=inject_faults, args=(report, twilio, database_url, seconds, procs, restart))
        faults.start()
        load.run(event_keys(config), config.rate)
        faults.join()
        report.drain_seconds = drain(database_url, config.drain_timeout)
        time.sleep(max(0.0, report.hangs_end - time.monotonic()))  # a hung call is recorded when answered
        report.accepted, report.repeats_acknowledged = len(load.accepted), load.repeats
        report.client_retries, report.refused = load.retries, load.refused
        tally(report, database_url, load.accepted, twilio)
        report.scraped = scrape(server.url + "/metrics")
        for worker in procs:
            if worker.process.poll() is None:
                report.scraped += scrape(f"http://127.0.0.1:{worker.metrics_port}/metrics")
    return report


def print_report(config: FaultConfig, report: FaultReport) -> None:
    print(f"{config.events} events at {config.rate:g}/s ({config.repeat_share:.0%} repeated keys); "
          f"{config.web_workers} web processes, {config.workers} workers; PostgreSQL")
    for fault in report.faults:
        print(f"  fault: {fault}")
    print()
    rows = [
        ("events accepted (unique keys)", report.accepted),
        ("repeats acknowledged as duplicates", report.repeats_acknowledged),
        ("client retries (same key)", report.client_retries),
        ("refused after retries", report.refused),
        ("deliveries", report.deliveries),
        ("surveys sent per delivery, max", report.max_sent_per_delivery),
        ("contacts surveyed twice", report.duplicates),
        ("lost", report.lost),
        ("unknown (provider call may have happened)", report.unknown),
        ("unknown without a provider call", report.unknown_without_call),
        ("time to drain after the load, s", f"{report.drain_seconds:.1f}"),
    ]
    print("| measure | value |\n|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print("\ndelivery statuses: " + ", ".join(f"{s} {n}" for s, n in sorted(report.statuses.items())))
    print("from /metrics (web, and the workers alive at the end): "
          + ", ".join(f"{name} {value}" for name, value in sorted(report.scraped.items())))
    print("result: " + ("ok" if report.ok else "FAILED: a duplicate, a loss or an unfounded unknown"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL database to create, use and drop (must not exist yet)")
    parser.add_argument("--events", type=int, default=FaultConfig.events)
    parser.add_argument("--rate", type=float, default=FaultConfig.rate, help="events per second")
    parser.add_argument("--workers", type=int, default=FaultConfig.workers)
    args = parser.parse_args()
    raise_on_sigterm()
    config = FaultConfig(events=args.events, rate=args.rate, workers=args.workers)
    print(f"code {code_version()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp, postgres_database(args.database_url) as url:
        report = run_faults(config, url, Path(tmp))
    print_report(config, report)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
