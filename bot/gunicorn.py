"""`touchpoint web`: the app under gunicorn, configured from our settings."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from bot.logs import install_masking


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
    install_masking()
    _Server({"bind": bind, "workers": workers, "threads": 4, "accesslog": "-"}).run()
