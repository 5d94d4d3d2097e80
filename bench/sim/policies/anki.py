"""Anki-style baselines: FSRS with py-fsrs's default parameters, desired retention 0.9.

Every card is scheduled by :class:`engine.scheduling.MemoryScheduler` (py-fsrs, learning
steps 1 and 10 minutes, relearning step 10 minutes, interval fuzz from the policy's own
rng). A session shows, in this order of priority:

1. learning and relearning steps that are due (earliest first);
2. reviews due today (by due day, random within a day) mixed with new cards, Anki's
   default "mix new cards and reviews": new cards are spread evenly among the reviews that
   were due when the session started, up to ``new_per_day`` new cards a day, in bank order;
3. learning steps due within 20 minutes (Anki's learn-ahead limit);
4. then either, with ``fill=True``, reviews ahead of time, lowest predicted recall first
   (so the minutes are spent like the other policies' minutes), or, with ``fill=False``, the
   session ends — the queue is empty and the learner closes the app.

Elapsed time counts in calendar days with Anki's 04:00 rollover, as Anki does: a review the
next evening is one day after the last, even if it comes a few minutes earlier in the day
than the last one did. (py-fsrs counts whole 24-hour periods; the policy hands it a last
review time shifted to a whole number of days before the answer so both agree.)

Multiple-choice answers are graded pass/fail (Again / Good), as an Anki user grading a
multiple-choice card would; flashcards use the learner's own rating.

:class:`WeakestAreaPolicy` is the same scheduler with new items taken from the area with
the lowest observed accuracy instead of in bank order.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np

from bench.sim.clock import START, study_day, to_datetime
from bench.sim.course import Course
from bench.sim.policies.base import Policy, Shown
from engine.scheduling import CardMemory, MemoryScheduler, Rating, State

__all__ = ["AnkiPolicy", "WeakestAreaPolicy"]

NEW = -1
LEARN_AHEAD = 20 * 60.0


class AnkiPolicy(Policy):
    """Anki-style FSRS scheduling with a daily limit on new cards."""

    def __init__(
        self,
        course: Course,
        rng: np.random.Generator,
        *,
        new_per_day: int = 20,
        fill: bool = True,
        scheduler: MemoryScheduler | None = None,
    ) -> None:
        super().__init__(course, rng)
        self.new_per_day = new_per_day
        self.fill = fill
        self.name = f"anki-{new_per_day}" + ("" if fill else "-stop")
        self.scheduler = scheduler or MemoryScheduler(desired_retention=0.9)
        formulas = self.scheduler.formulas
        self._decay = formulas.decay
        self._factor = formulas.factor
        n = course.size
        self.cards: list[CardMemory | None] = [None] * n
        self.state = np.full(n, NEW, np.int8)
        self.due = np.full(n, np.inf)
        self.due_day = np.full(n, np.inf)
        self.today = 0.0
        self.last_day = np.zeros(n)
        self.stability = np.full(n, np.nan)
        self.order_key = np.zeros(n)
        self.new_today = 0
        self._new_target = 0
        self._review_target = 0
        self._new_done = 0
        self._review_done = 0

    # -- session ---------------------------------------------------------------------------

    def start_day(self, day: int, t: float) -> None:
        super().start_day(day, t)
        self.today = float(study_day(t))
        self.new_today = 0
        self._new_done = 0
        self._review_done = 0
        self._review_target = int(np.count_nonzero(self._due_reviews()))
        unseen = int(np.count_nonzero(self.scope & (self.state == NEW)))
        self._new_target = min(self.new_per_day, unseen)

    def _due_reviews(self) -> np.ndarray:
        return self.scope & (self.state == int(State.Review)) & (self.due_day <= self.today)

    def _learning(self) -> np.ndarray:
        return self.scope & (
            (self.state == int(State.Learning)) | (self.state == int(State.Relearning))
        )

    def choose(self, t: float) -> int | None:
        learning = self._learning()
        due_steps = np.flatnonzero(learning & (self.due <= t))
        if due_steps.size:
            return int(due_steps[np.argmin(self.due[due_steps])])
        reviews = np.flatnonzero(self._due_reviews())
        new_item = self._next_new() if self.new_today < self.new_per_day else None
        if reviews.size and new_item is not None:
            # Spread new cards evenly among the reviews due at the start of the session.
            if self._new_done * self._review_target <= self._review_done * self._new_target:
                return new_item
            return self._first_review(reviews)
        if reviews.size:
            return self._first_review(reviews)
        if new_item is not None:
            return new_item
        ahead_steps = np.flatnonzero(learning & (self.due <= t + LEARN_AHEAD))
        if ahead_steps.size:
            return int(ahead_steps[np.argmin(self.due[ahead_steps])])
        if self.fill:
            return self._review_ahead(t)
        return None

    def _first_review(self, reviews: np.ndarray) -> int:
        """Due date order (by day), random among cards due the same day."""
        return int(reviews[np.argmin(self.due_day[reviews] + 0.5 * self.order_key[reviews])])

    def _next_new(self) -> int | None:
        """The first unseen in-scope item in bank order."""
        unseen = self.scope & (self.state == NEW)
        if not unseen.any():
            return None
        return int(np.argmax(unseen))

    def _review_ahead(self, t: float) -> int | None:
        """The review card with the lowest predicted recall (calendar days elapsed)."""
        candidates = np.flatnonzero(self.scope & (self.state == int(State.Review)))
        if candidates.size == 0:
            learning = np.flatnonzero(self._learning())
            if learning.size == 0:
                return None
            return int(learning[np.argmin(self.due[learning])])
        elapsed = np.maximum(self.today - self.last_day[candidates], 0.0)
        recall = np.power(1 + self._factor * elapsed / self.stability[candidates], self._decay)
        return int(candidates[np.argmin(recall + 1e-9 * self.order_key[candidates])])

    # -- answers ---------------------------------------------------------------------------

    def rating_of(self, shown: Shown) -> Rating:
        """Flashcards: the learner's rating. Multiple choice: Good if right, else Again."""
        if shown.self_rating is not None:
            return Rating(shown.self_rating)
        return Rating.Good if shown.correct else Rating.Again

    def observe(self, shown: Shown) -> None:
        index = shown.index
        now = to_datetime(shown.at)
        card = self.cards[index]
        if card is None:
            self.new_today += 1
            self._new_done += 1
            card = CardMemory.new(now)
        else:
            if card.state == State.Review:
                self._review_done += 1
            days = int(study_day(shown.at) - self.last_day[index])
            if days > 0 and card.last_review is not None:
                card = replace(card, last_review=now - timedelta(days=days))
        updated = self.scheduler.review(card, self.rating_of(shown), now, self.rng)
        self.cards[index] = updated
        self.state[index] = int(updated.state)
        self.due[index] = (updated.due - START) / timedelta(seconds=1)
        self.due_day[index] = study_day(self.due[index])
        self.last_day[index] = study_day(shown.at)
        self.stability[index] = updated.stability if updated.stability is not None else np.nan
        self.order_key[index] = self.rng.random()


