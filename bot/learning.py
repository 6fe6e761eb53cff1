"""The learned layer's services: agents' corrections on the answer, and retraining in the worker.

Retraining reads the deployment's newest comments (the score band is a noisy label, an agent's correction a
sure one that weighs more) and stores a new model version that becomes active; it runs in the worker or from
the CLI, never while a request waits. A rollback makes an earlier version (or none) active and holds the
automatic retraining until someone trains again by hand, so that a bad model is not simply rebuilt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session

from bot.errors import NoSuchVersion, NothingToCorrect, ResponseNotFound, UnknownTheme
from bot.runtime import Runtime
from flows.learned import BAND_LABELS, CORRECTION_WEIGHT, Example, train_checked
from flows.sentiment import Sentiment, mismatch
from storage.learning import (
    ModelInfo,
    TrainingRow,
    activate,
    add_correction,
    list_models,
    response_by_id,
    save_model,
    training_rows,
)
from storage.models import Response
from storage.responses import save_response

log = logging.getLogger("touchpoint.learning")

SENTIMENT = "sentiment"
TRAIN_LIMIT = 20_000


@dataclass(frozen=True)
class Trained:
    version: int | None
    examples: int
    corrections: int
    reason: str = ""


def known_themes(rt: Runtime) -> list[str]:
    """The taxonomy's theme names, in its order: what a correction may name."""
    return [name for name, _ in getattr(rt.themes, "themes", [])]


def correct_response(rt: Runtime, session: Session, response_id: int, sentiment: str | None,
                     themes: list[str] | None) -> Response:
    """The answer takes the agent's tags at once; the next model learns from them. Routing is not redone: a case
    already opened stays where agents are working on it."""
    rt.refresh_themes(session.connection())
    response = response_by_id(session, response_id)
    if response is None:
        raise ResponseNotFound(response_id)
    if not response.comment:
        raise NothingToCorrect(f"response {response_id} has no comment, so it has no tags to correct")
    known = known_themes(rt)
    for theme in themes or []:
        if theme not in known:
            raise UnknownTheme(theme, known)
    before = Response(**response.model_dump())
    if sentiment is not None:
        response.sentiment = sentiment
        response.mismatch = mismatch(response.band, Sentiment(sentiment, response.polarity or 0.0))
    if themes is not None:
        response.themes = [name for name in known if name in themes]
    add_correction(session, response_id, sentiment, response.themes if themes is not None else None)
    return save_response(session, response, before)


def examples_from(rows: list[TrainingRow]) -> tuple[list[Example], int]:
    examples, corrections = [], 0
    for row in rows:
        if row.sentiment:
            examples.append(Example(row.comment, row.sentiment, CORRECTION_WEIGHT))
            corrections += 1
        elif row.band in BAND_LABELS:
            examples.append(Example(row.comment, BAND_LABELS[row.band]))
    return examples, corrections


def retrain(rt: Runtime, *, by_hand: bool = False) -> Trained:
    """A new active version from the newest comments, unless nothing changed since the newest version, a
    rollback holds automatic training (`by_hand` trains anyway), or the model would not beat the lexicon on the
    newest comments it was not trained on."""
    with rt.session() as session:
        examples, corrections = examples_from(training_rows(session, TRAIN_LIMIT))
        models = list_models(session, SENTIMENT)
    if models and not by_hand:
        newest = models[0]
        if not newest.active:
            return Trained(None, len(examples), corrections, "held after a rollback")
        # Counts alone cannot see the window move once it is full: a full window trains every hour.
        if (newest.examples, newest.corrections) == (len(examples), corrections) and len(examples) < TRAIN_LIMIT:
            return Trained(None, len(examples), corrections, "nothing new")
    model, reason = train_checked(examples)
    if model is None:
        return Trained(None, len(examples), corrections, reason)
    with rt.session() as session:
        version = save_model(session, SENTIMENT, model.dumps(), model.examples, model.corrections)
    rt.forget_model()
    log.info("sentiment model version %s trained on %s comments (%s corrected): %s", version, model.examples,
             model.corrections, reason)
    return Trained(version, model.examples, model.corrections, reason)


def models(rt: Runtime) -> list[ModelInfo]:
    with rt.session() as session:
        return list_models(session, SENTIMENT)


def rollback(rt: Runtime, version: int | None = None) -> int | None:
    """To `version`, or to the version before the active one (none when it was the first); returns it."""
    with rt.session() as session:
        found = list_models(session, SENTIMENT)
        if version is None:
            active = next((m.version for m in found if m.active), None)
            older = [m.version for m in found if active is None or m.version < active]
            version = older[0] if older and active is not None else None
        elif version not in {m.version for m in found}:
            raise NoSuchVersion(version)
        activate(session, SENTIMENT, version)
    rt.forget_model()
    return version


