"""An in-memory learner: the whole engine with no database.

Tests, benchmarks and simulations use it; the storage service runs the same pure functions on
rows it loads. Example::

    learner = Learner(catalog, goals=[Goal("A6", exam_at=now + timedelta(days=12))])
    selection = learner.next_item(now, rng)
    learner.answer(selection.item_id, now, rng, answer=Answer(choice="B", response_ms=9000),
                   key="B")
    learner.readiness(now)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, tzinfo

import numpy as np

from engine.answering import Answer, AnsweredCard, apply_answer
from engine.catalog import CardTable, ItemCatalog
from engine.mastery import AreaMastery, Beliefs, area_mastery, prior_known
from engine.readiness import DEFAULT_CUT_SCORE, Readiness, readiness
from engine.scheduling import (
    GradingPolicy,
    ItemKind,
    MemoryGroup,
    StabilityCalibration,
    from_epoch_us,
    to_epoch_us,
)
from engine.selector import AssignmentScope, PlannerSettings, Selection, StudyContext, select_next

__all__ = ["Goal", "Learner", "ReviewRecord"]


@dataclass(frozen=True)
class Goal:
    """A test the learner is preparing for, with the exam's date and time if known."""

    test_code: str
    exam_at: datetime | None = None


@dataclass(frozen=True)
class ReviewRecord:
    """One answer, as the learner gave it and as the engine judged it."""

    item_id: str
    answered_at: datetime
    rating: int
    correct: bool
    choice: str | None
    response_ms: int | None
    predicted_correct: float
    elapsed_days: int


