"""A tiny scenario runs end to end, deterministically, and the report renders."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bench.sim.policies import POLICIES
from bench.sim.report import format_report, summarise
from bench.sim.runner import LearnerTask, RunResult, course_for, run_learner, run_tasks
from bench.sim.world import build_world
from tests.bench.conftest import TINY

SCENARIOS = {TINY.name: TINY}


def _comparable(result: RunResult) -> RunResult:
    """Everything but the timings."""
    diagnostics = result.pitstop
    if diagnostics is not None:
        diagnostics = dataclasses.replace(diagnostics, next_item_seconds=0.0, answer_seconds=0.0)
    return dataclasses.replace(result, seconds=0.0, pitstop=diagnostics)


def test_a_tiny_scenario_is_deterministic_and_paired() -> None:
    task = LearnerTask(TINY, "fsrs", 0, tuple(POLICIES), seed=7)
    first = [_comparable(r) for r in run_learner(task)]
    second = [_comparable(r) for r in run_learner(task)]
    assert [r.test_scores for r in first] == [r.test_scores for r in second]
    assert first == second
    assert {r.policy for r in first} == set(POLICIES)
    for result in first:
        assert set(result.test_scores) == {"A6", "A8"}
        assert all(0.25 <= score <= 1.0 for score in result.test_scores.values())
        assert result.new_items > 0
    other = [_comparable(r) for r in run_learner(dataclasses.replace(task, seed=8))]
    assert [r.test_scores for r in other] != [r.test_scores for r in first]
    # Paired design: learner 0 starts from the same memory under every policy.
    course = course_for(TINY)
    a, b = build_world(course, "fsrs", 0, 7), build_world(course, "fsrs", 0, 7)
    assert np.array_equal(a.memory.recall_all(0.0), b.memory.recall_all(0.0))
    assert np.array_equal(a.draws, b.draws)


@pytest.mark.parametrize("model", ["fsrs", "actr"])
def test_pool_and_single_process_agree(model: str) -> None:
    tasks = [
        LearnerTask(TINY, model, k, ("anki-20", "pitstop", "oracle"), seed=3) for k in range(2)
    ]
    single = [_comparable(r) for r in run_tasks(tasks, processes=1)]
    pooled = [_comparable(r) for r in run_tasks(tasks, processes=2)]
    assert single == pooled


def test_the_report_has_every_table() -> None:
    tasks = [LearnerTask(TINY, "actr", k, tuple(POLICIES), seed=3) for k in range(3)]
    results = run_tasks(tasks, processes=1)
    summary = summarise(results, SCENARIOS)[0]
    assert summary.best_anki in {"anki-10", "anki-20", "anki-40", "anki-80"}
    assert summary.row("anki-20").vs_reference.mean == 0.0  # type: ignore[union-attr]
    assert summary.row("oracle").oracle_share == pytest.approx(1.0)  # type: ignore[union-attr]
    report = format_report(results, 1.0, 1, "python bench/learning.py", SCENARIOS)
    for heading in (
        "## Pitstop against the targets",
        "### T1",
        "## Pitstop's calibration",
        "## Time",
    ):
        assert heading in report
    assert "Learner.next_item" in report
