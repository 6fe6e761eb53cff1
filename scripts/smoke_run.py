"""The README's first command, tried as a newcomer would: a bare install, then `touchpoint run --demo`.

In a temporary folder: a clean venv with the runtime dependencies only (`pip install -c constraints.txt .`,
no test extras, not editable), `pip check` and an import of every module (scripts/check_install.py), then
`touchpoint run --demo` on a free port in an empty working directory, /healthz, /sandbox and /login (with the web
app's static files) answering 200 and a demo survey listed in the sandbox, as the /sandbox page reads it. The
server is stopped whatever happens. Exits non-zero with the step that failed. Needs only Python 3.11+; run it from
anywhere.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
START_SECONDS = 60
SURVEY_SECONDS = 60


class SmokeFailure(Exception):
    pass


def step(text: str) -> None:
    print(f"smoke: {text}", flush=True)


def run(args: list[str], what: str, cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SmokeFailure(f"{what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    if done.stdout.strip():
        print(done.stdout.strip(), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def demo_addresses(python: Path, cwd: Path) -> set[str]:
    code = ("import json; from bot.demo import DEMO_CONTACTS; print(json.dumps([c.get(k) for c in DEMO_CONTACTS "
            "for k in ('phone', 'email', 'slack_user_id') if c.get(k)]))")
    done = subprocess.run([str(python), "-c", code], cwd=cwd, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def wait_until_healthy(server: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SmokeFailure(f"touchpoint run exited with {server.returncode} before answering /healthz")
        try:
            if get(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SmokeFailure(f"/healthz did not answer 200 within {START_SECONDS} s")


def wait_for_demo_survey(base: str, addresses: set[str]) -> str:
    """Reads what the /sandbox page reads: its conversations, then a demo contact's messages."""
    deadline = time.monotonic() + SURVEY_SECONDS
    while time.monotonic() < deadline:
        status, body = get(f"{base}/sandbox/conversations")
        if status == 200:
            for item in json.loads(body).get("items", []):
                if item.get("address") not in addresses:
                    continue
                query = urllib.parse.urlencode({"channel": item["channel"], "address": item["address"]})
                status, body = get(f"{base}/sandbox/messages?{query}")
                if status == 200 and json.loads(body).get("items"):
                    return f"{item['channel']} to {item['address']}"
        time.sleep(1)
    raise SmokeFailure(f"no demo survey reached the sandbox within {SURVEY_SECONDS} s")


def stop(server: subprocess.Popen) -> None:
    """The whole process group: the server and anything it started."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def smoke(tmp: Path) -> None:
    venv, work = tmp / "venv", tmp / "work"
    work.mkdir()
    python = venv / "bin" / "python"
    step("a clean venv with the runtime dependencies only")
    run([sys.executable, "-m", "venv", str(venv)], "python -m venv", tmp)
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(CHECKOUT / "constraints.txt"), str(CHECKOUT)], "pip install -c constraints.txt .", tmp)
    step("pip check, and every module imports")
    run([str(python), str(CHECKOUT / "scripts" / "check_install.py")], "the install check", work)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHPOINT_")}
    env.update(XDG_DATA_HOME=str(tmp / "data"), TOUCHPOINT_PUBLIC_URL=base)
    step(f"touchpoint run --demo --port {port}")
    log = tmp / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen([str(venv / "bin" / "touchpoint"), "run", "--demo", "--port", str(port)], cwd=work,
                                  env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_until_healthy(server, base)
        step("/healthz answers 200")
        status, _ = get(f"{base}/sandbox")
        if status != 200:
            raise SmokeFailure(f"/sandbox answered {status}")
        step("/sandbox answers 200")
        status, body = get(f"{base}/login")
        if status != 200 or b'<label for="email">Email</label>' not in body:
            raise SmokeFailure(f"/login answered {status} without its sign-in form")
        for asset in ("app.css", "app.js", "favicon.svg"):
            status, _ = get(f"{base}/static/app/{asset}")
            if status != 200:
                raise SmokeFailure(f"/static/app/{asset} answered {status}: the web app's files are not installed")
        step("/login and the web app's static files answer 200")
        step(f"a demo survey reached the sandbox ({wait_for_demo_survey(base, demo_addresses(python, work))})")
    except SmokeFailure as exc:
        raise SmokeFailure(f"{exc}\n--- touchpoint run output ---\n{log.read_text()[-4000:]}") from None
    finally:
        stop(server)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="touchpoint-smoke-") as tmp:
        try:
            smoke(Path(tmp))
        except SmokeFailure as exc:
            print(f"smoke: FAILED: {exc}", file=sys.stderr)
            return 1
    step("make run's install and start work")
    return 0


if __name__ == "__main__":
    sys.exit(main())
