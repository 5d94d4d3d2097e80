"""The planner: which item next, and why. Pure and deterministic for a given ``now`` and rng.

Candidates are the items in the learner's scope (goal tests ∪ active assignments, or one
focus area / assignment). Learning-step items that are due go first, earliest due first
(Pitstop's own scheduler has no fixed steps, see :func:`engine.scheduling.learner_scheduler`;
the rule stays for schedulers that do). Otherwise the planner picks the item with the largest
expected gain in exam score per second:

    gain_i = w_i · (1 − g) · (E[R_i(T) | studied now] − R_i(T) | not studied) / cost_i

``T`` is the item's test's exam (or ``now + default_horizon_days``), ``w_i`` its blueprint
weight (raised for assigned items as the assignment's due date nears), ``g`` the exam's guess
rate (0.25: the exam is four-option multiple choice, whatever kind the item is). Recall is the
learner's calibrated curve for the card's memory group (:class:`engine.scheduling.MemoryGroup`)
at the real time elapsed; the expectation runs over recall and forgetting now, using FSRS's
next-state formulas (its same-day formula within a day of the last review). Studied again
within its first sitting a card stays fresh (failed once → restudied), studied later it is
settled, and the "studied" branch is judged with that group's curve: a restudy minutes after a
failed first look is worth what the learner's own evidence says it is. Every curve is scaled
by the learner's item scale for the item's author difficulty (how much longer they keep easy
items than hard ones, also fitted to their outcomes), so a new easy fact is worth more than a
new hard one to a learner for whom it lasts longer. For an unseen item the "studied" branch
is a failed first look (then the scheduler's learning steps, if any), weighted by the chance
they did not know it already. ``cost_i`` is the expected seconds.

Constraints: at most ``new_per_day`` new items a day; no more than ``max_same_area_run`` in a
row from one area (relaxed only when nothing else is left); no item again within
``repeat_guard`` unless a learning step is due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

import numpy as np

from engine.catalog import CardTable, ItemCatalog
from engine.mastery import EXAM_GUESS_RATE, Beliefs, prior_known, recall_probability
from engine.scheduling import (
    DAY_US,
    FRESH_DAYS,
    MemoryGroup,
    Rating,
    group_after_study,
    to_epoch_us,
)

__all__ = [
    "AssignmentScope",
    "PlannerSettings",
    "Reason",
    "ReasonKind",
    "Selection",
    "StudyContext",
    "StudyCosts",
    "expected_gains",
    "scope_mask",
    "select_next",
]


@dataclass(frozen=True)
class StudyCosts:
    """Expected seconds of study, before the learner has history of their own."""

    new_known_seconds: float = 14.0
    new_unknown_seconds: float = 34.0
    review_pass_seconds: float = 8.0
    review_fail_seconds: float = 23.0


@dataclass(frozen=True)
class PlannerSettings:
    new_per_day: int = 80
    default_horizon_days: float = 30.0
    max_same_area_run: int = 2
    repeat_guard: timedelta = timedelta(minutes=1)
    assignment_boost: float = 9.0  # up to 10× the weight on the due date
    assignment_ramp_days: float = 14.0
    costs: StudyCosts = StudyCosts()


@dataclass(frozen=True)
class AssignmentScope:
    """An active assignment: its items and when it is due."""

    assignment_id: int
    name: str
    item_ids: frozenset[str]
    due_at: datetime


@dataclass(frozen=True)
class StudyContext:
    """Everything about this moment that the planner needs besides the learner's cards.

    ``exam_at`` maps each goal test to its exam (None: no date). ``recent_item_ids`` are the
    items answered most recently, oldest first. ``focus_area`` / ``focus_assignment_id``
    restrict the scope to one area or one assignment.
    """

    now: datetime
    exam_at: Mapping[str, datetime | None]
    assignments: Sequence[AssignmentScope] = ()
    recent_item_ids: Sequence[str] = ()
    new_today: int = 0
    focus_area: str | None = None
    focus_assignment_id: int | None = None
    timezone: tzinfo = UTC


class ReasonKind(StrEnum):
    LEARNING_STEP = "learning_step"
    REVIEW = "review"
    WEAK_AREA = "weak_area"
    NEW = "new"
    ASSIGNMENT = "assignment"


@dataclass(frozen=True)
class Reason:
    """Why an item was chosen, in words a student understands."""

    kind: ReasonKind
    area_code: str
    area_name: str
    days_to_exam: int | None = None
    assignment_name: str | None = None
    assignment_days_left: int | None = None

    @property
    def text(self) -> str:
        area = f"{self.area_code} {self.area_name}"
        match self.kind:
            case ReasonKind.LEARNING_STEP:
                head = f"Learning step due · {area}"
            case ReasonKind.REVIEW:
                head = f"Review before you forget · {area}"
            case ReasonKind.WEAK_AREA:
                head = f"Weakest area: {area}"
            case ReasonKind.ASSIGNMENT:
                head = (
                    f"Assignment “{self.assignment_name}” due {_in_days(self.assignment_days_left)}"
                )
                head += f" · {area}"
            case _:
                head = f"New material · {area}"
        if self.days_to_exam is not None:
            head += f" · exam {_in_days(self.days_to_exam)}"
        return head


def _in_days(days: int | None) -> str:
    if days is None:
        return ""
    if days <= 0:
        return "today"
    return "tomorrow" if days == 1 else f"in {days} days"


@dataclass(frozen=True)
class Selection:
    """The planner's choice. ``gain_per_minute`` is in exam-score percentage points."""

    item_id: str
    item_index: int
    reason: Reason
    gain_per_minute: float = 0.0
    candidates: int = field(default=0, compare=False)

    @property
    def reason_text(self) -> str:
        return self.reason.text


