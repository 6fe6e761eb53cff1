"""Counts of scored answers, and the estimate and change a metric reads from them.

The API's series, the dashboard, the score alerts and the digest all judge a score the same way, so a figure
and its interval read the same on every surface.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.intervals import Change, Estimate, ces_estimate, csat_difference, csat_estimate, difference, nps_estimate
from storage.insights import DayScores

PERCENT = ("csat", "thumbs")  # shares of the top band (stored as "promoter"), shown as %


@dataclass
class Counts:
    """Scored answers of one period, as the interval maths needs them."""

    n: int = 0
    promoters: int = 0
    detractors: int = 0
    total: int = 0
    squares: int = 0

    def add(self, row: DayScores) -> None:
        self.add_band(row.band, row.scored, row.score_sum, row.score_sq_sum)

    def add_band(self, band: str, n: int, total: int, squares: int) -> None:
        self.n += n
        self.promoters += n if band == "promoter" else 0
        self.detractors += n if band == "detractor" else 0
        self.total += total
        self.squares += squares


def estimate(metric: str, counts: Counts) -> Estimate:
    """NPS; CSAT and thumbs as the share of the top band; CES as the mean."""
    if metric == "nps":
        return nps_estimate(counts.promoters, counts.detractors, counts.n)
    if metric in PERCENT:
        return csat_estimate(counts.promoters, counts.n)
    return ces_estimate(counts.n, counts.total, counts.squares)


def change(metric: str, current: Counts, previous: Counts) -> Change:
    if metric in PERCENT:
        return csat_difference(current.promoters, current.n, previous.promoters, previous.n)
    return difference(estimate(metric, current), estimate(metric, previous))
