from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fsrs import Card, Scheduler
from fsrs.scheduler import DEFAULT_PARAMETERS, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.scheduling import (
    DAY_US,
    CardMemory,
    GradingPolicy,
    ItemKind,
    MemoryGroup,
    MemoryScheduler,
    Rating,
    RngFactory,
    StabilityCalibration,
    State,
    grade,
    group_after_study,
    learner_scheduler,
    memory_group,
    recall_curve,
    to_epoch_us,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


# -- grading policy ----------------------------------------------------------------------------


@pytest.mark.parametrize("rating", list(Rating))
def test_flashcards_are_self_graded(rating: Rating) -> None:
    assert grade(ItemKind.FLASHCARD, self_rating=rating, response_ms=1) == rating


@pytest.mark.parametrize(
    ("correct", "unsure", "response_ms", "expected"),
    [
        (False, False, 5_000, Rating.Again),
        (False, True, 5_000, Rating.Again),
        (True, True, 5_000, Rating.Hard),  # right but unsure
        (True, False, 45_000, Rating.Hard),  # right but far slower than usual (20 s)
        (True, False, 9_000, Rating.Easy),  # right, confident, under half the usual time
        (True, False, 15_000, Rating.Good),
        (True, False, None, Rating.Good),  # no timing: nothing says fast or slow
        (True, True, 2_000, Rating.Hard),  # unsure wins over fast
    ],
)
def test_multiple_choice_grading(
    correct: bool, unsure: bool, response_ms: int | None, expected: Rating
) -> None:
    rating = grade(
        ItemKind.MCQ,
        correct=correct,
        unsure=unsure,
        response_ms=response_ms,
        typical_response_ms=20_000,
    )
    assert rating == expected


def test_grading_uses_the_default_typical_time_without_history() -> None:
    policy = GradingPolicy(default_typical_ms=10_000)
    assert grade(ItemKind.MCQ, correct=True, response_ms=25_000, policy=policy) == Rating.Hard
    assert grade(ItemKind.MCQ, correct=True, response_ms=15_000, policy=policy) == Rating.Good


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": ItemKind.FLASHCARD},
        {"kind": ItemKind.MCQ},
        {"kind": ItemKind.MCQ, "correct": True, "response_ms": -1},
    ],
)
def test_grading_rejects_incomplete_answers(kwargs: dict[str, object]) -> None:
    kind = kwargs.pop("kind")
    with pytest.raises(ValueError):
        grade(kind, **kwargs)  # type: ignore[arg-type]


def test_grading_policy_validates_thresholds() -> None:
    with pytest.raises(ValueError, match="fast_factor"):
        GradingPolicy(slow_factor=0.5)


# -- the scheduler wrapper ---------------------------------------------------------------------


def _review_many(
    scheduler: MemoryScheduler, ratings: list[Rating], gaps_hours: list[float], seed: int
) -> CardMemory:
    card = CardMemory.new(T0)
    now = T0
    for rating, gap in zip(ratings, gaps_hours, strict=True):
        now += timedelta(hours=gap)
        card = scheduler.review(card, rating, now, np.random.default_rng([seed, card.reps]))
    return card


def test_review_matches_py_fsrs_when_intervals_are_too_short_to_fuzz() -> None:
    scheduler = MemoryScheduler()
    reference = Scheduler(enable_fuzzing=False)
    ours = CardMemory.new(T0)
    theirs = Card(card_id=1, due=T0)
    now = T0
    for rating in (Rating.Good, Rating.Good, Rating.Again, Rating.Good):
        now += timedelta(minutes=11)
        ours = scheduler.review(ours, rating, now, np.random.default_rng(0))
        theirs, _ = reference.review_card(theirs, rating, now)
        assert (ours.state, ours.step, ours.stability, ours.difficulty) == (
            theirs.state,
            theirs.step,
            theirs.stability,
            theirs.difficulty,
        )
        assert ours.last_review == theirs.last_review == now
    assert ours.reps == 4


def test_fuzz_comes_from_the_rng_and_stays_in_py_fsrs_range() -> None:
    scheduler = MemoryScheduler()
    card = CardMemory(State.Review, None, 40.0, 5.0, T0, T0 - timedelta(days=40), reps=5)
    unfuzzed = scheduler.preview_intervals(card, T0)[Rating.Good].days
    draws = {
        (scheduler.review(card, Rating.Good, T0, np.random.default_rng(seed)).due - T0).days
        for seed in range(60)
    }
    assert len(draws) > 3, "fuzz should spread intervals"
    assert all(abs(days - unfuzzed) <= 0.05 * unfuzzed + 4 for days in draws)
    again = {
        scheduler.review(card, Rating.Good, T0, np.random.default_rng(7)).due for _ in range(3)
    }
    assert len(again) == 1, "the same rng state gives the same fuzz"


