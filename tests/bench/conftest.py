"""Small scenarios and courses for the simulation harness tests."""

from __future__ import annotations

import pytest

from bench.sim.course import Course
from bench.sim.runner import course_for
from bench.sim.scenarios import Scenario

TINY = Scenario(
    name="T1",
    title="tiny: A6 and A8, 24 items each, 3 min/day, exams day 2 (A6) and day 4 (A8)",
    tests=("A6", "A8"),
    items_per_test=24,
    minutes_per_day=3.0,
    score_days={"A6": 2, "A8": 4},
)


@pytest.fixture(scope="session")
def tiny_course() -> Course:
    return course_for(TINY)
