"""The labelled sentiment rows under tests/data/sentiment, split into a tuning half and a held-apart half."""

from __future__ import annotations

import csv
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.data import DATA as TEST_DATA

DATA = Path(os.environ.get("TOUCHPOINT_SENTIMENT_DATA", TEST_DATA / "sentiment"))
NPS_LABELS = {"detractor": "negative", "passive": "neutral", "promoter": "positive"}


@dataclass(frozen=True)
class Row:
    id: str
    text: str
    label: str


@dataclass(frozen=True)
class Dataset:
    name: str
    labels: tuple[str, ...]
    rows: list[Row]

    def split(self, part: str) -> list[Row]:
        """`tune` rows were looked at while choosing words and thresholds; `held` rows never were."""
        return [row for row in self.rows if (zlib.crc32(row.id.encode()) % 3 == 0) == (part == "held")]


def _read(name: str, label: Callable[[dict[str, str]], str | None]) -> list[Row]:
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        rows = (Row(r["id"], r["text"], label(r) or "") for r in csv.DictReader(handle))
        return [row for row in rows if row.label]


def datasets() -> list[Dataset]:
    three = ("positive", "neutral", "negative")
    return [
        Dataset("airline", three, _read("airline_dev.csv", lambda r: r["label"])),
        Dataset("reviews", ("positive", "negative"), _read("reviews_uci_dev.csv", lambda r: r["label"])),
        Dataset("nps verbatims (band as label)", three,
                _read("nps_verbatims_dev.csv", lambda r: NPS_LABELS.get(r["band"]))),
    ]
