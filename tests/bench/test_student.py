"""Answering: guessing, ratings and seconds as specified."""

from __future__ import annotations

import numpy as np
import pytest

from bench.sim.memory import AGAIN, FSRSMemory, FSRSParameters, recalled_rating_split
from bench.sim.student import (
    DRAWS_PER_ITEM,
    FIRST_LOOK_SECONDS,
    REVIEW_SECONDS,
    SimulatedStudent,
)
from engine.scheduling import DEFAULT_PARAMETERS

N = 4000


def student(is_mcq: bool, seed: int = 0) -> SimulatedStudent:
    nan = np.full(N, np.nan)
    memory = FSRSMemory(
        FSRSParameters(tuple(DEFAULT_PARAMETERS)), np.zeros(N), nan.copy(), nan.copy(), nan.copy()
    )
    rng = np.random.default_rng(seed)
    return SimulatedStudent(
        memory,
        np.full(N, is_mcq),
        tuple("B" if is_mcq else None for _ in range(N)),
        1.0,
        rng.random((N, DRAWS_PER_ITEM, 4)),
        rng,
    )


def test_a_learner_who_does_not_recall_guesses_one_in_four_and_memory_sees_a_failure() -> None:
    learner = student(is_mcq=True)
    responses = [learner.answer(i, 0.0) for i in range(N)]
    correct = np.array([r.correct for r in responses])
    assert correct.mean() == pytest.approx(0.25, abs=0.03)
    assert not any(r.recalled for r in responses)
    assert {r.true_rating for r in responses} == {AGAIN}
    # A lucky guess still leaves the memory of a failed first look (initial stability w0).
    lucky = [r.index for r in responses if r.correct]
    assert np.allclose(learner.memory.stability[lucky], DEFAULT_PARAMETERS[0])  # type: ignore[attr-defined]
    assert all(r.choice == "B" for r in responses if r.correct)
    assert all(r.choice in {"A", "C", "D"} for r in responses if not r.correct)
    wrong_letters = {r.choice for r in responses if not r.correct}
    assert wrong_letters == {"A", "C", "D"}


def test_flashcards_are_self_rated_from_true_recall() -> None:
    learner = student(is_mcq=False)
    first = [learner.answer(i, 0.0) for i in range(N)]
    assert all(r.self_rating == AGAIN and not r.correct for r in first)
    again = [learner.answer(i, 300.0) for i in range(N)]  # five minutes later: recalled
    assert np.mean([r.recalled for r in again]) > 0.95
    assert all((r.self_rating == AGAIN) == (not r.recalled) for r in again)
    ratings = np.bincount([r.self_rating for r in again if r.recalled], minlength=5)[2:]
    hard, good, easy = (float(x) for x in recalled_rating_split(0.999))
    assert ratings / ratings.sum() == pytest.approx([hard, good, easy], abs=0.02)


def test_seconds_follow_the_outcome() -> None:
    learner = student(is_mcq=True)
    first = [learner.answer(i, 0.0) for i in range(N)]
    assert np.median([r.seconds for r in first]) == pytest.approx(
        FIRST_LOOK_SECONDS[AGAIN], rel=0.05
    )
    reviews = [learner.answer(i, 300.0) for i in range(N)]
    by_rating: dict[int, list[float]] = {}
    for r in reviews:
        by_rating.setdefault(r.true_rating, []).append(r.seconds)
    for rating, seconds in by_rating.items():
        if len(seconds) > 200:
            assert np.median(seconds) == pytest.approx(REVIEW_SECONDS[rating], rel=0.08)


def test_split_of_recalled_ratings_is_a_distribution() -> None:
    recall = np.linspace(0, 1, 11)
    hard, good, easy = recalled_rating_split(recall)
    assert np.allclose(hard + good + easy, 1)
    assert (np.diff(hard) < 0).all() and (np.diff(easy) > 0).all() and (good > 0.5).all()


def test_the_same_presentation_gets_the_same_draws() -> None:
    a = [student(is_mcq=True, seed=5).answer(i, 0.0) for i in range(50)]
    b = [student(is_mcq=True, seed=5).answer(i, 0.0) for i in range(50)]
    assert a == b
