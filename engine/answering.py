"""Answering an item: grade it, move its FSRS memory on, and update the learner's calibration.

The in-memory learner and the storage service both answer through :func:`apply_answer`, so
the same answer gives the same card state whichever path recorded it. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from engine.scheduling import (
    CardMemory,
    GradingPolicy,
    ItemKind,
    MemoryGroup,
    MemoryScheduler,
    Rating,
    StabilityCalibration,
    grade,
    recall_curve,
)

__all__ = ["Answer", "AnsweredCard", "apply_answer"]

CHOICE_LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Answer:
    """What the learner did: for a flashcard a self rating, for multiple choice a choice.

    ``choice`` is None for "I don't know" (counts as wrong). ``response_ms`` is the time from
    showing the item to answering.
    """

    self_rating: Rating | None = None
    choice: str | None = None
    unsure: bool = False
    response_ms: int | None = None

    def __post_init__(self) -> None:
        if self.choice is not None and self.choice not in CHOICE_LETTERS:
            raise ValueError(f"choice must be one of A-D or None, got {self.choice!r}")
        if self.self_rating is not None and self.self_rating not in tuple(Rating):
            raise ValueError(f"self_rating must be 1-4, got {self.self_rating!r}")
        if self.response_ms is not None and not 0 <= self.response_ms <= 3_600_000:
            raise ValueError(f"response_ms must be between 0 and 3600000, got {self.response_ms}")


@dataclass(frozen=True)
class AnsweredCard:
    """The result of an answer: the new memory, the rating it earned and the evidence."""

    card: CardMemory
    rating: Rating
    correct: bool
    predicted_correct: float
    elapsed_days: int
    calibration: StabilityCalibration


def apply_answer(
    *,
    kind: ItemKind,
    key: str | None,
    card: CardMemory | None,
    answer: Answer,
    now: datetime,
    rng: np.random.Generator,
    scheduler: MemoryScheduler,
    calibration: StabilityCalibration,
    typical_response_ms: int | None,
    grading: GradingPolicy = GradingPolicy(),
    stability_scale: float = 1.0,
    prior_correct: float | None = None,
    decay: float | None = None,
    group: MemoryGroup = MemoryGroup.SETTLED,
    difficulty: int | None = None,
    item_scale: float = 1.0,
) -> AnsweredCard:
    """Grade ``answer`` to the item (``key`` is the right letter for multiple choice) and
    return the card's new memory.

    ``predicted_correct`` is the engine's P(correct) just before the answer (calibrated recall
    plus guessing for a seen item, ``prior_correct`` for a new one), kept with the review so
    calibration can be measured later. Calibrated recall is the learner's forgetting curve
    (``stability_scale``, ``decay`` of the card's memory ``group``; decay None: the
    scheduler's ``w20``) at the real time elapsed since the last review, in fractional days;
    the answer is evidence for that group's calibration. ``elapsed_days`` is recorded in
    whole days.

    Raises:
        ValueError: a flashcard answer without a self rating, or a multiple-choice answer
            with a self rating.
    """
    if kind is ItemKind.FLASHCARD:
        if answer.self_rating is None:
            raise ValueError("a flashcard answer needs a rating (1-4)")
        correct = answer.self_rating != Rating.Again
        rating = grade(kind, self_rating=answer.self_rating)
    else:
        if answer.self_rating is not None:
            raise ValueError("a multiple-choice answer is graded from its choice, not a rating")
        correct = answer.choice is not None and answer.choice == key
        rating = grade(
            kind,
            correct=correct,
            unsure=answer.unsure or answer.choice is None,
            response_ms=answer.response_ms,
            typical_response_ms=typical_response_ms,
            policy=grading,
        )
    if (
        card is None
        and correct
        and kind.guess_rate > 0
        and prior_correct is not None
        and rating != Rating.Easy
        and _known_given_correct(prior_correct, kind.guess_rate) < grading.guess_threshold
    ):
        # More likely a lucky guess than a memory: the learner's memory is that of a miss.
        rating = Rating.Again
    before = card if card is not None else CardMemory.new(now)
    elapsed_days = 0
    predicted = prior_correct if prior_correct is not None else kind.guess_rate
    if card is not None and card.last_review is not None and card.stability is not None:
        elapsed_days = max((now - card.last_review) // timedelta(days=1), 0)
        elapsed = max((now - card.last_review) / timedelta(days=1), 0.0)
        curve_decay = decay if decay is not None else scheduler.parameters[20]
        held = card.stability * stability_scale * item_scale
        recall = float(recall_curve(elapsed, held, curve_decay))
        predicted = recall + (1 - recall) * kind.guess_rate
        calibration = calibration.observe(
            elapsed_days=elapsed,
            stability=card.stability,
            guess_rate=kind.guess_rate,
            correct=correct,
            group=group,
            difficulty=difficulty,
            curve=(stability_scale, curve_decay),
        )
    updated = scheduler.review(before, rating, now, rng)
    return AnsweredCard(
        card=updated,
        rating=rating,
        correct=correct,
        predicted_correct=float(predicted),
        elapsed_days=int(elapsed_days),
        calibration=calibration,
    )


def _known_given_correct(prior_correct: float, guess_rate: float) -> float:
    """P(the learner knew the item | a right first answer), from the prior P(correct) =
    k + (1 − k)·g: k / P(correct)."""
    known = max(prior_correct - guess_rate, 0.0) / (1 - guess_rate)
    return known / prior_correct if prior_correct > 0 else 0.0
