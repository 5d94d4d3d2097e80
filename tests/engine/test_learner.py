from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from engine.answering import Answer
from engine.blueprint import Blueprint
from engine.learner import Goal, Learner, start_of_day
from engine.scheduling import ItemKind, MemoryScheduler, Rating
from engine.selector import PlannerSettings
from tests.engine.helpers import synthetic_catalog

NOW = datetime(2026, 4, 1, 16, tzinfo=UTC)
KEY = "B"


def _answer_correctly(learner: Learner, now: datetime, rng: np.random.Generator) -> bool:
    selection = learner.next_item(now, rng)
    assert selection is not None
    info = learner.catalog.items[selection.item_index]
    if info.kind is ItemKind.MCQ:
        learner.answer(
            selection.item_id, now, rng, answer=Answer(choice=KEY, response_ms=12_000), key=KEY
        )
    else:
        learner.answer(
            selection.item_id, now, rng, answer=Answer(self_rating=Rating.Good, response_ms=8_000)
        )
    return True


def test_studying_raises_mastery_and_readiness(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint, tests=("A6",))
    learner = Learner(catalog, [Goal("A6", exam_at=NOW + timedelta(days=14))])
    rng = np.random.default_rng(4)
    before = learner.readiness(NOW)[0]
    moment = NOW
    for _ in range(60):
        _answer_correctly(learner, moment, rng)
        moment += timedelta(seconds=40)
    after = learner.readiness(moment)[0]
    assert after.predicted_score > before.predicted_score
    assert after.pass_probability > before.pass_probability
    assert after.coverage > 0
    assert len(learner.reviews) == 60
    assert all(0 <= review.predicted_correct <= 1 for review in learner.reviews)
    assert {area.test_code for area in learner.area_mastery(moment)} == {"A6"}


