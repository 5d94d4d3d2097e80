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
