"""Intervals and period comparisons, each against a computation done by hand in the comment above it."""

from __future__ import annotations

import pytest

from flows.intervals import (
    MIN_ANSWERS,
    ces_estimate,
    csat_difference,
    csat_estimate,
    difference,
    nps_estimate,
    t95,
)


def test_nps_interval_from_the_multinomial_variance() -> None:
    # 20 answers: 10 promoters, 5 passives, 5 detractors. p_P = .5, p_D = .25, NPS = 25.
    # Var = 100^2 * (.5 + .25 - .25^2) / 20 = 10000 * .6875 / 20 = 343.75; sd = 18.5405
    # half width = 1.96 * 18.5405 = 36.338 -> [-11.34, 61.34]
    e = nps_estimate(promoters=10, detractors=5, n=20)
    assert e.value == pytest.approx(25)
    assert e.variance == pytest.approx(343.75)
    assert (e.low, e.high) == (pytest.approx(-11.338, abs=1e-3), pytest.approx(61.338, abs=1e-3))


def test_nps_interval_is_clipped_to_the_scale() -> None:
    # 10 promoters, 0 detractors: p_P - p_D = 1, Var = 1e4 * (1 - 1) / 10 = 0 -> [100, 100]
    # 9 promoters, 1 passive: Var = 1e4 * (.9 - .81) / 10 = 90, half = 1.96 * 9.487 = 18.59 -> [71.4, 100]
    assert (nps_estimate(10, 0, 10).low, nps_estimate(10, 0, 10).high) == (100, 100)
    e = nps_estimate(9, 0, 10)
    assert e.low == pytest.approx(90 - 18.594, abs=1e-3)
    assert e.high == 100


def test_too_few_answers_give_no_number() -> None:
    for estimate in (nps_estimate(9, 0, MIN_ANSWERS - 1), csat_estimate(9, MIN_ANSWERS - 1),
                     ces_estimate(MIN_ANSWERS - 1, 27, 81)):
        assert not estimate.enough
        assert (estimate.value, estimate.low, estimate.high) == (None, None, None)
        assert estimate.n == MIN_ANSWERS - 1


def test_csat_wilson_interval() -> None:
    # 8 satisfied of 10, z^2 = 3.84146. centre = (.8 + 3.84146/20) / (1 + .384146) = .992073 / 1.384146 = .71674
    # half = 1.95996 / 1.384146 * sqrt(.8 * .2 / 10 + 3.84146 / 400) = 1.416008 * .160012 = .226579
    # -> [49.016, 94.332] (the published Wilson interval for 8/10 is .490-.943)
    e = csat_estimate(8, 10)
    assert e.value == pytest.approx(80)
    assert (e.low, e.high) == (pytest.approx(49.016, abs=1e-3), pytest.approx(94.332, abs=1e-3))


def test_csat_wilson_interval_at_the_edge_stays_inside_the_scale() -> None:
    # 10 of 10: centre = (1 + .192073) / 1.384146 = .861234, half = 1.416008 * sqrt(0 + .00960365) = .138766
    # -> [72.247, 100]
    e = csat_estimate(10, 10)
    assert e.low == pytest.approx(72.247, abs=1e-3)
    assert e.high == pytest.approx(100)


def test_t_quantiles_match_the_tables() -> None:
    assert t95(9) == pytest.approx(2.262, abs=1e-3)
    assert t95(30) == pytest.approx(2.042, abs=1e-3)
    assert t95(1000) == pytest.approx(1.962, abs=1e-3)


def test_ces_t_interval_from_sum_and_sum_of_squares() -> None:
    # five 3s and five 5s: n = 10, sum = 40, squares = 5*9 + 5*25 = 170, mean 4
    # s^2 = (170 - 40^2/10) / 9 = 10/9; se = sqrt(10/9 / 10) = 1/3; t(9) = 2.2622 -> 4 -+ .7541
    e = ces_estimate(10, 40, 170)
    assert e.value == pytest.approx(4)
    assert (e.low, e.high) == (pytest.approx(3.2459, abs=1e-3), pytest.approx(4.7541, abs=1e-3))


def test_nps_change_with_summed_variances() -> None:
    # now: 60 promoters, 10 detractors of 100: NPS 50, Var = 1e4 * (.7 - .25) / 100 = 45
    # before: 30 and 30 of 100: NPS 0, Var = 1e4 * .6 / 100 = 60
    # se = sqrt(105) = 10.247, z = 50 / 10.247 = 4.880 -> significant; interval 50 -+ 20.084
    change = difference(nps_estimate(60, 10, 100), nps_estimate(30, 30, 100))
    assert change.delta == pytest.approx(50)
    assert change.z == pytest.approx(4.880, abs=1e-3)
    assert change.significant is True
    assert change.low == pytest.approx(29.916, abs=1e-3)


def test_small_nps_change_is_not_significant() -> None:
    # now 10/5/5 of 20: NPS 25, Var 343.75; before 5/10/5: NPS 0, Var = 1e4 * .5 / 20 = 250
    # se = sqrt(593.75) = 24.367, z = 1.026 -> not significant
    change = difference(nps_estimate(10, 5, 20), nps_estimate(5, 5, 20))
    assert change.z == pytest.approx(1.026, abs=1e-3)
    assert change.significant is False


def test_change_needs_enough_answers_on_both_sides() -> None:
    change = difference(nps_estimate(60, 10, 100), nps_estimate(3, 3, 9))
    assert (change.delta, change.significant) == (None, None)
    assert csat_difference(8, 10, 5, 9).significant is None


def test_csat_change_two_proportion_test() -> None:
    # 80/100 vs 60/100: pooled p = .7, se = sqrt(.7 * .3 * (1/100 + 1/100)) = .064807, z = .2 / .064807 = 3.086
    # interval: unpooled se = sqrt(.8*.2/100 + .6*.4/100) = .063246 -> 20 -+ 12.396
    change = csat_difference(80, 100, 60, 100)
    assert change.z == pytest.approx(3.086, abs=1e-3)
    assert change.significant is True
    assert (change.low, change.high) == (pytest.approx(7.604, abs=1e-3), pytest.approx(32.396, abs=1e-3))


def test_ces_change() -> None:
    # now: 3s and 5s (mean 4, Var of mean 1/9); before: ten 3s (n 10, sum 30, squares 90): mean 3, Var 0
    # se = 1/3, z = 1 / (1/3) = 3 -> significant
    change = difference(ces_estimate(10, 40, 170), ces_estimate(10, 30, 90))
    assert change.delta == pytest.approx(1)
    assert change.z == pytest.approx(3)
    assert change.significant is True
