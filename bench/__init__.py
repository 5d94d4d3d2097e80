"""Benchmarks: the selector's speed (``bench/selector.py``) and learning effectiveness in
simulation (``bench/learning.py`` with the :mod:`bench.sim` package)."""