def scope_mask(catalog: ItemCatalog, context: StudyContext) -> np.ndarray:
    """The items the learner is studying for: goal tests ∪ assignments, or the focus."""
    if context.focus_assignment_id is not None:
        for assignment in context.assignments:
            if assignment.assignment_id == context.focus_assignment_id:
                return catalog.mask_for_items(assignment.item_ids)
        return np.zeros(len(catalog), bool)
    mask = catalog.mask_for_tests(context.exam_at)
    for assignment in context.assignments:
        mask |= catalog.mask_for_items(assignment.item_ids)
    if context.focus_area is not None:
        mask &= catalog.mask_for_areas([context.focus_area])
    return mask


def select_next(
    catalog: ItemCatalog,
    cards: CardTable,
    beliefs: Beliefs,
    context: StudyContext,
    rng: np.random.Generator,
    settings: PlannerSettings = PlannerSettings(),
) -> Selection | None:
    """The next item to study, or None when the scope holds no item."""
    now_us = to_epoch_us(context.now)
    in_scope = scope_mask(catalog, context)
    if not in_scope.any():
        return None
    exam_us = _exam_us_by_test(catalog, context, settings, now_us)
    learning = cards.in_learning_step()

    due_steps = np.flatnonzero(in_scope & learning & (cards.due_us <= now_us))
    if due_steps.size:
        index = int(due_steps[np.argmin(cards.due_us[due_steps])])
        return Selection(
            item_id=catalog.items[index].id,
            item_index=index,
            reason=_reason(ReasonKind.LEARNING_STEP, index, catalog, context, settings),
            candidates=int(due_steps.size),
        )

    eligible = in_scope & ~learning
    guard_us = settings.repeat_guard // timedelta(microseconds=1)
    eligible &= ~(cards.seen & (now_us - cards.last_review_us < guard_us))
    if context.new_today >= settings.new_per_day:
        eligible &= cards.seen
    if not eligible.any():
        # Everything in scope was seen moments ago or is waiting for a learning step:
        # fall back to the whole scope rather than leave the learner with nothing.
        eligible = in_scope & ~learning
        if not eligible.any():
            eligible = in_scope
    run = settings.max_same_area_run
    recent = [
        catalog.index[item] for item in context.recent_item_ids[-run:] if item in catalog.index
    ]
    if run > 0 and len(recent) == run and len({int(catalog.area_of[i]) for i in recent}) == 1:
        without_area = eligible & (catalog.area_of != catalog.area_of[recent[-1]])
        if without_area.any():
            eligible = without_area

    candidates = np.flatnonzero(eligible)
    known = prior_known(catalog, cards, beliefs)
    gains = _gain_per_second(
        catalog, cards, beliefs, context, settings, candidates, known, exam_us, now_us
    )
    jitter = 1.0 + 1e-9 * rng.random(candidates.size)
    best = int(candidates[np.argmax(gains * jitter)])
    best_gain = float(gains.max())

    if cards.seen[best]:
        kind = ReasonKind.REVIEW
    else:
        kind = ReasonKind.NEW
        p_now = recall_probability(catalog, cards, beliefs, context.now, known)
        area_count = len(catalog.area_codes)
        totals = np.bincount(catalog.area_of[in_scope], p_now[in_scope], minlength=area_count)
        counts = np.bincount(catalog.area_of[in_scope], minlength=area_count)
        means = np.where(counts > 0, totals / np.maximum(counts, 1), np.inf)
        if int(np.argmin(means)) == int(catalog.area_of[best]):
            kind = ReasonKind.WEAK_AREA
    if _urgent_assignment(catalog.items[best].id, context, settings) is not None:
        kind = ReasonKind.ASSIGNMENT
    return Selection(
        item_id=catalog.items[best].id,
        item_index=best,
        reason=_reason(kind, best, catalog, context, settings),
        gain_per_minute=best_gain * 60 * 100,
        candidates=int(candidates.size),
    )


