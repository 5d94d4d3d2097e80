"""The ground-truth memory models behave like memory."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

from bench.sim.calibration import TARGETS, actr_factory, recall_table
from bench.sim.clock import DAY, START, to_datetime
from bench.sim.memory import (
    ACTR_CALIBRATED,
    AGAIN,
    EASY,
    GOOD,
    HARD,
    ACTRMemory,
    FSRSMemory,
    FSRSParameters,
    MemoryModel,
    draw_actr_parameters,
    draw_fsrs_parameters,
    recalled_rating_split,
)
from bench.sim.priors import AreaClass, draw_priors
from engine.scheduling import DEFAULT_PARAMETERS

Builder = Callable[[int], MemoryModel]


def empty_fsrs(n: int, params: FSRSParameters | None = None) -> FSRSMemory:
    params = params or FSRSParameters(tuple(DEFAULT_PARAMETERS))
    nan = np.full(n, np.nan)
    return FSRSMemory(params, np.zeros(n), nan.copy(), nan.copy(), nan.copy())


def empty_actr(n: int) -> ACTRMemory:
    return ACTRMemory.empty(ACTR_CALIBRATED, np.zeros(n))


@pytest.mark.parametrize("build", [empty_fsrs, empty_actr], ids=["fsrs", "actr"])
def test_recall_decays_with_time_and_nothing_is_recalled_unseen(build: Builder) -> None:
    memory = build(2)
    memory.update(0, 0.0, AGAIN)
    memory.update(0, 600.0, GOOD)
    assert memory.recall(1, DAY) == 0.0
    curve = [memory.recall(0, 600.0 + days * DAY) for days in (0.01, 1, 7, 30)]
    assert curve == sorted(curve, reverse=True)
    assert curve[0] > 0.9 and curve[-1] < curve[1]
    all_items = memory.recall_all(600.0 + 7 * DAY)
    assert all_items[0] == pytest.approx(curve[2]) and all_items[1] == 0.0


@pytest.mark.parametrize("build", [empty_fsrs, empty_actr], ids=["fsrs", "actr"])
def test_spacing_beats_massing(build: Builder) -> None:
    memory = build(2)
    for k, moment in enumerate((0.0, 60.0, 600.0)):  # massed: one sitting
        memory.update(0, moment, AGAIN if k == 0 else GOOD)
    for k, moment in enumerate((0.0, DAY, 3 * DAY)):  # spaced over three days
        memory.update(1, moment, AGAIN if k == 0 else GOOD)
    week_after = 3 * DAY + 7 * DAY
    assert memory.recall(1, week_after) > memory.recall(0, week_after) + 0.1


def test_fsrs_truth_follows_py_fsrs_on_whole_days() -> None:
    params = draw_fsrs_parameters(np.random.default_rng(3))
    memory = empty_fsrs(1, params)
    scheduler = Scheduler(parameters=params.w, enable_fuzzing=False)
    card = Card()
    for days, rating in ((0.0, AGAIN), (0.0, GOOD), (1.0, GOOD), (4.0, HARD), (12.0, AGAIN)):
        t = days * DAY + (600.0 if days == 0 and rating == GOOD else 0.0)
        memory.update(0, t, rating)
        card, _ = scheduler.review_card(card, Rating(rating), to_datetime(t))
        assert memory.stability[0] == pytest.approx(card.stability, rel=1e-9)
        assert memory.difficulty[0] == pytest.approx(card.difficulty, rel=1e-9)
    later = to_datetime(20 * DAY)
    assert memory.recall(0, 20 * DAY) == pytest.approx(
        scheduler.get_card_retrievability(card, later), rel=1e-9
    )
    assert START.hour == 18


def test_fsrs_parameters_are_drawn_widely_within_bounds() -> None:
    rng = np.random.default_rng(0)
    draws = np.array([draw_fsrs_parameters(rng, 0.4).w for _ in range(300)])
    assert (draws >= np.asarray(LOWER_BOUNDS_PARAMETERS) - 1e-12).all()
    assert (draws <= np.asarray(UPPER_BOUNDS_PARAMETERS) + 1e-12).all()
    assert (np.diff(draws[:, :4], axis=1) >= 0).all()
    spread = np.log(draws[:, 8]).std()  # an unclipped parameter
    assert 0.3 < spread < 0.5
    actr = [draw_actr_parameters(rng) for _ in range(100)]
    assert np.std([p.tau for p in actr]) > 0.1


@pytest.mark.parametrize("build", [empty_fsrs, empty_actr], ids=["fsrs", "actr"])
def test_study_value_matches_the_update(build: Builder) -> None:
    memory = build(3)
    memory.update(0, 0.0, AGAIN)
    memory.update(0, 600.0, GOOD)
    memory.update(1, 0.0, GOOD)
    now, horizon = 2 * DAY, 9 * DAY
    indices = np.arange(3)
    recall, studied, skipped = memory.study_value(indices, now, np.full(3, horizon))
    for index in range(3):
        assert recall[index] == pytest.approx(memory.recall(index, now))
        assert skipped[index] == pytest.approx(memory.recall(index, horizon), abs=1e-12)
        p = float(recall[index])
        hard, good, easy = (float(x) for x in recalled_rating_split(p))
        expected = 0.0
        for rating, share in ((AGAIN, 1 - p), (HARD, p * hard), (GOOD, p * good), (EASY, p * easy)):
            trial = memory.copy()
            trial.update(index, now, rating)
            expected += share * trial.recall(index, horizon)
        assert studied[index] == pytest.approx(expected, rel=1e-9)


def test_actr_calibration_is_close_to_its_targets() -> None:
    table = recall_table(actr_factory(), np.random.default_rng(0), learners=200, items=10)
    for name, target in TARGETS.items():
        assert np.abs(np.asarray(table[name]) - np.asarray(target)).max() < 0.07, name
    massed = table["learning steps (0, 1 min, 10 min)"][1]
    spaced = table["3 studies, days 0, 1, 3"][1]
    assert spaced > massed + 0.1


def test_priors_differ_by_area_class_and_known_items_have_a_memory() -> None:
    rng = np.random.default_rng(1)
    areas = 600
    area_of = np.repeat(np.arange(areas), 20)
    difficulty = np.full(area_of.size, 2)
    prior = draw_priors(area_of, difficulty, areas, rng)
    item_class = prior.area_class[area_of]
    known_share = [prior.known[item_class == c].mean() for c in AreaClass]
    assert known_share[0] < 0.1 < known_share[1] < 0.5 < known_share[2]
    shares = np.bincount(prior.area_class, minlength=3) / areas
    assert shares == pytest.approx([0.5, 0.35, 0.15], abs=0.06)
    params = FSRSParameters(tuple(DEFAULT_PARAMETERS))
    fsrs = FSRSMemory.from_prior(params, np.zeros(area_of.size), prior)
    recall_now = fsrs.recall_all(0.0)
    assert recall_now[prior.known] == pytest.approx(prior.initial_recall[prior.known])
    assert (recall_now[~prior.known] == 0).all()
    assert (fsrs.recall_all(60 * DAY)[prior.known] < recall_now[prior.known]).all()
    actr = ACTRMemory.from_prior(ACTR_CALIBRATED, np.zeros(area_of.size), prior)
    actr_now = actr.recall_all(0.0)
    assert (actr_now[~prior.known] == 0).all()
    by_class = [actr_now[prior.known & (item_class == c)].mean() for c in AreaClass]
    assert by_class == sorted(by_class)
    assert np.abs(actr_now[prior.known] - prior.initial_recall[prior.known]).mean() < 0.1
    assert not math.isnan(float(actr.recall_all(60 * DAY).mean()))
