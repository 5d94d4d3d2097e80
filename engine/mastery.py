"""P(correct) per item and mastery per content area, now and at the exam date. Pure.

Mastery answers "how likely is the learner to get an exam question on this right?". Every ASE
question has four options, so whatever kind of item carries a fact (a flashcard or a
multiple-choice item), the exam-question probability is ``P = m + (1 − m)·0.25`` where ``m``
is the learner's memory of it: FSRS recall ``R`` (with the learner's calibrated stability
scale) for a seen item, or for an unseen one ``k``, the chance they already know it — their
first-attempt evidence in the area (plus any placement evidence, with guessing removed),
shrunk toward a neutral default and adjusted for the author's difficulty estimate.

(The item's *own* guess rate — 0.25 for four options, 0 for a self-graded flashcard — is
what an answer to that item shows; it is used where answers are read as evidence.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum

import numpy as np

from engine.catalog import CardTable, ItemCatalog
from engine.scheduling import (
    DAY_US,
    MemoryGroup,
    MemoryScheduler,
    learner_scheduler,
    recall_curve,
    to_epoch_us,
)

__all__ = [
    "EXAM_GUESS_RATE",
    "AreaEvidence",
    "AreaMastery",
    "AreaTotals",
    "Beliefs",
    "LevelRules",
    "MasteryLevel",
    "PriorSettings",
    "area_mastery",
    "item_scale_of",
    "levels_from_totals",
    "mastery_from_totals",
    "memory_recall",
    "prior_known",
    "recall_probability",
]


EXAM_GUESS_RATE = 0.25  # four-option exam questions


@dataclass(frozen=True)
class AreaEvidence:
    """Evidence about an area from outside the card states (e.g. a placement check).

    ``known`` is the estimated number of items known among ``attempts``, with guessing
    removed on average: a four-option answer counts ``(correct − g)/(1 − g)``, so 1 when
    right and −1/3 when wrong; "I don't know" counts 0.
    """

    attempts: float = 0.0
    known: float = 0.0


@dataclass(frozen=True)
class PriorSettings:
    """How unseen items are judged.

    Attributes:
        default_known: the share of an area's items a learner is assumed to know before any
            evidence.
        pseudo_attempts: how many first attempts the default is worth when shrinking.
        difficulty_factor: multiplies the area's known share for author difficulty 1, 2, 3.
        max_known: cap on the chance an unseen item is already known.
    """

    default_known: float = 0.2
    pseudo_attempts: float = 5.0
    difficulty_factor: tuple[float, float, float] = (1.25, 1.0, 0.75)
    max_known: float = 0.95


@dataclass(frozen=True)
class Beliefs:
    """What the engine believes about one learner's memory.

    The learner's forgetting curves are calibrated per :class:`~engine.scheduling.MemoryGroup`
    (see :class:`~engine.scheduling.StabilityCalibration`): ``group_curves`` holds (scale,
    decay) for each group; None means ``stability_scale`` and ``decay`` for every group.
    ``decay`` None means the scheduler's own ``w20``.
    """

    scheduler: MemoryScheduler = field(default_factory=learner_scheduler)
    stability_scale: float = 1.0
    prior: PriorSettings = PriorSettings()
    area_evidence: Mapping[str, AreaEvidence] = field(default_factory=dict)
    decay: float | None = None
    group_curves: tuple[tuple[float, float], ...] | None = None
    item_scales: tuple[float, ...] | None = None

    def item_scale(self, difficulty: np.ndarray | int) -> np.ndarray:
        """The factor on the stability of items of author ``difficulty`` (1–3): how much longer
        the learner keeps such items than their group's curve says (1 when not calibrated)."""
        return item_scale_of(self.item_scales, difficulty)

    @property
    def memory_decay(self) -> float:
        return self.decay if self.decay is not None else float(self.scheduler.parameters[20])

    def curve(self, group: int) -> tuple[float, float]:
        """(scale, decay) of one memory group."""
        if self.group_curves is None:
            return self.stability_scale, self.memory_decay
        scale, decay = self.group_curves[group]
        return scale, decay

    def recall(
        self,
        elapsed_days: np.ndarray | float,
        stability: np.ndarray | float,
        group: np.ndarray | int = MemoryGroup.SETTLED,
    ) -> np.ndarray:
        """The learner's calibrated recall ``elapsed_days`` (fractional) after a review that
        left FSRS stability ``stability``, for cards of memory group ``group``."""
        if self.group_curves is None:
            scale: np.ndarray | float = self.stability_scale
            decay: np.ndarray | float = self.memory_decay
        else:
            curves = np.asarray(self.group_curves)
            scale, decay = curves[group, 0], curves[group, 1]
        return recall_curve(elapsed_days, np.asarray(stability) * scale, decay)


