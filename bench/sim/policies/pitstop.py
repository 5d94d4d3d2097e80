"""Pitstop's planner, driven through the in-memory :class:`engine.learner.Learner`.

The learner's goals are the scenario's tests with the exam dates the learner gave (none in
S3); when a sitting has passed its tests are removed from the goals, as a student would.
Every answer goes through ``Learner.answer``: multiple choice with the choice and response
time (the engine grades it), flashcards with the learner's self-rating. The predicted
P(correct) the engine logged with each review is kept for the calibration report, and the
time spent inside ``next_item`` and ``answer`` is measured.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from bench.sim.clock import exam_time, to_datetime
from bench.sim.course import Course
from bench.sim.policies.base import Policy, Shown
from engine.answering import Answer
from engine.learner import Goal, Learner
from engine.scheduling import Rating
from engine.selector import PlannerSettings

__all__ = ["PitstopPolicy", "PlannerLog"]


class PlannerLog:
    """What the harness measures on Pitstop: predictions against outcomes, and timings."""

    def __init__(self) -> None:
        self.predicted: list[float] = []
        self.correct: list[bool] = []
        self.first_look: list[bool] = []
        self.next_item_seconds = 0.0
        self.next_item_calls = 0
        self.answer_seconds = 0.0
        self.answer_calls = 0


class PitstopPolicy(Policy):
    """Asks the engine's planner for every item and reports every answer to it."""

    name = "pitstop"

    def __init__(
        self,
        course: Course,
        rng: np.random.Generator,
        *,
        settings: PlannerSettings | None = None,
    ) -> None:
        super().__init__(course, rng)
        self.all_goals = tuple(
            Goal(test, None if day is None else to_datetime(exam_time(day)))
            for test, day in course.scenario.known_exam_days().items()
        )
        self.learner = Learner(
            course.catalog, self.all_goals, settings=settings or PlannerSettings()
        )
        self.log = PlannerLog()
        self._seen = np.zeros(course.size, bool)

    def set_scope(self, tests: frozenset[str]) -> None:
        super().set_scope(tests)
        self.learner.goals = tuple(goal for goal in self.all_goals if goal.test_code in tests)

    def choose(self, t: float) -> int | None:
        began = time.perf_counter()
        selection = self.learner.next_item(to_datetime(t), self.rng)
        self.log.next_item_seconds += time.perf_counter() - began
        self.log.next_item_calls += 1
        return None if selection is None else selection.item_index

    def observe(self, shown: Shown) -> None:
        index = shown.index
        item = self.course.catalog.items[index]
        response_ms = round(shown.seconds * 1000)
        if shown.self_rating is not None:
            answer = Answer(self_rating=Rating(shown.self_rating), response_ms=response_ms)
        else:
            answer = Answer(choice=shown.choice, response_ms=response_ms)
        began = time.perf_counter()
        record = self.learner.answer(
            item.id, to_datetime(shown.at), self.rng, answer=answer, key=self.course.keys[index]
        )
        self.log.answer_seconds += time.perf_counter() - began
        self.log.answer_calls += 1
        self.log.predicted.append(record.predicted_correct)
        self.log.correct.append(record.correct)
        self.log.first_look.append(not self._seen[index])
        self._seen[index] = True

    def believed_area_mastery(self, t: float) -> Mapping[str, float]:
        return {
            area.area_code: area.mastery_now for area in self.learner.area_mastery(to_datetime(t))
        }

    def believed_scores(self, t: float) -> Mapping[str, float]:
        return {
            estimate.test_code: estimate.predicted_score
            for estimate in self.learner.readiness(to_datetime(t))
        }
