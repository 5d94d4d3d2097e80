"""The floor: a uniformly random item from the scope, every time."""

from __future__ import annotations

import numpy as np

from bench.sim.policies.base import Policy, Shown

__all__ = ["RandomPolicy"]


class RandomPolicy(Policy):
    """Shows a uniformly random in-scope item; learns nothing."""

    name = "random"

    def set_scope(self, tests: frozenset[str]) -> None:
        super().set_scope(tests)
        self._candidates = np.flatnonzero(self.scope)

    def choose(self, t: float) -> int | None:
        candidates = getattr(self, "_candidates", None)
        if candidates is None:
            candidates = self._candidates = np.flatnonzero(self.scope)
        if candidates.size == 0:
            return None
        return int(candidates[self.rng.integers(candidates.size)])

    def observe(self, shown: Shown) -> None:
        return None
