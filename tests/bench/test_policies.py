"""Policies see only what the learner shows; the Anki-style baselines behave like Anki."""

from __future__ import annotations

import dataclasses
import gc
import types
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from bench.sim.clock import DAY, to_datetime
from bench.sim.course import Course
from bench.sim.memory import MemoryModel
from bench.sim.policies import POLICIES, AnkiPolicy, OracleTruth, Shown, WeakestAreaPolicy
from bench.sim.priors import PriorKnowledge
from bench.sim.runner import course_for
from bench.sim.student import Response, SimulatedStudent
from bench.sim.world import LearnerWorld, build_world
from engine.scheduling import Rating, State
from tests.bench.conftest import TINY

TRUTH_TYPES = (MemoryModel, SimulatedStudent, LearnerWorld, PriorKnowledge, OracleTruth, Response)
OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def reaches_truth(root: object, truth_arrays: list[np.ndarray]) -> list[str]:
    """Every object reachable from ``root`` that is (or shares memory with) the truth."""
    found: list[str] = []
    seen: set[int] = set()
    stack: list[Any] = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, OPAQUE):
            continue
        seen.add(id(obj))
        if isinstance(obj, TRUTH_TYPES):
            found.append(type(obj).__name__)
            continue
        if isinstance(obj, np.ndarray):
            if any(np.shares_memory(obj, array) for array in truth_arrays):
                found.append("array shared with the true memory")
            continue
        stack.extend(gc.get_referents(obj))
    return found


def truth_arrays(memory: MemoryModel) -> list[np.ndarray]:
    return [value for value in vars(memory).values() if isinstance(value, np.ndarray)]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_only_the_oracle_can_reach_the_true_memory(name: str) -> None:
    course = course_for(TINY)
    world = build_world(course, "actr", 0, seed=1)
    memory = world.memory.copy()
    spec = POLICIES[name]
    truth = OracleTruth(memory, np.zeros(course.size), world.speed) if spec.needs_truth else None
    policy = spec.build(course, np.random.default_rng(0), truth)
    policy.set_scope(frozenset(TINY.tests))
    policy.start_day(0, 0.0)
    for step in range(5):  # a few answers, so lazily built state exists too
        index = policy.choose(step * 30.0)
        assert index is not None
        _answer_any(policy, course, index, step * 30.0)
    found = reaches_truth(policy, truth_arrays(memory))
    if spec.needs_truth:
        assert found, "the detector should see the oracle's truth"
    else:
        assert found == [], f"{name} can reach {found}"


def test_what_a_policy_is_shown_carries_no_truth() -> None:
    shown = {field.name for field in dataclasses.fields(Shown)}
    assert shown == {"index", "at", "correct", "choice", "self_rating", "seconds"}
    assert {"recalled", "true_rating"} <= {f.name for f in dataclasses.fields(Response)}


def _answer(policy: AnkiPolicy, course: Course, index: int, t: float, correct: bool) -> None:
    mcq = bool(course.is_mcq[index])
    key = course.keys[index]
    choice = (key if correct else "A" if key != "A" else "B") if mcq else None
    rating = None if mcq else (3 if correct else 1)
    policy.observe(Shown(index, t, correct, choice, rating, 10.0))


def test_anki_shows_new_items_in_bank_order_up_to_the_daily_limit(tiny_course: Course) -> None:
    policy = AnkiPolicy(tiny_course, np.random.default_rng(0), new_per_day=3, fill=False)
    policy.set_scope(frozenset(TINY.tests))
    policy.start_day(0, 0.0)
    shown: list[int] = []
    t = 0.0
    while (index := policy.choose(t)) is not None and len(shown) < 100:
        shown.append(index)
        _answer(policy, tiny_course, index, t, correct=True)
        t += 60.0
    assert sorted(set(shown)) == [0, 1, 2]
    assert shown == [0, 1, 2, 0, 1, 2]  # three new items (Good), then their 10-minute step
    # The stopping variant is done for the day; the filling one reviews ahead.
    filling = AnkiPolicy(tiny_course, np.random.default_rng(0), new_per_day=3, fill=True)
    filling.set_scope(frozenset(TINY.tests))
    filling.start_day(0, 0.0)
    for index in shown:
        _answer(filling, tiny_course, index, 0.0, correct=True)
    assert filling.choose(t) in {0, 1, 2}


def test_anki_reviews_what_is_due_the_next_day_counting_calendar_days(
    tiny_course: Course,
) -> None:
    policy = AnkiPolicy(tiny_course, np.random.default_rng(0), new_per_day=1, fill=False)
    policy.set_scope(frozenset(TINY.tests))
    policy.start_day(0, 0.0)
    for t, correct in ((0.0, False), (60.0, True), (700.0, True)):
        assert policy.choose(t) == 0
        _answer(policy, tiny_course, 0, t, correct)
    assert policy.choose(800.0) is None  # the queue is empty: the stopping variant stops
    assert policy.state[0] == int(State.Review) and policy.due_day[0] == 1
    # The next evening, a few minutes earlier than yesterday's last answer: due, and py-fsrs
    # is told a whole day has passed (Anki's calendar days), not 0 whole 24-hour periods.
    policy.start_day(1, DAY)
    assert policy.due_day[0] <= policy.today
    before = policy.cards[0]
    assert before is not None
    policy.new_today = policy.new_per_day  # no new item today, so the review comes first
    assert policy.choose(DAY + 10.0) == 0
    _answer(policy, tiny_course, 0, DAY + 10.0, True)
    now = to_datetime(DAY + 10.0)
    shifted = dataclasses.replace(before, last_review=now - timedelta(days=1))
    expected = policy.scheduler.review(shifted, Rating.Good, now, np.random.default_rng(0))
    assert policy.cards[0] is not None
    assert policy.cards[0].stability == pytest.approx(expected.stability)
    assert expected.stability is not None and before.stability is not None
    assert expected.stability > 1.5 * before.stability


def test_weakest_area_takes_new_items_from_the_area_answered_worst(tiny_course: Course) -> None:
    policy = WeakestAreaPolicy(tiny_course, np.random.default_rng(0), new_per_day=50)
    policy.set_scope(frozenset(TINY.tests))
    policy.start_day(0, 0.0)
    areas = tiny_course.catalog.area_of
    first = policy.choose(0.0)
    assert first is not None
    _answer(policy, tiny_course, first, 0.0, correct=False)
    weak_area = areas[first]
    for t in (60.0, 120.0):
        index = policy.choose(t)
        assert index is not None
        if policy.state[index] == -1:  # a new item: from the weak area
            assert areas[index] == weak_area
        _answer(policy, tiny_course, index, t, correct=False)


def test_scope_excludes_tests_already_sat(tiny_course: Course) -> None:
    for name in ("random", "anki-20", "pitstop", "fsrs-weakest"):
        policy = POLICIES[name].build(tiny_course, np.random.default_rng(0), None)
        policy.set_scope(frozenset({"A8"}))
        policy.start_day(3, 3 * DAY)
        for step in range(30):
            index = policy.choose(3 * DAY + step * 20.0)
            assert index is not None
            assert tiny_course.catalog.items[index].test_code == "A8"
            _answer_any(policy, tiny_course, index, 3 * DAY + step * 20.0)


def _answer_any(policy: Any, course: Course, index: int, t: float) -> None:
    mcq = bool(course.is_mcq[index])
    policy.observe(
        Shown(index, t, True, course.keys[index] if mcq else None, None if mcq else 3, 9.0)
    )
