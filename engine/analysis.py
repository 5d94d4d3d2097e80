"""Item analysis from learners' first attempts: how hard an item is, whether it tells strong
learners from weak ones, and how each choice draws answers. Pure and vectorised.

- **p-value**: the share of first attempts that were correct.
- **Point-biserial discrimination**: the correlation between getting the item right on the
  first attempt and the learner's *rest score* (their first-attempt accuracy on all other
  items), so an item is not credited for correlating with itself.
- **Choice rates**: the share of first attempts picking each letter ("none" for "I don't
  know" or a flashcard), with the mean rest score of the learners who picked it.
- **Flags** (only with at least ``min_learners`` first attempts): *too easy* (p ≥ 0.95),
  *at chance* (p ≤ 0.25 on four options), *not discriminating* (r < 0.10), and *likely
  mis-keyed* (r < −0.10, or a distractor picked more often than the key by learners whose
  rest score is higher than that of the learners who picked the key).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

__all__ = ["ItemFlag", "ItemStats", "item_analysis"]

LETTERS = ("A", "B", "C", "D")
CHOICE_LABELS = (*LETTERS, "none")


class ItemFlag(StrEnum):
    LIKELY_MISKEYED = "likely mis-keyed"
    TOO_EASY = "too easy"
    AT_CHANCE = "at chance"
    NOT_DISCRIMINATING = "not discriminating"


@dataclass(frozen=True)
class ItemStats:
    item_id: str
    learners: int
    p_value: float
    point_biserial: float | None
    key: str | None
    choice_rates: Mapping[str, float]
    choice_ability: Mapping[str, float | None]
    flags: tuple[ItemFlag, ...]


def item_analysis(
    *,
    item_ids: Sequence[str],
    keys: Sequence[str | None],
    learner: np.ndarray,
    item: np.ndarray,
    correct: np.ndarray,
    choice: np.ndarray,
    min_learners: int = 10,
) -> list[ItemStats]:
    """Statistics for every item in ``item_ids`` that has at least one first attempt.

    The arrays describe first attempts, one row each: ``learner`` (any integer id), ``item``
    (an index into ``item_ids``), ``correct`` (bool) and ``choice`` (0–3 for A–D, −1 for none).
    ``keys[i]`` is the right letter of item ``i`` (None for a flashcard).

    Raises:
        ValueError: if the arrays differ in length or an index is out of range.
    """
    rows = len(learner)
    if not len(item) == len(correct) == len(choice) == rows:
        raise ValueError("learner, item, correct and choice must have the same length")
    if rows and (item.min() < 0 or item.max() >= len(item_ids)):
        raise ValueError("item index out of range")
    if len(keys) != len(item_ids):
        raise ValueError("keys and item_ids must have the same length")
    count = len(item_ids)
    x = correct.astype(np.float64)
    _, learner_index = np.unique(learner, return_inverse=True)
    attempts = np.bincount(learner_index).astype(np.float64)
    right = np.bincount(learner_index, weights=x)
    has_rest = attempts[learner_index] > 1
    rest = np.where(
        has_rest, (right[learner_index] - x) / np.maximum(attempts[learner_index] - 1, 1), np.nan
    )

    n = np.bincount(item, minlength=count).astype(np.float64)
    sum_x = np.bincount(item, weights=x, minlength=count)
    with_rest = has_rest
    n_r = np.bincount(item[with_rest], minlength=count).astype(np.float64)
    sum_xr = np.bincount(item[with_rest], weights=x[with_rest], minlength=count)
    sum_a = np.bincount(item[with_rest], weights=rest[with_rest], minlength=count)
    sum_aa = np.bincount(item[with_rest], weights=rest[with_rest] ** 2, minlength=count)
    sum_xa = np.bincount(item[with_rest], weights=(x * rest)[with_rest], minlength=count)

    slot = np.where(choice < 0, 4, choice)
    combined = item * 5 + slot
    picks = np.bincount(combined, minlength=count * 5).reshape(count, 5)
    pick_rest = np.bincount(
        combined[with_rest], weights=rest[with_rest], minlength=count * 5
    ).reshape(count, 5)
    pick_rest_n = np.bincount(combined[with_rest], minlength=count * 5).reshape(count, 5)

    results = []
    for index in (int(found) for found in np.flatnonzero(n)):
        learners = int(n[index])
        p_value = float(sum_x[index] / n[index])
        r = _correlation(n_r[index], sum_xr[index], sum_a[index], sum_aa[index], sum_xa[index])
        rates = {
            label: float(picks[index, slot_] / n[index])
            for slot_, label in enumerate(CHOICE_LABELS)
        }
        ability = {
            label: (
                float(pick_rest[index, slot_] / pick_rest_n[index, slot_])
                if pick_rest_n[index, slot_]
                else None
            )
            for slot_, label in enumerate(CHOICE_LABELS)
        }
        key = keys[index]
        flags: list[ItemFlag] = []
        if learners >= min_learners:
            if _miskeyed(key, r, rates, ability):
                flags.append(ItemFlag.LIKELY_MISKEYED)
            if p_value >= 0.95:
                flags.append(ItemFlag.TOO_EASY)
            if key is not None and p_value <= 0.25:
                flags.append(ItemFlag.AT_CHANCE)
            if r is not None and r < 0.10 and ItemFlag.LIKELY_MISKEYED not in flags:
                flags.append(ItemFlag.NOT_DISCRIMINATING)
        results.append(
            ItemStats(
                item_id=item_ids[index],
                learners=learners,
                p_value=p_value,
                point_biserial=r,
                key=key,
                choice_rates=rates,
                choice_ability=ability,
                flags=tuple(flags),
            )
        )
    return results


def _correlation(
    n: float, sum_x: float, sum_a: float, sum_aa: float, sum_xa: float
) -> float | None:
    if n < 2:
        return None
    mean_x, mean_a = sum_x / n, sum_a / n
    var_x = mean_x * (1 - mean_x)
    var_a = sum_aa / n - mean_a**2
    if var_x <= 1e-12 or var_a <= 1e-12:
        return None
    return float(np.clip((sum_xa / n - mean_x * mean_a) / np.sqrt(var_x * var_a), -1.0, 1.0))


def _miskeyed(
    key: str | None,
    r: float | None,
    rates: Mapping[str, float],
    ability: Mapping[str, float | None],
) -> bool:
    if r is not None and r < -0.10:
        return True
    if key is None:
        return False
    key_ability = ability[key]
    for letter in LETTERS:
        if letter == key:
            continue
        distractor_ability = ability[letter]
        if (
            rates[letter] > rates[key]
            and distractor_ability is not None
            and key_ability is not None
            and distractor_ability > key_ability
        ):
            return True
    return False
