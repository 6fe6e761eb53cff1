"""Peak memory of `touchpoint run` (web + worker in one process, SQLite): idle, then under load.

    .venv/bin/python -m bench.run_memory [--events 2000] [--clients 8]

Starts `touchpoint run` on a fresh SQLite file with the sandbox transports, reads VmRSS/VmHWM from
/proc/<pid>/status when idle, posts `--events` events from `--clients` threads, waits until the worker has
sent every survey, answers each one through the sandbox inbound endpoint, and reads the peak again.
Baseline, in the same run: a bare Flask app with one JSON route, served the same way (werkzeug, threaded),
measured after the same requests against its route.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.ingest_http import clean_env, free_port, proc_status_kib, stop_process, touchpoint_command

BARE_APP = """
import sys
from flask import Flask, jsonify, request
from werkzeug.serving import make_server
app = Flask("bare")
@app.post("/echo")
def echo():
    return jsonify(request.get_json()), 202
make_server("127.0.0.1", int(sys.argv[1]), app, threaded=True).serve_forever()
"""
FLOW = """\
key: bench-memory
name: Bench memory
trigger: {event: order.delivered}
channels: [sms]
question: {kind: nps, text: {en: "How likely are you to recommend us? Reply 0-10."}}
comment: {ask: never}
"""


def mib(pid: int, field: str) -> float:
    return proc_status_kib(pid, field) / 1024


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def post_all(url: str, bodies: list[dict], headers: dict[str, str], clients: int) -> None:
    def post(body: dict) -> None:
        response = requests.post(url, json=body, headers=headers, timeout=30)
        assert response.status_code in (200, 202), response.text

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, bodies))


def measure_touchpoint(workdir: Path, events: int, clients: int) -> tuple[float, float, float]:
    env = clean_env(f"sqlite:///{workdir / 'touchpoint.db'}", TOUCHPOINT_WORKER_INTERVAL="0.2")
    subprocess.run([*touchpoint_command(), "db", "upgrade"], env=env, cwd=workdir, check=True, capture_output=True)
    key = subprocess.run([*touchpoint_command(), "apikey", "create", "bench"], env=env, cwd=workdir, check=True,
                         capture_output=True, text=True).stdout.strip()
    port = free_port()
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
    with open(workdir / "run.log", "wb") as log:
        process = subprocess.Popen([*touchpoint_command(), "run", "--port", str(port)], env=env, cwd=workdir,
                                   stdout=log, stderr=log, start_new_session=True)
        try:
            wait_until(lambda: requests.get(base + "/healthz", timeout=2).ok, 60, "touchpoint run")
            requests.put(base + "/api/v1/flows/bench-memory", data=FLOW, timeout=10,
                         headers={**headers, "Content-Type": "application/yaml"}).raise_for_status()
            time.sleep(3)
            idle = mib(process.pid, "VmRSS")
            bodies = [{"type": "order.delivered", "idempotency_key": f"m{i}",
                       "contact": {"external_id": f"m{i}", "phone": f"+4479111{i:05d}"}} for i in range(events)]
            post_all(base + "/api/v1/events", bodies, headers, clients)

            def all_sent() -> bool:
                return requests.get(base + "/api/v1/metrics", headers=headers, timeout=10).json()["sent"] >= events

            wait_until(all_sent, 300, "every survey to be sent")
            replies = [{"channel": "sms", "from": body["contact"]["phone"], "text": "9"} for body in bodies]
            post_all(base + "/api/v1/sandbox/inbound", replies, headers, clients)
            answered = requests.get(base + "/api/v1/metrics", headers=headers, timeout=10).json()["responses"]
            return idle, mib(process.pid, "VmHWM"), answered
        finally:
            stop_process(process)


def measure_bare(events: int, clients: int) -> tuple[float, float]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/echo"
        wait_until(lambda: requests.post(url, json={}, timeout=2).status_code == 202, 30, "the bare app")
        time.sleep(1)
        idle = mib(process.pid, "VmRSS")
        post_all(url, [{"i": i} for i in range(events * 2)], {}, clients)
        return idle, mib(process.pid, "VmHWM")
    finally:
        stop_process(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        idle, peak, answered = measure_touchpoint(Path(tmp), args.events, args.clients)
    bare_idle, bare_peak = measure_bare(args.events, args.clients)
    print(f"{args.events} events posted, {args.events} surveys sent, {answered} answered; {args.clients} clients")
    print("| process | idle RSS MiB | peak RSS MiB under load | peak vs bare Flask |\n|---|---:|---:|---:|")
    print(f"| bare Flask app (baseline) | {bare_idle:.0f} | {bare_peak:.0f} | 1.00x |")
    print(f"| touchpoint run | {idle:.0f} | {peak:.0f} | {peak / bare_peak:.2f}x |")


if __name__ == "__main__":
    main()