def test_new_items_per_day_follow_the_learners_midnight(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    zone = ZoneInfo("America/Chicago")
    learner = Learner(catalog, [Goal("A6")], timezone=zone)
    rng = np.random.default_rng(0)
    evening = datetime(2026, 4, 1, 23, 30, tzinfo=zone).astimezone(UTC)
    _answer_correctly(learner, evening, rng)
    assert learner.new_today(evening) == 1
    next_morning = datetime(2026, 4, 2, 7, 0, tzinfo=zone).astimezone(UTC)
    assert learner.new_today(next_morning) == 0
    assert start_of_day(evening, zone) == datetime(2026, 4, 1, 5, 0, tzinfo=UTC)


def test_answers_are_validated(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    learner = Learner(catalog, [Goal("A6")])
    rng = np.random.default_rng(0)
    mcq = next(item for item in catalog.items if item.kind is ItemKind.MCQ)
    flashcard = next(item for item in catalog.items if item.kind is ItemKind.FLASHCARD)
    with pytest.raises(ValueError, match="unknown item"):
        learner.answer("A6-Z-999", NOW, rng, answer=Answer(choice="A"), key="A")
    with pytest.raises(ValueError, match="key"):
        learner.answer(mcq.id, NOW, rng, answer=Answer(choice="A"))
    with pytest.raises(ValueError, match="rating"):
        learner.answer(flashcard.id, NOW, rng, answer=Answer(choice="A"))
    with pytest.raises(ValueError, match="choice"):
        Answer(choice="E")
    with pytest.raises(ValueError, match="unknown test"):
        Learner(catalog, [Goal("Z9")])


def test_a_wrong_answer_is_again_and_i_dont_know_is_wrong(blueprint: Blueprint) -> None:
    catalog = synthetic_catalog(blueprint)
    learner = Learner(catalog, [Goal("A6")])
    rng = np.random.default_rng(0)
    mcq = [item for item in catalog.items if item.kind is ItemKind.MCQ]
    wrong = learner.answer(
        mcq[0].id, NOW, rng, answer=Answer(choice="A", response_ms=9000), key="B"
    )
    unknown = learner.answer(
        mcq[1].id, NOW, rng, answer=Answer(choice=None, response_ms=9000), key="B"
    )
    assert (wrong.correct, wrong.rating) == (False, Rating.Again)
    assert (unknown.correct, unknown.rating) == (False, Rating.Again)


def test_a_right_first_answer_that_was_likely_a_guess_is_graded_again(
    blueprint: Blueprint,
) -> None:
    """Before any evidence an unseen item is known one time in five: a right four-option
    answer is then as likely a lucky guess as a memory (0.2 against 0.8 × 0.25), and a guess
    leaves the memory of a miss. A fast answer still shows recall, and a learner who has
    shown they know the area is believed."""
    catalog = synthetic_catalog(blueprint, tests=("A6",), flashcards=0)
    rng = np.random.default_rng(0)
    items = [item for item in catalog.items if item.difficulty == 3]
    learner = Learner(catalog, [Goal("A6")])
    slow = learner.answer(
        items[0].id, NOW, rng, answer=Answer(choice="B", response_ms=20_000), key="B"
    )
    assert (slow.correct, slow.rating) == (True, Rating.Again)
    fast = learner.answer(
        items[1].id, NOW, rng, answer=Answer(choice="B", response_ms=2_000), key="B"
    )
    assert (fast.correct, fast.rating) == (True, Rating.Easy)
    area = items[2].area_code
    shown = [item for item in catalog.items if item.area_code == area][3:23]
    for item in shown:
        learner.answer(item.id, NOW, rng, answer=Answer(choice="B", response_ms=9_000), key="B")
    trusted = next(
        item
        for item in catalog.items
        if item.area_code == area and not learner.cards.seen[catalog.index[item.id]]
    )
    known = learner.answer(
        trusted.id, NOW, rng, answer=Answer(choice="B", response_ms=9_000), key="B"
    )
    assert (known.correct, known.rating) == (True, Rating.Good)


def test_calibration_learns_a_fast_forgetter(blueprint: Blueprint) -> None:
    """A learner who forgets much faster than FSRS's defaults predict gets a stability scale
    below 1, so the planner and mastery stop trusting the defaults."""
    catalog = synthetic_catalog(blueprint, tests=("A6",), per_area=10, flashcards=0)
    learner = Learner(
        catalog,
        [Goal("A6", exam_at=NOW + timedelta(days=30))],
        settings=PlannerSettings(new_per_day=10),
    )
    formulas = MemoryScheduler().formulas
    rng = np.random.default_rng(11)
    for day in range(25):
        moment = NOW + timedelta(days=day)
        for _ in range(25):
            selection = learner.next_item(moment, rng)
            assert selection is not None
            card = learner.cards.get(selection.item_index)
            if card is None or card.stability is None or card.last_review is None:
                remembered = rng.random() < 0.1
            else:  # true memory: a tenth of the stability FSRS believes
                days = float(max((moment - card.last_review).days, 0))
                recall = formulas.retrievability(
                    np.array([days]), np.array([0.1 * card.stability])
                )[0]
                remembered = rng.random() < recall
            choice = KEY if remembered or rng.random() < 0.25 else "A"
            learner.answer(
                selection.item_id,
                moment,
                rng,
                answer=Answer(choice=choice, response_ms=15_000),
                key=KEY,
            )
            moment += timedelta(seconds=30)
    assert learner.calibration.observations > 50
    assert learner.calibration.scale < 0.5


def _learner_with_evidence(blueprint: Blueprint, once: float, restudied: float) -> Learner:
    """A learner with evidence on how facts failed at first look are remembered a day later:
    met once (stability scale ``once``) and studied again in the sitting (``restudied``)."""
    from engine.scheduling import DEFAULT_PARAMETERS, MemoryGroup, recall_curve

    catalog = synthetic_catalog(blueprint, tests=("A6",), per_area=8, flashcards=0)
    learner = Learner(catalog, [Goal("A6", exam_at=NOW + timedelta(days=10))])
    rng = np.random.default_rng(3)
    for _ in range(400):
        for group, scale in (
            (MemoryGroup.FAILED_ONCE, once),
            (MemoryGroup.FAILED_RESTUDIED, restudied),
        ):
            stability = DEFAULT_PARAMETERS[0]
            recall = float(recall_curve(1.0, stability * scale, DEFAULT_PARAMETERS[20]))
            learner.calibration = learner.calibration.observe(
                elapsed_days=1.0,
                stability=stability,
                guess_rate=0.0,
                correct=bool(rng.random() < recall),
                group=group,
            )
    return learner


def test_no_fixed_learning_steps_but_the_planner_restudies_when_it_pays(
    blueprint: Blueprint,
) -> None:
    learner = _learner_with_evidence(blueprint, once=0.05, restudied=2.0)
    rng = np.random.default_rng(0)
    first = learner.next_item(NOW, rng)
    assert first is not None
    learner.answer(first.item_id, NOW, rng, answer=Answer(choice="A", response_ms=30_000), key=KEY)
    card = learner.cards.get(first.item_index)
    assert card is not None and card.state.name == "Review"  # no learning step was imposed
    soon = learner.next_item(NOW + timedelta(seconds=30), rng)
    assert soon is not None and soon.item_id != first.item_id  # not within a minute
    later = learner.next_item(NOW + timedelta(minutes=2), rng)
    assert later is not None and later.item_id == first.item_id  # a restudy is worth most


def test_when_single_exposures_last_new_items_beat_restudies(blueprint: Blueprint) -> None:
    learner = _learner_with_evidence(blueprint, once=1.0, restudied=1.0)
    rng = np.random.default_rng(0)
    first = learner.next_item(NOW, rng)
    assert first is not None
    learner.answer(first.item_id, NOW, rng, answer=Answer(choice="A", response_ms=30_000), key=KEY)
    later = learner.next_item(NOW + timedelta(minutes=2), rng)
    assert later is not None and later.item_id != first.item_id
