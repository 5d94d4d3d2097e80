"""Learning effectiveness in simulation: Pitstop's planner against tuned Anki-style baselines.

Simulated learners (two ground-truth memory models: FSRS-6 with per-learner parameters and
ACT-R with spacing-dependent decay; per-area prior knowledge; guessing; realistic answer
times) study three scenarios under every policy — random, Anki-style with 10/20/40/80 new a
day (filling the minutes or stopping when the queue is empty), FSRS with new items from the
weakest area, Pitstop's planner and a greedy oracle that knows the true memory — and the
expected exam score on exam day is compared, paired by learner. See ``bench/sim``.

Run from the repository root:

    .venv/bin/python bench/learning.py                      # everything, 50 learners
    .venv/bin/python bench/learning.py --learners 5 --scenarios S2 --models fsrs   # quick
    .venv/bin/python bench/learning.py --calibration        # the memory models' recall table
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sim.calibration import describe  # noqa: E402
from bench.sim.policies.registry import POLICIES  # noqa: E402
from bench.sim.report import format_report  # noqa: E402
from bench.sim.runner import make_tasks, run_tasks  # noqa: E402
from bench.sim.scenarios import SCENARIOS  # noqa: E402
from bench.sim.world import MODELS  # noqa: E402

DEFAULT_OUTPUT = ROOT / "bench" / "results" / "learning.md"


def _names(value: str, known: list[str] | tuple[str, ...], what: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(known)})"
        )
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=50, help="learners per scenario")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma-separated, e.g. S1,S2"
    )
    parser.add_argument("--models", default=",".join(MODELS), help="fsrs, actr or both")
    parser.add_argument(
        "--policies", default=",".join(POLICIES), help="comma-separated policy names"
    )
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--fsrs-sigma", type=float, default=0.4, help="lognormal sigma of FSRS parameters"
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="also write the report here"
    )
    parser.add_argument(
        "--calibration", action="store_true", help="print the memory models' recall tables"
    )
    args = parser.parse_args(argv)
    try:
        args.scenarios = _names(args.scenarios, list(SCENARIOS), "scenario")
        args.models = _names(args.models, MODELS, "memory model")
        args.policies = _names(args.policies, list(POLICIES), "policy")
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    if args.learners < 1:
        parser.error("--learners must be at least 1")
    if args.fsrs_sigma < 0.3:
        parser.error("--fsrs-sigma must be at least 0.3 (issue 7)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.calibration:
        print(describe())
        return
    tasks = make_tasks(
        [SCENARIOS[name] for name in args.scenarios],
        args.models,
        args.learners,
        args.policies,
        args.seed,
        args.fsrs_sigma,
    )
    began = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done == total or done % max(total // 20, 1) == 0:
            elapsed = time.perf_counter() - began
            print(f"  {done}/{total} learners done, {elapsed:.0f} s", file=sys.stderr, flush=True)

    results = run_tasks(tasks, processes=args.processes, progress=progress)
    wall = time.perf_counter() - began
    command = "python bench/learning.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    report = format_report(results, wall, args.processes, command.strip())
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
        print(f"(written to {args.output})", file=sys.stderr)


if __name__ == "__main__":
    main()