class WeakestAreaPolicy(AnkiPolicy):
    """FSRS scheduling (as :class:`AnkiPolicy`, 20 new a day, filling the minutes) with new
    items from the weakest area: the area with the lowest observed accuracy over all
    answers so far, ``(correct + 1) / (answers + 2)``, among areas with unseen items left."""

    def __init__(self, course: Course, rng: np.random.Generator, *, new_per_day: int = 20) -> None:
        super().__init__(course, rng, new_per_day=new_per_day, fill=True)
        self.name = "fsrs-weakest"
        areas = len(course.catalog.area_codes)
        self.area_of = course.catalog.area_of
        self.correct = np.zeros(areas)
        self.answers = np.zeros(areas)

    def _next_new(self) -> int | None:
        unseen = self.scope & (self.state == NEW)
        if not unseen.any():
            return None
        open_areas = np.unique(self.area_of[unseen])
        accuracy = (self.correct[open_areas] + 1) / (self.answers[open_areas] + 2)
        weakest = open_areas[np.argmin(accuracy)]
        return int(np.argmax(unseen & (self.area_of == weakest)))

    def observe(self, shown: Shown) -> None:
        area = self.area_of[shown.index]
        self.answers[area] += 1
        self.correct[area] += shown.correct
        super().observe(shown)
