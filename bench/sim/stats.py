"""Statistics for the report: means with t confidence intervals, binned calibration."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

__all__ = ["CalibrationSums", "MeanCI", "mean_ci", "t_quantile"]

BINS = 10


def t_quantile(p: float, dof: int) -> float:
    """Student's t quantile by the Cornish–Fisher expansion (error < 0.01 for dof ≥ 3,
    < 0.0005 for dof ≥ 20); no scipy needed."""
    z = NormalDist().inv_cdf(p)
    if dof <= 0:
        return math.inf
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / dof + g2 / dof**2 + g3 / dof**3 + g4 / dof**4


@dataclass(frozen=True)
class MeanCI:
    """A mean with its 95 % confidence interval half-width."""

    mean: float
    half_width: float
    n: int

    def format(self, scale: float = 100.0, digits: int = 1, signed: bool = False) -> str:
        sign = "+" if signed else ""
        return (
            f"{self.mean * scale:{sign}.{digits}f} ± {self.half_width * scale:.{digits}f}"
            if self.n > 1
            else f"{self.mean * scale:{sign}.{digits}f}"
        )


def mean_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> MeanCI:
    """Mean and t-interval half-width of ``values``."""
    data = np.asarray(values, dtype=np.float64)
    n = data.size
    if n == 0:
        return MeanCI(math.nan, math.nan, 0)
    if n == 1:
        return MeanCI(float(data[0]), math.nan, 1)
    sd = float(data.std(ddof=1))
    return MeanCI(float(data.mean()), t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n), n)


@dataclass(eq=False)
class CalibrationSums:
    """Predictions against 0/1 outcomes in ``BINS`` equal-width bins, plus the log loss sum:
    enough to merge runs and compute ECE and log loss exactly."""

    count: np.ndarray = field(default_factory=lambda: np.zeros(BINS))
    predicted: np.ndarray = field(default_factory=lambda: np.zeros(BINS))
    observed: np.ndarray = field(default_factory=lambda: np.zeros(BINS))
    log_loss_sum: float = 0.0

    @classmethod
    def of(cls, predicted: np.ndarray, outcome: np.ndarray) -> CalibrationSums:
        p = np.clip(np.asarray(predicted, dtype=np.float64), 0.0, 1.0)
        y = np.asarray(outcome, dtype=np.float64)
        bins = np.minimum((p * BINS).astype(int), BINS - 1)
        q = np.clip(p, 1e-6, 1 - 1e-6)
        return cls(
            np.bincount(bins, minlength=BINS).astype(np.float64),
            np.bincount(bins, weights=p, minlength=BINS),
            np.bincount(bins, weights=y, minlength=BINS),
            float(-(y * np.log(q) + (1 - y) * np.log(1 - q)).sum()),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CalibrationSums):
            return NotImplemented
        return (
            np.array_equal(self.count, other.count)
            and np.array_equal(self.predicted, other.predicted)
            and np.array_equal(self.observed, other.observed)
            and self.log_loss_sum == other.log_loss_sum
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __add__(self, other: CalibrationSums) -> CalibrationSums:
        return CalibrationSums(
            self.count + other.count,
            self.predicted + other.predicted,
            self.observed + other.observed,
            self.log_loss_sum + other.log_loss_sum,
        )

    @property
    def n(self) -> int:
        return int(self.count.sum())

    @property
    def ece(self) -> float:
        """Expected calibration error: Σ_bins (n_b / n)·|mean prediction − mean outcome|."""
        if self.n == 0:
            return math.nan
        return float(np.abs(self.predicted - self.observed).sum() / self.n)

    @property
    def log_loss(self) -> float:
        return self.log_loss_sum / self.n if self.n else math.nan

    @property
    def mean_predicted(self) -> float:
        return float(self.predicted.sum() / self.n) if self.n else math.nan

    @property
    def mean_observed(self) -> float:
        return float(self.observed.sum() / self.n) if self.n else math.nan
