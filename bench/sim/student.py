"""How a simulated learner answers: recall from true memory, guessing, ratings and seconds.

For each answer the learner recalls the item with its true recall probability. Then:

- recalled: the true outcome is Hard / Good / Easy, split by
  :func:`~bench.sim.memory.recalled_rating_split`;
- not recalled: the true outcome is Again. On a four-option item the learner guesses and is
  right one time in four; the policy sees a correct answer, but memory is updated as Again.

Flashcards are self-rated with the true outcome. Multiple-choice answers show the choice
(the key when correct, another letter when wrong) and the response time. Seconds per
answer, by true outcome (Again / Hard / Good / Easy), are 34 / 24 / 14 / 7 for a first look
and 23 / 12 / 7 / 6 for a review, times the learner's speed (lognormal(0, 0.15) per learner)
and lognormal(0, 0.2) noise per answer. A lucky guess takes the time of an Again.

The random draws are common random numbers: the k-th presentation of item i uses the same
uniforms under every policy (drawn per learner), so paired comparisons between policies are
not swamped by answer noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from bench.sim.memory import AGAIN, EASY, GOOD, HARD, MemoryModel, recalled_rating_split

__all__ = [
    "FIRST_LOOK_SECONDS",
    "REVIEW_SECONDS",
    "Response",
    "SimulatedStudent",
    "expected_seconds",
]

FIRST_LOOK_SECONDS = {AGAIN: 34.0, HARD: 24.0, GOOD: 14.0, EASY: 7.0}
REVIEW_SECONDS = {AGAIN: 23.0, HARD: 12.0, GOOD: 7.0, EASY: 6.0}
SECONDS_NOISE = 0.2
SPEED_SIGMA = 0.15
GUESS_RATE = 0.25
LETTERS = ("A", "B", "C", "D")
DRAWS_PER_ITEM = 64
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Response:
    """One answer: what the policy may see (``correct``, ``choice``, ``self_rating``,
    ``seconds``) and, for the harness only, the truth (``recalled``, ``true_rating``)."""

    index: int
    first_look: bool
    correct: bool
    choice: str | None
    self_rating: int | None
    seconds: float
    recalled: bool
    true_rating: int


def expected_seconds(recall: np.ndarray, first_look: np.ndarray, speed: float) -> np.ndarray:
    """Expected seconds of an answer given true recall (used by the oracle only)."""
    hard, good, easy = recalled_rating_split(recall)
    table = np.where(
        first_look[None, :],
        np.array([[FIRST_LOOK_SECONDS[r]] for r in (AGAIN, HARD, GOOD, EASY)]),
        np.array([[REVIEW_SECONDS[r]] for r in (AGAIN, HARD, GOOD, EASY)]),
    )
    mean = (1 - recall) * table[0] + recall * (hard * table[1] + good * table[2] + easy * table[3])
    return mean * speed * float(np.exp(SECONDS_NOISE**2 / 2))


class SimulatedStudent:
    """A learner answering items from their true memory.

    Args:
        memory: the learner's true memory (mutated by every answer).
        is_mcq: per item, whether it is four-option multiple choice.
        keys: per item, the right letter (None for flashcards).
        speed: the learner's time multiplier.
        draws: uniforms of shape (items, DRAWS_PER_ITEM, 4), the same for every policy.
        rng: used only once an item has been presented more than DRAWS_PER_ITEM times.
    """

    def __init__(
        self,
        memory: MemoryModel,
        is_mcq: np.ndarray,
        keys: tuple[str | None, ...],
        speed: float,
        draws: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        self.memory = memory
        self.is_mcq = is_mcq
        self.keys = keys
        self.speed = speed
        self.draws = draws
        self.rng = rng
        self.presentations = np.zeros(is_mcq.size, np.int32)

    def _uniforms(self, index: int) -> tuple[float, float, float, float]:
        count = int(self.presentations[index])
        if count < self.draws.shape[1]:
            u = self.draws[index, count]
            return float(u[0]), float(u[1]), float(u[2]), float(u[3])
        u = self.rng.random(4)
        return float(u[0]), float(u[1]), float(u[2]), float(u[3])

    def answer(self, index: int, t: float) -> Response:
        """Answer item ``index`` at time ``t`` and update the true memory."""
        u_recall, u_rating, u_guess, u_time = self._uniforms(index)
        first_look = self.presentations[index] == 0
        recall = self.memory.recall(index, t)
        recalled = u_recall < recall
        rating = AGAIN
        if recalled:
            hard, good, _ = recalled_rating_split(recall)
            rating = HARD if u_rating < hard else GOOD if u_rating < hard + good else EASY
        key = self.keys[index]
        choice: str | None = None
        self_rating: int | None = None
        if self.is_mcq[index] and key is not None:
            correct = recalled or u_guess < GUESS_RATE
            if correct:
                choice = key
            else:
                wrong = [letter for letter in LETTERS if letter != key]
                choice = wrong[min(int((u_guess - GUESS_RATE) / (1 - GUESS_RATE) * 3), 2)]
        else:
            correct = recalled
            self_rating = rating
        base = (FIRST_LOOK_SECONDS if first_look else REVIEW_SECONDS)[rating]
        noise = float(np.exp(SECONDS_NOISE * _NORMAL.inv_cdf(min(max(u_time, 1e-9), 1 - 1e-9))))
        seconds = base * self.speed * noise
        self.memory.update(index, t, rating)
        self.presentations[index] += 1
        return Response(
            index=index,
            first_look=bool(first_look),
            correct=bool(correct),
            choice=choice,
            self_rating=self_rating,
            seconds=seconds,
            recalled=bool(recalled),
            true_rating=rating,
        )
