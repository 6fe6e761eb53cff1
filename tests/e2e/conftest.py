"""Servers for end-to-end tests: `touchpoint run` on a free port, with its own API key."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.processes import Server, cli, free_port, healthy, server_env, touchpoint_command

StartServer = Callable[..., Server]


@contextmanager
def running_server(database_url: str, workdir: Path, **extra_env: str) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(database_url, TOUCHPOINT_PORT=str(port), TOUCHPOINT_PUBLIC_URL=url, **extra_env)
    cli(env, "db", "upgrade", cwd=workdir)
    key = cli(env, "apikey", "create", "e2e", cwd=workdir).strip()
    with open(workdir / "server.log", "w") as log:
        process = subprocess.Popen([*touchpoint_command(), "run"], env=env, cwd=workdir, stdout=log, stderr=log)
        running = Server(url, key, env, workdir)
        try:
            running.wait_for(lambda: healthy(url), 30, "the server to start")
            yield running
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def start_server(database_url: str, tmp_path: Path) -> Iterator[StartServer]:
    """Start a server with extra environment (provider credentials, say); stopped after the test."""
    with ExitStack() as stack:
        yield lambda **extra_env: stack.enter_context(running_server(database_url, tmp_path, **extra_env))


@pytest.fixture
def server(start_server: StartServer) -> Server:
    return start_server()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium from Debian's package (never a downloaded build), through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
