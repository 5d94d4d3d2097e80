"""Per-learner FSRS parameters in simulation: default against fitted, on held-out reviews.

Each simulated learner (the learning benchmark's memory models: FSRS-6 with per-learner
parameters, or ACT-R) studies the S1 course Anki-style (20 new a day, 20 minutes a day) for
``--days`` days; the reviews the app recorded (item, time, rating as the app graded it) are
split in time: the earlier 75 % of long-term reviews fit the parameters
(``engine.optimize.fit_samples``), and the later 25 % are predicted by py-fsrs's defaults and
by the fit. Printed: log loss, RMSE(bins) (srs-benchmark's definition) and AUC, means over
learners with paired differences, how often the adoption rule (lower hold-out log loss)
would accept the fit, and the fit time of a learner with 5,000 reviews.

Run from the repository root:

    .venv/bin/python bench/optimize.py                 # 20 learners per memory model
    .venv/bin/python bench/optimize.py --learners 5    # quick
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fsrs.scheduler import DEFAULT_PARAMETERS  # noqa: E402

from bench.sim.clock import DAY, to_datetime  # noqa: E402
from bench.sim.policies.anki import AnkiPolicy  # noqa: E402
from bench.sim.policies.base import Shown  # noqa: E402
from bench.sim.runner import course_for  # noqa: E402
from bench.sim.stats import mean_ci  # noqa: E402
from bench.sim.world import build_world  # noqa: E402
from engine.optimize import (  # noqa: E402
    HOLDOUT_SHARE,
    Metrics,
    ReviewEvent,
    evaluate,
    fit_parameters,
    fit_samples,
    samples_from_reviews,
)

DEFAULT_OUTPUT = ROOT / "bench" / "optimize_results.md"


def review_log(model: str, learner: int, days: int, seed: int) -> list[ReviewEvent]:
    """The reviews an Anki-style app records for one simulated learner."""
    course = course_for("S1")
    world = build_world(course, model, learner, seed)
    student = world.student(course, np.random.default_rng((seed, learner, 7)))
    policy = AnkiPolicy(course, np.random.default_rng((seed, learner, 8)), new_per_day=20)
    policy.set_scope(frozenset(course.scenario.tests))
    events: list[ReviewEvent] = []
    budget = 20 * 60.0
    for day in range(days):
        t = day * DAY
        policy.start_day(day, t)
        used = 0.0
        while used < budget:
            index = policy.choose(t)
            if index is None:
                break
            response = student.answer(index, t)
            shown = Shown(
                index, t, response.correct, response.choice, response.self_rating, response.seconds
            )
            events.append(
                ReviewEvent(
                    course.catalog.items[index].id, to_datetime(t), int(policy.rating_of(shown))
                )
            )
            policy.observe(shown)
            used += response.seconds
            t += response.seconds
    return events


def held_out(events: list[ReviewEvent]) -> tuple[Metrics, Metrics, int]:
    samples = samples_from_reviews(events)
    cut = round(len(samples) * (1 - HOLDOUT_SHARE))
    fitted = fit_samples(samples[:cut])
    test = samples[cut:]
    return evaluate(DEFAULT_PARAMETERS, test), evaluate(fitted, test), len(samples)


def _row(name: str, default: list[float], fitted: list[float], lower_is_better: bool) -> str:
    diff = mean_ci(np.asarray(fitted) - np.asarray(default))
    better = np.mean(
        [(f < d) if lower_is_better else (f > d) for d, f in zip(default, fitted, strict=True)]
    )
    return (
        f"| {name} | {np.mean(default):.4f} | {np.mean(fitted):.4f} | "
        f"{diff.mean:+.4f} ± {diff.half_width:.4f} | {better:.0%} |"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=20)
    parser.add_argument("--days", type=int, default=90, help="days of study per learner")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    lines = [
        "# Per-learner FSRS parameters in simulation",
        "",
        f"Reproduce: `python bench/optimize.py --learners {args.learners} --days {args.days}`",
        "",
        f"{args.learners} simulated learners per memory model study S1 Anki-style (20 new a "
        f"day, 20 min a day) for {args.days} days. Parameters are fitted with fsrs-rs-python "
        "on the earlier 75 % of each learner's long-term reviews; the later 25 % are "
        "predicted by py-fsrs's defaults and by the fit. Δ = fitted − default (paired, 95 % "
        "CI); 'fit better' = share of learners for whom the fit wins on that metric (the "
        "adoption rule uses log loss).",
        "",
    ]
    timing: list[tuple[int, float]] = []
    for model, title in (("fsrs", "FSRS-6 truth"), ("actr", "ACT-R truth")):
        default: list[Metrics] = []
        fitted: list[Metrics] = []
        reviews = []
        for learner in range(args.learners):
            events = review_log(model, learner, args.days, args.seed)
            d, f, long_term = held_out(events)
            default.append(d)
            fitted.append(f)
            reviews.append((len(events), long_term, d.reviews))
            if len(events) >= 5000 and len(timing) < 5:
                start = time.perf_counter()
                fit_parameters(events[:5000])
                timing.append((5000, time.perf_counter() - start))
        counts = np.asarray(reviews, dtype=float).mean(axis=0)
        lines += [
            f"## {title}",
            "",
            f"Per learner: {counts[0]:.0f} reviews, {counts[1]:.0f} long-term, "
            f"{counts[2]:.0f} held out.",
            "",
            "| metric | default | fitted | Δ (95% CI) | fit better |",
            "|---|---:|---:|---:|---:|",
            _row("log loss", [m.log_loss for m in default], [m.log_loss for m in fitted], True),
            _row(
                "RMSE(bins)",
                [m.rmse_bins for m in default],
                [m.rmse_bins for m in fitted],
                True,
            ),
            _row("AUC", [m.auc for m in default], [m.auc for m in fitted], False),
            "",
        ]
    if timing:
        seconds = [value for _, value in timing]
        lines += [
            "## Fit time",
            "",
            f"`fit_parameters` on a learner's first 5,000 reviews (the split fit, both "
            f"evaluations and, when accepted, the refit on everything): mean "
            f"{np.mean(seconds):.3f} s, max {np.max(seconds):.3f} s over {len(seconds)} "
            "learners (target: under 1 s).",
            "",
        ]
    lines.append(f"Wall time {time.perf_counter() - began:.0f} s.")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        args.output.write_text(report, encoding="utf-8")
        print(f"(written to {args.output})", file=sys.stderr)


if __name__ == "__main__":
    main()
