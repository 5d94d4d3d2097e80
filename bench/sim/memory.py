"""Ground-truth memory models: the simulated learner's *true* memory, hidden from policies.

Two models, both per learner and per item, both updated by the true outcome of every answer
(a lucky guess is a failure to memory: the update is Again):

- :class:`FSRSMemory` — FSRS-6 with the learner's own parameters: py-fsrs's defaults, each
  multiplied by lognormal(0, sigma) and clipped to py-fsrs's bounds (see
  :func:`draw_fsrs_parameters`). Recall decays as FSRS-6's power curve in *continuous* days
  (py-fsrs floors to whole days; a real learner does not). The update is py-fsrs's:
  short-term stability for a review less than a day after the last one, recall / forget
  stability otherwise, and py-fsrs's difficulty update. Each item adds a fixed offset to its
  initial difficulty (harder items for author difficulty 3).
- :class:`ACTRMemory` — ACT-R activation with spacing-dependent decay (Pavlik & Anderson,
  2005), not FSRS-shaped: see its docstring and :mod:`bench.sim.calibration`.

Every model answers three questions: recall of one item now (for answering), recall of all
items at a moment (for scores and mastery), and, for the oracle only, the expected recall at
a horizon if an item is studied now versus skipped.

Time is in seconds since the first session (:mod:`bench.sim.clock`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from fsrs.scheduler import (
    DEFAULT_PARAMETERS,
    LOWER_BOUNDS_PARAMETERS,
    UPPER_BOUNDS_PARAMETERS,
)

from bench.sim.clock import DAY
from bench.sim.priors import PriorKnowledge

__all__ = [
    "ACTR_CALIBRATED",
    "ACTRMemory",
    "ACTRParameters",
    "FSRSMemory",
    "FSRSParameters",
    "MemoryModel",
    "draw_actr_parameters",
    "draw_fsrs_parameters",
    "recalled_rating_split",
]

AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4


def recalled_rating_split(recall: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(Hard), P(Good), P(Easy) for an answer the learner *did* recall, given the recall
    probability just before it.

    A barely held memory comes back with effort (Hard), a strong one easily (Easy):
    ``P(Hard) = 0.05 + 0.35·(1 − R)``, ``P(Easy) = 0.15·R²``, Good the rest. At R = 0.9 that
    is 8.5 % / 79 % / 12 %, near the split of Hard/Good/Easy among passing reviews in Anki
    collections; at R = 0.5 it is 22.5 % / 74 % / 4 %.
    """
    r = np.asarray(recall, dtype=np.float64)
    hard = 0.05 + 0.35 * (1.0 - r)
    easy = 0.15 * r * r
    return hard, 1.0 - hard - easy, easy


