"""What the app holds for its lifetime: settings, the database engine and the channels."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
import yaml
from flask import current_app
from sqlmodel import Session

from bot.logs import setup_logging
from bot.settings import Settings
from channels.base import Channel
from channels.registry import build_channels
from flows.learned import SentimentModel
from flows.schema import FlowDefinition
from flows.themes import DEFAULT_THEMES, ThemeTagger
from storage.db import make_engine, session_scope
from storage.flow_versions import FlowsStamp, current_flow_ids, flows_by_id
from storage.learning import active_version, model_data
from storage.models import Flow
from storage.themes import accepted_themes

MODEL_RECHECK = 60.0


@dataclass
class Runtime:
    settings: Settings
    engine: sa.Engine
    channels: dict[str, Channel]
    themes: Callable[[str | None], list[str]]
    _definitions: dict[int, FlowDefinition] = field(default_factory=dict, repr=False)
    _flows: dict[int, Flow] = field(default_factory=dict, repr=False)
    _current: tuple[FlowsStamp, list[int]] | None = field(default=None, repr=False)
    # (checked at, version, model): the active learned model, loaded on first use and looked for again each minute.
    _sentiment: tuple[float, int | None, SentimentModel | None] | None = field(default=None, repr=False)
    # The written taxonomy (file or built-in); accepted theme proposals are added to it (see `refresh_themes`).
    taxonomy: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_THEMES))
    # (checked at, accepted themes the tagger was built with)
    _accepted: tuple[float, dict[str, list[str]]] | None = field(default=None, repr=False)

    def refresh_themes(self, connection: sa.Connection) -> None:
        """`themes` with the accepted proposals added; an acceptance in another process is seen within
        MODEL_RECHECK seconds."""
        now = time.monotonic()
        cached = self._accepted
        if cached is not None and now - cached[0] < MODEL_RECHECK:
            return
        accepted = accepted_themes(connection)
        if cached is None or cached[1] != accepted:
            merged = {theme: list(words) for theme, words in self.taxonomy.items()}
            for theme, words in accepted.items():
                merged[theme] = merged.get(theme, []) + [w for w in words if w not in merged.get(theme, [])]
            self.themes = ThemeTagger(merged)
        self._accepted = (now, accepted)

    def forget_themes(self) -> None:
        self._accepted = None

    def close(self) -> None:
        """Channels first, so the work they run in the background still has its database."""
        for channel in self.channels.values():
            channel.close()
        self.engine.dispose()

    def sentiment_model(self, connection: sa.Connection) -> SentimentModel | None:
        """The deployment's active learned sentiment model, or None (the lexicon alone tags).

        A rollback or a new version in another process is seen within MODEL_RECHECK seconds."""
        now = time.monotonic()
        cached = self._sentiment
        if cached is not None and now - cached[0] < MODEL_RECHECK:
            return cached[2]
        version = active_version(connection, "sentiment")
        model = cached[2] if cached is not None and cached[1] == version else None
        if version is not None and model is None:
            data = model_data(connection, "sentiment", version)
            model = SentimentModel.loads(data) if data else None
        self._sentiment = (now, version, model)
        return model

    def forget_model(self) -> None:
        self._sentiment = None

    def definition(self, flow: Flow) -> FlowDefinition:
        """The parsed definition of a flow version; versions never change, so it is parsed once."""
        assert flow.id is not None
        cached = self._definitions.get(flow.id)
        if cached is None:
            cached = self._definitions[flow.id] = FlowDefinition.model_validate(flow.definition)
        return cached

    def flows_for_event(
        self, session: Session, event_type: str, stamp: FlowsStamp
    ) -> list[tuple[Flow, FlowDefinition]]:
        """The current, enabled flows this event type triggers. The versions are loaded once per process; which
        ones are current is asked again only when `stamp` (read with the event) differs from the last one."""
        cached = self._current
        if cached is not None and cached[0] == stamp:
            ids = cached[1]
        else:
            ids = current_flow_ids(session)
            self._current = (stamp, ids)
        self._load_flows(session, ids)
        found = []
        for flow_id in ids:
            flow = self._flows[flow_id]
            definition = self.definition(flow)
            if flow.enabled and definition.trigger.event == event_type:
                found.append((flow, definition))
        return found

    def flow_version(self, session: Session, flow_id: int) -> Flow:
        """A flow version by id (a delivery's), read from the database once per process."""
        self._load_flows(session, [flow_id])
        return self._flows[flow_id]

    def _load_flows(self, session: Session, ids: list[int]) -> None:
        missing = set(ids) - self._flows.keys()
        if missing:
            loaded = flows_by_id(session, missing)
            for flow in loaded.values():
                # Kept for the process, so out of the session: its rollback would otherwise expire them, and
                # every later request reading them would fail.
                session.expunge(flow)
            self._flows.update(loaded)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session

    @property
    def sandbox_channels(self) -> list[str]:
        return [name for name, channel in self.channels.items() if channel.sandboxed]


def runtime() -> Runtime:
    """The runtime of the app serving the current request."""
    return current_app.extensions["touchpoint"]


def build_runtime(settings: Settings) -> Runtime:
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    setup_logging(settings.log_level, settings.secret_key_value, token, fmt=settings.log_format)
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    channels = build_channels(os.environ, settings.sandbox, settings.public_url)
    for channel in channels.values():
        channel.use_database(engine)
    taxonomy = load_taxonomy(settings.themes_file) if settings.themes_file else DEFAULT_THEMES
    return Runtime(settings=settings, engine=engine, channels=channels, themes=ThemeTagger(taxonomy),
                   taxonomy=taxonomy)


def load_taxonomy(path: str) -> dict[str, list[str]]:
    """A YAML mapping of theme -> keywords or phrases, replacing the built-in taxonomy."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(w, str) for w in v) for k, v in data.items()
    ):
        raise ValueError(f"{path}: expected a mapping of theme name to a list of keywords")
    return data
