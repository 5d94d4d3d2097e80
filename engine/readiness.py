"""Readiness for an exam: predicted score and pass probability from area mastery. Pure.

Predicted score = Σ over areas of (scored questions × area mastery at the exam) ÷ the test's
scored questions. Each scored question of area ``a`` is answered correctly with probability
equal to the area's mastery, so the number correct is Poisson-binomial; the pass probability is
P(correct ≥ ⌈cut × scored⌉). ASE publishes no fixed cut score: the cut is a setting (default
0.70) and every screen labels the result as an estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from engine.blueprint import TestSpec
from engine.mastery import AreaMastery

__all__ = ["DEFAULT_CUT_SCORE", "Readiness", "pass_probability", "poisson_binomial", "readiness"]

DEFAULT_CUT_SCORE = 0.70


def poisson_binomial(probabilities: Sequence[float] | np.ndarray) -> np.ndarray:
    """Distribution of the number of successes of independent trials, ``pmf[k]`` for k=0..n.

    Raises:
        ValueError: if a probability is outside [0, 1].
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.size and (probs.min() < 0 or probs.max() > 1 or np.isnan(probs).any()):
        raise ValueError("probabilities must lie in [0, 1]")
    pmf = np.zeros(probs.size + 1)
    pmf[0] = 1.0
    for count, p in enumerate(probs, start=1):
        pmf[1 : count + 1] = pmf[1 : count + 1] * (1 - p) + pmf[:count] * p
        pmf[0] *= 1 - p
    return pmf


def pass_probability(probabilities: Sequence[float] | np.ndarray, cut_score: float) -> float:
    """P(at least ⌈cut_score × n⌉ of n independent questions correct)."""
    if not 0 < cut_score <= 1:
        raise ValueError(f"cut_score must be in (0, 1], got {cut_score}")
    pmf = poisson_binomial(probabilities)
    needed = math.ceil(cut_score * (pmf.size - 1) - 1e-9)
    return float(np.clip(pmf[needed:].sum(), 0.0, 1.0))


@dataclass(frozen=True)
class Readiness:
    """An estimate of how a learner would do on one test."""

    test_code: str
    test_name: str
    exam_at: datetime | None
    scored_questions: int
    cut_score: float
    predicted_score: float
    predicted_score_now: float
    pass_probability: float
    coverage: float

    @property
    def questions_to_pass(self) -> int:
        return math.ceil(self.cut_score * self.scored_questions - 1e-9)


def readiness(
    test: TestSpec, mastery: Sequence[AreaMastery], cut_score: float = DEFAULT_CUT_SCORE
) -> Readiness:
    """Readiness for ``test`` from the mastery of its areas (other areas are ignored).

    An area with no items in the bank counts as pure guessing on four options.

    Raises:
        ValueError: if ``cut_score`` is outside (0, 1].
    """
    by_area = {area.area_code: area for area in mastery if area.test_code == test.code}
    per_question_exam: list[float] = []
    score_now = 0.0
    items = seen = 0
    for area in test.areas:
        found = by_area.get(area.code)
        at_exam = found.mastery_at_exam if found else 0.25
        score_now += area.scored_questions * (found.mastery_now if found else 0.25)
        per_question_exam += [at_exam] * area.scored_questions
        if found:
            items += found.items
            seen += found.seen
    exam_at = next((area.exam_at for area in by_area.values()), None)
    return Readiness(
        test_code=test.code,
        test_name=test.name,
        exam_at=exam_at,
        scored_questions=test.scored_questions,
        cut_score=cut_score,
        predicted_score=float(np.mean(per_question_exam)),
        predicted_score_now=score_now / test.scored_questions,
        pass_probability=pass_probability(per_question_exam, cut_score),
        coverage=seen / items if items else 0.0,
    )
