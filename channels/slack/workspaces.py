"""Slack settings and workspace tokens: SLACK_BOT_TOKEN for one workspace, OAuth installs for many."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

DEFAULT_SCOPES = ("chat:write", "im:write", "im:history", "users:read", "users:read.email")
DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackConfig:
    signing_secret: str
    bot_token: str | None
    client_id: str | None
    client_secret: str | None
    scopes: tuple[str, ...]
    api_url: str
    pace: float
    timeout: float
    public_url: str

    @property
    def oauth(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def __repr__(self) -> str:  # tokens and secrets stay out of logs and tracebacks
        return f"SlackConfig(api_url={self.api_url!r}, oauth={self.oauth}, single_token={self.bot_token is not None})"


def config_from_env(env: Mapping[str, str], public_url: str) -> SlackConfig | None:
    token, client_id, client_secret = env.get("SLACK_BOT_TOKEN"), env.get("SLACK_CLIENT_ID"), env.get(
        "SLACK_CLIENT_SECRET")
    if not (token or client_id or client_secret):
        return None
    if not env.get("SLACK_SIGNING_SECRET"):
        raise ValueError("SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN or SLACK_CLIENT_ID")
    if bool(client_id) != bool(client_secret):
        raise ValueError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (OAuth installs need both)")
    scopes = tuple(s.strip() for s in env.get("SLACK_SCOPES", "").split(",") if s.strip()) or DEFAULT_SCOPES
    api_url = env.get("SLACK_API_BASE_URL") or DEFAULT_API_URL
    return SlackConfig(
        signing_secret=env["SLACK_SIGNING_SECRET"],
        bot_token=token or None,
        client_id=client_id or None,
        client_secret=client_secret or None,
        scopes=scopes,
        api_url=api_url if api_url.endswith("/") else api_url + "/",
        pace=float(env.get("SLACK_MPS", "5")),
        timeout=float(env.get("SLACK_TIMEOUT_SECONDS", "10")),
        public_url=public_url.rstrip("/"),
    )


class Installations(SQLAlchemyInstallationStore):
    """Workspace tokens from OAuth installs, with SLACK_BOT_TOKEN standing in for a workspace never installed."""

    def __init__(self, config: SlackConfig, engine: sa.Engine) -> None:
        super().__init__(client_id=config.client_id or "touchpoint", engine=engine)
        self.env_token = config.bot_token

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        bot = super().find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        if bot is None and self.env_token:
            installed = datetime.now(UTC).timestamp()
            return Bot(enterprise_id=enterprise_id, team_id=team_id, bot_token=self.env_token, bot_id="",
                       bot_user_id="", installed_at=installed)
        return bot

    def token_for(self, team_id: str | None) -> str | None:
        """The bot token for a workspace; without a team, SLACK_BOT_TOKEN or the only installed workspace."""
        if team_id:
            bot = self.find_bot(enterprise_id=None, team_id=team_id)
            return bot.bot_token if bot else None
        if self.env_token:
            return self.env_token
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.bots.c.team_id, self.bots.c.bot_token)
                                .where(self.bots.c.client_id == self.client_id)
                                .order_by(self.bots.c.installed_at.desc())).all()
        teams = {team: token for team, token in reversed(rows)}
        return next(iter(teams.values())) if len(teams) == 1 else None
