"""Simulated learners for the learning-effectiveness benchmark.

The pieces, each small and pure apart from the passed-in numpy Generators:

- :mod:`bench.sim.clock` — simulated time (seconds since the first session) and datetimes;
- :mod:`bench.sim.course` — the synthetic items of a scenario, what every policy may see;
- :mod:`bench.sim.scenarios` — S1, S2, S3;
- :mod:`bench.sim.priors` — per-area prior knowledge;
- :mod:`bench.sim.memory` — the ground-truth memory models (FSRS-6, ACT-R), hidden from
  policies;
- :mod:`bench.sim.student` — how a learner answers (guessing, ratings, seconds);
- :mod:`bench.sim.policies` — random, Anki-style, FSRS + weakest area, Pitstop, oracle;
- :mod:`bench.sim.runner` — one learner under one policy, and the whole benchmark on a pool;
- :mod:`bench.sim.stats` and :mod:`bench.sim.report` — confidence intervals, calibration,
  Markdown tables.
"""
