"""FSRS scheduling per item: the grading policy, a fuzz-free wrapper around ``fsrs.Scheduler``
with fuzz drawn from a passed-in rng, vectorised retrievability and next-state formulas for the
planner, and the learner's calibrated memory beliefs.

Pure: no SQL, no Flask, no clock, no global random.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np
from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS, FUZZ_RANGES

__all__ = [
    "DAY_US",
    "DEFAULT_PARAMETERS",
    "CardMemory",
    "GradingPolicy",
    "ItemKind",
    "MemoryScheduler",
    "Rating",
    "StabilityCalibration",
    "State",
    "grade",
    "to_epoch_us",
]

DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch_us(moment: datetime) -> int:
    """Whole microseconds since the Unix epoch for a UTC-aware datetime.

    Raises:
        ValueError: if ``moment`` is naive.
    """
    if moment.tzinfo is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {moment!r}")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_epoch_us(epoch_us: int) -> datetime:
    """Inverse of :func:`to_epoch_us`."""
    return _EPOCH + timedelta(microseconds=int(epoch_us))


class ItemKind(StrEnum):
    """The two kinds of study item."""

    FLASHCARD = "flashcard"
    MCQ = "mcq"

    @property
    def guess_rate(self) -> float:
        """Chance of a correct answer with no memory of the item (four-option items: 0.25)."""
        return 0.25 if self is ItemKind.MCQ else 0.0


# --------------------------------------------------------------------------------------------
# Grading policy


@dataclass(frozen=True)
class GradingPolicy:
    """Thresholds that turn a multiple-choice answer into an FSRS rating.

    Attributes:
        slow_factor: a correct answer slower than ``slow_factor`` × the learner's typical time
            is graded Hard (the learner had to work it out).
        fast_factor: a correct, confident answer faster than ``fast_factor`` × typical is Easy.
        default_typical_ms: the typical response time used before the learner has history.
    """

    slow_factor: float = 2.0
    fast_factor: float = 0.5
    default_typical_ms: int = 20_000

    def __post_init__(self) -> None:
        if not 0 < self.fast_factor < 1 < self.slow_factor:
            raise ValueError(
                f"need 0 < fast_factor < 1 < slow_factor, got {self.fast_factor}, "
                f"{self.slow_factor}"
            )


def grade(
    kind: ItemKind,
    *,
    self_rating: Rating | None = None,
    correct: bool | None = None,
    unsure: bool = False,
    response_ms: int | None = None,
    typical_response_ms: int | None = None,
    policy: GradingPolicy = GradingPolicy(),
) -> Rating:
    """The one grading rule: what FSRS rating an answer earns.

    Flashcards are self-graded: the learner's own Again/Hard/Good/Easy is the rating.
    Multiple choice is graded from the answer:

    - wrong → Again;
    - right but marked unsure, or slower than ``slow_factor`` × the learner's typical
      response time → Hard;
    - right, confident and faster than ``fast_factor`` × typical → Easy;
    - otherwise right → Good.

    Raises:
        ValueError: a flashcard without ``self_rating``, a multiple-choice answer without
            ``correct``, or a negative response time.
    """
    if response_ms is not None and response_ms < 0:
        raise ValueError(f"response_ms must be >= 0, got {response_ms}")
    if kind is ItemKind.FLASHCARD:
        if self_rating is None:
            raise ValueError("a flashcard answer needs the learner's self_rating")
        return Rating(self_rating)
    if correct is None:
        raise ValueError("a multiple-choice answer needs correct=True/False")
    if not correct:
        return Rating.Again
    typical = typical_response_ms or policy.default_typical_ms
    if unsure or (response_ms is not None and response_ms > policy.slow_factor * typical):
        return Rating.Hard
    if response_ms is not None and response_ms < policy.fast_factor * typical:
        return Rating.Easy
    return Rating.Good


# --------------------------------------------------------------------------------------------
# Card memory


@dataclass(frozen=True)
class CardMemory:
    """One learner's FSRS memory of one item, plus counters. Datetimes are UTC-aware.

    ``proven_interval_days`` is the longest gap (in days) after which the learner still
    answered the item correctly: the delayed evidence the Mastered level needs.
    """

    state: State
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    reps: int = 0
    lapses: int = 0
    proven_interval_days: float = 0.0

    @classmethod
    def new(cls, now: datetime) -> CardMemory:
        """The memory of an item never reviewed: Learning, step 0, due now."""
        return cls(State.Learning, 0, None, None, now, None)

    def to_fsrs(self) -> Card:
        return Card(
            card_id=0,
            state=self.state,
            step=self.step,
            stability=self.stability,
            difficulty=self.difficulty,
            due=self.due,
            last_review=self.last_review,
        )


# --------------------------------------------------------------------------------------------
# Scheduler


@dataclass(frozen=True)
class _Formulas:
    """FSRS-6 formulas on numpy arrays, mirroring py-fsrs's private methods exactly."""

    w: tuple[float, ...]

    @property
    def decay(self) -> float:
        return -self.w[20]

    @property
    def factor(self) -> float:
        return float(0.9 ** (1 / self.decay) - 1)

    def retrievability(self, elapsed_days: np.ndarray, stability: np.ndarray) -> np.ndarray:
        return np.power(1 + self.factor * elapsed_days / stability, self.decay)

    def recall_stability(
        self, difficulty: np.ndarray, stability: np.ndarray, recall: np.ndarray, rating: Rating
    ) -> np.ndarray:
        w = self.w
        hard_penalty = w[15] if rating == Rating.Hard else 1.0
        easy_bonus = w[16] if rating == Rating.Easy else 1.0
        grown = stability * (
            1
            + math.e ** w[8]
            * (11 - difficulty)
            * np.power(stability, -w[9])
            * (np.exp((1 - recall) * w[10]) - 1)
            * hard_penalty
            * easy_bonus
        )
        return np.maximum(grown, 0.001)

    def forget_stability(
        self, difficulty: np.ndarray, stability: np.ndarray, recall: np.ndarray
    ) -> np.ndarray:
        w = self.w
        long_term = (
            w[11]
            * np.power(difficulty, -w[12])
            * (np.power(stability + 1, w[13]) - 1)
            * np.exp((1 - recall) * w[14])
        )
        short_term = stability / math.e ** (w[17] * w[18])
        return np.maximum(np.minimum(long_term, short_term), 0.001)

    def short_term_stability(self, stability: np.ndarray, rating: Rating) -> np.ndarray:
        w = self.w
        increase = math.e ** (w[17] * (int(rating) - 3 + w[18])) * np.power(stability, -w[19])
        if rating != Rating.Again:
            increase = np.maximum(increase, 1.0)
        return np.maximum(stability * increase, 0.001)


