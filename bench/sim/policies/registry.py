"""The benchmark's policies by name, and how to build each for one learner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.sim.course import Course
from bench.sim.policies.anki import AnkiPolicy, WeakestAreaPolicy
from bench.sim.policies.base import Policy
from bench.sim.policies.oracle import OraclePolicy, OracleTruth
from bench.sim.policies.pitstop import PitstopPolicy
from bench.sim.policies.random_policy import RandomPolicy

__all__ = ["ANKI_LIMITS", "POLICIES", "PolicySpec", "anki_names"]

ANKI_LIMITS = (10, 20, 40, 80)
Builder = Callable[[Course, np.random.Generator, OracleTruth | None], Policy]


@dataclass(frozen=True)
class PolicySpec:
    """A named policy. Only specs with ``needs_truth`` are handed the true memory."""

    name: str
    build: Builder
    needs_truth: bool = False


def _anki(limit: int, fill: bool) -> Builder:
    def build(course: Course, rng: np.random.Generator, _: OracleTruth | None) -> Policy:
        return AnkiPolicy(course, rng, new_per_day=limit, fill=fill)

    return build


def _oracle(course: Course, rng: np.random.Generator, truth: OracleTruth | None) -> Policy:
    if truth is None:
        raise ValueError("the oracle needs the true memory")
    return OraclePolicy(course, rng, truth)


def anki_names(fill: bool = True) -> list[str]:
    """Names of the Anki-style policies, filling variants or stopping variants."""
    return [f"anki-{limit}" + ("" if fill else "-stop") for limit in ANKI_LIMITS]


POLICIES: dict[str, PolicySpec] = {
    "random": PolicySpec("random", lambda course, rng, _: RandomPolicy(course, rng)),
    **{
        name: PolicySpec(name, _anki(limit, fill))
        for fill in (True, False)
        for limit, name in zip(ANKI_LIMITS, anki_names(fill), strict=True)
    },
    "fsrs-weakest": PolicySpec(
        "fsrs-weakest", lambda course, rng, _: WeakestAreaPolicy(course, rng)
    ),
    "pitstop": PolicySpec("pitstop", lambda course, rng, _: PitstopPolicy(course, rng)),
    "oracle": PolicySpec("oracle", _oracle, needs_truth=True),
}
