"""How long does the planner take to pick the next item for a heavy learner?

Builds an in-memory learner with 1,500 synthetic items spread over the ten tests in blueprint
proportions and drives it through 50,000 answers (about 100 study days), then times one
next-item selection at many moments. Beside it runs the naive way: the same gain-per-second
rule computed card by card in Python with ``fsrs.Scheduler.get_card_retrievability`` and
py-fsrs's next-state methods. Both pick from the same candidates, so the table also reports
how often they choose the same item.

Run: ``.venv/bin/python bench/selector.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from fsrs import Card, Rating, Scheduler, State

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import START, build_catalog, build_learner, percentile  # noqa: E402
from engine.learner import Learner  # noqa: E402
from engine.mastery import EXAM_GUESS_RATE, prior_known  # noqa: E402
from engine.scheduling import (  # noqa: E402
    FRESH_DAYS,
    MemoryGroup,
    from_epoch_us,
    memory_group,
)
from engine.selector import PlannerSettings, select_next  # noqa: E402


def naive_select(learner: Learner, now: datetime) -> int:
    """The planner's gain rule, one card at a time through py-fsrs (no numpy)."""
    catalog, cards = learner.catalog, learner.cards
    beliefs = learner.current_beliefs
    scheduler = Scheduler(
        parameters=beliefs.scheduler.parameters,
        learning_steps=beliefs.scheduler.learning_steps,
        relearning_steps=beliefs.scheduler.relearning_steps,
        enable_fuzzing=False,
    )
    costs = learner.settings.costs
    known = prior_known(catalog, cards, beliefs)
    guard = learner.settings.repeat_guard
    fresh = timedelta(days=FRESH_DAYS)

    def curve(days: float, stability: float, group: int) -> float:
        scale, decay = beliefs.curve(group)
        factor = 0.9 ** (-1 / decay) - 1
        return float((1 + factor * days / (stability * scale)) ** -decay)

    learned = scheduler.parameters[0]
    for _ in scheduler.learning_steps:
        learned = scheduler._short_term_stability(stability=learned, rating=Rating.Good)
    learned_group = (
        MemoryGroup.FAILED_RESTUDIED if scheduler.learning_steps else MemoryGroup.FAILED_ONCE
    )
    best, best_value = -1, -1.0
    for index, item in enumerate(catalog.items):
        exam = learner.exam_at[item.test_code] or now + timedelta(days=30)
        horizon = (exam - now) / timedelta(days=1)
        memory = cards.get(index)
        if memory is None:
            gain = (1 - known[index]) * curve(horizon, learned, learned_group)
            cost = known[index] * costs.new_known_seconds
            cost += (1 - known[index]) * (
                costs.new_unknown_seconds
                + len(scheduler.learning_steps) * costs.review_pass_seconds
            )
        else:
            last, stability, difficulty = memory.last_review, memory.stability, memory.difficulty
            assert last is not None and stability is not None and difficulty is not None
            if memory.state != State.Review or now - last < guard:
                continue  # learning steps come first; nothing twice within minutes
            first_seen = from_epoch_us(int(cards.introduced_us[index]))
            group = memory_group(
                first_correct=bool(cards.first_correct[index] == 1),
                reps=memory.reps,
                first_seen=first_seen,
                last_review=last,
            )
            if now - first_seen < fresh and group != MemoryGroup.SETTLED:
                after = MemoryGroup.FAILED_RESTUDIED if group == MemoryGroup.FAILED_ONCE else group
            else:
                after = MemoryGroup.SETTLED
            card = Card(
                card_id=index,
                state=memory.state,
                stability=stability,
                difficulty=difficulty,
                due=memory.due,
                last_review=last,
            )
            recall_fsrs = scheduler.get_card_retrievability(card, now)
            recall_now = curve((now - last) / timedelta(days=1), stability, group)
            skipped = curve((exam - last) / timedelta(days=1), stability, group)
            if (now - last).days < 1:
                passed = scheduler._short_term_stability(stability=stability, rating=Rating.Good)
                lapsed = scheduler._short_term_stability(stability=stability, rating=Rating.Again)
            else:
                passed, lapsed = (
                    scheduler._next_stability(
                        difficulty=difficulty,
                        stability=stability,
                        retrievability=recall_fsrs,
                        rating=rating,
                    )
                    for rating in (Rating.Good, Rating.Again)
                )
            relearned = lapsed
            for _ in scheduler.relearning_steps:
                relearned = scheduler._short_term_stability(stability=relearned, rating=Rating.Good)
            studied = recall_now * curve(horizon, passed, after)
            studied += (1 - recall_now) * curve(horizon, relearned, after)
            gain = studied - skipped
            cost = recall_now * costs.review_pass_seconds
            cost += (1 - recall_now) * (
                costs.review_fail_seconds
                + len(scheduler.relearning_steps) * costs.review_pass_seconds
            )
        value = float(catalog.weight[index]) * (1 - EXAM_GUESS_RATE) * gain / cost
        if value > best_value:
            best, best_value = index, value
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--reviews", type=int, default=50_000)
    parser.add_argument("--trials", type=int, default=2_000)
    parser.add_argument("--naive-trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    started = time.perf_counter()
    catalog = build_catalog(args.items)
    learner = build_learner(catalog, args.reviews, args.seed)
    setup_s = time.perf_counter() - started
    moment = START + timedelta(days=args.reviews // 500 + 1, hours=3)
    learner.settings = PlannerSettings(new_per_day=25, max_same_area_run=10**6)  # gain rule only
    beliefs = learner.current_beliefs

    vectorised_ms: list[float] = []
    rng = np.random.default_rng(args.seed)
    for trial in range(args.trials):
        now = moment + timedelta(minutes=7 * trial)
        context = learner.context(now)
        began = time.perf_counter_ns()
        select_next(catalog, learner.cards, beliefs, context, rng, learner.settings)
        vectorised_ms.append((time.perf_counter_ns() - began) / 1e6)

    naive_ms: list[float] = []
    agree = 0
    for trial in range(args.naive_trials):
        now = moment + timedelta(minutes=7 * trial)
        began = time.perf_counter_ns()
        naive = naive_select(learner, now)
        naive_ms.append((time.perf_counter_ns() - began) / 1e6)
        chosen = select_next(
            catalog, learner.cards, beliefs, learner.context(now), rng, learner.settings
        )
        agree += chosen is not None and chosen.item_index == naive

    print(
        f"# Selector benchmark ({platform.python_implementation()} {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()})"
    )
    print(
        f"learner: {len(catalog)} items in {len(catalog.test_codes)} tests, "
        f"{len(learner.reviews)} reviews, {int(learner.cards.seen.sum())} items seen "
        f"(built in {setup_s:.0f} s)"
    )
    print()
    print("| selection | runs | median ms | p99 ms | median ratio |")
    print("|---|---:|---:|---:|---:|")
    naive_median = statistics.median(naive_ms)
    vector_median = statistics.median(vectorised_ms)
    print(
        f"| vectorised planner (numpy) | {len(vectorised_ms)} | {vector_median:.3f} | "
        f"{percentile(vectorised_ms, 0.99):.3f} | 1.0× |"
    )
    print(
        f"| naive loop (get_card_retrievability per card) | {len(naive_ms)} | "
        f"{naive_median:.3f} | {percentile(naive_ms, 0.99):.3f} | "
        f"{naive_median / vector_median:.1f}× slower |"
    )
    print()
    print(f"same item chosen by both: {agree}/{args.naive_trials}")
    print("targets: median ≤ 2 ms, p99 ≤ 10 ms, ≥ 20× faster than the naive loop")


if __name__ == "__main__":
    main()
