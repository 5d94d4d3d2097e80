"""The oracle: a greedy planner that knows the learner's true memory.

At every step it picks the in-scope item with the largest expected gain in the true
exam-day score per expected second: for each item, the true recall now, the expected
recall on its test's scoring day if studied now (over the true outcome and, for FSRS-6
truth, the rating split) with no further study, against the recall then if skipped; the
gain is the item's blueprint weight × 0.75 × the difference (the exam has four options),
and the cost the expected seconds of the answer given the true recall and the learner's
true speed. It has no daily new-item cap and no learning steps.

It is one-step greedy, so it is a strong reference rather than an upper bound: a planner
that looks further ahead (e.g. plans the second study of an item) can beat it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.sim.course import Course
from bench.sim.memory import MemoryModel
from bench.sim.policies.base import Policy, Shown
from bench.sim.student import expected_seconds

__all__ = ["OraclePolicy", "OracleTruth"]

EXAM_GUESS_RATE = 0.25


@dataclass(frozen=True)
class OracleTruth:
    """What only the oracle may see: the live true memory, each item's scoring time, the
    learner's speed."""

    memory: MemoryModel
    horizon: np.ndarray
    speed: float


class OraclePolicy(Policy):
    """Greedy on the true gain in exam score per expected second."""

    name = "oracle"

    def __init__(self, course: Course, rng: np.random.Generator, truth: OracleTruth) -> None:
        super().__init__(course, rng)
        self.truth = truth
        self.weight = course.area_weights() * (1 - EXAM_GUESS_RATE)
        self.first_look = np.ones(course.size, bool)

    def choose(self, t: float) -> int | None:
        candidates = np.flatnonzero(self.scope)
        if candidates.size == 0:
            return None
        recall, studied, skipped = self.truth.memory.study_value(
            candidates, t, self.truth.horizon[candidates]
        )
        cost = expected_seconds(recall, self.first_look[candidates], self.truth.speed)
        value = self.weight[candidates] * (studied - skipped) / cost
        return int(candidates[np.argmax(value)])

    def observe(self, shown: Shown) -> None:
        self.first_look[shown.index] = False
