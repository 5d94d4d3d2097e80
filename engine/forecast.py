"""Where the learner's predicted score goes by exam day, if they keep their pace. Pure.

The forecast replays the planner on a copy of the learner's cards: each day it studies the
``items_per_day`` items with the largest expected gain (new items within the daily cap), draws
each answer from the engine's own belief about recall (an unknown item goes through the
scheduler's learning steps, if it has any, the same day), and records the predicted score that
day. Beside it runs the score if the learner stopped now. It is the engine's belief projected
forward, not a promise.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from engine.catalog import CardTable, ItemCatalog
from engine.mastery import Beliefs, area_mastery, memory_recall, prior_known
from engine.readiness import readiness
from engine.scheduling import CardMemory, Rating, State, from_epoch_us, to_epoch_us
from engine.selector import PlannerSettings, StudyContext, expected_gains, scope_mask

__all__ = ["ForecastPoint", "forecast"]


@dataclass(frozen=True)
class ForecastPoint:
    """Predicted scores (fractions) by test on one day."""

    day: int
    at: datetime
    with_study: Mapping[str, float]
    if_stopped: Mapping[str, float]


def forecast(
    catalog: ItemCatalog,
    cards: CardTable,
    beliefs: Beliefs,
    exam_at: Mapping[str, datetime | None],
    *,
    now: datetime,
    items_per_day: int,
    rng: np.random.Generator,
    days: int,
    settings: PlannerSettings = PlannerSettings(),
) -> list[ForecastPoint]:
    """Day-by-day predicted score for each goal test, from today (day 0) to ``days``.

    Raises:
        ValueError: for negative ``items_per_day`` or ``days``.
    """
    if items_per_day < 0 or days < 0:
        raise ValueError("items_per_day and days must be >= 0")
    simulated = copy.deepcopy(cards)
    tests = [code for code in exam_at if code in catalog.blueprint]
    points = []
    for day in range(days + 1):
        moment = now + timedelta(days=day)
        if day > 0 and items_per_day > 0:
            _study_one_day(
                catalog, simulated, beliefs, exam_at, moment, items_per_day, rng, settings
            )
        points.append(
            ForecastPoint(
                day=day,
                at=moment,
                with_study=_scores(catalog, simulated, beliefs, exam_at, moment, tests),
                if_stopped=_scores(catalog, cards, beliefs, exam_at, moment, tests),
            )
        )
    return points


def _scores(
    catalog: ItemCatalog,
    cards: CardTable,
    beliefs: Beliefs,
    exam_at: Mapping[str, datetime | None],
    moment: datetime,
    tests: list[str],
) -> dict[str, float]:
    mastery = area_mastery(catalog, cards, beliefs, now=moment, exam_at={})
    return {code: readiness(catalog.blueprint[code], mastery).predicted_score_now for code in tests}


def _study_one_day(
    catalog: ItemCatalog,
    cards: CardTable,
    beliefs: Beliefs,
    exam_at: Mapping[str, datetime | None],
    moment: datetime,
    items_per_day: int,
    rng: np.random.Generator,
    settings: PlannerSettings,
) -> None:
    context = StudyContext(now=moment, exam_at=exam_at)
    in_scope = scope_mask(catalog, context)
    # Items left in a learning step come first, as in the real planner.
    chosen = [int(i) for i in np.flatnonzero(in_scope & cards.in_learning_step())][:items_per_day]
    candidates = np.flatnonzero(in_scope & ~cards.in_learning_step())
    if candidates.size and len(chosen) < items_per_day:
        gains = expected_gains(catalog, cards, beliefs, context, candidates, settings)
        new_left = settings.new_per_day
        for index in candidates[np.argsort(-gains, kind="stable")]:
            if not cards.seen[index]:
                if new_left == 0:
                    continue
                new_left -= 1
            chosen.append(int(index))
            if len(chosen) == items_per_day:
                break
    known = prior_known(catalog, cards, beliefs)
    now_us = to_epoch_us(moment)
    scheduler = beliefs.scheduler
    for index in chosen:
        card = cards.get(index)
        if card is None or card.stability is None:
            recalled = bool(rng.random() < known[index])
        else:
            recall = memory_recall(
                beliefs, cards, now_us, np.array([index]), catalog.difficulty[[index]]
            )[0]
            recalled = bool(rng.random() < recall)
        ratings = [Rating.Good] if recalled else [Rating.Again]
        ratings += [Rating.Good] * len(scheduler.learning_steps)
        step_time = moment
        current = card or CardMemory.new(moment)
        for rating in ratings:
            current = scheduler.review(current, rating, step_time, rng)
            if current.state == State.Review:
                break
            step_time = current.due
        introduced = moment if card is None else from_epoch_us(int(cards.introduced_us[index]))
        first = recalled if card is None else bool(cards.first_correct[index])
        cards.put(index, current, introduced_at=introduced, first_correct=first)
