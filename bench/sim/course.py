"""The synthetic items of a scenario: everything a policy is allowed to know about them.

Each test gets ``items_per_test`` items spread over its content areas in proportion to the
blueprint's scored questions (largest remainders). The mix follows the question bank as it
stood when this harness was written (``pitstop content stats``): about two in three items
are four-option multiple choice and one in three a flashcard; author difficulty 1 / 2 / 3
for 35 % / 51 % / 14 % of items. Item order is bank order (test, area, number), which is the
order an Anki-style deck shows new items in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.sim.scenarios import Scenario
from engine.blueprint import Blueprint
from engine.catalog import ItemCatalog, ItemInfo
from engine.content import read_blueprint
from engine.scheduling import ItemKind

__all__ = ["Course", "build_course", "load_blueprint"]

ROOT = Path(__file__).resolve().parents[2]
MCQ_SHARE = 2 / 3
DIFFICULTY_SHARES = (0.35, 0.51, 0.14)
LETTERS = ("A", "B", "C", "D")


def load_blueprint(directory: Path | None = None) -> Blueprint:
    """The ASE blueprints from ``content/blueprints``.

    Raises:
        ValueError: if the blueprint files have problems.
    """
    blueprint, problems = read_blueprint(directory or ROOT / "content" / "blueprints")
    if problems:
        raise ValueError(f"blueprint problems: {problems}")
    return blueprint


@dataclass(frozen=True)
class Course:
    """A scenario's items and settings: public information every policy may use.

    Arrays are indexed by item position (bank order). ``keys`` holds the right letter of each
    multiple-choice item (None for flashcards): the app knows its own keys.
    """

    scenario: Scenario
    catalog: ItemCatalog
    keys: tuple[str | None, ...]

    @property
    def size(self) -> int:
        return len(self.catalog)

    @property
    def is_mcq(self) -> np.ndarray:
        return self.catalog.is_mcq

    @property
    def test_codes(self) -> tuple[str, ...]:
        """Goal tests in bank order."""
        return self.scenario.tests

    def item_test_codes(self) -> list[str]:
        return [item.test_code for item in self.catalog.items]

    def mask_for_tests(self, tests: frozenset[str]) -> np.ndarray:
        return self.catalog.mask_for_tests(tests)

    def area_weights(self) -> np.ndarray:
        """Per item, what one unit of P(correct) is worth in the score averaged over tests."""
        return self.catalog.weight / len(self.scenario.tests)


def _apportion(total: int, shares: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``shares`` by largest remainders (deterministic)."""
    exact = [total * share / sum(shares) for share in shares]
    counts = [int(value) for value in exact]
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def build_course(scenario: Scenario, blueprint: Blueprint, seed: int = 0) -> Course:
    """The synthetic items of ``scenario``; ``seed`` fixes kinds, difficulties and keys."""
    rng = np.random.default_rng((seed, 0xC0))
    items: list[ItemInfo] = []
    keys: list[str | None] = []
    for test_code in scenario.tests:
        test = blueprint[test_code]
        counts = _apportion(scenario.items_per_test, [a.scored_questions for a in test.areas])
        for area, count in zip(test.areas, counts, strict=True):
            kinds = rng.random(count) < MCQ_SHARE
            difficulty = 1 + rng.choice(3, size=count, p=DIFFICULTY_SHARES)
            for number in range(count):
                kind = ItemKind.MCQ if kinds[number] else ItemKind.FLASHCARD
                item_id = f"{test_code}-{area.letter}-{number + 1:03d}"
                items.append(ItemInfo(item_id, test_code, area.code, kind, int(difficulty[number])))
                keys.append(LETTERS[int(rng.integers(4))] if kinds[number] else None)
    return Course(scenario, ItemCatalog(items, blueprint), tuple(keys))
