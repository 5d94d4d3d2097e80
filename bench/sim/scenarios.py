"""The benchmark's scenarios (issue 7): which tests, how many items, minutes a day, exam days.

S1's "exam on day 14 and on day 30" is read as two sittings of a Master-track student: A1–A4
on day 14 and A5–A8 on day 30. Each test is scored on its own exam day from the learner's
true memory; after a sitting its items leave every policy's scope (the student has taken
those tests). S3 gives no policy an exam date; it is scored on day 30.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["SCENARIOS", "Scenario"]

MASTER_TESTS = ("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8")


@dataclass(frozen=True)
class Scenario:
    """One study situation.

    Attributes:
        name: short code (``S1``).
        title: a few words for tables.
        tests: the goal tests, in bank order.
        items_per_test: synthetic items per test, spread over areas by the blueprint.
        minutes_per_day: the daily study budget.
        score_days: per test, the day it is scored (its exam day, or the scoring day).
        exam_date_known: whether the learner told the app the exam dates (False: S3).
    """

    name: str
    title: str
    tests: tuple[str, ...]
    items_per_test: int
    minutes_per_day: float
    score_days: Mapping[str, int]
    exam_date_known: bool = True

    @property
    def days(self) -> int:
        """Study sessions: days 0 .. last score day − 1."""
        return max(self.score_days.values())

    @property
    def budget_seconds(self) -> float:
        return self.minutes_per_day * 60.0

    def known_exam_days(self) -> dict[str, int | None]:
        """What the learner told the app: the exam day per test, or None without a date."""
        return {
            test: (self.score_days[test] if self.exam_date_known else None) for test in self.tests
        }


SCENARIOS: dict[str, Scenario] = {
    "S1": Scenario(
        name="S1",
        title="Master track A1–A8, 20 min/day, exams day 14 (A1–A4) and day 30 (A5–A8)",
        tests=MASTER_TESTS,
        items_per_test=150,
        minutes_per_day=20.0,
        score_days={test: (14 if test in MASTER_TESTS[:4] else 30) for test in MASTER_TESTS},
    ),
    "S2": Scenario(
        name="S2",
        title="A6 alone, busy student, 5 min/day, exam day 14",
        tests=("A6",),
        items_per_test=150,
        minutes_per_day=5.0,
        score_days={"A6": 14},
    ),
    "S3": Scenario(
        name="S3",
        title="A1–A8, 20 min/day, no exam date, scored day 30",
        tests=MASTER_TESTS,
        items_per_test=150,
        minutes_per_day=20.0,
        score_days=dict.fromkeys(MASTER_TESTS, 30),
        exam_date_known=False,
    ),
}