def expected_gains(
    catalog: ItemCatalog,
    cards: CardTable,
    beliefs: Beliefs,
    context: StudyContext,
    candidates: np.ndarray,
    settings: PlannerSettings = PlannerSettings(),
) -> np.ndarray:
    """Expected gain in exam score (a fraction) per second of studying each candidate now.

    Candidates must be unseen items or items in the Review state (not in a learning step).
    """
    now_us = to_epoch_us(context.now)
    exam_us = _exam_us_by_test(catalog, context, settings, now_us)
    known = prior_known(catalog, cards, beliefs)
    return _gain_per_second(
        catalog, cards, beliefs, context, settings, candidates, known, exam_us, now_us
    )


def _exam_us_by_test(
    catalog: ItemCatalog, context: StudyContext, settings: PlannerSettings, now_us: int
) -> np.ndarray:
    """Per catalog test, the horizon the planner optimises for (exam, else the default)."""
    default_us = now_us + int(settings.default_horizon_days * DAY_US)
    horizons = []
    for code in catalog.test_codes:
        exam = context.exam_at.get(code)
        exam_us = to_epoch_us(exam) if exam is not None else None
        horizons.append(exam_us if exam_us is not None and exam_us > now_us else default_us)
    return np.array(horizons, np.int64)


def _gain_per_second(
    catalog: ItemCatalog,
    cards: CardTable,
    beliefs: Beliefs,
    context: StudyContext,
    settings: PlannerSettings,
    candidates: np.ndarray,
    known: np.ndarray,
    exam_us: np.ndarray,
    now_us: int,
) -> np.ndarray:
    formulas = beliefs.scheduler.formulas
    costs = settings.costs
    horizon_us = exam_us[catalog.test_of[candidates]]
    horizon_days = (horizon_us - now_us) / DAY_US
    seen = cards.seen[candidates]

    # Reviews (seen items in the Review state). FSRS's own update counts whole days since the
    # last review; the learner's recall is their calibrated curve at the real elapsed time.
    # Each card follows its memory group's calibrated curve; studied now, it stays fresh
    # within its first sitting and is settled after.
    item_scale = beliefs.item_scale(catalog.difficulty[candidates])
    stability = np.where(seen, cards.stability[candidates], 1.0)
    difficulty = np.where(seen, cards.difficulty[candidates], 5.0)
    last_us = np.where(seen, cards.last_review_us[candidates], now_us)
    group = cards.memory_groups()[candidates]
    same_sitting = now_us - cards.introduced_us[candidates] < FRESH_DAYS * DAY_US
    group_next = group_after_study(group, same_sitting)
    whole_days = np.maximum((now_us - last_us) // DAY_US, 0).astype(np.float64)
    recall_fsrs = formulas.retrievability(whole_days, stability)
    held = stability * item_scale
    recall_now = beliefs.recall(np.maximum(now_us - last_us, 0) / DAY_US, held, group)
    recall_if_skipped = beliefs.recall((horizon_us - last_us) / DAY_US, held, group)
    same_day = whole_days < 1
    stability_pass = np.where(
        same_day,
        formulas.short_term_stability(stability, Rating.Good),
        formulas.recall_stability(difficulty, stability, recall_fsrs, Rating.Good),
    )
    stability_lapse = np.where(
        same_day,
        formulas.short_term_stability(stability, Rating.Again),
        formulas.forget_stability(difficulty, stability, recall_fsrs),
    )
    stability_relearned = stability_lapse
    for _ in beliefs.scheduler.relearning_steps:
        stability_relearned = formulas.short_term_stability(stability_relearned, Rating.Good)
    recall_if_studied = recall_now * beliefs.recall(
        horizon_days, stability_pass * item_scale, group_next
    ) + (1 - recall_now) * beliefs.recall(
        horizon_days, stability_relearned * item_scale, group_next
    )
    review_gain = recall_if_studied - recall_if_skipped
    relearn_seconds = len(beliefs.scheduler.relearning_steps) * costs.review_pass_seconds
    review_cost = recall_now * costs.review_pass_seconds + (1 - recall_now) * (
        costs.review_fail_seconds + relearn_seconds
    )

    # New items: an unknown item is failed at first look (Again), then passes its learning
    # steps (if the scheduler has any) the same day.
    w = beliefs.scheduler.parameters
    learned = np.array([w[0]])
    for _ in beliefs.scheduler.learning_steps:
        learned = formulas.short_term_stability(learned, Rating.Good)
    steps_seconds = len(beliefs.scheduler.learning_steps) * costs.review_pass_seconds
    known_now = known[candidates]
    learned_group = (
        MemoryGroup.FAILED_RESTUDIED
        if beliefs.scheduler.learning_steps
        else MemoryGroup.FAILED_ONCE
    )
    new_gain = (1 - known_now) * beliefs.recall(horizon_days, learned * item_scale, learned_group)
    new_cost = known_now * costs.new_known_seconds + (1 - known_now) * (
        costs.new_unknown_seconds + steps_seconds
    )

    gain = np.where(seen, review_gain, new_gain)
    cost = np.where(seen, review_cost, new_cost)
    weight = catalog.weight[candidates] * _assignment_multiplier(
        catalog, context, settings, candidates
    )
    return weight * (1 - EXAM_GUESS_RATE) * gain / cost


def _assignment_multiplier(
    catalog: ItemCatalog,
    context: StudyContext,
    settings: PlannerSettings,
    candidates: np.ndarray,
) -> np.ndarray:
    multiplier = np.ones(candidates.size)
    for assignment in context.assignments:
        days_left = (assignment.due_at - context.now) / timedelta(days=1)
        ramp = min(max(1 - days_left / settings.assignment_ramp_days, 0.0), 1.0)
        if ramp <= 0:
            continue
        member = catalog.mask_for_items(assignment.item_ids)[candidates]
        boosted = np.maximum(multiplier, 1 + settings.assignment_boost * ramp)
        multiplier = np.where(member, boosted, multiplier)
    return multiplier


def _urgent_assignment(
    item_id: str, context: StudyContext, settings: PlannerSettings
) -> AssignmentScope | None:
    """The soonest-due assignment holding the item, if it is due within the ramp window."""
    window = timedelta(days=settings.assignment_ramp_days)
    urgent = [
        assignment
        for assignment in context.assignments
        if item_id in assignment.item_ids
        and context.now <= assignment.due_at <= context.now + window
    ]
    return min(urgent, key=lambda assignment: assignment.due_at) if urgent else None


def _calendar_days(context: StudyContext, moment: datetime) -> int:
    """Days from today to ``moment``'s day, in the learner's time zone (0 = today)."""
    zone = context.timezone
    return (moment.astimezone(zone).date() - context.now.astimezone(zone).date()).days


def _reason(
    kind: ReasonKind,
    index: int,
    catalog: ItemCatalog,
    context: StudyContext,
    settings: PlannerSettings,
) -> Reason:
    item = catalog.items[index]
    area = catalog.blueprint.areas()[item.area_code]
    exam = context.exam_at.get(item.test_code)
    days_to_exam = None
    if exam is not None and exam >= context.now:
        days_to_exam = _calendar_days(context, exam)
    assignment = (
        _urgent_assignment(item.id, context, settings) if kind is ReasonKind.ASSIGNMENT else None
    )
    return Reason(
        kind=kind,
        area_code=area.code,
        area_name=area.name,
        days_to_exam=days_to_exam,
        assignment_name=assignment.name if assignment else None,
        assignment_days_left=_calendar_days(context, assignment.due_at) if assignment else None,
    )