def test_lapses_count_failed_reviews_only() -> None:
    scheduler = MemoryScheduler()
    card = _review_many(
        scheduler,
        [Rating.Good, Rating.Good, Rating.Again, Rating.Good, Rating.Again, Rating.Good],
        [0, 0.2, 72, 0.2, 200, 0.2],
        seed=3,
    )
    assert card.lapses == 2
    assert card.reps == 6


def test_proven_interval_records_the_longest_successful_gap() -> None:
    scheduler = MemoryScheduler()
    card = _review_many(scheduler, [Rating.Good, Rating.Good, Rating.Good], [0, 24 * 8, 24 * 3], 1)
    assert card.proven_interval_days == pytest.approx(8.0)
    failed = scheduler.review(card, Rating.Again, T0 + timedelta(days=40), np.random.default_rng())
    assert failed.proven_interval_days == pytest.approx(8.0)


def test_review_refuses_naive_or_backwards_time() -> None:
    scheduler = MemoryScheduler()
    card = scheduler.review(CardMemory.new(T0), Rating.Good, T0, np.random.default_rng())
    with pytest.raises(ValueError, match="timezone"):
        scheduler.review(card, Rating.Good, datetime(2026, 1, 6), np.random.default_rng())
    with pytest.raises(ValueError, match="earlier"):
        scheduler.review(card, Rating.Good, T0 - timedelta(days=1), np.random.default_rng())


def test_replay_reproduces_reviews_including_fuzz() -> None:
    scheduler = MemoryScheduler()
    rngs = RngFactory(42, 7)
    card = CardMemory.new(T0)
    log = []
    now = T0
    for rating, gap_days in [
        (Rating.Good, 0),
        (Rating.Good, 0.01),
        (Rating.Good, 3),
        (Rating.Again, 9),
        (Rating.Good, 0.01),
        (Rating.Easy, 14),
    ]:
        now += timedelta(days=gap_days)
        card = scheduler.review(card, rating, now, rngs(card.reps))
        log.append((now, rating))
    assert scheduler.replay(log, rngs) == card
    assert scheduler.replay([], rngs) is None


def test_preview_intervals_grow_with_the_rating() -> None:
    scheduler = MemoryScheduler()
    card = CardMemory(State.Review, None, 10.0, 5.0, T0, T0 - timedelta(days=10), reps=4)
    intervals = scheduler.preview_intervals(card, T0)
    assert intervals[Rating.Again] < intervals[Rating.Hard] <= intervals[Rating.Good]
    assert intervals[Rating.Good] < intervals[Rating.Easy]


# -- vectorised retrievability -----------------------------------------------------------------

