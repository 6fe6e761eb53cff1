"""Running the real `touchpoint` command as a separate process, as an operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests


def touchpoint_command() -> list[str]:
    script = Path(sys.executable).parent / "touchpoint"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOUCHPOINT_", "TWILIO_", "SLACK_"))}
    env.update(
        TOUCHPOINT_DATABASE_URL=database_url,
        TOUCHPOINT_SECRET_KEY="e2e-secret",
        TOUCHPOINT_WORKER_INTERVAL="0.2",
        TOUCHPOINT_RETRY_BASE_SECONDS="0.1",
        TOUCHPOINT_RETRY_MAX_SECONDS="0.5",
        **extra,
    )
    return env


def cli(env: dict[str, str], *args: str, cwd: Path) -> str:
    done = subprocess.run([*touchpoint_command(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"touchpoint {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Server:
    url: str
    api_key: str
    env: dict[str, str]
    cwd: Path

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return requests.request(method, self.url + "/api/v1" + path, headers=headers, timeout=10, **kwargs)

    def wait_for(self, check, timeout: float = 20.0, what: str = "condition"):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")


def healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False
