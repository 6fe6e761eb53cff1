"""Intervals and period comparisons, each against a computation done by hand in the comment above it."""

from __future__ import annotations

import pytest

from flows.intervals import (
    MIN_ANSWERS,
    Z95,
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


def test_csat_change_newcombe_interval_from_the_two_wilson_intervals() -> None:
    # Wilson 80/100: centre = (.8 + .0192073) / 1.0384146 = .788902, half = 1.887456 * sqrt(.0016 + .000096) =
    # .077732 -> [71.117, 86.663]; 60/100: centre .596300, half 1.887456 * sqrt(.0024 + .000096) = .094298 ->
    # [50.200, 69.060]. Newcombe: down = sqrt((80 - 71.117)^2 + (69.060 - 60)^2) = 12.688 -> low 7.312;
    # up = sqrt((86.663 - 80)^2 + (60 - 50.200)^2) = 11.851 -> high 31.851; z = 20 * 1.96 / 12.688 = 3.090.
    change = csat_difference(80, 100, 60, 100)
    assert change.delta == pytest.approx(20)
    assert (change.low, change.high) == (pytest.approx(7.312, abs=1e-3), pytest.approx(31.851, abs=1e-3))
    assert change.z == pytest.approx(3.090, abs=1e-3)
    assert change.significant is True


def test_csat_change_at_the_scales_end_is_significant_only_if_its_interval_says_so() -> None:
    # 0/10 against 3/10: a Wald interval (unpooled variance 0 + .021) is -30 -+ 28.4, leaving out 0, while the
    # pooled test says z = -1.88. Wilson 0/10 = [0, 27.753], 3/10 = [10.779, 60.322]:
    # up = sqrt(27.753^2 + (30 - 10.779)^2) = 33.759 -> high +3.759, so no significant change, as the test says.
    change = csat_difference(0, 10, 3, 10)
    assert (change.low, change.high) == (pytest.approx(-60.322, abs=1e-3), pytest.approx(3.759, abs=1e-3))
    assert change.significant is False
    # Every answer satisfied now, none before: the interval stays on the scale, and leaves out 0.
    flipped = csat_difference(10, 10, 0, 10)
    assert flipped.significant is True and flipped.high == 100 and flipped.low == pytest.approx(60.751, abs=1e-3)


def test_significant_exactly_when_the_interval_leaves_out_no_change() -> None:
    changes = []
    for n1, n2 in ((10, 10), (10, 37), (25, 60), (200, 150)):
        for a in range(0, n1 + 1, max(1, n1 // 20)):
            for b in range(0, n2 + 1, max(1, n2 // 20)):
                changes.append(csat_difference(a, n1, b, n2))
                changes.append(difference(nps_estimate(a, (n1 - a) // 2, n1), nps_estimate(b, (n2 - b) // 3, n2)))
                # CES: a fives and the rest threes, against b sixes and the rest fours.
                changes.append(difference(ces_estimate(n1, 5 * a + 3 * (n1 - a), 25 * a + 9 * (n1 - a)),
                                          ces_estimate(n2, 6 * b + 4 * (n2 - b), 36 * b + 16 * (n2 - b))))
    assert len(changes) > 3000
    for c in changes:
        assert c.significant == (c.low > 0 or c.high < 0) == (abs(c.z) > Z95), c
    assert any(c.significant for c in changes) and not all(c.significant for c in changes)


def test_ces_change() -> None:
    # now: 3s and 5s (mean 4, Var of mean 1/9); before: ten 3s (n 10, sum 30, squares 90): mean 3, Var 0
    # se = 1/3, z = 1 / (1/3) = 3 -> significant
    change = difference(ces_estimate(10, 40, 170), ces_estimate(10, 30, 90))
    assert change.delta == pytest.approx(1)
    assert change.z == pytest.approx(3)
    assert change.significant is True
