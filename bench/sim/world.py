"""One simulated learner: true memory parameters, priors, speed and answer draws.

Learner k of a scenario is the same person under every policy (the paired design): their
priors, memory parameters, item offsets, speed and the uniforms behind every answer come
from seeds that depend on (seed, scenario, learner, memory model) only, never on the policy.
Priors do not depend on the memory model either.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from bench.sim.course import Course
from bench.sim.memory import (
    ACTRMemory,
    FSRSMemory,
    MemoryModel,
    actr_item_offsets,
    draw_actr_parameters,
    draw_fsrs_parameters,
    fsrs_item_offsets,
)
from bench.sim.priors import PriorKnowledge, draw_priors
from bench.sim.student import DRAWS_PER_ITEM, SPEED_SIGMA, SimulatedStudent

__all__ = ["MODELS", "LearnerWorld", "build_world", "stable_id"]

MODELS = ("fsrs", "actr")


def stable_id(name: str) -> int:
    """A seed component from a name, stable across processes and Python runs."""
    return zlib.crc32(name.encode("utf-8"))


@dataclass(frozen=True)
class LearnerWorld:
    """Everything random about one learner, before any policy acts.

    ``memory`` is the initial true memory: copy it for each policy.
    """

    memory: MemoryModel
    prior: PriorKnowledge
    speed: float
    draws: np.ndarray

    def student(self, course: Course, rng: np.random.Generator) -> SimulatedStudent:
        """This learner, ready to answer: a fresh copy of their true memory (``.memory``)."""
        return SimulatedStudent(
            self.memory.copy(), course.is_mcq, course.keys, self.speed, self.draws, rng
        )


def build_world(
    course: Course, model: str, learner: int, seed: int, fsrs_sigma: float = 0.4
) -> LearnerWorld:
    """Learner ``learner`` of ``course``'s scenario under memory model ``model``
    (``"fsrs"`` or ``"actr"``).

    Raises:
        ValueError: for an unknown model.
    """
    scenario = stable_id(course.scenario.name)
    catalog = course.catalog
    prior_rng = np.random.default_rng((seed, scenario, learner, 1))
    prior = draw_priors(catalog.area_of, catalog.difficulty, len(catalog.area_codes), prior_rng)
    person_rng = np.random.default_rng((seed, scenario, learner, 2))
    speed = float(np.exp(SPEED_SIGMA * person_rng.normal()))
    draws = person_rng.random((course.size, DRAWS_PER_ITEM, 4))
    model_rng = np.random.default_rng((seed, scenario, learner, 3, stable_id(model)))
    memory: MemoryModel
    if model == "fsrs":
        params = draw_fsrs_parameters(model_rng, fsrs_sigma)
        offsets = fsrs_item_offsets(catalog.difficulty, model_rng)
        memory = FSRSMemory.from_prior(params, offsets, prior)
    elif model == "actr":
        actr = draw_actr_parameters(model_rng)
        offsets = actr_item_offsets(catalog.difficulty, model_rng)
        memory = ACTRMemory.from_prior(actr, offsets, prior)
    else:
        raise ValueError(f"unknown memory model {model!r}; choose from {', '.join(MODELS)}")
    return LearnerWorld(memory=memory, prior=prior, speed=speed, draws=draws)