def item_scale_of(item_scales: Sequence[float] | None, difficulty: np.ndarray | int) -> np.ndarray:
    """:meth:`Beliefs.item_scale` from the scales alone (author difficulty 1, 2, 3; None: not
    calibrated), for callers that hold no beliefs."""
    level = np.clip(np.asarray(difficulty, dtype=np.int64), 1, 3) - 1
    if item_scales is None:
        return np.ones(level.shape)
    return np.asarray(item_scales)[level]


def memory_recall(
    beliefs: Beliefs,
    cards: CardTable,
    at_us: int | np.ndarray,
    items: np.ndarray | None = None,
    difficulty: np.ndarray | None = None,
) -> np.ndarray:
    """Calibrated recall of each seen item at ``at_us`` (elapsed time in fractional days since
    its last review); 0 for unseen items. ``items`` restricts the result to those indices;
    ``difficulty`` is the items' author difficulty (all of the catalog's, or those of
    ``items``), for the learner's item scales."""
    rows = slice(None) if items is None else items
    stability = cards.stability[rows]
    if difficulty is not None:
        stability = stability * beliefs.item_scale(difficulty)
    seen = ~np.isnan(stability)
    elapsed = np.maximum(np.asarray(at_us) - cards.last_review_us[rows], 0) / DAY_US
    groups = cards.memory_groups()[rows]
    return np.where(seen, beliefs.recall(elapsed, np.where(seen, stability, 1.0), groups), 0.0)


def prior_known(catalog: ItemCatalog, cards: CardTable, beliefs: Beliefs) -> np.ndarray:
    """Per item, the chance the learner knows it before studying it."""
    prior = beliefs.prior
    area_count = len(catalog.area_codes)
    attempted = (cards.first_correct >= 0) & catalog.in_bank
    guess = catalog.guess_rate
    known_estimate = np.where(
        attempted, (cards.first_correct.astype(float) - guess) / (1 - guess), 0.0
    )
    attempts = np.bincount(catalog.area_of, weights=attempted.astype(float), minlength=area_count)
    known = np.bincount(catalog.area_of, weights=known_estimate, minlength=area_count)
    for position, code in enumerate(catalog.area_codes):
        evidence = beliefs.area_evidence.get(code)
        if evidence is not None:
            attempts[position] += evidence.attempts
            known[position] += evidence.known
    area_known = np.clip(
        (prior.pseudo_attempts * prior.default_known + known) / (prior.pseudo_attempts + attempts),
        0.0,
        1.0,
    )
    factor = np.asarray(prior.difficulty_factor)[np.clip(catalog.difficulty, 1, 3) - 1]
    return np.clip(area_known[catalog.area_of] * factor, 0.0, prior.max_known)


def recall_probability(
    catalog: ItemCatalog,
    cards: CardTable,
    beliefs: Beliefs,
    at: datetime | np.ndarray,
    known: np.ndarray | None = None,
) -> np.ndarray:
    """P(correct) on an exam question testing each item, at ``at`` (one datetime, or epoch-µs
    per item), with no more study."""
    at_us = np.asarray(to_epoch_us(at) if isinstance(at, datetime) else at, np.int64)
    if known is None:
        known = prior_known(catalog, cards, beliefs)
    recall = memory_recall(beliefs, cards, at_us, difficulty=catalog.difficulty)
    memory = np.where(cards.seen, recall, known)
    return memory + (1 - memory) * EXAM_GUESS_RATE


