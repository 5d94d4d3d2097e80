from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.blueprint import Blueprint
from engine.mastery import AreaMastery, MasteryLevel
from engine.readiness import pass_probability, poisson_binomial, readiness


def _brute_force(probabilities: list[float]) -> np.ndarray:
    pmf = np.zeros(len(probabilities) + 1)
    for outcome in itertools.product([0, 1], repeat=len(probabilities)):
        weight = math.prod(
            p if hit else 1 - p for p, hit in zip(probabilities, outcome, strict=True)
        )
        pmf[sum(outcome)] += weight
    return pmf


@given(st.lists(st.floats(0, 1), max_size=10))
def test_poisson_binomial_matches_enumeration(probabilities: list[float]) -> None:
    np.testing.assert_allclose(
        poisson_binomial(probabilities), _brute_force(probabilities), atol=1e-12
    )


def test_poisson_binomial_of_equal_probabilities_is_binomial() -> None:
    pmf = poisson_binomial([0.7] * 50)
    expected = [math.comb(50, k) * 0.7**k * 0.3 ** (50 - k) for k in range(51)]
    np.testing.assert_allclose(pmf, expected, atol=1e-12)


def test_pass_probability_counts_the_cut_in_whole_questions() -> None:
    # 10 questions, cut 0.70 -> 7 needed.
    assert pass_probability([1.0] * 7 + [0.0] * 3, 0.70) == pytest.approx(1.0)
    assert pass_probability([1.0] * 6 + [0.0] * 4, 0.70) == pytest.approx(0.0)
    assert pass_probability([0.5] * 10, 0.70) == pytest.approx(
        sum(math.comb(10, k) for k in range(7, 11)) / 1024
    )
    with pytest.raises(ValueError):
        pass_probability([0.5], 0.0)
    with pytest.raises(ValueError):
        poisson_binomial([1.5])


def _areas(test_code: str, blueprint: Blueprint, now: float, exam: float) -> list[AreaMastery]:
    return [
        AreaMastery(area.code, test_code, area.name, 10, 5, now, exam, None, MasteryLevel.ATTEMPTED)
        for area in blueprint[test_code].areas
    ]


def test_predicted_score_weights_areas_by_scored_questions(blueprint: Blueprint) -> None:
    test = blueprint["A6"]
    mastery = _areas("A6", blueprint, 0.9, 0.8)
    weak = mastery[-1]  # A6.E, 17 of 50 questions
    mastery[-1] = AreaMastery(
        weak.area_code, "A6", weak.area_name, 10, 5, 0.5, 0.4, None, weak.level
    )
    result = readiness(test, mastery, cut_score=0.7)
    assert result.predicted_score == pytest.approx((33 * 0.8 + 17 * 0.4) / 50)
    assert result.predicted_score_now == pytest.approx((33 * 0.9 + 17 * 0.5) / 50)
    assert result.questions_to_pass == 35
    assert 0 < result.pass_probability < 1
    assert result.coverage == pytest.approx(0.5)


def test_pass_probability_rises_with_mastery_and_falls_with_the_cut(blueprint: Blueprint) -> None:
    test = blueprint["A8"]
    low = readiness(test, _areas("A8", blueprint, 0.6, 0.6))
    high = readiness(test, _areas("A8", blueprint, 0.8, 0.8))
    strict = readiness(test, _areas("A8", blueprint, 0.8, 0.8), cut_score=0.85)
    assert low.pass_probability < high.pass_probability
    assert strict.pass_probability < high.pass_probability


def test_areas_without_items_count_as_guessing(blueprint: Blueprint) -> None:
    result = readiness(blueprint["A1"], [])
    assert result.predicted_score == pytest.approx(0.25)
    assert result.pass_probability < 1e-6
