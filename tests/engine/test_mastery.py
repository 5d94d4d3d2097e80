from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engine.blueprint import Blueprint
from engine.catalog import CardTable
from engine.mastery import (
    AreaEvidence,
    AreaMastery,
    Beliefs,
    LevelRules,
    MasteryLevel,
    PriorSettings,
    area_mastery,
    prior_known,
    recall_probability,
)
from engine.scheduling import MemoryScheduler, Rating
from tests.engine.helpers import study, synthetic_catalog

NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)


def test_unseen_items_get_the_prior_plus_exam_guessing(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    beliefs = Beliefs(prior=PriorSettings(default_known=0.2, difficulty_factor=(1, 1, 1)))
    p = recall_probability(catalog, cards, beliefs, NOW)
    # Flashcards and multiple choice alike: an exam question has four options.
    np.testing.assert_allclose(p, 0.2 + 0.8 * 0.25)


def test_first_attempts_move_the_area_prior_with_guessing_removed(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, per_area=10, flashcards=0)
    cards = CardTable(len(catalog))
    area = catalog.area_codes.index("A6.B")
    members = np.flatnonzero(catalog.area_of == area)
    for index in members[:5]:  # five right first attempts in A6.B
        study(cards, int(index), [(NOW, Rating.Good)])
    settings = PriorSettings(default_known=0.2, pseudo_attempts=5, difficulty_factor=(1, 1, 1))
    known = prior_known(catalog, cards, Beliefs(prior=settings))
    assert known[members[7]] == pytest.approx((5 * 0.2 + 5) / 10)
    other = int(np.flatnonzero(catalog.area_of == catalog.area_codes.index("A6.C"))[0])
    assert known[other] == pytest.approx(0.2)
    wrong = CardTable(len(catalog))
    for index in members[:5]:
        study(wrong, int(index), [(NOW, Rating.Again)])
    known_wrong = prior_known(catalog, wrong, Beliefs(prior=settings))
    assert known_wrong[members[7]] == pytest.approx(max((1 - 5 / 3) / 10, 0.0))


def test_placement_evidence_counts_like_first_attempts(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    beliefs = Beliefs(
        prior=PriorSettings(difficulty_factor=(1, 1, 1)),
        area_evidence={"A6.E": AreaEvidence(attempts=5, known=5)},
    )
    known = prior_known(catalog, cards, beliefs)
    in_e = catalog.area_of == catalog.area_codes.index("A6.E")
    assert known[in_e].min() == pytest.approx(0.6)
    assert known[~in_e].max() == pytest.approx(0.2)


def test_seen_items_use_recall_with_guessing_and_decay_toward_the_exam(
    blueprint: Blueprint,
) -> None:
    catalog = synthetic_catalog(blueprint)
    cards = CardTable(len(catalog))
    card = study(cards, 0, [(NOW - timedelta(days=3), Rating.Good)])
    beliefs = Beliefs()
    scheduler = MemoryScheduler()
    now_p = recall_probability(catalog, cards, beliefs, NOW)[0]
    recall = scheduler.retrievability(card, NOW)
    assert now_p == pytest.approx(recall + (1 - recall) * 0.25)
    later = recall_probability(catalog, cards, beliefs, NOW + timedelta(days=30))[0]
    assert later < now_p
    slower = recall_probability(
        catalog, cards, Beliefs(stability_scale=3.0), NOW + timedelta(days=30)
    )[0]
    assert slower > later, "a learner who forgets slowly keeps more by the exam"


def test_area_mastery_now_and_at_exam(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, per_area=4, flashcards=0)
    cards = CardTable(len(catalog))
    area_index = catalog.area_codes.index("A6.C")
    for index in np.flatnonzero(catalog.area_of == area_index):
        study(cards, int(index), [(NOW - timedelta(days=1), Rating.Good)])
    exam = NOW + timedelta(days=20)
    result = {
        a.area_code: a
        for a in area_mastery(catalog, cards, Beliefs(), now=NOW, exam_at={"A6": exam})
    }
    studied = result["A6.C"]
    assert studied.coverage == 1.0
    assert studied.mastery_now > result["A6.A"].mastery_now
    assert studied.mastery_at_exam < studied.mastery_now
    assert result["A6.A"].level is MasteryLevel.NOT_STARTED
    assert studied.exam_at == exam
    assert result["A6.A"].mastery_at_exam == pytest.approx(result["A6.A"].mastery_now)


@pytest.mark.parametrize(
    ("attempted", "mastery", "coverage", "delayed", "level"),
    [
        (0, 0.0, 0.0, 0.0, MasteryLevel.NOT_STARTED),
        (3, 0.5, 0.1, 0.0, MasteryLevel.ATTEMPTED),
        (3, 0.65, 0.35, 0.0, MasteryLevel.FAMILIAR),
        (3, 0.85, 0.7, 0.0, MasteryLevel.PROFICIENT),
        (3, 0.95, 0.9, 0.2, MasteryLevel.PROFICIENT),  # no delayed evidence: not Mastered
        (3, 0.95, 0.9, 0.6, MasteryLevel.MASTERED),
        (3, 0.95, 0.2, 0.6, MasteryLevel.ATTEMPTED),  # high P on few items is not mastery
    ],
)
def test_levels(
    attempted: int, mastery: float, coverage: float, delayed: float, level: MasteryLevel
) -> None:
    got = LevelRules().level(
        attempted=attempted, mastery=mastery, coverage=coverage, delayed_share=delayed
    )
    assert got is level
    assert got.label in {"Not started", "Attempted", "Familiar", "Proficient", "Mastered"}


def test_mastered_needs_correct_answers_after_a_week(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, per_area=4, flashcards=0)
    area_index = catalog.area_codes.index("A6.D")
    members = [int(i) for i in np.flatnonzero(catalog.area_of == area_index)]
    crammed = CardTable(len(catalog))
    spaced = CardTable(len(catalog))
    for index in members:
        minutes = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]
        study(crammed, index, [(moment, Rating.Easy) for moment in minutes])
        days = [NOW - timedelta(days=d) for d in (30, 20, 1)]
        study(spaced, index, [(moment, Rating.Easy) for moment in days])
    levels = {}
    for name, cards in (("crammed", crammed), ("spaced", spaced)):
        found = area_mastery(catalog, cards, Beliefs(), now=NOW, exam_at={"A6": None})
        levels[name] = next(a for a in found if a.area_code == "A6.D").level
    assert levels["crammed"] is not MasteryLevel.MASTERED
    assert levels["spaced"] is MasteryLevel.MASTERED


def test_one_sitting_of_wrong_answers_is_not_proficient(blueprint: Blueprint) -> None:
    """Minutes after a sitting every item just seen is recalled, right or wrong: mastery now
    says so, but levels judge what outlasts the night (LevelRules.settle_days)."""
    catalog = synthetic_catalog(blueprint, per_area=4, flashcards=0)
    area_index = catalog.area_codes.index("A6.B")
    members = [int(i) for i in np.flatnonzero(catalog.area_of == area_index)]
    failed = CardTable(len(catalog))
    known = CardTable(len(catalog))
    for offset, index in enumerate(members):
        moment = NOW - timedelta(minutes=10 - offset)
        study(failed, index, [(moment, Rating.Again)])
        study(known, index, [(moment, Rating.Easy)])

    def area(cards: CardTable) -> AreaMastery:
        found = area_mastery(catalog, cards, Beliefs(), now=NOW, exam_at={"A6": None})
        return next(a for a in found if a.area_code == "A6.B")

    assert area(failed).mastery_now >= LevelRules().proficient_mastery  # the fresh illusion
    assert area(failed).level in (MasteryLevel.ATTEMPTED, MasteryLevel.FAMILIAR)
    assert area(known).level is MasteryLevel.PROFICIENT
