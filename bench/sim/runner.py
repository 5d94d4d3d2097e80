"""Run one learner through a scenario under each policy, and the whole benchmark on a pool.

A run: every day at 18:00 the learner studies until the day's minutes are used (the answer
in progress when the budget runs out is finished) or the policy stops. Before a session,
any exam due (09:00 that day) is sat: the test's expected score is computed from the true
memory at that moment, and its items leave the scope. Tests still open after the last
session are scored on their day.

Expected score of a test = Σ over areas (area scored questions / test scored questions) ×
mean over the area's items of P(correct) = R + (1 − R)·0.25 from the true recall R; a
scenario's score is the mean over its tests.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bench.sim.clock import DAY, exam_time
from bench.sim.course import Course, build_course, load_blueprint
from bench.sim.memory import MemoryModel
from bench.sim.policies.base import Policy, Shown
from bench.sim.policies.oracle import OracleTruth
from bench.sim.policies.pitstop import PitstopPolicy
from bench.sim.policies.registry import POLICIES
from bench.sim.scenarios import SCENARIOS, Scenario
from bench.sim.stats import CalibrationSums
from bench.sim.world import LearnerWorld, build_world, stable_id
from engine.blueprint import Blueprint

__all__ = ["LearnerTask", "PitstopDiagnostics", "RunResult", "run_learner", "run_tasks"]

EXAM_GUESS_RATE = 0.25


@dataclass(frozen=True)
class LearnerTask:
    """One learner of one scenario under one memory model, to run under ``policies``."""

    scenario: Scenario
    model: str
    learner: int
    policies: tuple[str, ...]
    seed: int = 2026
    fsrs_sigma: float = 0.4


@dataclass(frozen=True)
class PitstopDiagnostics:
    """What the harness measured on Pitstop's own beliefs during a run.

    ``calibration`` has keys ``all``, ``reviews`` (items seen before) and ``first`` (first
    looks). ``area_errors`` are believed − true mastery of every area at its exam;
    ``score_errors`` the engine's predicted score − the true expected score at each exam.
    """

    calibration: dict[str, CalibrationSums]
    area_errors: tuple[float, ...]
    score_errors: tuple[float, ...]
    next_item_seconds: float
    next_item_calls: int
    answer_seconds: float
    answer_calls: int


@dataclass(frozen=True)
class RunResult:
    """The outcome of one learner under one policy."""

    scenario: str
    model: str
    policy: str
    learner: int
    test_scores: dict[str, float]
    minutes_per_day: float
    reviews: int
    new_items: int
    seconds: float
    pitstop: PitstopDiagnostics | None = None

    @property
    def score(self) -> float:
        return float(np.mean(list(self.test_scores.values())))


_COURSES: dict[tuple[str, tuple[str, ...], int], Course] = {}


def course_for(scenario: Scenario | str) -> Course:
    """The scenario's synthetic course (built once per process and scenario)."""
    if isinstance(scenario, str):
        scenario = SCENARIOS[scenario]
    key = (scenario.name, scenario.tests, scenario.items_per_test)
    course = _COURSES.get(key)
    if course is None or course.scenario != scenario:
        course = _COURSES[key] = build_course(scenario, _blueprint())
    return course


@lru_cache(maxsize=1)
def _blueprint() -> Blueprint:
    return load_blueprint()


def true_p_correct(memory: MemoryModel, t: float) -> np.ndarray:
    """Per item, P(correct) on a four-option exam question at ``t`` from true memory."""
    recall = memory.recall_all(t)
    return recall + (1 - recall) * EXAM_GUESS_RATE


def exam_score(course: Course, p_correct: np.ndarray, test: str) -> float:
    """Blueprint-weighted expected score of ``test`` (a fraction)."""
    mask = course.mask_for_tests(frozenset({test}))
    return float(np.sum(course.catalog.weight[mask] * p_correct[mask]))


def true_area_mastery(course: Course, p_correct: np.ndarray) -> dict[str, float]:
    """Mean true P(correct) per area."""
    catalog = course.catalog
    sums = np.bincount(catalog.area_of, weights=p_correct, minlength=len(catalog.area_codes))
    return {
        code: float(sums[k] / catalog.items_per_area[k])
        for k, code in enumerate(catalog.area_codes)
    }


class _Exams:
    """Sits exams as their time comes and keeps the diagnostics."""

    def __init__(self, course: Course, memory: MemoryModel, policy: Policy) -> None:
        self.course = course
        self.memory = memory
        self.policy = policy
        self.pending = sorted(
            course.scenario.tests, key=lambda test: course.scenario.score_days[test]
        )
        self.scores: dict[str, float] = {}
        self.area_errors: list[float] = []
        self.score_errors: list[float] = []

    @property
    def open_tests(self) -> frozenset[str]:
        return frozenset(self.pending)

    def sit_due(self, t: float) -> bool:
        """Sit every exam due by ``t``; True if any was sat."""
        due = [
            test for test in self.pending if exam_time(self.course.scenario.score_days[test]) <= t
        ]
        for day in sorted({self.course.scenario.score_days[test] for test in due}):
            self._sit([test for test in due if self.course.scenario.score_days[test] == day], day)
        return bool(due)

    def _sit(self, tests: list[str], day: int) -> None:
        moment = exam_time(day)
        p_correct = true_p_correct(self.memory, moment)
        truth = true_area_mastery(self.course, p_correct)
        believed = self.policy.believed_area_mastery(moment)
        scores = self.policy.believed_scores(moment)
        areas = self.course.catalog.blueprint.areas()
        for test in tests:
            self.scores[test] = exam_score(self.course, p_correct, test)
            if believed is not None:
                self.area_errors += [
                    believed[code] - truth[code]
                    for code in believed
                    if areas[code].test_code == test
                ]
            if scores is not None and test in scores:
                self.score_errors.append(scores[test] - self.scores[test])
            self.pending.remove(test)


