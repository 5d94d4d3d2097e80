"""The items a learner can study and the learner's memory of them, as numpy columns.

:class:`ItemCatalog` is built once per bank (ids, areas, blueprint weights, guess rates).
:class:`CardTable` holds one learner's :class:`~engine.scheduling.CardMemory` for every item of a
catalog as parallel arrays, so the planner and mastery work on all items at once. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from engine.blueprint import Blueprint
from engine.scheduling import (
    DAY_US,
    FRESH_DAYS,
    CardMemory,
    ItemKind,
    MemoryGroup,
    State,
    from_epoch_us,
    to_epoch_us,
)

__all__ = ["CardTable", "ItemCatalog", "ItemInfo"]


@dataclass(frozen=True)
class ItemInfo:
    """What the engine needs to know about an item to schedule it (not its text)."""

    id: str
    test_code: str
    area_code: str
    kind: ItemKind
    difficulty: int = 2
    in_bank: bool = True  # False for an instructor's own deck items


class ItemCatalog:
    """A bank's items with their blueprint weights, indexed 0..n-1.

    The blueprint weight of an item is what one unit of its P(correct) is worth in its test's
    expected score: ``area scored questions / (bank items in the area × test scored
    questions)``. Summing ``weight × P`` over a test's bank items gives its predicted score (a
    fraction). Items from instructors' own decks (``in_bank`` False) are studied only through
    assignments and do not count toward mastery.

    Raises:
        ValueError: for duplicate ids, or an item whose test or area is not in the blueprint.
    """

    def __init__(self, items: Sequence[ItemInfo], blueprint: Blueprint) -> None:
        self.items = tuple(items)
        self.blueprint = blueprint
        self.index = {item.id: position for position, item in enumerate(self.items)}
        if len(self.index) != len(self.items):
            raise ValueError("duplicate item id in catalog")
        areas = blueprint.areas()
        self.area_codes = tuple(sorted({item.area_code for item in self.items}))
        self.test_codes = tuple(sorted({item.test_code for item in self.items}))
        for item in self.items:
            if item.area_code not in areas or areas[item.area_code].test_code != item.test_code:
                raise ValueError(f"{item.id}: area {item.area_code} is not in the blueprint")
        area_position = {code: position for position, code in enumerate(self.area_codes)}
        test_position = {code: position for position, code in enumerate(self.test_codes)}
        self.area_of = np.array([area_position[item.area_code] for item in self.items], np.int32)
        self.test_of = np.array([test_position[item.test_code] for item in self.items], np.int32)
        self.area_test = np.array(
            [test_position[areas[code].test_code] for code in self.area_codes], np.int32
        )
        self.in_bank = np.array([item.in_bank for item in self.items], bool)
        self.items_per_area = np.bincount(
            self.area_of[self.in_bank], minlength=len(self.area_codes)
        )
        area_questions = np.array([areas[code].scored_questions for code in self.area_codes])
        test_questions = np.array([blueprint[code].scored_questions for code in self.test_codes])
        self.weight = area_questions[self.area_of] / (
            np.maximum(self.items_per_area[self.area_of], 1) * test_questions[self.test_of]
        )
        self.guess_rate = np.array([item.kind.guess_rate for item in self.items])
        self.difficulty = np.array([item.difficulty for item in self.items], np.int8)
        self.is_mcq = np.array([item.kind is ItemKind.MCQ for item in self.items])

    def __len__(self) -> int:
        return len(self.items)

    def mask_for_tests(self, test_codes: Iterable[str]) -> np.ndarray:
        """Bank items of the given tests (deck items come in through assignments only)."""
        return _bank_mask(self.test_codes, test_codes, self.test_of) & self.in_bank

    def mask_for_items(self, item_ids: Iterable[str]) -> np.ndarray:
        mask = np.zeros(len(self.items), bool)
        mask[[self.index[item_id] for item_id in item_ids if item_id in self.index]] = True
        return mask

    def mask_for_areas(self, area_codes: Iterable[str]) -> np.ndarray:
        """Bank items of the given areas."""
        return _bank_mask(self.area_codes, area_codes, self.area_of) & self.in_bank


def _bank_mask(codes: Sequence[str], wanted: Iterable[str], code_of: np.ndarray) -> np.ndarray:
    """Items whose code (``code_of``: each item's position in ``codes``) is ``wanted``: a
    table lookup, as np.isin sorts its inputs and took ten times as long."""
    chosen = np.zeros(len(codes), bool)
    chosen[[codes.index(code) for code in wanted if code in codes]] = True
    return chosen[code_of]


_NO_STEP = -1


class CardTable:
    """One learner's memory of every item of a catalog, column by column.

    Unseen items have ``seen = False`` and NaN stability. ``first_correct`` is 1/0 for the
    first attempt's outcome (a flashcard counts as correct unless graded Again), -1 if unseen.
    """

    def __init__(self, size: int) -> None:
        self.seen = np.zeros(size, bool)
        self.state = np.zeros(size, np.int8)
        self.step = np.full(size, _NO_STEP, np.int16)
        self.stability = np.full(size, np.nan)
        self.difficulty = np.full(size, np.nan)
        self.due_us = np.zeros(size, np.int64)
        self.last_review_us = np.zeros(size, np.int64)
        self.reps = np.zeros(size, np.int32)
        self.lapses = np.zeros(size, np.int32)
        self.proven_days = np.zeros(size)
        self.introduced_us = np.zeros(size, np.int64)
        self.first_correct = np.full(size, -1, np.int8)

    def __len__(self) -> int:
        return len(self.seen)

    def put(
        self,
        index: int,
        card: CardMemory,
        *,
        introduced_at: datetime,
        first_correct: bool,
    ) -> None:
        """Store ``card`` as the memory of item ``index``."""
        self.seen[index] = True
        self.state[index] = int(card.state)
        self.step[index] = _NO_STEP if card.step is None else card.step
        self.stability[index] = np.nan if card.stability is None else card.stability
        self.difficulty[index] = np.nan if card.difficulty is None else card.difficulty
        self.due_us[index] = to_epoch_us(card.due)
        self.last_review_us[index] = to_epoch_us(card.last_review) if card.last_review else 0
        self.reps[index] = card.reps
        self.lapses[index] = card.lapses
        self.proven_days[index] = card.proven_interval_days
        self.introduced_us[index] = to_epoch_us(introduced_at)
        self.first_correct[index] = int(first_correct)

    def get(self, index: int) -> CardMemory | None:
        """The memory of item ``index``, or None if it was never reviewed."""
        if not self.seen[index]:
            return None
        stability = float(self.stability[index])
        difficulty = float(self.difficulty[index])
        return CardMemory(
            state=State(int(self.state[index])),
            step=None if self.step[index] == _NO_STEP else int(self.step[index]),
            stability=None if np.isnan(stability) else stability,
            difficulty=None if np.isnan(difficulty) else difficulty,
            due=from_epoch_us(int(self.due_us[index])),
            last_review=(
                from_epoch_us(int(self.last_review_us[index])) if self.reps[index] else None
            ),
            reps=int(self.reps[index]),
            lapses=int(self.lapses[index]),
            proven_interval_days=float(self.proven_days[index]),
        )

    def memory_groups(self) -> np.ndarray:
        """Each card's :class:`~engine.scheduling.MemoryGroup` (unseen cards: settled)."""
        fresh = self.seen & (self.last_review_us - self.introduced_us < FRESH_DAYS * DAY_US)
        failed = np.where(
            self.reps <= 1, MemoryGroup.FAILED_ONCE, MemoryGroup.FAILED_RESTUDIED
        ).astype(np.int8)
        fresh_group = np.where(self.first_correct == 1, MemoryGroup.KNOWN_AT_FIRST, failed)
        return np.where(fresh, fresh_group, MemoryGroup.SETTLED).astype(np.int8)

    def in_learning_step(self) -> np.ndarray:
        """Seen items in a (re)learning step: short intervals measured in minutes."""
        return self.seen & (self.state != int(State.Review))
