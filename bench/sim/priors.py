"""Per-area prior knowledge: what the learner already knows before the first session.

Each content area is drawn as one of three classes, independently:

============  ===========  ======================  ==========================
class         probability  P(an item is known)     initial recall of a known item
============  ===========  ======================  ==========================
unknown       0.50         0.05                    uniform 0.30–0.60
partly known  0.35         0.40                    uniform 0.50–0.85
well known    0.15         0.85                    uniform 0.75–0.97
============  ===========  ======================  ==========================

P(known) is multiplied by 1.2 / 1.0 / 0.7 for author difficulty 1 / 2 / 3 (capped at 0.95):
easy items are more often known already. A known item was last met 14–180 days before day 0
(uniform). The memory models turn (initial recall, age) into a memory *state* — a stability
for FSRS, a set of old traces for ACT-R — so a known item is forgotten like any other,
never forced correct. Unknown items have no memory at all: the learner can only guess.

The draw depends on the learner's seed only, so learner k has the same priors under every
memory model and every policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

__all__ = ["AreaClass", "PriorKnowledge", "draw_priors"]


class AreaClass(IntEnum):
    UNKNOWN = 0
    PARTLY_KNOWN = 1
    WELL_KNOWN = 2


CLASS_PROBABILITIES = (0.50, 0.35, 0.15)
KNOWN_SHARE = (0.05, 0.40, 0.85)
RECALL_RANGE = ((0.30, 0.60), (0.50, 0.85), (0.75, 0.97))
DIFFICULTY_FACTOR = (1.2, 1.0, 0.7)
AGE_DAYS = (14.0, 180.0)


@dataclass(frozen=True)
class PriorKnowledge:
    """One learner's prior knowledge.

    Attributes:
        area_class: per area (catalog area order), its :class:`AreaClass`.
        known: per item, whether the learner has a memory of it at day 0.
        initial_recall: per item, the recall probability at day 0 (0 when unknown).
        age_days: per item, days since the learner last met it (0 when unknown).
    """

    area_class: np.ndarray
    known: np.ndarray
    initial_recall: np.ndarray
    age_days: np.ndarray


def draw_priors(
    area_of: np.ndarray, difficulty: np.ndarray, area_count: int, rng: np.random.Generator
) -> PriorKnowledge:
    """Draw area classes and known items for items in areas ``area_of`` (0..area_count-1)
    with author difficulty ``difficulty`` (1–3)."""
    area_class = rng.choice(3, size=area_count, p=CLASS_PROBABILITIES)
    item_class = area_class[area_of]
    factor = np.asarray(DIFFICULTY_FACTOR)[np.clip(difficulty, 1, 3) - 1]
    p_known = np.minimum(np.asarray(KNOWN_SHARE)[item_class] * factor, 0.95)
    known = rng.random(area_of.size) < p_known
    low = np.asarray([r[0] for r in RECALL_RANGE])[item_class]
    high = np.asarray([r[1] for r in RECALL_RANGE])[item_class]
    recall = low + (high - low) * rng.random(area_of.size)
    age = AGE_DAYS[0] + (AGE_DAYS[1] - AGE_DAYS[0]) * rng.random(area_of.size)
    return PriorKnowledge(
        area_class=area_class.astype(np.int8),
        known=known,
        initial_recall=np.where(known, recall, 0.0),
        age_days=np.where(known, age, 0.0),
    )