def start_of_day(now: datetime, zone: tzinfo) -> datetime:
    """Local midnight of ``now``'s day in ``zone``, as a UTC datetime."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)


class Learner:
    """One learner's study state, held in memory.

    Raises:
        ValueError: (from the methods) for an unknown item id, or an answer that does not
            fit the item's kind.
    """

    def __init__(
        self,
        catalog: ItemCatalog,
        goals: Sequence[Goal],
        *,
        beliefs: Beliefs | None = None,
        settings: PlannerSettings = PlannerSettings(),
        grading: GradingPolicy = GradingPolicy(),
        timezone: tzinfo = UTC,
        calibrate: bool = True,
        assignments: Sequence[AssignmentScope] = (),
    ) -> None:
        unknown = [goal.test_code for goal in goals if goal.test_code not in catalog.blueprint]
        if unknown:
            raise ValueError(f"unknown test code(s) in goals: {', '.join(unknown)}")
        self.catalog = catalog
        self.goals = tuple(goals)
        self.beliefs = beliefs or Beliefs()
        self.settings = settings
        self.grading = grading
        self.timezone = timezone
        self.calibrate = calibrate
        self.assignments = tuple(assignments)
        self.cards = CardTable(len(catalog))
        self.calibration = StabilityCalibration()
        self.reviews: list[ReviewRecord] = []
        self._recent: deque[str] = deque(maxlen=8)
        self._mcq_times: deque[int] = deque(maxlen=50)

    # -- reading ----------------------------------------------------------------------------

    @property
    def exam_at(self) -> dict[str, datetime | None]:
        return {goal.test_code: goal.exam_at for goal in self.goals}

    @property
    def current_beliefs(self) -> Beliefs:
        """The beliefs with the calibrated stability scale applied (when calibrating)."""
        if not self.calibrate:
            return self.beliefs
        curves = self.calibration.curves(self.beliefs.scheduler.parameters[20])
        scale, decay = curves[MemoryGroup.SETTLED]
        return replace(
            self.beliefs,
            stability_scale=scale,
            decay=decay,
            group_curves=curves,
            item_scales=self.calibration.item_scales(),
        )

    def area_mastery(self, now: datetime) -> list[AreaMastery]:
        goal_tests = set(self.exam_at)
        return [
            area
            for area in area_mastery(
                self.catalog, self.cards, self.current_beliefs, now=now, exam_at=self.exam_at
            )
            if area.test_code in goal_tests
        ]

    def readiness(self, now: datetime, cut_score: float = DEFAULT_CUT_SCORE) -> list[Readiness]:
        mastery = self.area_mastery(now)
        return [
            readiness(self.catalog.blueprint[goal.test_code], mastery, cut_score)
            for goal in self.goals
        ]

    def new_today(self, now: datetime) -> int:
        midnight_us = to_epoch_us(start_of_day(now, self.timezone))
        return int(np.count_nonzero(self.cards.seen & (self.cards.introduced_us >= midnight_us)))

    # -- studying ---------------------------------------------------------------------------

    def context(self, now: datetime, *, focus_area: str | None = None) -> StudyContext:
        return StudyContext(
            now=now,
            exam_at=self.exam_at,
            assignments=self.assignments,
            recent_item_ids=tuple(self._recent),
            new_today=self.new_today(now),
            focus_area=focus_area,
            timezone=self.timezone,
        )

    def next_item(
        self, now: datetime, rng: np.random.Generator, *, focus_area: str | None = None
    ) -> Selection | None:
        """The planner's next item at ``now`` (None when nothing is in scope)."""
        return select_next(
            self.catalog,
            self.cards,
            self.current_beliefs,
            self.context(now, focus_area=focus_area),
            rng,
            self.settings,
        )

    def answer(
        self,
        item_id: str,
        now: datetime,
        rng: np.random.Generator,
        *,
        answer: Answer,
        key: str | None = None,
    ) -> ReviewRecord:
        """Record an answer to ``item_id`` at ``now``; ``key`` is the right letter of a
        multiple-choice item. Fuzz for the next interval is drawn from ``rng``."""
        if item_id not in self.catalog.index:
            raise ValueError(f"unknown item id {item_id!r}")
        index = self.catalog.index[item_id]
        info = self.catalog.items[index]
        if info.kind is ItemKind.MCQ and key is None:
            raise ValueError(f"{item_id} is multiple choice: pass its key")
        beliefs = self.current_beliefs
        card = self.cards.get(index)
        group = int(self.cards.memory_groups()[index])
        scale, decay = beliefs.curve(group)
        prior = None
        if card is None:
            known = float(prior_known(self.catalog, self.cards, beliefs)[index])
            prior = known + (1 - known) * info.kind.guess_rate
        result: AnsweredCard = apply_answer(
            kind=info.kind,
            key=key,
            card=card,
            answer=answer,
            now=now,
            rng=rng,
            scheduler=beliefs.scheduler,
            calibration=self.calibration,
            typical_response_ms=self.typical_response_ms(),
            grading=self.grading,
            stability_scale=scale,
            prior_correct=prior,
            decay=decay,
            group=MemoryGroup(group),
            difficulty=int(self.catalog.difficulty[index]),
            item_scale=float(beliefs.item_scale(self.catalog.difficulty[index])),
        )
        self.cards.put(
            index,
            result.card,
            introduced_at=now if card is None else _introduced(self.cards, index),
            first_correct=result.correct if card is None else bool(self.cards.first_correct[index]),
        )
        self.calibration = result.calibration
        self._recent.append(item_id)
        if info.kind is ItemKind.MCQ and answer.response_ms is not None:
            self._mcq_times.append(answer.response_ms)
        record = ReviewRecord(
            item_id=item_id,
            answered_at=now,
            rating=int(result.rating),
            correct=result.correct,
            choice=answer.choice,
            response_ms=answer.response_ms,
            predicted_correct=result.predicted_correct,
            elapsed_days=result.elapsed_days,
        )
        self.reviews.append(record)
        return record

    def typical_response_ms(self) -> int | None:
        """Median of the learner's recent multiple-choice response times (None before any)."""
        if not self._mcq_times:
            return None
        return int(np.median(np.fromiter(self._mcq_times, dtype=np.int64)))


def _introduced(cards: CardTable, index: int) -> datetime:
    return from_epoch_us(int(cards.introduced_us[index]))
