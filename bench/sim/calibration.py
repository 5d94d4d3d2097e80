"""How the ground-truth memory models behave, and how ACT-R's parameters were calibrated.

:func:`recall_table` studies items on fixed schedules and reports the population's mean
recall 1, 7 and 30 days after the last study, averaged over learners drawn as in the
benchmark (their parameters and item offsets). The first study is a first look at an
unknown item (not recalled: the learner sees the answer); every later study is a successful
recall rated Good.

Targets for ACT-R (plausible for technical facts studied with feedback; the spacing and
retention literature, e.g. Cepeda et al. 2006, puts single-exposure retention after a week
at a quarter or less, and well-spaced items above two-thirds after a month):

=================================  =====  =====  ======
schedule                            1 d    7 d    30 d
=================================  =====  =====  ======
1 study                            0.45   0.25   0.12
3 studies, days 0, 1, 3            0.85   0.65   0.45
5 studies, days 0, 1, 3, 7, 14     0.93   0.85   0.70
=================================  =====  =====  ======

:func:`fit_actr` searches the ACT-R means (alpha, c, tau, h, s) to match these by least
squares, with fail_weight = 0.8 fixed; the result is
:data:`bench.sim.memory.ACTR_CALIBRATED` (alpha 0.18, c 0.43, tau −1.76, s 0.17, h 0.038,
rounded). Its table (``bench/learning.py --calibration``: 200 learners × 60 items, seed 0),
beside FSRS-6 with the benchmark's per-learner parameters:

=================================  ===========  ===========  ===========
mean recall after the last study   ACT-R 1 d    7 d          30 d
=================================  ===========  ===========  ===========
1 study                            0.45         0.23         0.13
learning steps (0, 1 min, 10 min)  0.82         0.52         0.29
3 studies, days 0, 1, 3            0.87         0.70         0.49
5 studies, days 0, 1, 3, 7, 14     0.90         0.81         0.67
=================================  ===========  ===========  ===========

=================================  ===========  ===========  ===========
mean recall after the last study   FSRS-6 1 d   7 d          30 d
=================================  ===========  ===========  ===========
1 study                            0.76         0.58         0.46
learning steps (0, 1 min, 10 min)  0.79         0.60         0.48
3 studies, days 0, 1, 3            0.96         0.86         0.74
5 studies, days 0, 1, 3, 7, 14     0.99         0.95         0.88
=================================  ===========  ===========  ===========

Spacing pays under ACT-R: three studies within ten minutes leave 0.52 after a week, three
over three days 0.70. FSRS-6 is far more forgiving of a single exposure (its power curve has
a long tail: 0.46 after a month), so under FSRS-6 truth breadth (new items) is worth more and
reviews less than under ACT-R; the two models pull the planner in different directions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from bench.sim.clock import DAY
from bench.sim.memory import (
    ACTR_CALIBRATED,
    AGAIN,
    GOOD,
    ACTRMemory,
    ACTRParameters,
    FSRSMemory,
    MemoryModel,
    actr_item_offsets,
    draw_actr_parameters,
    draw_fsrs_parameters,
    fsrs_item_offsets,
)

__all__ = ["SCHEDULES", "TARGETS", "fit_actr", "format_table", "recall_table"]

RETENTION_DAYS = (1, 7, 30)
SCHEDULES: dict[str, tuple[float, ...]] = {
    "1 study": (0.0,),
    "learning steps (0, 1 min, 10 min)": (0.0, 60.0, 600.0),
    "3 studies, days 0, 1, 3": (0.0, DAY, 3 * DAY),
    "5 studies, days 0, 1, 3, 7, 14": (0.0, DAY, 3 * DAY, 7 * DAY, 14 * DAY),
}
TARGETS: dict[str, tuple[float, float, float]] = {
    "1 study": (0.45, 0.25, 0.12),
    "3 studies, days 0, 1, 3": (0.85, 0.65, 0.45),
    "5 studies, days 0, 1, 3, 7, 14": (0.93, 0.85, 0.70),
}
DIFFICULTY_SHARES = (0.35, 0.51, 0.14)

MemoryFactory = Callable[[np.random.Generator, np.ndarray], MemoryModel]


def actr_factory(base: ACTRParameters = ACTR_CALIBRATED) -> MemoryFactory:
    """Empty ACT-R memories for learners drawn around ``base``."""

    def build(rng: np.random.Generator, difficulty: np.ndarray) -> MemoryModel:
        params = draw_actr_parameters(rng, base)
        return ACTRMemory.empty(params, actr_item_offsets(difficulty, rng))

    return build


def fsrs_factory(sigma: float = 0.4) -> MemoryFactory:
    """Empty FSRS-6 memories for learners drawn with lognormal ``sigma``."""

    def build(rng: np.random.Generator, difficulty: np.ndarray) -> MemoryModel:
        params = draw_fsrs_parameters(rng, sigma)
        offsets = fsrs_item_offsets(difficulty, rng)
        n = difficulty.size
        empty = np.full(n, np.nan)
        return FSRSMemory(params, offsets, empty.copy(), empty.copy(), empty.copy())

    return build


def recall_table(
    factory: MemoryFactory,
    rng: np.random.Generator,
    learners: int = 200,
    items: int = 60,
    schedules: dict[str, tuple[float, ...]] = SCHEDULES,
) -> dict[str, tuple[float, ...]]:
    """Mean recall 1 / 7 / 30 days after each schedule's last study, over ``learners``
    learners with ``items`` items each."""
    sums = {name: np.zeros(len(RETENTION_DAYS)) for name in schedules}
    for _ in range(learners):
        difficulty = 1 + rng.choice(3, size=items, p=DIFFICULTY_SHARES)
        for name, times in schedules.items():
            memory = factory(rng, difficulty)
            for index in range(items):
                for k, moment in enumerate(times):
                    memory.update(index, moment, AGAIN if k == 0 else GOOD)
            for j, days in enumerate(RETENTION_DAYS):
                sums[name][j] += memory.recall_all(times[-1] + days * DAY).mean()
    return {name: tuple(float(x) / learners for x in total) for name, total in sums.items()}


def table_error(table: dict[str, tuple[float, ...]]) -> float:
    """Sum of squared differences from :data:`TARGETS`."""
    return float(
        sum(
            np.sum((np.asarray(table[name]) - np.asarray(target)) ** 2)
            for name, target in TARGETS.items()
        )
    )


def fit_actr(
    rng: np.random.Generator,
    start: ACTRParameters = ACTR_CALIBRATED,
    rounds: int = 60,
    learners: int = 40,
    items: int = 30,
) -> tuple[ACTRParameters, float]:
    """Random local search over (alpha, c, tau, h, s) for the means whose population table is
    closest to :data:`TARGETS`. Each candidate is scored on the same learners (common random
    numbers), so the search compares like with like."""
    seed = int(rng.integers(2**31))

    def score(params: ACTRParameters) -> float:
        table = recall_table(
            actr_factory(params),
            np.random.default_rng(seed),
            learners,
            items,
            {name: SCHEDULES[name] for name in TARGETS},
        )
        return table_error(table)

    best, best_error = start, score(start)
    for round_ in range(rounds):
        step = 0.15 if round_ < rounds // 2 else 0.05
        noise = rng.normal(0.0, step, 5)
        trial = replace(
            best,
            alpha=best.alpha * float(np.exp(noise[0])),
            c=best.c * float(np.exp(noise[1])),
            tau=best.tau + float(noise[2]),
            h=min(best.h * float(np.exp(noise[3])), 1.0),
            s=best.s * float(np.exp(noise[4])),
        )
        error = score(trial)
        if error < best_error:
            best, best_error = trial, error
    return best, best_error


def format_table(title: str, table: dict[str, tuple[float, ...]]) -> str:
    """A Markdown table of :func:`recall_table`'s result."""
    lines = [
        f"| {title} | " + " | ".join(f"{d} d" for d in RETENTION_DAYS) + " |",
        "|---|" + "---:|" * len(RETENTION_DAYS),
    ]
    for name, values in table.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    return "\n".join(lines)


def describe(rng_seed: int = 0, learners: int = 200, items: int = 60) -> str:
    """Both models' recall tables, as printed by ``bench/learning.py --calibration``."""
    parts: list[str] = []
    models: Sequence[tuple[str, MemoryFactory]] = (
        ("ACT-R", actr_factory()),
        ("FSRS-6", fsrs_factory()),
    )
    for title, factory in models:
        table = recall_table(factory, np.random.default_rng(rng_seed), learners, items)
        parts.append(format_table(title, table))
    return "\n\n".join(parts)
