"""The policy interface and what a policy is shown after each answer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bench.sim.course import Course

__all__ = ["Policy", "Shown"]


@dataclass(frozen=True)
class Shown:
    """What the learner showed on one answer: all a policy learns from it.

    ``choice`` is the letter picked on a multiple-choice item; ``self_rating`` (1–4) the
    learner's own grade of a flashcard. ``at`` is when the item was shown, ``seconds`` how
    long the answer took.
    """

    index: int
    at: float
    correct: bool
    choice: str | None
    self_rating: int | None
    seconds: float


class Policy(ABC):
    """Chooses the next item. Subclasses keep their own beliefs, built from :class:`Shown`."""

    name: str = "policy"

    def __init__(self, course: Course, rng: np.random.Generator) -> None:
        self.course = course
        self.rng = rng
        self.scope = np.ones(course.size, bool)
        self.day = 0

    def set_scope(self, tests: frozenset[str]) -> None:
        """Only items of ``tests`` may be chosen from now on (taken exams drop out)."""
        self.scope = self.course.mask_for_tests(tests)

    def start_day(self, day: int, t: float) -> None:
        """A study session starts at ``t`` on ``day``."""
        self.day = day

    @abstractmethod
    def choose(self, t: float) -> int | None:
        """The item to show at ``t``, or None to stop for the day."""

    @abstractmethod
    def observe(self, shown: Shown) -> None:
        """Learn from the answer just given."""

    def believed_area_mastery(self, t: float) -> Mapping[str, float] | None:
        """The policy's own estimate of each goal area's mastery now, if it makes one."""
        return None

    def believed_scores(self, t: float) -> Mapping[str, float] | None:
        """The policy's predicted score per goal test, if it makes one."""
        return None