class MasteryLevel(IntEnum):
    """Levels of an area, in the spirit of Khan Academy's mastery levels."""

    NOT_STARTED = 0
    ATTEMPTED = 1
    FAMILIAR = 2
    PROFICIENT = 3
    MASTERED = 4

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class LevelRules:
    """Thresholds for the levels, applied to mastery ``settle_days`` on (see below). Mastered
    needs delayed evidence, not a streak in one sitting: a share of the area's items answered
    correctly after a gap of ``delayed_days`` or more."""

    familiar_mastery: float = 0.60
    familiar_coverage: float = 0.30
    proficient_mastery: float = 0.80
    proficient_coverage: float = 0.60
    mastered_mastery: float = 0.90
    mastered_coverage: float = 0.80
    mastered_delayed_share: float = 0.50
    delayed_days: float = 7.0
    # Levels judge mastery this long after the moment asked about, with no more study: what
    # the learner will still know next week. Minutes after a sitting every item just seen is
    # recalled, right or wrong, and a level read from that would call an area Proficient on
    # the strength of one sitting. (A day is not enough: FSRS expects most of a failed first
    # look to be recalled the next day.)
    settle_days: float = 7.0

    def level(
        self, *, attempted: int, mastery: float, coverage: float, delayed_share: float
    ) -> MasteryLevel:
        if attempted == 0:
            return MasteryLevel.NOT_STARTED
        if (
            mastery >= self.mastered_mastery
            and coverage >= self.mastered_coverage
            and delayed_share >= self.mastered_delayed_share
        ):
            return MasteryLevel.MASTERED
        if mastery >= self.proficient_mastery and coverage >= self.proficient_coverage:
            return MasteryLevel.PROFICIENT
        if mastery >= self.familiar_mastery and coverage >= self.familiar_coverage:
            return MasteryLevel.FAMILIAR
        return MasteryLevel.ATTEMPTED


@dataclass(frozen=True)
class AreaMastery:
    """Mastery of one content area: mean P(correct) over its items."""

    area_code: str
    test_code: str
    area_name: str
    items: int
    seen: int
    mastery_now: float
    mastery_at_exam: float
    exam_at: datetime | None
    level: MasteryLevel

    @property
    def coverage(self) -> float:
        return self.seen / self.items if self.items else 0.0


