"""`touchpoint web`: the app under gunicorn, configured from our settings."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from bot.logs import install_masking, log_formatter
from bot.settings import Settings

# gunicorn's default access line, and the request id our middleware put in the response.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'


class _Logs(Logger):
    """gunicorn's own lines (its master's, and the access log) in the format of every other line."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = log_formatter(Settings().log_format)
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(formatter)


class _Server(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from bot.app import create_app, freeze_startup_heap

        app = create_app()
        freeze_startup_heap()
        return app


def serve(bind: str, workers: int) -> None:
    """The access log (on stdout) goes through the same masking as every other log line: query values, survey
    tokens and addresses in request lines and referrers are masked in the master and every worker."""
    made = metrics_directory()
    install_masking()
    try:
        _Server({"bind": bind, "workers": workers, "threads": 4, "accesslog": "-",
                 "access_log_format": ACCESS_LOG_FORMAT, "logger_class": _Logs}).run()
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def metrics_directory() -> str | None:
    """Where the workers keep their Prometheus counts, so that whichever answers a scrape answers for all of them
    (prometheus_client's multiprocess mode). PROMETHEUS_MULTIPROC_DIR if set, emptied of a previous run's files;
    otherwise a new private folder, removed at exit (returned). The workers read the variable when they first
    import prometheus_client, after they are forked: the master must not have imported it."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return None
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set")
    made = tempfile.mkdtemp(prefix="touchpoint-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made
