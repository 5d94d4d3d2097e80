"""FSRS scheduling per item: the grading policy, a fuzz-free wrapper around ``fsrs.Scheduler``
with fuzz drawn from a passed-in rng, vectorised retrievability and next-state formulas for the
planner, and the learner's calibrated memory beliefs.

Pure: no SQL, no Flask, no clock, no global random.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum

import numpy as np
from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS, FUZZ_RANGES

__all__ = [
    "DAY_US",
    "DEFAULT_PARAMETERS",
    "CardMemory",
    "GradingPolicy",
    "ItemKind",
    "MemoryGroup",
    "MemoryScheduler",
    "Rating",
    "StabilityCalibration",
    "State",
    "grade",
    "group_after_study",
    "learner_scheduler",
    "memory_group",
    "recall_curve",
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
    guess_threshold: float = 0.5

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


def learner_scheduler(parameters: Sequence[float] | None = None) -> MemoryScheduler:
    """Pitstop's scheduler for a learner: FSRS-6 with the learner's parameters (None: the
    defaults) and no fixed learning or relearning steps. Every card goes straight to the
    Review state; whether a new or forgotten item is seen again within the sitting is the
    planner's choice, weighed like any other study by its expected gain (see
    :mod:`engine.selector`)."""
    return MemoryScheduler(
        parameters=tuple(parameters) if parameters is not None else tuple(DEFAULT_PARAMETERS),
        learning_steps=(),
        relearning_steps=(),
    )


class RngFactory:
    """Deterministic per-review rngs: fuzz for (learner, item, reps) is always the same draw."""

    def __init__(self, *seed: int) -> None:
        self._seed = tuple(int(part) for part in seed)

    def __call__(self, reps: int) -> np.random.Generator:
        return np.random.default_rng((*self._seed, int(reps)))


# --------------------------------------------------------------------------------------------
# Calibrated memory beliefs


def recall_curve(
    elapsed_days: np.ndarray | float,
    stability: np.ndarray | float,
    decay: np.ndarray | float,
) -> np.ndarray:
    """FSRS-6's forgetting curve ``R = (1 + F·t/S)^(−decay)``, ``F = 0.9^(−1/decay) − 1``, for
    any elapsed time ``t`` in (fractional) days and a positive ``decay`` (FSRS's ``w20``).

    :meth:`MemoryScheduler.retrievability_many` is the same curve at whole days with the
    scheduler's own decay, as py-fsrs computes it; predictions of what the learner will
    answer use this one, at the real elapsed time and the learner's calibrated decay.
    """
    factor = 0.9 ** (-1.0 / decay) - 1.0
    return np.power(1.0 + factor * np.asarray(elapsed_days, dtype=np.float64) / stability, -decay)


class MemoryGroup(IntEnum):
    """What a card has been through, for calibration: memories of different histories follow
    different curves (a fact met once this evening is not remembered like one reviewed over
    a week), so each group has its own fitted curve.

    A card is *fresh* while every study of it lies within six hours of its first look.
    """

    FAILED_ONCE = 0  # fresh, wrong at first look, studied once
    FAILED_RESTUDIED = 1  # fresh, wrong at first look, studied again since
    KNOWN_AT_FIRST = 2  # fresh, right at first look
    SETTLED = 3  # studied again after its first sitting


FRESH_DAYS = 0.25  # a card is fresh while its studies lie within six hours of its first look


def memory_group(
    *, first_correct: bool, reps: int, first_seen: datetime, last_review: datetime
) -> MemoryGroup:
    """The :class:`MemoryGroup` of a card with these counters (before a new answer)."""
    if (last_review - first_seen) / timedelta(days=1) >= FRESH_DAYS:
        return MemoryGroup.SETTLED
    if first_correct:
        return MemoryGroup.KNOWN_AT_FIRST
    return MemoryGroup.FAILED_ONCE if reps <= 1 else MemoryGroup.FAILED_RESTUDIED


def group_after_study(group: np.ndarray, same_sitting: np.ndarray) -> np.ndarray:
    """The group of cards studied now: still fresh (a failed card becomes restudied) when
    ``same_sitting`` (within six hours of the first look), otherwise settled."""
    fresh = np.where(group == MemoryGroup.FAILED_ONCE, MemoryGroup.FAILED_RESTUDIED, group)
    return np.where(same_sitting & (group != MemoryGroup.SETTLED), fresh, MemoryGroup.SETTLED)


_GROUPS = len(MemoryGroup)
_SCALE_GRID = np.exp(np.linspace(math.log(0.1), math.log(10.0), 21))
_DECAY_GRID = DEFAULT_PARAMETERS[20] * np.exp(0.27 * np.arange(-6, 7))  # 0.03 to 0.78
_CELLS = _SCALE_GRID.size * _DECAY_GRID.size
_SCALE_SIGMA = 0.8  # lognormal priors, wide enough for a learner's evidence to take over
_DECAY_SIGMA = 0.8  # within days
# Prior centres per group: (stability scale, decay ÷ the scheduler's w20), for two kinds of
# learner. How much a single exposure is worth differs between learners far more than FSRS's
# w0 allows: for some, a fact failed at first look and met once is remembered far less than
# FSRS's w0 says (about a quarter after a week: Cepeda et al. 2006); for others FSRS's
# defaults hold. No one prior serves both: the pessimistic one makes the planner restudy in
# the sitting what such a learner would have kept anyway, FSRS's makes it skip restudies that
# another learner needs. So the prior is a mixture of the two, and each learner's own
# evidence (from every group at once: the kind is the learner's, not the group's) decides
# between them. Centres 0.3 and 2.5 × w20 give, on the grid, a prior recall of 0.32 after a
# week where FSRS's defaults say 0.55.
WEAK_FIRST_EXPOSURE: dict[int, tuple[float, float]] = {
    MemoryGroup.FAILED_ONCE: (0.3, 2.5),
    MemoryGroup.FAILED_RESTUDIED: (1.0, 1.0),
    MemoryGroup.KNOWN_AT_FIRST: (0.5, 1.0),
    MemoryGroup.SETTLED: (1.0, 1.0),
}
# FSRS's defaults, except that a fact met once fades with 1.3 × w20: how fast a single
# exposure fades is the least identified part of a learner's curve (the evidence on it comes
# mostly a day later), and a belief too flat there overvalues new material at long horizons.
FSRS_LIKE: dict[int, tuple[float, float]] = {
    **dict.fromkeys(MemoryGroup, (1.0, 1.0)),
    MemoryGroup.FAILED_ONCE: (1.0, 1.3),
}
# (prior weight, centres per group) of each kind of learner.
LEARNER_KINDS: tuple[tuple[float, dict[int, tuple[float, float]]], ...] = (
    (0.5, WEAK_FIRST_EXPOSURE),
    (0.5, FSRS_LIKE),
)
MIN_EVIDENCE_DAYS = 0.25  # reviews closer together than six hours tell little about decay
# How much longer the learner keeps easy items than hard ones after the same study: the group
# curves above fit all of a group's items at once, but for some learners an easy fact is kept
# twice as long as a middling one and a hard one half as long, far more than FSRS's card
# difficulty says. Items of author difficulty d (1-3) have their stability multiplied by
# exp(slope * (2 - d)); the slope's grid is -2 to 2, its prior normal(0.3, 0.5): an author's
# "easy" usually is (learners fitted under either benchmark memory model mostly land at 0.3
# to 0.6), and a learner's own evidence on it is slow to come.
DIFFICULTY_LEVELS = 3
_SLOPE_GRID = np.linspace(-2.0, 2.0, 33)
_SLOPE_SIGMA = 0.5
_SLOPE_MEAN = 0.3


def _log_sum_exp(values: np.ndarray) -> float:
    top = float(values.max())
    return top + math.log(float(np.exp(values - top).sum()))


def _posterior_means(weights: np.ndarray) -> tuple[float, float]:
    """``(scale, decay)``: the means of their logarithms under ``weights`` on the grid."""
    scale = float(np.exp(np.sum(weights.sum(axis=1) * np.log(_SCALE_GRID))))
    decay = float(np.exp(np.sum(weights.sum(axis=0) * np.log(_DECAY_GRID))))
    return scale, decay


def _empty_grids() -> tuple[tuple[float, ...], ...]:
    return tuple(tuple([0.0] * _CELLS) for _ in range(_GROUPS))


def _empty_slope_grid() -> tuple[float, ...]:
    return tuple([0.0] * _SLOPE_GRID.size)


@dataclass(frozen=True)
class StabilityCalibration:
    """A learner's forgetting curves, fitted to observed recall: per :class:`MemoryGroup`, a
    stability scale and a decay.

    The learner's recall of an item ``t`` days after its last review is believed to be
    ``R = (1 + F·t/(scale·S))^(−decay)``, ``F = 0.9^(−1/decay) − 1``, where ``S`` is the
    stability FSRS computes with the current parameters and (scale, decay) are those of the
    card's group: ``scale`` says how much longer (or shorter) the learner remembers than FSRS
    predicts, ``decay`` how the curve bends (FSRS-6's ``w20``; memories that fade fast at
    first and slowly later have a larger one). Each review at least six hours after the last
    adds the log-likelihood of its outcome, ``P(correct) = R + (1 − R)·g``, to its group's
    21 × 13 grid (scale 0.1–10 × decay 0.03–0.78). Lognormal priors centred on scale 1 and on
    the scheduler's own decay keep early estimates at FSRS's. The beliefs are the posterior
    means of log scale and log decay.

    Each review also adds to the evidence on the learner's difficulty slope (see
    :data:`DIFFICULTY_LEVELS`): items of author difficulty ``d`` are kept
    ``exp(slope·(2 − d))`` times as long as their group's curve says (:meth:`item_scales`).

    ``log_likelihood`` holds one grid per group, each flattened scale-major;
    ``slope_log_likelihood`` the slope's grid.
    """

    log_likelihood: tuple[tuple[float, ...], ...] = field(default_factory=_empty_grids)
    observations: int = 0
    slope_log_likelihood: tuple[float, ...] = field(default_factory=_empty_slope_grid)
    _curves: dict[float, tuple[tuple[float, float], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        grids = self.log_likelihood
        if len(grids) != _GROUPS or any(len(grid) != _CELLS for grid in grids):
            # An older calibration (one scale at FSRS's decay) cannot be carried over.
            object.__setattr__(self, "log_likelihood", _empty_grids())
            object.__setattr__(self, "observations", 0)
        if len(self.slope_log_likelihood) != _SLOPE_GRID.size:
            object.__setattr__(self, "slope_log_likelihood", _empty_slope_grid())

    @classmethod
    def from_json(cls, data: object) -> StabilityCalibration:
        """Read what :meth:`to_json` wrote, or the older lists of numbers; anything else (older
        rows) gives a fresh start."""
        if not isinstance(data, dict):
            return cls()
        grids = data.get("log_likelihood")
        if isinstance(grids, str):  # float32, little-endian, base64: what to_json writes
            try:
                raw = base64.b64decode(grids, validate=True)
            except ValueError:
                return cls()
            if len(raw) != _GROUPS * _CELLS * 4:
                return cls()
            values = np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(_GROUPS, _CELLS)
        elif isinstance(grids, list) and all(isinstance(grid, list) for grid in grids):
            try:
                values = np.asarray(grids, dtype=np.float64)
            except ValueError:  # ragged or not numbers
                return cls()
        else:
            return cls()
        return cls(
            log_likelihood=tuple(map(tuple, values.tolist())),
            observations=int(data.get("observations", 0)),
            slope_log_likelihood=_slope_grid_from(data.get("difficulty_slope")),
        )

    def to_json(self) -> dict[str, object]:
        # The grids as float32 in base64 (5.8 kB for 1,092 numbers): an answer reads and writes
        # them, and JSON lists of numbers took ten times as long to parse and print. float32
        # keeps a log-likelihood to about 1e-4 at the magnitudes a learner's history reaches.
        grids = np.asarray(self.log_likelihood, dtype="<f4")
        return {
            "log_likelihood": base64.b64encode(grids.tobytes()).decode("ascii"),
            "observations": self.observations,
            "difficulty_slope": [round(x, 4) for x in self.slope_log_likelihood],
        }

    def posterior(
        self, prior_decay: float = DEFAULT_PARAMETERS[20], group: int = MemoryGroup.SETTLED
    ) -> np.ndarray:
        """The posterior weights on the (scale, decay) grid of ``group``: a mixture over
        :data:`LEARNER_KINDS`, each kind weighted by how well it explains all the evidence."""
        kind_weights, posteriors = self._mixture(prior_decay)
        mixed = np.tensordot(kind_weights, posteriors[:, group], axes=1)
        return mixed / mixed.sum()

    def kind_weights(self, prior_decay: float = DEFAULT_PARAMETERS[20]) -> np.ndarray:
        """Posterior probability of each of :data:`LEARNER_KINDS` for this learner."""
        return self._mixture(prior_decay)[0]

    def _mixture(self, prior_decay: float) -> tuple[np.ndarray, np.ndarray]:
        """Kind weights, and per kind and group the normalised posterior grid."""
        shape = (_SCALE_GRID.size, _DECAY_GRID.size)
        grids = np.asarray(self.log_likelihood).reshape(_GROUPS, *shape)
        log_evidence = np.empty(len(LEARNER_KINDS))
        posteriors = np.empty((len(LEARNER_KINDS), _GROUPS, *shape))
        for kind, (weight, centres) in enumerate(LEARNER_KINDS):
            total = math.log(weight)
            for group in MemoryGroup:
                scale_centre, decay_ratio = centres[group]
                log_prior = (
                    -0.5 * (np.log(_SCALE_GRID / scale_centre)[:, None] / _SCALE_SIGMA) ** 2
                    - 0.5
                    * (np.log(_DECAY_GRID / (prior_decay * decay_ratio))[None, :] / _DECAY_SIGMA)
                    ** 2
                )
                log_prior -= _log_sum_exp(log_prior)
                log_posterior = grids[group] + log_prior
                marginal = _log_sum_exp(log_posterior)
                total += marginal
                posteriors[kind, group] = np.exp(log_posterior - marginal)
            log_evidence[kind] = total
        weights = np.exp(log_evidence - log_evidence.max())
        return weights / weights.sum(), posteriors

    def estimate(
        self, prior_decay: float = DEFAULT_PARAMETERS[20], group: int = MemoryGroup.SETTLED
    ) -> tuple[float, float]:
        """``(scale, decay)`` of ``group``: the posterior means of their logarithms."""
        return _posterior_means(self.posterior(prior_decay, group))

    def curves(
        self, prior_decay: float = DEFAULT_PARAMETERS[20]
    ) -> tuple[tuple[float, float], ...]:
        """``(scale, decay)`` of every group, in :class:`MemoryGroup` order."""
        cached = self._curves.get(prior_decay)
        if cached is None:
            kind_weights, posteriors = self._mixture(prior_decay)
            mixed = np.tensordot(kind_weights, posteriors, axes=1)
            cached = tuple(
                _posterior_means(mixed[group] / mixed[group].sum()) for group in MemoryGroup
            )
            self._curves[prior_decay] = cached
        return cached

    def difficulty_slope(self) -> float:
        """The posterior mean of the slope: easy items' stability is ``exp(slope)`` times,
        hard items' ``exp(−slope)`` times that of middling ones."""
        log_prior = -0.5 * ((_SLOPE_GRID - _SLOPE_MEAN) / _SLOPE_SIGMA) ** 2
        log_posterior = np.asarray(self.slope_log_likelihood) + log_prior
        weights = np.exp(log_posterior - log_posterior.max())
        return float(np.sum(weights * _SLOPE_GRID) / weights.sum())

    def item_scales(self) -> tuple[float, ...]:
        """Per author difficulty (1, 2, 3), the factor on the stability of the learner's items
        of that difficulty."""
        slope = self.difficulty_slope()
        return tuple(math.exp(slope * (2 - level)) for level in range(1, DIFFICULTY_LEVELS + 1))

    @property
    def scale(self) -> float:
        """The settled memories' stability scale."""
        return self.estimate()[0]

    @property
    def decay(self) -> float:
        """The settled memories' decay."""
        return self.estimate()[1]

    def observe(
        self,
        *,
        elapsed_days: float,
        stability: float,
        guess_rate: float,
        correct: bool,
        group: int = MemoryGroup.SETTLED,
        difficulty: int | None = None,
        curve: tuple[float, float] | None = None,
    ) -> StabilityCalibration:
        """Add one review ``elapsed_days`` after the last to ``group``'s evidence; reviews
        less than six hours apart carry no evidence here. With the item's author
        ``difficulty`` (1–3) and the group's current ``curve`` (scale, decay), the review is
        also evidence on that difficulty's item scale."""
        if elapsed_days < MIN_EVIDENCE_DAYS or not stability > 0:
            return self
        recall = recall_curve(elapsed_days, _SCALE_GRID[:, None] * stability, _DECAY_GRID[None, :])
        grids = list(self.log_likelihood)
        grids[group] = tuple(
            (
                np.asarray(grids[group]) + _log_likelihood(recall, guess_rate, correct).ravel()
            ).tolist()
        )
        slope = self.slope_log_likelihood
        if difficulty is not None and curve is not None:
            level = min(max(int(difficulty), 1), DIFFICULTY_LEVELS)
            item_scale = np.exp(_SLOPE_GRID * (2 - level))
            item_recall = recall_curve(elapsed_days, item_scale * curve[0] * stability, curve[1])
            added = _log_likelihood(item_recall, guess_rate, correct)
            slope = tuple((np.asarray(slope) + added).tolist())
        return StabilityCalibration(tuple(grids), self.observations + 1, slope)


def _log_likelihood(recall: np.ndarray, guess_rate: float, correct: bool) -> np.ndarray:
    p_correct = np.clip(recall + (1 - recall) * guess_rate, 1e-6, 1 - 1e-6)
    return np.log(p_correct) if correct else np.log1p(-p_correct)


def _slope_grid_from(data: object) -> tuple[float, ...]:
    """The slope's grid as :meth:`StabilityCalibration.to_json` wrote it; an empty one for
    anything else (rows written before there was one)."""
    if not isinstance(data, list) or len(data) != _SLOPE_GRID.size:
        return _empty_slope_grid()
    try:
        return tuple(float(x) for x in data)
    except (ValueError, TypeError):
        return _empty_slope_grid()
