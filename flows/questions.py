"""Question kinds, their scales and bands."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class QuestionKind(StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
    THUMBS = "thumbs"


class Band(StrEnum):
    DETRACTOR = "detractor"
    PASSIVE = "passive"
    PROMOTER = "promoter"


@dataclass(frozen=True)
class EndLabels:
    """What the two ends of a scale mean, shown beside the buttons so a click needs no instructions."""

    low: str
    high: str


@dataclass(frozen=True)
class Scale:
    low: int
    high: int
    # Highest score that is still a detractor, and highest that is still passive.
    detractor_max: int
    passive_max: int

    def contains(self, score: int) -> bool:
        return self.low <= score <= self.high

    def describe(self) -> str:
        return f"{self.low}-{self.high}"


# Thumbs are stored as 0 (down) and 1 (up); there is no passive band.
SCALES: dict[QuestionKind, Scale] = {
    QuestionKind.NPS: Scale(0, 10, detractor_max=6, passive_max=8),
    QuestionKind.CSAT: Scale(1, 5, detractor_max=2, passive_max=3),
    QuestionKind.CES: Scale(1, 7, detractor_max=3, passive_max=4),
    QuestionKind.THUMBS: Scale(0, 1, detractor_max=0, passive_max=0),
}


def scale_for(kind: QuestionKind | str) -> Scale:
    return SCALES[QuestionKind(kind)]


def band_for(kind: QuestionKind | str, score: int) -> Band:
    """Band of an in-range score; raises ValueError outside the scale."""
    scale = scale_for(kind)
    if not scale.contains(score):
        raise ValueError(f"score {score} is outside {scale.describe()} for {kind}")
    if score <= scale.detractor_max:
        return Band.DETRACTOR
    if score <= scale.passive_max:
        return Band.PASSIVE
    return Band.PROMOTER


def answer_text(kind: QuestionKind, score: int) -> str:
    """A click as the customer would have typed it, so the reply rules apply unchanged."""
    if kind is QuestionKind.THUMBS:
        return "yes" if score == 1 else "no"
    return str(score)


def valid_score(kind: QuestionKind, score: int) -> bool:
    return score in (0, 1) if kind is QuestionKind.THUMBS else scale_for(kind).contains(score)
