"""Learned tagging: model versions (one active per kind, older ones kept for rollback) and agents' corrections."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Response, TaggingCorrection, TaggingModel

KEEP_VERSIONS = 10


@dataclass(frozen=True)
class TrainingRow:
    comment: str
    band: str | None
    sentiment: str | None  # an agent's correction, when there is one


@dataclass(frozen=True)
class ModelInfo:
    version: int
    active: bool
    examples: int
    corrections: int
    size: int
    trained_at: object


def add_correction(session: Session, response_id: int, sentiment: str | None, themes: list[str] | None) -> None:
    session.add(TaggingCorrection(response_id=response_id, sentiment=sentiment, themes=themes))


def training_rows(session: Session, limit: int) -> list[TrainingRow]:
    """The newest `limit` comments, oldest first, each with its latest sentiment correction if any."""
    # A comment in another language teaches the English model nothing but noise.
    english = sa.or_(col(Response.language).is_(None), col(Response.language) == "en")
    ids = select(Response.id, Response.comment, Response.band).where(col(Response.comment).is_not(None), english)
    rows = session.exec(ids.order_by(col(Response.id).desc()).limit(limit)).all()
    if not rows:
        return []
    oldest = rows[-1][0]
    corrected: dict[int, str] = {}
    query = (select(TaggingCorrection.response_id, TaggingCorrection.sentiment)
             .where(col(TaggingCorrection.sentiment).is_not(None), TaggingCorrection.response_id >= oldest)
             .order_by(col(TaggingCorrection.id)))
    for response_id, sentiment in session.exec(query).all():
        corrected[response_id] = sentiment
    return [TrainingRow(comment, band, corrected.get(rid)) for rid, comment, band in reversed(rows) if comment]


def save_model(session: Session, kind: str, data: bytes, examples: int, corrections: int) -> int:
    """The new version becomes the active one; versions beyond the newest KEEP_VERSIONS are dropped."""
    latest = session.exec(select(sa.func.max(TaggingModel.version)).where(TaggingModel.kind == kind)).one()
    version = (latest or 0) + 1
    session.execute(sa.update(TaggingModel).where(col(TaggingModel.kind) == kind).values(active=False))
    session.add(TaggingModel(kind=kind, version=version, active=True, examples=examples, corrections=corrections,
                             data=data))
    session.execute(sa.delete(TaggingModel).where(col(TaggingModel.kind) == kind,
                                                  col(TaggingModel.version) <= version - KEEP_VERSIONS))
    return version


def list_models(session: Session, kind: str) -> list[ModelInfo]:
    query = (select(TaggingModel.version, TaggingModel.active, TaggingModel.examples, TaggingModel.corrections,
                    sa.func.length(TaggingModel.data), TaggingModel.trained_at)
             .where(TaggingModel.kind == kind).order_by(col(TaggingModel.version).desc()))
    return [ModelInfo(*row) for row in session.exec(query).all()]


def activate(session: Session, kind: str, version: int | None) -> None:
    """Make `version` the active model; None leaves none active (the lexicon alone tags)."""
    session.execute(sa.update(TaggingModel).where(col(TaggingModel.kind) == kind)
                    .values(active=col(TaggingModel.version) == version if version is not None else False))


def active_version(connection: sa.Connection, kind: str) -> int | None:
    query = sa.select(TaggingModel.version).where(TaggingModel.kind == kind, col(TaggingModel.active).is_(True))
    return connection.execute(query).scalar()


def model_data(connection: sa.Connection, kind: str, version: int) -> bytes | None:
    query = sa.select(TaggingModel.data).where(TaggingModel.kind == kind, TaggingModel.version == version)
    return connection.execute(query).scalar()


def response_by_id(session: Session, response_id: int) -> Response | None:
    """A copy not attached to the session: storage.responses.save_response writes changes."""
    row = session.connection().execute(sa.select(Response.__table__).where(  # type: ignore[attr-defined]
        Response.__table__.c.id == response_id)).first()  # type: ignore[attr-defined]
    return None if row is None else Response(**row._mapping)
