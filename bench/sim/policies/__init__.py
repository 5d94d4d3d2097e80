"""Study policies: what to show next, from what the learner has shown so far.

A policy is built with the :class:`~bench.sim.course.Course` (items, kinds, areas, keys,
blueprint, the exam dates the learner gave) and its own rng. It sees only
:class:`~bench.sim.policies.base.Shown` answers: correct or not, the choice or the learner's
self-rating, and the seconds taken — never the learner's true memory. The oracle is the one
exception and gets an explicit :class:`~bench.sim.policies.oracle.OracleTruth`.
"""

from bench.sim.policies.anki import AnkiPolicy, WeakestAreaPolicy
from bench.sim.policies.base import Policy, Shown
from bench.sim.policies.oracle import OraclePolicy, OracleTruth
from bench.sim.policies.pitstop import PitstopPolicy
from bench.sim.policies.random_policy import RandomPolicy
from bench.sim.policies.registry import POLICIES, PolicySpec, anki_names

__all__ = [
    "POLICIES",
    "AnkiPolicy",
    "OraclePolicy",
    "OracleTruth",
    "PitstopPolicy",
    "Policy",
    "PolicySpec",
    "RandomPolicy",
    "Shown",
    "WeakestAreaPolicy",
    "anki_names",
]