class MemoryModel(ABC):
    """One learner's true memory of every item of a course."""

    name: ClassVar[str]

    @abstractmethod
    def recall(self, index: int, t: float) -> float:
        """P(recall) of item ``index`` at time ``t`` (0 for an item with no memory)."""

    @abstractmethod
    def recall_all(self, t: float) -> np.ndarray:
        """P(recall) of every item at time ``t``."""

    @abstractmethod
    def update(self, index: int, t: float, rating: int) -> None:
        """Item ``index`` was studied at ``t`` with true outcome ``rating`` (1 = not recalled,
        2–4 = recalled with effort / normally / easily); the learner saw the answer."""

    @abstractmethod
    def study_value(
        self, indices: np.ndarray, now: float, horizon: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For the oracle: per item, (recall now, expected recall at ``horizon`` if studied
        now with no further study, recall at ``horizon`` if not studied)."""

    @abstractmethod
    def copy(self) -> MemoryModel:
        """An independent copy (each policy starts from the same initial memory)."""


# --------------------------------------------------------------------------------------------
# FSRS-6


@dataclass(frozen=True)
class FSRSParameters:
    """A learner's true FSRS-6 parameters (21 weights, py-fsrs order)."""

    w: tuple[float, ...]

    @property
    def decay(self) -> float:
        return self.w[20]

    @property
    def factor(self) -> float:
        return 0.9 ** (-1.0 / self.decay) - 1.0


def draw_fsrs_parameters(rng: np.random.Generator, sigma: float = 0.4) -> FSRSParameters:
    """py-fsrs's default parameters, each times lognormal(0, ``sigma``), clipped to
    ``LOWER_BOUNDS_PARAMETERS`` / ``UPPER_BOUNDS_PARAMETERS``.

    The four initial stabilities (Again ≤ Hard ≤ Good ≤ Easy) are sorted after drawing, so a
    better first answer never means a weaker memory.
    """
    default = np.asarray(DEFAULT_PARAMETERS, dtype=np.float64)
    w = default * np.exp(rng.normal(0.0, sigma, default.size))
    w = np.clip(w, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS)
    w[:4] = np.sort(w[:4])
    return FSRSParameters(tuple(float(x) for x in w))


def fsrs_item_offsets(difficulty: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per item, an offset to FSRS difficulty: +1 per author-difficulty step above 2, plus
    normal(0, 0.5) noise."""
    return (difficulty.astype(np.float64) - 2.0) + rng.normal(0.0, 0.5, difficulty.size)


class FSRSMemory(MemoryModel):
    """True memory that follows FSRS-6 with the learner's own parameters.

    State per item: stability (days, NaN without memory), difficulty, time of last study.
    """

    name = "FSRS-6"

    def __init__(
        self,
        params: FSRSParameters,
        offsets: np.ndarray,
        stability: np.ndarray,
        difficulty: np.ndarray,
        last: np.ndarray,
    ) -> None:
        self.params = params
        self.offsets = offsets
        self.stability = stability
        self.difficulty = difficulty
        self.last = last
        self._w = params.w
        self._decay = params.decay
        self._factor = params.factor

    @classmethod
    def from_prior(
        cls, params: FSRSParameters, offsets: np.ndarray, prior: PriorKnowledge
    ) -> FSRSMemory:
        """Known items get the stability that gives their initial recall after their age;
        their difficulty is the initial difficulty of a Good answer plus the item offset."""
        w = params.w
        recall = np.clip(prior.initial_recall, 0.05, 0.99)
        age = np.maximum(prior.age_days, 1.0)
        stability = params.factor * age / (np.power(recall, -1.0 / params.decay) - 1.0)
        good_difficulty = w[4] - math.exp(w[5] * 2) + 1
        difficulty = np.clip(good_difficulty + offsets, 1.0, 10.0)
        return cls(
            params,
            offsets,
            np.where(prior.known, stability, np.nan),
            np.where(prior.known, difficulty, np.nan),
            np.where(prior.known, -age * DAY, np.nan),
        )

    def copy(self) -> FSRSMemory:
        return FSRSMemory(
            self.params,
            self.offsets,
            self.stability.copy(),
            self.difficulty.copy(),
            self.last.copy(),
        )

    def _curve(self, days: np.ndarray | float, stability: np.ndarray | float) -> np.ndarray:
        return np.power(1.0 + self._factor * np.asarray(days) / stability, -self._decay)

    def recall(self, index: int, t: float) -> float:
        stability = float(self.stability[index])
        if math.isnan(stability):
            return 0.0
        days = max(t - float(self.last[index]), 0.0) / DAY
        return (1.0 + self._factor * days / stability) ** -self._decay

    def recall_all(self, t: float) -> np.ndarray:
        seen = ~np.isnan(self.stability)
        days = np.maximum(t - np.where(seen, self.last, t), 0.0) / DAY
        return np.where(seen, self._curve(days, np.where(seen, self.stability, 1.0)), 0.0)

    # -- the FSRS-6 update, scalar (one answer) --------------------------------------------

    def update(self, index: int, t: float, rating: int) -> None:
        w = self._w
        stability = float(self.stability[index])
        offset = float(self.offsets[index])
        if math.isnan(stability):
            new_stability = w[rating - 1]
            new_difficulty = w[4] - math.exp(w[5] * (rating - 1)) + 1 + offset
        else:
            difficulty = float(self.difficulty[index])
            days = max(t - float(self.last[index]), 0.0) / DAY
            if days < 1.0:
                increase = math.exp(w[17] * (rating - 3 + w[18])) * stability ** -w[19]
                if rating > AGAIN:
                    increase = max(increase, 1.0)
                new_stability = stability * increase
            else:
                recall = (1.0 + self._factor * days / stability) ** -self._decay
                if rating == AGAIN:
                    new_stability = min(
                        w[11]
                        * difficulty ** -w[12]
                        * ((stability + 1) ** w[13] - 1)
                        * math.exp((1 - recall) * w[14]),
                        stability / math.exp(w[17] * w[18]),
                    )
                else:
                    penalty = w[15] if rating == HARD else 1.0
                    bonus = w[16] if rating == EASY else 1.0
                    new_stability = stability * (
                        1
                        + math.exp(w[8])
                        * (11 - difficulty)
                        * stability ** -w[9]
                        * (math.exp((1 - recall) * w[10]) - 1)
                        * penalty
                        * bonus
                    )
            target = w[4] - math.exp(w[5] * 3) + 1 + offset
            moved = difficulty + (10.0 - difficulty) * (-w[6] * (rating - 3)) / 9.0
            new_difficulty = w[7] * target + (1 - w[7]) * moved
        self.stability[index] = max(new_stability, 0.001)
        self.difficulty[index] = min(max(new_difficulty, 1.0), 10.0)
        self.last[index] = t

    # -- the same update on arrays, for the oracle ------------------------------------------

    def _next_stability(
        self,
        stability: np.ndarray,
        difficulty: np.ndarray,
        recall: np.ndarray,
        same_day: np.ndarray,
        new: np.ndarray,
        rating: int,
    ) -> np.ndarray:
        w = self._w
        increase = np.exp(w[17] * (rating - 3 + w[18])) * np.power(stability, -w[19])
        if rating > AGAIN:
            increase = np.maximum(increase, 1.0)
        short = stability * increase
        if rating == AGAIN:
            long = np.minimum(
                w[11]
                * np.power(difficulty, -w[12])
                * (np.power(stability + 1, w[13]) - 1)
                * np.exp((1 - recall) * w[14]),
                stability / math.exp(w[17] * w[18]),
            )
        else:
            penalty = w[15] if rating == HARD else 1.0
            bonus = w[16] if rating == EASY else 1.0
            long = stability * (
                1
                + math.exp(w[8])
                * (11 - difficulty)
                * np.power(stability, -w[9])
                * (np.exp((1 - recall) * w[10]) - 1)
                * penalty
                * bonus
            )
        grown = np.where(same_day, short, long)
        return np.maximum(np.where(new, w[rating - 1], grown), 0.001)

    def study_value(
        self, indices: np.ndarray, now: float, horizon: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raw = self.stability[indices]
        new = np.isnan(raw)
        stability = np.where(new, 1.0, raw)
        difficulty = np.where(new, 5.0, self.difficulty[indices])
        last = np.where(new, now, self.last[indices])
        elapsed = np.maximum(now - last, 0.0) / DAY
        recall = np.where(new, 0.0, self._curve(elapsed, stability))
        same_day = elapsed < 1.0
        ahead = np.maximum(horizon - now, 0.0) / DAY
        skipped = np.where(new, 0.0, self._curve((horizon - last) / DAY, stability))
        hard, good, easy = recalled_rating_split(recall)
        studied = (1 - recall) * self._curve(
            ahead, self._next_stability(stability, difficulty, recall, same_day, new, AGAIN)
        )
        for rating, share in ((HARD, hard), (GOOD, good), (EASY, easy)):
            after = self._next_stability(stability, difficulty, recall, same_day, new, rating)
            studied = studied + recall * share * self._curve(ahead, after)
        return recall, studied, skipped


# --------------------------------------------------------------------------------------------
# ACT-R with spacing-dependent decay


@dataclass(frozen=True)
class ACTRParameters:
    """ACT-R memory parameters (Pavlik & Anderson 2005), time in seconds.

    Attributes:
        alpha: decay intercept: the decay of a trace laid down with no memory at all.
        c: decay scale: a trace laid down while activation is high decays faster
            (``d = c·e^m + alpha``), which is what makes spacing pay.
        tau: retrieval threshold.
        s: logistic noise of retrieval.
        h: psychological time between sessions: outside the hour after a session starts,
            one real second counts as ``h`` seconds of forgetting.
        fail_weight: strength of the trace of a failed retrieval followed by feedback,
            relative to a successful retrieval (1).
    """

    alpha: float
    c: float
    tau: float
    s: float
    h: float
    fail_weight: float


# Calibrated population means: see bench.sim.calibration for the fit and its recall table.
ACTR_CALIBRATED = ACTRParameters(alpha=0.18, c=0.43, tau=-1.76, s=0.17, h=0.038, fail_weight=0.8)

ACTR_SESSION_WINDOW = 3600.0  # seconds after a session start that count in full
MAX_PRIOR_TRACES = 16


def draw_actr_parameters(
    rng: np.random.Generator, base: ACTRParameters = ACTR_CALIBRATED
) -> ACTRParameters:
    """A learner's ACT-R parameters around the calibrated means: alpha and c times
    lognormal(0, 0.2), h times lognormal(0, 0.3), tau plus normal(0, 0.2)."""
    draws = rng.normal(0.0, 1.0, 4)
    return ACTRParameters(
        alpha=base.alpha * math.exp(0.2 * draws[0]),
        c=base.c * math.exp(0.2 * draws[1]),
        tau=base.tau + 0.2 * draws[2],
        s=base.s,
        h=base.h * math.exp(0.3 * draws[3]),
        fail_weight=base.fail_weight,
    )


def actr_item_offsets(difficulty: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per item, an activation offset: −0.2 per author-difficulty step above 2, plus
    normal(0, 0.2) noise."""
    return -0.2 * (difficulty.astype(np.float64) - 2.0) + rng.normal(0.0, 0.2, difficulty.size)


def psych_time(t: np.ndarray | float, h: float) -> np.ndarray:
    """Psychological time of real time ``t``: within the hour after each day's session start
    time runs in full, the rest of the day at rate ``h`` (Pavlik & Anderson's scaling of
    between-session time). Continuous and increasing; independent of the policy."""
    t = np.asarray(t, dtype=np.float64)
    day = np.floor(t / DAY)
    within = t - day * DAY
    per_day = ACTR_SESSION_WINDOW + h * (DAY - ACTR_SESSION_WINDOW)
    return (
        day * per_day
        + np.minimum(within, ACTR_SESSION_WINDOW)
        + h * np.maximum(within - ACTR_SESSION_WINDOW, 0.0)
    )


class ACTRMemory(MemoryModel):
    """True memory as ACT-R activation with spacing-dependent decay.

    Every study adds a trace; activation is ``m = ln Σ_j b_j · age_j^(−d_j)`` (ages in
    psychological seconds, at least 1), each trace's decay is ``d_j = c·e^(m at its
    creation) + alpha``, and recall is ``1 / (1 + exp((tau − m − beta_item) / s))``. A failed
    retrieval (or lucky guess) followed by feedback lays a trace of strength
    ``b = fail_weight``; a successful one ``b = 1``. Massed study lays traces while
    activation is high, so they decay fast; spaced study does the opposite. Items without
    traces cannot be recalled. At most ``max_traces`` traces per item are kept (the oldest
    is dropped, its share of activation being negligible by then).
    """

    name = "ACT-R"
    max_traces = 48

    def __init__(
        self,
        params: ACTRParameters,
        offsets: np.ndarray,
        times: np.ndarray,
        decays: np.ndarray,
        weights: np.ndarray,
        counts: np.ndarray,
    ) -> None:
        self.params = params
        self.offsets = offsets
        self.times = times
        self.decays = decays
        self.weights = weights
        self.counts = counts
        self._used = int(counts.max()) if counts.size else 0

    @classmethod
    def empty(cls, params: ACTRParameters, offsets: np.ndarray) -> ACTRMemory:
        n = offsets.size
        shape = (n, cls.max_traces)
        return cls(
            params,
            offsets,
            np.zeros(shape),
            np.zeros(shape),
            np.zeros(shape),
            np.zeros(n, np.int32),
        )

    @classmethod
    def from_prior(
        cls, params: ACTRParameters, offsets: np.ndarray, prior: PriorKnowledge
    ) -> ACTRMemory:
        """A known item gets 1–16 successful study traces a week apart, the last ``age`` days
        before day 0, as many as bring its day-0 recall closest to its initial recall (a
        whole number of traces cannot hit it exactly: over the benchmark's learners day-0
        recall of known items is about 0.03 below the drawn value on average, 0.05 below in
        well-known areas, whose highest values some learners do not reach)."""
        memory = cls.empty(params, offsets)
        known = np.flatnonzero(prior.known)
        if known.size == 0:
            return memory
        age = prior.age_days[known]
        target = prior.initial_recall[known]
        best_error = np.full(known.size, np.inf)
        best_count = np.ones(known.size, np.int32)
        for count in range(1, MAX_PRIOR_TRACES + 1):
            trial = cls.empty(params, offsets[known])
            trial._lay_history(age, count)
            error = np.abs(trial.recall_all(0.0) - target)
            better = error < best_error
            best_error = np.where(better, error, best_error)
            best_count = np.where(better, count, best_count)
        for count in np.unique(best_count):
            rows = known[best_count == count]
            trial = cls.empty(params, offsets[rows])
            trial._lay_history(prior.age_days[rows], int(count))
            memory.times[rows] = trial.times
            memory.decays[rows] = trial.decays
            memory.weights[rows] = trial.weights
            memory.counts[rows] = trial.counts
        memory._used = int(memory.counts.max())
        return memory

    def _lay_history(self, age_days: np.ndarray, count: int) -> None:
        """``count`` successful studies a week apart for every item, the last ``age_days``
        (rounded to whole days, at the session time) before day 0."""
        last_day = -np.round(age_days)
        for k in range(count):
            t = (last_day - 7.0 * (count - 1 - k)) * DAY
            activation = self._activation_rows(t)
            self._append_rows(t, activation, np.ones(age_days.size))

    def copy(self) -> ACTRMemory:
        return ACTRMemory(
            self.params,
            self.offsets,
            self.times.copy(),
            self.decays.copy(),
            self.weights.copy(),
            self.counts.copy(),
        )

    # -- activation -------------------------------------------------------------------------

    def _activation_rows(self, t: np.ndarray | float, rows: np.ndarray | None = None) -> np.ndarray:
        """Activation of the given rows (all when None) at time(s) ``t``; −inf without
        traces."""
        used = max(self._used, 1)
        sl = slice(None) if rows is None else rows
        times = self.times[sl, :used]
        now = psych_time(t, self.params.h)
        now = now[:, None] if np.ndim(now) else now
        ages = np.maximum(now - times, 1.0)
        mask = np.arange(used)[None, :] < self.counts[sl][:, None]
        terms = np.where(mask, self.weights[sl, :used] * np.power(ages, -self.decays[sl, :used]), 0)
        total = terms.sum(axis=1)
        with np.errstate(divide="ignore"):
            return np.where(total > 0, np.log(np.where(total > 0, total, 1.0)), -np.inf)

    def _activation_one(self, index: int, t: float) -> float:
        count = int(self.counts[index])
        if count == 0:
            return -math.inf
        now = float(psych_time(t, self.params.h))
        total = 0.0
        times = self.times[index, :count].tolist()
        decays = self.decays[index, :count].tolist()
        weights = self.weights[index, :count].tolist()
        for moment, decay, weight in zip(times, decays, weights, strict=True):
            total += weight * max(now - moment, 1.0) ** -decay
        return math.log(total)

    def _probability(self, activation: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        p = self.params
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp((p.tau - activation - offsets) / p.s))

    def _append_rows(
        self, t: np.ndarray | float, activation: np.ndarray, weight: np.ndarray
    ) -> None:
        """Add one trace to every row at psychological time of ``t``."""
        p = self.params
        decay = p.c * np.exp(activation) + p.alpha
        rows = np.arange(self.counts.size)
        full = self.counts >= self.max_traces
        if full.any():
            self._drop_oldest(np.flatnonzero(full))
        slot = self.counts
        self.times[rows, slot] = psych_time(t, p.h)
        self.decays[rows, slot] = decay
        self.weights[rows, slot] = weight
        self.counts += 1
        self._used = max(self._used, int(self.counts.max()))

    def _drop_oldest(self, rows: np.ndarray) -> None:
        for array in (self.times, self.decays, self.weights):
            array[rows, :-1] = array[rows, 1:]
        self.counts[rows] -= 1

    # -- the model's interface --------------------------------------------------------------

    def recall(self, index: int, t: float) -> float:
        activation = self._activation_one(index, t)
        if activation == -math.inf:
            return 0.0
        p = self.params
        exponent = (p.tau - activation - float(self.offsets[index])) / p.s
        return 1.0 / (1.0 + math.exp(min(exponent, 700.0)))

    def recall_all(self, t: float) -> np.ndarray:
        return self._probability(self._activation_rows(t), self.offsets)

    def update(self, index: int, t: float, rating: int) -> None:
        p = self.params
        activation = self._activation_one(index, t)
        decay = p.alpha if activation == -math.inf else p.c * math.exp(activation) + p.alpha
        if self.counts[index] >= self.max_traces:
            self._drop_oldest(np.array([index]))
        slot = int(self.counts[index])
        self.times[index, slot] = float(psych_time(t, p.h))
        self.decays[index, slot] = decay
        self.weights[index, slot] = 1.0 if rating > AGAIN else p.fail_weight
        self.counts[index] = slot + 1
        self._used = max(self._used, slot + 1)

    def study_value(
        self, indices: np.ndarray, now: float, horizon: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.params
        offsets = self.offsets[indices]
        activation_now = self._activation_rows(now, indices)
        recall = self._probability(activation_now, offsets)
        activation_then = self._activation_rows(horizon, indices)
        total_then = np.exp(activation_then)  # 0 without traces
        gap = np.maximum(psych_time(horizon, p.h) - psych_time(now, p.h), 1.0)
        new_trace = np.power(gap, -(p.c * np.exp(activation_now) + p.alpha))
        skipped = np.where(total_then > 0, self._probability(activation_then, offsets), 0.0)
        after_pass = self._probability(np.log(total_then + new_trace), offsets)
        after_fail = self._probability(np.log(total_then + p.fail_weight * new_trace), offsets)
        return recall, recall * after_pass + (1 - recall) * after_fail, skipped
