"""Pitstop engine: the domain core (scheduling, mastery, readiness, planner) and its storage.

Pure modules (``blueprint``, ``scheduling``, ``mastery``, ``readiness``, ``selector``,
``learner``) import only the standard library, numpy and fsrs. They take ``now`` and ``rng``
as arguments. Storage lives in :mod:`engine.store`; use cases in :mod:`engine.service`.
"""
