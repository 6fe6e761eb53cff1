"""Metrics with their uncertainty: a 95% interval for NPS, CSAT and CES, and whether a change between two
periods is more than noise.

A score from 12 answers moves by 20 points from one week to the next without anything having changed; a
dashboard that shows it as a bare number invites people to act on noise. Below MIN_ANSWERS answers there
is no estimate at all (`Estimate.enough` is False and the value is None), and every estimate carries its
variance so two periods can be compared.

- NPS: each answer is +100 (promoter), 0 (passive) or -100 (detractor), so with p_P and p_D the shares,
  Var(NPS) = 100^2 * (p_P + p_D - (p_P - p_D)^2) / n (the multinomial variance); normal interval, clipped.
- CSAT: a proportion; Wilson score interval, which stays inside 0..100 and behaves at 0% and 100%.
- CES: a mean; Student's t interval from the count, the sum and the sum of squares of the scores.
- Changes: NPS and CES differences with the two variances summed (normal, both sides have >= MIN_ANSWERS);
  CSAT with the pooled two-proportion z test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
MIN_ANSWERS = 10


@dataclass(frozen=True)
class Estimate:
    """A metric over n answers: value and 95% interval, or None for all three when n < MIN_ANSWERS."""

    n: int
    value: float | None
    low: float | None
    high: float | None
    variance: float | None  # of `value`, for comparing periods

    @property
    def enough(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Change:
    """`current - previous` with its 95% interval; `significant` when the test rejects "no change" at 5%.
    All None when either side has too few answers."""

    delta: float | None
    low: float | None
    high: float | None
    z: float | None
    significant: bool | None


def _too_few(n: int) -> Estimate:
    return Estimate(n, None, None, None, None)


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def nps_estimate(promoters: int, detractors: int, n: int) -> Estimate:
    if n < MIN_ANSWERS:
        return _too_few(n)
    p_p, p_d = promoters / n, detractors / n
    value = 100 * (p_p - p_d)
    variance = 100**2 * max(p_p + p_d - (p_p - p_d) ** 2, 0.0) / n
    half = Z95 * math.sqrt(variance)
    return Estimate(n, value, _clip(value - half, -100, 100), _clip(value + half, -100, 100), variance)


def csat_estimate(satisfied: int, n: int) -> Estimate:
    if n < MIN_ANSWERS:
        return _too_few(n)
    p = satisfied / n
    z2 = Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n**2))
    return Estimate(n, 100 * p, 100 * max(centre - half, 0.0), 100 * min(centre + half, 1.0),
                    100**2 * p * (1 - p) / n)


def t95(df: int) -> float:
    """Two-sided 95% quantile of Student's t (Cornish-Fisher expansion; within 0.001 of the tables for df >= 9,
    which MIN_ANSWERS guarantees)."""
    z = Z95
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def ces_estimate(n: int, total: float, squares: float) -> Estimate:
    if n < MIN_ANSWERS:
        return _too_few(n)
    mean = total / n
    sample_variance = max(squares - total**2 / n, 0.0) / (n - 1)
    variance = sample_variance / n
    half = t95(n - 1) * math.sqrt(variance)
    return Estimate(n, mean, mean - half, mean + half, variance)


def _change(delta: float, se_interval: float, z: float, significant: bool) -> Change:
    half = Z95 * se_interval
    return Change(delta, delta - half, delta + half, z, significant)


def _z(delta: float, se: float) -> float:
    """A change in standard errors; no spread at all (every answer the same on both sides) makes any change
    certain."""
    if se:
        return delta / se
    return 0.0 if delta == 0 else math.copysign(math.inf, delta)


def difference(current: Estimate, previous: Estimate) -> Change:
    """NPS or CES: the difference of two independent estimates, with their variances summed."""
    if current.value is None or previous.value is None or current.variance is None or previous.variance is None:
        return Change(None, None, None, None, None)
    delta = current.value - previous.value
    se = math.sqrt(current.variance + previous.variance)
    z = _z(delta, se)
    return _change(delta, se, z, abs(z) > Z95)


def csat_difference(current_satisfied: int, current_n: int, previous_satisfied: int, previous_n: int) -> Change:
    """The difference of two proportions with Newcombe's hybrid score interval (method 10), built from the two
    Wilson intervals the periods show; significant exactly when that interval leaves out 0, so a change marked
    significant never shows an interval that includes no change (a Wald interval, or a pooled test beside it,
    disagree with each other near 0% and 100%). `z` is the change over the standard error of the interval's side
    towards 0: |z| > 1.96 exactly when the change is significant."""
    now, before = csat_estimate(current_satisfied, current_n), csat_estimate(previous_satisfied, previous_n)
    if None in (now.value, now.low, now.high, before.value, before.low, before.high):
        return Change(None, None, None, None, None)
    assert now.value is not None and now.low is not None and now.high is not None
    assert before.value is not None and before.low is not None and before.high is not None
    delta = now.value - before.value
    down = math.hypot(now.value - now.low, before.high - before.value)
    up = math.hypot(now.high - now.value, before.value - before.low)
    z = _z(delta, (up if delta < 0 else down) / Z95)
    return Change(delta, max(delta - down, -100.0), min(delta + up, 100.0), z, delta - down > 0 or delta + up < 0)
