"""Builders shared by the benchmarks: a synthetic catalog over the ten tests and a heavy
learner driven through the engine's own planner."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from fsrs import Rating
from sqlalchemy import create_engine, text

from engine.answering import Answer
from engine.catalog import ItemCatalog, ItemInfo
from engine.content import read_blueprint
from engine.learner import Goal, Learner
from engine.scheduling import ItemKind
from engine.selector import PlannerSettings
from engine.store.db import normalise_url

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
KEY = "A"


def build_catalog(total_items: int) -> ItemCatalog:
    """At least ``total_items`` synthetic items, an equal share per test spread over its areas
    in blueprint proportions (largest remainders round up; every area gets at least 2)."""
    blueprint, problems = read_blueprint(ROOT / "content" / "blueprints")
    assert not problems, problems
    per_test = total_items / len(blueprint)
    areas = [area for test in blueprint.values() for area in test.areas]
    quotas = [
        per_test * area.scored_questions / blueprint[area.test_code].scored_questions
        for area in areas
    ]
    counts = [max(2, math.floor(quota)) for quota in quotas]
    by_remainder = sorted(range(len(areas)), key=lambda i: math.floor(quotas[i]) - quotas[i])
    for i in by_remainder[: max(total_items - sum(counts), 0)]:
        counts[i] += 1
    items = []
    for area, count in zip(areas, counts, strict=True):
        for number in range(count):
            kind = ItemKind.FLASHCARD if number % 3 == 2 else ItemKind.MCQ
            items.append(
                ItemInfo(
                    f"{area.code}-{number:03d}", area.test_code, area.code, kind, 1 + number % 3
                )
            )
    return ItemCatalog(items, blueprint)


def build_learner(catalog: ItemCatalog, reviews: int, seed: int) -> Learner:
    """A learner who studied every day until they had ``reviews`` answers."""
    rng = np.random.default_rng(seed)
    goals = [Goal(code, START + timedelta(days=130)) for code in catalog.test_codes]
    learner = Learner(catalog, goals, settings=PlannerSettings(new_per_day=25))
    per_day = 500
    day = 0
    while len(learner.reviews) < reviews:
        moment = START + timedelta(days=day)
        for _ in range(min(per_day, reviews - len(learner.reviews))):
            selection = learner.next_item(moment, rng)
            assert selection is not None
            index = selection.item_index
            card = learner.cards.get(index)
            recall = 0.3 if card is None else learner.beliefs.scheduler.retrievability(card, moment)
            remembered = bool(rng.random() < max(recall, 0.3))
            if catalog.items[index].kind is ItemKind.MCQ:
                choice = KEY if remembered else "B"
                answer = Answer(choice=choice, response_ms=int(rng.integers(4_000, 40_000)))
                learner.answer(selection.item_id, moment, rng, answer=answer, key=KEY)
            else:
                rating = Rating.Good if remembered else Rating.Again
                answer = Answer(self_rating=rating, response_ms=int(rng.integers(3_000, 20_000)))
                learner.answer(selection.item_id, moment, rng, answer=answer)
            moment += timedelta(seconds=20)
        day += 1
    # Finish the last session: answer every learning step still waiting, so the timed
    # selections below run the gain rule rather than the learning-step shortcut.
    moment = START + timedelta(days=day, hours=1)
    while (selection := learner.next_item(moment, rng)) is not None and (
        learner.cards.in_learning_step()[selection.item_index]
    ):
        key = KEY if catalog.items[selection.item_index].kind is ItemKind.MCQ else None
        answer = Answer(choice=KEY) if key else Answer(self_rating=Rating.Easy)
        learner.answer(selection.item_id, moment, rng, answer=answer, key=key)
        moment += timedelta(seconds=20)
    return learner


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@contextmanager
def throwaway_postgres(admin_url: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one benchmark run, dropped afterwards."""
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
