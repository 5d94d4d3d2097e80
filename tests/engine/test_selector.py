from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engine.blueprint import Blueprint
from engine.catalog import CardTable
from engine.mastery import AreaEvidence, Beliefs
from engine.scheduling import CardMemory, MemoryScheduler, Rating, State
from engine.selector import (
    AssignmentScope,
    PlannerSettings,
    ReasonKind,
    StudyContext,
    expected_gains,
    select_next,
)
from tests.engine.helpers import graduated, study, synthetic_catalog

NOW = datetime(2026, 3, 10, 18, tzinfo=UTC)


def _context(**overrides: object) -> StudyContext:
    values: dict[str, object] = {"now": NOW, "exam_at": {"A6": NOW + timedelta(days=12)}}
    values.update(overrides)
    return StudyContext(**values)  # type: ignore[arg-type]


def test_nothing_in_scope_gives_none(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    assert (
        select_next(
            catalog, cards, Beliefs(), _context(exam_at={"A1": None}), np.random.default_rng()
        )
        is None
    )


def test_only_goal_tests_are_in_scope(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, tests=("A6", "A8"))
    cards = CardTable(len(catalog))
    for seed in range(20):
        chosen = select_next(
            catalog, cards, Beliefs(), _context(exam_at={"A8": None}), np.random.default_rng(seed)
        )
        assert chosen is not None and chosen.item_id.startswith("A8")


def test_due_learning_steps_come_first(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    # One item due in a learning step, another studied long ago (a review with high gain).
    study(cards, 5, [(NOW - timedelta(minutes=2), Rating.Again)])
    study(cards, 9, graduated(NOW - timedelta(days=40)))
    chosen = select_next(catalog, cards, Beliefs(), _context(), np.random.default_rng(1))
    assert chosen is not None
    assert chosen.item_index == 5
    assert chosen.reason.kind is ReasonKind.LEARNING_STEP
    assert chosen.reason_text.startswith("Learning step due · A6.")


def test_learning_steps_not_yet_due_wait(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    study(cards, 5, [(NOW - timedelta(seconds=20), Rating.Again)])  # due in 40 s
    for seed in range(10):
        chosen = select_next(catalog, cards, Beliefs(), _context(), np.random.default_rng(seed))
        assert chosen is not None and chosen.item_index != 5


def test_daily_new_cap_stops_new_items(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    for index in range(3):
        study(cards, index, graduated(NOW - timedelta(days=3)))
    settings = PlannerSettings(new_per_day=5)
    capped = select_next(
        catalog, cards, Beliefs(), _context(new_today=5), np.random.default_rng(0), settings
    )
    assert capped is not None and cards.seen[capped.item_index]
    assert capped.reason.kind is ReasonKind.REVIEW
    free = select_next(
        catalog, cards, Beliefs(), _context(new_today=4), np.random.default_rng(0), settings
    )
    assert free is not None and not cards.seen[free.item_index]


def test_no_more_than_two_in_a_row_from_one_area(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    first = select_next(catalog, cards, Beliefs(), _context(), np.random.default_rng(0))
    assert first is not None
    area = catalog.items[first.item_index].area_code
    same_area = [item.id for item in catalog.items if item.area_code == area][:2]
    chosen = select_next(
        catalog, cards, Beliefs(), _context(recent_item_ids=same_area), np.random.default_rng(0)
    )
    assert chosen is not None
    assert catalog.items[chosen.item_index].area_code != area
    one = select_next(
        catalog, cards, Beliefs(), _context(recent_item_ids=same_area[:1]), np.random.default_rng(0)
    )
    assert one is not None and catalog.items[one.item_index].area_code == area


def test_area_run_is_relaxed_when_one_area_is_all_there_is(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    same_area = [item.id for item in catalog.items if item.area_code == "A6.C"][:2]
    chosen = select_next(
        catalog,
        cards,
        Beliefs(),
        _context(recent_item_ids=same_area, focus_area="A6.C"),
        np.random.default_rng(0),
    )
    assert chosen is not None and catalog.items[chosen.item_index].area_code == "A6.C"


def test_an_item_just_reviewed_is_not_served_again(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, per_area=1, flashcards=0)
    cards = CardTable(len(catalog))
    # Every item reviewed: index 0 two minutes ago (and badly forgotten), the others a month ago.
    scheduler = MemoryScheduler()
    old = CardMemory(
        State.Review, None, 0.5, 9.0, NOW - timedelta(days=1), NOW - timedelta(minutes=2), 3
    )
    cards.put(0, old, introduced_at=NOW - timedelta(days=9), first_correct=False)
    for index in range(1, len(catalog)):
        study(cards, index, graduated(NOW - timedelta(days=30)), scheduler)
    chosen = select_next(catalog, cards, Beliefs(), _context(), np.random.default_rng(0))
    assert chosen is not None and chosen.item_index != 0


def test_the_planner_prefers_weak_heavy_areas(blueprint: Blueprint) -> None:
    """A6.E carries 17 of 50 questions; A6.C only 5. With A6.E unknown and A6.C well known,
    the first new items come from A6.E and the reason says it is the weakest area."""
    catalog = synthetic_catalog(blueprint, per_area=6, flashcards=0)
    cards = CardTable(len(catalog))
    beliefs = Beliefs(
        area_evidence={
            "A6.A": AreaEvidence(10, 8),
            "A6.B": AreaEvidence(10, 8),
            "A6.C": AreaEvidence(10, 9),
            "A6.D": AreaEvidence(10, 8),
            "A6.E": AreaEvidence(10, 0),
        }
    )
    chosen = select_next(catalog, cards, beliefs, _context(), np.random.default_rng(0))
    assert chosen is not None
    assert catalog.items[chosen.item_index].area_code == "A6.E"
    assert chosen.reason.kind is ReasonKind.WEAK_AREA
    assert chosen.reason_text == "Weakest area: A6.E Body Electrical Systems · exam in 12 days"


def test_forgotten_reviews_beat_fresh_ones(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, per_area=2, flashcards=0)
    cards = CardTable(len(catalog))
    for index in range(len(catalog)):
        if index != 3:
            study(cards, index, graduated(NOW - timedelta(hours=1)))
    study(cards, 3, graduated(NOW - timedelta(days=25)))
    chosen = select_next(catalog, cards, Beliefs(), _context(), np.random.default_rng(0))
    assert chosen is not None and chosen.item_index == 3
    assert chosen.reason.kind is ReasonKind.REVIEW


def test_selection_is_deterministic_for_a_given_now_and_rng(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, tests=("A6", "A8"))
    cards = CardTable(len(catalog))
    rng = np.random.default_rng(123)
    for index in rng.choice(len(catalog), 25, replace=False):
        study(cards, int(index), graduated(NOW - timedelta(days=int(rng.integers(1, 30)))))
    context = _context(exam_at={"A6": NOW + timedelta(days=5), "A8": None})
    first = [
        select_next(catalog, cards, Beliefs(), context, np.random.default_rng(s)) for s in range(5)
    ]
    again = [
        select_next(catalog, cards, Beliefs(), context, np.random.default_rng(s)) for s in range(5)
    ]
    assert first == again


def test_assignment_scope_and_urgency(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, tests=("A6", "A8"))
    cards = CardTable(len(catalog))
    assigned = frozenset(item.id for item in catalog.items if item.area_code == "A8.B")
    assignment = AssignmentScope(7, "Ignition basics", assigned, NOW + timedelta(days=2))
    context = _context(exam_at={"A6": None}, assignments=(assignment,))
    chosen = select_next(catalog, cards, Beliefs(), context, np.random.default_rng(0))
    assert chosen is not None and chosen.item_id in assigned
    assert chosen.reason.kind is ReasonKind.ASSIGNMENT
    assert chosen.reason_text.startswith("Assignment “Ignition basics” due in 2 days")
    focused = _context(exam_at={"A6": None}, assignments=(assignment,), focus_assignment_id=7)
    for seed in range(10):
        pick = select_next(catalog, cards, Beliefs(), focused, np.random.default_rng(seed))
        assert pick is not None and pick.item_id in assigned
    missing = _context(exam_at={"A6": None}, assignments=(assignment,), focus_assignment_id=99)
    assert select_next(catalog, cards, Beliefs(), missing, np.random.default_rng(0)) is None


@pytest.mark.parametrize("days", [0, 1, 30])
def test_reason_counts_days_to_the_exam(blueprint: Blueprint, days: int) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    chosen = select_next(
        catalog,
        cards,
        Beliefs(),
        _context(exam_at={"A6": NOW + timedelta(days=days)}),
        np.random.default_rng(0),
    )
    assert chosen is not None
    expected = {0: "exam today", 1: "exam tomorrow", 30: "exam in 30 days"}[days]
    assert chosen.reason_text.endswith(expected)


def test_a_learner_who_keeps_easy_items_longer_values_new_easy_items_more(
    blueprint: Blueprint,
) -> None:
    """The item scales weigh new items by author difficulty: with none, items of one area
    and kind are worth the same; with easy items kept longer, the easy one is worth more."""
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    area = catalog.area_of[0]
    mcq = (catalog.area_of == area) & (catalog.guess_rate > 0)
    easy = int(np.flatnonzero(mcq & (catalog.difficulty == 1))[0])
    hard = int(np.flatnonzero(mcq & (catalog.difficulty == 3))[0])
    candidates = np.array([easy, hard])
    plain = expected_gains(catalog, cards, Beliefs(), _context(), candidates)
    slope = expected_gains(
        catalog, cards, Beliefs(item_scales=(2.0, 1.0, 0.5)), _context(), candidates
    )
    # Prior knowledge is already higher for easy items, so compare the ratios.
    assert slope[0] / slope[1] > 1.2 * plain[0] / plain[1]
