"""The `server` fixture: `touchpoint run` on a free port, with its own API key."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import Server, cli, free_port, healthy, server_env, touchpoint_command


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(database_url, TOUCHPOINT_PORT=str(port), TOUCHPOINT_PUBLIC_URL=url)
    cli(env, "db", "upgrade", cwd=tmp_path)
    key = cli(env, "apikey", "create", "e2e", cwd=tmp_path).strip()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115
    process = subprocess.Popen([*touchpoint_command(), "run"], env=env, cwd=tmp_path, stdout=log, stderr=log)
    running = Server(url, key, env, tmp_path)
    try:
        running.wait_for(lambda: healthy(url), 30, "the server to start")
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