parameter_sets = st.tuples(
    *[
        st.floats(low, high)
        for low, high in zip(LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True)
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    parameters=parameter_sets,
    cards=st.lists(
        st.tuples(
            st.floats(0.001, 36500),  # stability
            st.integers(0, 3_000 * DAY_US),  # microseconds between last review and now
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_vectorised_retrievability_equals_py_fsrs(
    parameters: tuple[float, ...], cards: list[tuple[float, int]]
) -> None:
    scheduler = MemoryScheduler(parameters=parameters)
    reference = Scheduler(parameters=parameters, enable_fuzzing=False)
    now = T0 + timedelta(days=4000)
    now_us = to_epoch_us(now)
    stability = np.array([s for s, _ in cards] + [np.nan])  # plus one card never reviewed
    last_us = np.array([now_us - gap for _, gap in cards] + [0], dtype=np.int64)
    vectorised = scheduler.retrievability_many(stability, last_us, now_us)
    for position, (s, gap) in enumerate(cards):
        card = Card(
            card_id=1,
            state=State.Review,
            stability=s,
            difficulty=5.0,
            due=now,
            last_review=now - timedelta(microseconds=gap),
        )
        assert vectorised[position] == pytest.approx(
            reference.get_card_retrievability(card, now), abs=1e-9
        )
    assert vectorised[-1] == 0.0


@settings(max_examples=100, deadline=None)
@given(
    parameters=parameter_sets,
    difficulty=st.floats(1, 10),
    stability=st.floats(0.01, 3000),
    recall=st.floats(0.01, 1.0),
    rating=st.sampled_from(list(Rating)),
)
def test_vectorised_next_state_formulas_equal_py_fsrs(
    parameters: tuple[float, ...],
    difficulty: float,
    stability: float,
    recall: float,
    rating: Rating,
) -> None:
    ours = MemoryScheduler(parameters=parameters).formulas
    theirs = Scheduler(parameters=parameters, enable_fuzzing=False)
    d, s, r = np.array([difficulty]), np.array([stability]), np.array([recall])
    expected = theirs._next_stability(
        difficulty=difficulty, stability=stability, retrievability=recall, rating=rating
    )
    computed = (
        ours.forget_stability(d, s, r)
        if rating == Rating.Again
        else ours.recall_stability(d, s, r, rating)
    )[0]
    assert computed == pytest.approx(expected, rel=1e-9)
    short = ours.short_term_stability(s, rating)[0]
    assert short == pytest.approx(
        theirs._short_term_stability(stability=stability, rating=rating), rel=1e-9
    )


# -- calibration -------------------------------------------------------------------------------


@pytest.mark.parametrize(("true_scale", "true_decay"), [(0.3, 0.1542), (1.0, 0.4), (3.0, 0.1)])
def test_calibration_recovers_a_learners_scale_and_decay(
    true_scale: float, true_decay: float
) -> None:
    rng = np.random.default_rng(5)
    calibration = StabilityCalibration()
    for _ in range(3000):
        stability = float(rng.uniform(1, 30))
        elapsed = float(rng.uniform(0.5, 40))
        recall = float(recall_curve(elapsed, stability * true_scale, true_decay))
        correct = rng.random() < recall + (1 - recall) * 0.25
        calibration = calibration.observe(
            elapsed_days=elapsed, stability=stability, guess_rate=0.25, correct=bool(correct)
        )
    assert calibration.observations == 3000
    scale, decay = calibration.estimate()
    elapsed, stability = np.meshgrid(np.linspace(0.5, 40, 20), np.linspace(1, 30, 20))
    fitted = recall_curve(elapsed, stability * scale, decay)
    truth = recall_curve(elapsed, stability * true_scale, true_decay)
    # Scale and decay trade off along a ridge; the curve they draw is what must be right.
    assert np.abs(fitted - truth).max() < 0.04


def test_calibration_ignores_reviews_within_six_hours_and_starts_at_fsrs() -> None:
    calibration = StabilityCalibration()
    assert calibration.estimate() == pytest.approx((1.0, DEFAULT_PARAMETERS[20]))
    same = calibration.observe(elapsed_days=0.2, stability=3, guess_rate=0, correct=False)
    assert same is calibration


def test_calibration_groups_learn_separately() -> None:
    """Evidence about facts met once says nothing about settled memories, and vice versa."""
    rng = np.random.default_rng(2)
    calibration = StabilityCalibration()
    for _ in range(1500):
        recall = float(recall_curve(1.0, 0.2 * 0.1, 0.4))
        calibration = calibration.observe(
            elapsed_days=1.0,
            stability=0.2,
            guess_rate=0.0,
            correct=bool(rng.random() < recall),
            group=MemoryGroup.FAILED_ONCE,
        )
    curves = calibration.curves()
    once_scale, once_decay = curves[MemoryGroup.FAILED_ONCE]
    assert float(recall_curve(1.0, 0.2 * once_scale, once_decay)) == pytest.approx(
        float(recall_curve(1.0, 0.2 * 0.1, 0.4)), abs=0.05
    )
    assert curves[MemoryGroup.SETTLED] == pytest.approx((1.0, DEFAULT_PARAMETERS[20]))


def test_fresh_memories_start_between_the_two_kinds_of_learner() -> None:
    """Before any evidence, a fact failed once is believed to fade faster than FSRS's w0
    says (half the prior is on learners for whom it does), so the planner checks such facts
    and learns which kind of learner this is."""
    scale, decay = StabilityCalibration().curves()[MemoryGroup.FAILED_ONCE]
    believed = float(recall_curve(7.0, DEFAULT_PARAMETERS[0] * scale, decay))
    fsrs = float(recall_curve(7.0, DEFAULT_PARAMETERS[0], DEFAULT_PARAMETERS[20]))
    assert 0.3 < believed < 0.5 < fsrs
    assert StabilityCalibration().kind_weights() == pytest.approx([0.5, 0.5])


@pytest.mark.parametrize(("scale", "decay", "weak"), [(1.0, 0.1542, False), (0.3, 0.4, True)])
def test_evidence_decides_the_kind_of_learner(scale: float, decay: float, weak: bool) -> None:
    """Reviews of facts met in one sitting tell a learner who keeps them as FSRS says from
    one who loses them fast, and the belief about a fact failed once follows."""
    rng = np.random.default_rng(4)
    calibration = StabilityCalibration()
    groups = {MemoryGroup.FAILED_ONCE: DEFAULT_PARAMETERS[0], MemoryGroup.KNOWN_AT_FIRST: 2.3}
    for k in range(120):
        group = list(groups)[k % 2]
        elapsed = (1.0, 3.0, 7.0)[k % 3]
        truth = float(recall_curve(elapsed, groups[group] * scale, decay))
        calibration = calibration.observe(
            elapsed_days=elapsed,
            stability=groups[group],
            guess_rate=0.25,
            correct=bool(rng.random() < truth + (1 - truth) * 0.25),
            group=group,
        )
    weak_weight = float(calibration.kind_weights()[0])
    fitted_scale, fitted_decay = calibration.curves()[MemoryGroup.FAILED_ONCE]
    week = float(recall_curve(7.0, DEFAULT_PARAMETERS[0] * fitted_scale, fitted_decay))
    prior_scale, prior_decay = StabilityCalibration().curves()[MemoryGroup.FAILED_ONCE]
    before = float(recall_curve(7.0, DEFAULT_PARAMETERS[0] * prior_scale, prior_decay))
    if weak:
        assert weak_weight > 0.8
        assert week < before
    else:
        assert weak_weight < 0.3
        assert week > before


@pytest.mark.parametrize("true_slope", [0.0, 0.7])
def test_calibration_learns_how_much_longer_easy_items_are_kept(true_slope: float) -> None:
    """Items of author difficulty d are kept exp(slope·(2 − d)) times as long as the group's
    curve says: the slope comes from the learner's outcomes; before any, easy items are
    believed kept a little longer."""
    fresh_easy, fresh_middling, fresh_hard = StabilityCalibration().item_scales()
    assert fresh_easy == pytest.approx(1 / fresh_hard) and fresh_easy > 1.2
    assert fresh_middling == 1.0
    rng = np.random.default_rng(3)
    calibration = StabilityCalibration()
    curve = (1.0, 0.3)
    for _ in range(3000):
        difficulty = int(rng.integers(1, 4))
        stability = float(rng.uniform(0.5, 10))
        elapsed = float(rng.uniform(0.5, 10))
        held = stability * math.exp(true_slope * (2 - difficulty)) * curve[0]
        recall = float(recall_curve(elapsed, held, curve[1]))
        calibration = calibration.observe(
            elapsed_days=elapsed,
            stability=stability,
            guess_rate=0.25,
            correct=bool(rng.random() < recall + (1 - recall) * 0.25),
            difficulty=difficulty,
            curve=curve,
        )
    assert calibration.difficulty_slope() == pytest.approx(true_slope, abs=0.2)
    easy, middling, hard = calibration.item_scales()
    assert middling == 1.0 and easy * hard == pytest.approx(1.0)
    again = StabilityCalibration.from_json(json.loads(json.dumps(calibration.to_json())))
    assert again.difficulty_slope() == pytest.approx(calibration.difficulty_slope(), abs=1e-3)


def test_calibration_round_trips_through_json_and_reads_old_rows_as_fresh() -> None:
    calibration = StabilityCalibration().observe(
        elapsed_days=2.0, stability=1.0, guess_rate=0.25, correct=True
    )
    stored = calibration.to_json()
    assert isinstance(stored["log_likelihood"], str)  # float32 in base64, not 1,092 numbers
    again = StabilityCalibration.from_json(json.loads(json.dumps(stored)))
    assert again.observations == 1
    assert again.estimate() == pytest.approx(calibration.estimate(), rel=1e-4)
    assert np.allclose(again.log_likelihood, calibration.log_likelihood, atol=1e-5)
    # Rows written before the compact form kept the grids as lists of numbers.
    as_lists = {"log_likelihood": [list(grid) for grid in calibration.log_likelihood]}
    assert StabilityCalibration.from_json(as_lists).log_likelihood == calibration.log_likelihood
    old = {"log_likelihood": [0.0] * 41, "observations": 7, "recent_mcq_ms": [9000]}
    assert StabilityCalibration.from_json(old) == StabilityCalibration()
    assert StabilityCalibration.from_json({}) == StabilityCalibration()
    for broken in ("not base64!", "AAAA"):  # not base64; base64 of the wrong length
        assert StabilityCalibration.from_json({"log_likelihood": broken}) == StabilityCalibration()


def test_memory_groups_follow_the_cards_history() -> None:
    start = datetime(2026, 3, 1, 18, tzinfo=UTC)
    kw = {"first_seen": start}
    assert memory_group(first_correct=False, reps=1, last_review=start, **kw) == 0
    assert memory_group(first_correct=False, reps=3, last_review=start, **kw) == 1
    assert memory_group(first_correct=True, reps=2, last_review=start, **kw) == 2
    later = start + timedelta(hours=7)
    assert memory_group(first_correct=False, reps=2, last_review=later, **kw) == 3
    same = np.array([True, True, False])
    groups = np.array([MemoryGroup.FAILED_ONCE, MemoryGroup.SETTLED, MemoryGroup.FAILED_ONCE])
    assert group_after_study(groups, same).tolist() == [1, 3, 3]


def test_the_learner_scheduler_has_no_fixed_steps() -> None:
    scheduler = learner_scheduler()
    card = scheduler.review(CardMemory.new(T0), Rating.Again, T0, np.random.default_rng(0))
    assert card.state == State.Review
    assert scheduler.parameters == tuple(DEFAULT_PARAMETERS)