def area_mastery(
    catalog: ItemCatalog,
    cards: CardTable,
    beliefs: Beliefs,
    *,
    now: datetime,
    exam_at: Mapping[str, datetime | None],
    rules: LevelRules = LevelRules(),
    items: np.ndarray | None = None,
) -> list[AreaMastery]:
    """Mastery of every area of the catalog, now and at each test's exam (``exam_at`` by test
    code; a missing or past exam means "now").

    By default an area's items are its bank items; ``items`` (a boolean mask) restricts the
    computation to a set such as an assigned deck.
    """
    now_us = to_epoch_us(now)
    known = prior_known(catalog, cards, beliefs)
    exam_us_by_test = np.array(
        [
            max(to_epoch_us(moment), now_us) if (moment := exam_at.get(code)) else now_us
            for code in catalog.test_codes
        ],
        np.int64,
    )
    p_now = recall_probability(catalog, cards, beliefs, now, known)
    p_exam = (
        p_now  # no exam ahead (the forecast asks this for every day it draws)
        if (exam_us_by_test == now_us).all()
        else recall_probability(catalog, cards, beliefs, exam_us_by_test[catalog.test_of], known)
    )
    settled_at = now + timedelta(days=rules.settle_days)
    p_settled = recall_probability(catalog, cards, beliefs, settled_at, known)
    area_count = len(catalog.area_codes)
    bank = catalog.in_bank if items is None else items
    per_area = np.bincount(catalog.area_of[bank], minlength=area_count)
    sums_now = np.bincount(catalog.area_of, weights=p_now * bank, minlength=area_count)
    sums_exam = np.bincount(catalog.area_of, weights=p_exam * bank, minlength=area_count)
    sums_settled = np.bincount(catalog.area_of, weights=p_settled * bank, minlength=area_count)
    seen = np.bincount(catalog.area_of, weights=cards.seen & bank, minlength=area_count)
    delayed = np.bincount(
        catalog.area_of,
        weights=(cards.proven_days >= rules.delayed_days) & bank,
        minlength=area_count,
    )
    areas = catalog.blueprint.areas()
    result = []
    for position, code in enumerate(catalog.area_codes):
        count = int(per_area[position])
        if count == 0:
            continue
        test_code = areas[code].test_code
        mastery_now = float(sums_now[position] / count)
        result.append(
            AreaMastery(
                area_code=code,
                test_code=test_code,
                area_name=areas[code].name,
                items=count,
                seen=int(seen[position]),
                mastery_now=mastery_now,
                mastery_at_exam=float(sums_exam[position] / count),
                exam_at=exam_at.get(test_code),
                level=rules.level(
                    attempted=int(seen[position]),
                    mastery=float(sums_settled[position] / count),
                    coverage=float(seen[position] / count),
                    delayed_share=float(delayed[position] / count),
                ),
            )
        )
    return result


@dataclass(frozen=True)
class AreaTotals:
    """Per (learner, area) totals, one row each, that a database can sum for a whole class in
    one query; :func:`mastery_from_totals` turns them into the same mastery as
    :func:`area_mastery` computes item by item.

    Columns of the ``(rows, 3)`` arrays are author difficulty 1, 2, 3. ``recall_sum`` is the
    sum of calibrated FSRS recall over the seen items at the moment of interest; ``known`` and
    ``attempts`` are the first-attempt evidence (guessing removed) plus placement evidence.
    """

    items_by_difficulty: np.ndarray
    seen_by_difficulty: np.ndarray
    recall_sum: np.ndarray
    known: np.ndarray
    attempts: np.ndarray
    delayed: np.ndarray

    @property
    def items(self) -> np.ndarray:
        return self.items_by_difficulty.sum(axis=1)

    @property
    def seen(self) -> np.ndarray:
        return self.seen_by_difficulty.sum(axis=1)


def mastery_from_totals(totals: AreaTotals, prior: PriorSettings = PriorSettings()) -> np.ndarray:
    """Mastery (mean P(correct) on an exam question) for every row of ``totals``."""
    g = EXAM_GUESS_RATE
    area_known = np.clip(
        (prior.pseudo_attempts * prior.default_known + totals.known)
        / (prior.pseudo_attempts + totals.attempts),
        0.0,
        1.0,
    )
    factor = np.asarray(prior.difficulty_factor)
    known = np.clip(area_known[:, None] * factor[None, :], 0.0, prior.max_known)
    unseen = totals.items_by_difficulty - totals.seen_by_difficulty
    total = g * totals.seen + (1 - g) * totals.recall_sum
    total = total + (unseen * (known + (1 - known) * g)).sum(axis=1)
    return np.where(totals.items > 0, total / np.maximum(totals.items, 1), 0.0)


def levels_from_totals(
    mastery_settled: np.ndarray, totals: AreaTotals, rules: LevelRules = LevelRules()
) -> list[MasteryLevel]:
    """Levels for every row of ``totals``, from mastery ``rules.settle_days`` on (as
    :func:`area_mastery` judges them)."""
    items = np.maximum(totals.items, 1)
    return [
        rules.level(
            attempted=int(seen),
            mastery=float(mastery),
            coverage=float(seen / count),
            delayed_share=float(delayed / count),
        )
        for mastery, seen, count, delayed in zip(
            mastery_settled, totals.seen, items, totals.delayed, strict=True
        )
    ]
