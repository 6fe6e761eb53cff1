"""One typed settings object, built from the environment (and a `.env` file)."""

from __future__ import annotations

import os
import re
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SEGMENT = re.compile(r"(contact|event)\.[A-Za-z0-9_-]{1,64}")


class SandboxMode(StrEnum):
    AUTO = "auto"  # sandbox every channel while no channel has credentials
    ON = "on"  # channels without credentials run on the sandbox
    OFF = "off"  # channels without credentials are unavailable


def default_database_url() -> str:
    """A SQLite file in the per-user data folder (XDG Base Directory), not the working directory: the CLI run
    from any folder finds the same data."""
    base = os.environ.get("XDG_DATA_HOME", "")
    folder = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return f"sqlite:///{folder / 'touchpoint' / 'touchpoint.db'}"


class Settings(BaseSettings):
    """Every knob the service has; the README lists each variable."""

    model_config = SettingsConfigDict(env_prefix="TOUCHPOINT_", env_file=".env", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    secret_key: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    # Reverse proxies in front of the web process whose X-Forwarded-For/-Proto are trusted (0: the peer is the client).
    proxy_hops: int = Field(default=0, ge=0, le=5)
    port: int = 8000
    sandbox: SandboxMode = SandboxMode.AUTO
    sandbox_pages: bool = True  # the anonymous /sandbox pages; even on, only while every channel is sandboxed
    default_timezone: str = "UTC"
    default_locale: str = "en"

    worker_interval: float = 1.0
    worker_batch: int = 100
    worker_concurrency: int = 8
    send_lease_seconds: int = 120
    max_attempts: int = 6
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 900.0

    themes_file: str | None = None

    # Days answers' texts (comments, messages, resolved cases' notes) are kept; unset keeps them.
    retain_text_days: int | None = Field(default=None, ge=1)
    # Days providers' raw payloads are kept once processed; unset keeps them.
    retain_raw_days: int | None = Field(default=30, ge=1)

    # Outbound webhooks: private, loopback and link-local targets (and plain http) only when allowed.
    webhooks_allow_private: bool = False
    webhooks_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    webhooks_retry_base_seconds: float = Field(default=10.0, ge=0)
    webhooks_retry_max_seconds: float = Field(default=3600.0, ge=0)

    # Score alerts (bot.score_alerts): a flow's score over the last `alert_window_days` (today included) against
    # the `alert_baseline_days` before them; told to the flow's queues' Slack channels and/or the admins by email.
    alerts: Literal["off", "slack", "email", "both"] = "both"
    alert_window_days: int = Field(default=7, ge=1, le=90)
    alert_baseline_days: int = Field(default=28, ge=1, le=365)
    alert_min_answers: int = Field(default=30, ge=10)  # in the window and in the baseline, each
    # Segments with alerts of their own, comma-separated: `channel`, `contact.<attribute>`, `event.<property>`.
    alert_segments: str = ""
    # The insights digest to the admins (bot.insights_digest): for the day or ISO week just ended.
    insights_digest: Literal["off", "daily", "weekly"] = "weekly"

    # The web app: sessions, and how many failed sign-ins an account and a client address get per window.
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    sign_in_window_seconds: int = Field(default=15 * 60, ge=1)
    sign_in_failures_per_account: int = Field(default=5, ge=1)
    sign_in_failures_per_address: int = Field(default=20, ge=1)
    # The hour (UTC) from which each agent who asked for it gets the daily email of their open cases.
    digest_hour: int = Field(default=7, ge=0, le=23)

    max_body_bytes: int = 256 * 1024
    db_pool_size: int = 5
    log_level: str = "INFO"
    # text or json; unset: json for `touchpoint web` and `touchpoint worker`, text for everything else
    log_format: Literal["text", "json"] | None = None
    metrics_token: SecretStr | None = None  # set: /metrics needs Authorization: Bearer <token>
    worker_metrics_port: int = Field(default=8001, ge=0, le=65535)  # the worker's /metrics; 0: none
    worker_metrics_host: str | None = None  # default: TOUCHPOINT_HOST

    @field_validator("alert_segments")
    @classmethod
    def _check_segments(cls, value: str) -> str:
        for name in filter(None, (part.strip() for part in value.split(","))):
            if name != "channel" and not _SEGMENT.fullmatch(name):
                raise ValueError(f"{name!r}: a segment is channel, contact.<attribute> or event.<property>")
        return value

    @property
    def alert_segment_list(self) -> list[str]:
        return [part.strip() for part in self.alert_segments.split(",") if part.strip()]

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def secret_key_value(self) -> str:
        return self.secret_key.get_secret_value()

    @property
    def https(self) -> bool:
        """Served over HTTPS (the public URL says so): cookies are then sent only over HTTPS."""
        return self.public_url.lower().startswith("https://")
