"""Small builders for engine tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from engine.blueprint import Blueprint
from engine.catalog import CardTable, ItemCatalog, ItemInfo
from engine.scheduling import CardMemory, ItemKind, MemoryScheduler, Rating


def synthetic_catalog(
    blueprint: Blueprint, tests: tuple[str, ...] = ("A6",), per_area: int = 6, flashcards: int = 2
) -> ItemCatalog:
    """``per_area`` multiple-choice items and ``flashcards`` flashcards in every area."""
    items = []
    for code in tests:
        for area in blueprint[code].areas:
            stem = area.code.replace(".", "-")
            items += [
                ItemInfo(f"{stem}-{n:03d}", code, area.code, ItemKind.MCQ, 1 + n % 3)
                for n in range(per_area)
            ]
            items += [
                ItemInfo(f"{stem}-F{n:02d}", code, area.code, ItemKind.FLASHCARD, 2)
                for n in range(flashcards)
            ]
    return ItemCatalog(items, blueprint)


def graduated(moment: datetime) -> list[tuple[datetime, Rating]]:
    """A new item answered Good twice, 10 minutes apart: out of its learning steps."""
    return [(moment, Rating.Good), (moment + timedelta(minutes=10), Rating.Good)]


def study(
    cards: CardTable,
    index: int,
    ratings: list[tuple[datetime, Rating]],
    scheduler: MemoryScheduler | None = None,
) -> CardMemory:
    """Apply reviews to item ``index`` of ``cards`` directly."""
    scheduler = scheduler or MemoryScheduler()
    card = cards.get(index)
    first = card is None
    for moment, rating in ratings:
        card = scheduler.review(
            card or CardMemory.new(moment), rating, moment, np.random.default_rng(0)
        )
    assert card is not None
    cards.put(
        index,
        card,
        introduced_at=ratings[0][0] if first else datetime.fromtimestamp(0).astimezone(),
        first_correct=ratings[0][1] != Rating.Again,
    )
    return card


def review_history(
    item_ids: list[str],
    start: datetime,
    rng: np.random.Generator,
    *,
    true_parameters: tuple[float, ...],
    reviews_per_item: int = 10,
) -> list[tuple[str, datetime, int]]:
    """(item, time, rating) of a learner whose memory follows FSRS with ``true_parameters``:
    items are introduced a few a day and reviewed 1–7 days apart; each answer is recalled
    with the true retrievability (Good) or not (Again)."""
    truth = MemoryScheduler(parameters=true_parameters, learning_steps=(), relearning_steps=())
    events = []
    for position, item_id in enumerate(item_ids):
        moment = start + timedelta(days=position // 6, hours=float(rng.uniform(0, 3)))
        card = None
        for _ in range(reviews_per_item):
            recall = truth.retrievability(card, moment) if card is not None else 0.0
            rating = Rating.Good if rng.random() < recall else Rating.Again
            card = truth.review(card or CardMemory.new(moment), rating, moment, rng)
            events.append((item_id, moment, int(rating)))
            moment += timedelta(days=int(rng.integers(1, 8)), hours=float(rng.uniform(-2, 2)))
    return events