@dataclass(frozen=True)
class MemoryScheduler:
    """FSRS scheduling with the learner's parameters and fuzz from a passed-in rng.

    py-fsrs fuzzes with the global ``random``; here the wrapped scheduler never fuzzes and
    :meth:`review` applies the same fuzz ranges with the rng it is given, so a review is
    reproducible from its inputs.
    """

    parameters: tuple[float, ...] = tuple(DEFAULT_PARAMETERS)
    desired_retention: float = 0.9
    learning_steps: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=10))
    relearning_steps: tuple[timedelta, ...] = (timedelta(minutes=10),)
    maximum_interval_days: int = 36500
    _fsrs: Scheduler = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.desired_retention < 1:
            raise ValueError(f"desired_retention must be in (0, 1), got {self.desired_retention}")
        scheduler = Scheduler(
            parameters=self.parameters,
            desired_retention=self.desired_retention,
            learning_steps=self.learning_steps,
            relearning_steps=self.relearning_steps,
            maximum_interval=self.maximum_interval_days,
            enable_fuzzing=False,
        )
        object.__setattr__(self, "_fsrs", scheduler)

    @property
    def formulas(self) -> _Formulas:
        return _Formulas(self.parameters)

    def retrievability(self, card: CardMemory, now: datetime) -> float:
        """Probability of recall at ``now`` (0 for a card never reviewed)."""
        return float(self._fsrs.get_card_retrievability(card.to_fsrs(), now))

    def retrievability_many(
        self, stability: np.ndarray, last_review_us: np.ndarray, now_us: int | np.ndarray
    ) -> np.ndarray:
        """Vectorised :meth:`retrievability` for many cards at once.

        ``stability`` is NaN and ``last_review_us`` anything for cards never reviewed; those
        get 0. Elapsed time is counted in whole days, as FSRS does.
        """
        seen = ~np.isnan(stability)
        elapsed_days = np.maximum((now_us - last_review_us) // DAY_US, 0)
        result = np.zeros(stability.shape, dtype=np.float64)
        result[seen] = self.formulas.retrievability(
            elapsed_days[seen].astype(np.float64), stability[seen]
        )
        return result

    def review(
        self, card: CardMemory, rating: Rating, now: datetime, rng: np.random.Generator
    ) -> CardMemory:
        """The card's memory after a review with ``rating`` at ``now``.

        Raises:
            ValueError: if ``now`` is not UTC-aware or is earlier than the last review.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        now = now.astimezone(UTC)
        if card.last_review is not None and now < card.last_review:
            raise ValueError(f"review at {now} is earlier than the last review {card.last_review}")
        recalled_after_days = (
            (now - card.last_review) / timedelta(days=1) if card.last_review is not None else 0.0
        )
        updated, _ = self._fsrs.review_card(card.to_fsrs(), Rating(rating), now)
        due = updated.due
        if updated.state == State.Review:
            due = now + self._fuzzed(due - now, rng)
        lapse = card.state == State.Review and rating == Rating.Again
        proven = card.proven_interval_days
        if rating != Rating.Again and card.last_review is not None:
            proven = max(proven, recalled_after_days)
        return CardMemory(
            state=updated.state,
            step=updated.step,
            stability=updated.stability,
            difficulty=updated.difficulty,
            due=due,
            last_review=now,
            reps=card.reps + 1,
            lapses=card.lapses + int(lapse),
            proven_interval_days=proven,
        )

    def preview_intervals(self, card: CardMemory, now: datetime) -> dict[Rating, timedelta]:
        """The interval each rating would give now, before fuzz (for Anki-style buttons)."""
        fsrs_card = card.to_fsrs()
        return {
            rating: self._fsrs.review_card(fsrs_card, rating, now)[0].due - now for rating in Rating
        }

    def replay(
        self,
        reviews: Sequence[tuple[datetime, Rating]],
        rng_for_rep: RngFactory,
    ) -> CardMemory | None:
        """Rebuild a card's memory from its reviews in time order (None if there are none).

        ``rng_for_rep(reps)`` returns the rng that the review with that many prior reps used,
        so the fuzz is the same as when the reviews were recorded.
        """
        card: CardMemory | None = None
        for answered_at, rating in sorted(reviews, key=lambda review: review[0]):
            current = card if card is not None else CardMemory.new(answered_at)
            card = self.review(current, rating, answered_at, rng_for_rep(current.reps))
        return card

    def _fuzzed(self, interval: timedelta, rng: np.random.Generator) -> timedelta:
        """py-fsrs's fuzz ranges, with the random draw taken from ``rng``."""
        interval_days = interval.days
        if interval_days < 2.5:
            return interval
        delta = 1.0
        for fuzz_range in FUZZ_RANGES:
            delta += fuzz_range["factor"] * max(
                min(float(interval_days), fuzz_range["end"]) - fuzz_range["start"], 0.0
            )
        max_interval = min(round(interval_days + delta), self.maximum_interval_days)
        min_interval = min(max(2, round(interval_days - delta)), max_interval)
        fuzzed = float(rng.random()) * (max_interval - min_interval + 1) + min_interval
        return timedelta(days=min(round(fuzzed), self.maximum_interval_days))


class RngFactory:
    """Deterministic per-review rngs: fuzz for (learner, item, reps) is always the same draw."""

    def __init__(self, *seed: int) -> None:
        self._seed = tuple(int(part) for part in seed)

    def __call__(self, reps: int) -> np.random.Generator:
        return np.random.default_rng((*self._seed, int(reps)))


# --------------------------------------------------------------------------------------------
# Calibrated memory beliefs


_GRID_SIZE = 41
_SCALE_GRID = np.exp(np.linspace(math.log(0.1), math.log(10.0), _GRID_SIZE))
_LOG_PRIOR = -0.5 * (np.log(_SCALE_GRID) / 0.5) ** 2  # lognormal prior, sigma 0.5, centred on 1


@dataclass(frozen=True)
class StabilityCalibration:
    """A per-learner stability scale fitted to observed recall.

    The learner's true stability is believed to be ``scale × S`` where ``S`` is what FSRS with
    the current parameters computes. Each long-term review (one day or more since the last)
    adds the log-likelihood of its outcome, for every scale on a log grid from 0.1 to 10,
    under ``P(correct) = R + (1 − R)·g``. A lognormal prior centred on 1 keeps early estimates
    near the defaults. The belief is the posterior mean of log scale.
    """

    log_likelihood: tuple[float, ...] = tuple([0.0] * _GRID_SIZE)
    observations: int = 0

    @property
    def scale(self) -> float:
        log_posterior = np.asarray(self.log_likelihood) + _LOG_PRIOR
        weights = np.exp(log_posterior - log_posterior.max())
        weights /= weights.sum()
        return float(np.exp(np.dot(weights, np.log(_SCALE_GRID))))

    def observe(
        self,
        *,
        elapsed_days: int,
        stability: float,
        decay: float,
        guess_rate: float,
        correct: bool,
    ) -> StabilityCalibration:
        """Add one long-term review; reviews less than a day apart carry no evidence here."""
        if elapsed_days < 1 or not stability > 0:
            return self
        factor = 0.9 ** (1 / decay) - 1
        recall = np.power(1 + factor * elapsed_days / (_SCALE_GRID * stability), decay)
        p_correct = np.clip(recall + (1 - recall) * guess_rate, 1e-6, 1 - 1e-6)
        added = np.log(p_correct) if correct else np.log1p(-p_correct)
        return replace(
            self,
            log_likelihood=tuple(float(x) for x in np.asarray(self.log_likelihood) + added),
            observations=self.observations + 1,
        )