def simulate(
    course: Course,
    world: LearnerWorld,
    policy_name: str,
    *,
    learner: int,
    model: str,
    seed: int,
) -> RunResult:
    """Run one learner (``world``) through the scenario under ``policy_name``."""
    began = time.perf_counter()
    scenario = course.scenario
    spec = POLICIES[policy_name]
    run_seed = (seed, stable_id(scenario.name), learner, stable_id(model), stable_id(policy_name))
    student = world.student(course, np.random.default_rng((*run_seed, 1)))
    memory = student.memory
    truth = None
    if spec.needs_truth:
        horizon = np.array(
            [exam_time(scenario.score_days[test]) for test in course.item_test_codes()]
        )
        truth = OracleTruth(memory=memory, horizon=horizon, speed=world.speed)
    policy = spec.build(course, np.random.default_rng((*run_seed, 2)), truth)
    exams = _Exams(course, memory, policy)
    policy.set_scope(exams.open_tests)
    budget = scenario.budget_seconds
    minutes: list[float] = []
    reviews = new_items = 0
    for day in range(scenario.days):
        t = day * DAY
        if exams.sit_due(t):
            policy.set_scope(exams.open_tests)
        if not exams.pending:
            break
        scope = policy.scope
        policy.start_day(day, t)
        used = 0.0
        while used < budget:
            index = policy.choose(t)
            if index is None:
                break
            if not scope[index]:
                raise RuntimeError(f"{policy_name} chose item {index}, outside its scope")
            response = student.answer(index, t)
            new_items += response.first_look
            reviews += not response.first_look
            policy.observe(
                Shown(
                    index=index,
                    at=t,
                    correct=response.correct,
                    choice=response.choice,
                    self_rating=response.self_rating,
                    seconds=response.seconds,
                )
            )
            used += response.seconds
            t += response.seconds
        minutes.append(used / 60.0)
    exams.sit_due(float("inf"))
    return RunResult(
        scenario=scenario.name,
        model=model,
        policy=policy_name,
        learner=learner,
        test_scores=dict(exams.scores),
        minutes_per_day=float(np.mean(minutes)) if minutes else 0.0,
        reviews=reviews,
        new_items=new_items,
        seconds=time.perf_counter() - began,
        pitstop=_diagnostics(policy, exams),
    )


def _diagnostics(policy: Policy, exams: _Exams) -> PitstopDiagnostics | None:
    if not isinstance(policy, PitstopPolicy):
        return None
    log = policy.log
    predicted = np.asarray(log.predicted)
    correct = np.asarray(log.correct, dtype=np.float64)
    first = np.asarray(log.first_look, dtype=bool)
    return PitstopDiagnostics(
        calibration={
            "all": CalibrationSums.of(predicted, correct),
            "reviews": CalibrationSums.of(predicted[~first], correct[~first]),
            "first": CalibrationSums.of(predicted[first], correct[first]),
        },
        area_errors=tuple(exams.area_errors),
        score_errors=tuple(exams.score_errors),
        next_item_seconds=log.next_item_seconds,
        next_item_calls=log.next_item_calls,
        answer_seconds=log.answer_seconds,
        answer_calls=log.answer_calls,
    )


def run_learner(task: LearnerTask) -> list[RunResult]:
    """Every policy of ``task`` on the same learner."""
    course = course_for(task.scenario)
    world = build_world(course, task.model, task.learner, task.seed, task.fsrs_sigma)
    return [
        simulate(course, world, name, learner=task.learner, model=task.model, seed=task.seed)
        for name in task.policies
    ]


def make_tasks(
    scenarios: Sequence[Scenario],
    models: Sequence[str],
    learners: int,
    policies: Sequence[str],
    seed: int = 2026,
    fsrs_sigma: float = 0.4,
) -> list[LearnerTask]:
    """One task per (scenario, model, learner), the longest scenarios first."""
    order = sorted(scenarios, key=lambda scenario: -scenario.days * len(scenario.tests))
    return [
        LearnerTask(scenario, model, k, tuple(policies), seed, fsrs_sigma)
        for scenario in order
        for model in models
        for k in range(learners)
    ]


def run_tasks(
    tasks: Iterable[LearnerTask],
    processes: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunResult]:
    """Run ``tasks`` on ``processes`` worker processes (1: in this process). Results are
    sorted, so they do not depend on which worker finished first."""
    tasks = list(tasks)
    results: list[RunResult] = []
    if processes <= 1:
        for done, task in enumerate(tasks, 1):
            results += run_learner(task)
            if progress:
                progress(done, len(tasks))
    else:
        context = multiprocessing.get_context("fork")
        with context.Pool(processes) as pool:
            for done, batch in enumerate(pool.imap_unordered(run_learner, tasks), 1):
                results += batch
                if progress:
                    progress(done, len(tasks))
    return sorted(results, key=lambda r: (r.scenario, r.model, r.policy, r.learner))
