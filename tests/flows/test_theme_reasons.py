"""Theme assignment with an admin's written taxonomy, against annotators' reasons on rows it was not written from."""

from __future__ import annotations

from argparse import Namespace

from bench.theme_accuracy import TAXONOMY, evaluate, rows
from bench.theme_discovery import accepted
from bot.runtime import load_taxonomy
from flows.themes import ThemeTagger


def test_the_written_taxonomy_keeps_its_held_apart_figures() -> None:
    scores = evaluate(rows("held"), ThemeTagger(load_taxonomy(str(TAXONOMY))))
    assert scores.macro_f1 >= 0.47  # 0.483 in docs/performance.md
    assert scores.per_reason["Cancelled Flight"][2] >= 0.68
    assert scores.no_reason_right >= 0.67  # "Can't Tell" rows left without a theme


def test_the_taxonomy_with_accepted_discoveries_keeps_its_held_apart_figure() -> None:
    """Groups proposed from the tuning tweets no theme covers, each accepted into the reason most of its tweets
    carry when at least half carry it (bench.theme_discovery); docs/performance.md: 0.483, none accepted."""
    taxonomy = load_taxonomy(str(TAXONOMY))
    written = ThemeTagger(taxonomy)
    uncovered = [row for row in rows("tune") if not written(row.text)]
    grown, log = accepted(taxonomy, uncovered, Namespace(groups=9, min_size=10, words=6, agree=0.5))
    assert len(log) == 9
    assert evaluate(rows("held"), ThemeTagger(grown)).macro_f1 >= 0.47
