"""Confidence intervals and calibration measures."""

from __future__ import annotations

import numpy as np
import pytest

from bench.sim.stats import CalibrationSums, mean_ci, t_quantile


@pytest.mark.parametrize(
    ("dof", "expected"), [(4, 2.7764), (9, 2.2622), (19, 2.0930), (49, 2.0096), (1000, 1.9623)]
)
def test_t_quantile(dof: int, expected: float) -> None:
    assert t_quantile(0.975, dof) == pytest.approx(expected, abs=0.01 if dof < 10 else 0.001)


def test_mean_ci() -> None:
    values = np.arange(50, dtype=float)
    ci = mean_ci(values)
    assert ci.mean == pytest.approx(24.5)
    assert ci.half_width == pytest.approx(2.0096 * values.std(ddof=1) / np.sqrt(50), rel=1e-3)
    assert mean_ci([0.5]).n == 1
    assert "±" in mean_ci([0.1, 0.2]).format()


def test_calibration_of_calibrated_and_overconfident_predictions() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = rng.random(p.size) < p
    calibrated = CalibrationSums.of(p, y)
    assert calibrated.ece < 0.01
    assert calibrated.n == p.size
    overconfident = CalibrationSums.of(np.clip(p + 0.1, 0, 1), y)
    assert overconfident.ece > 0.07
    assert overconfident.log_loss > calibrated.log_loss
    merged = CalibrationSums.of(p[:1000], y[:1000]) + CalibrationSums.of(p[1000:], y[1000:])
    assert merged.ece == pytest.approx(calibrated.ece)
    assert merged.log_loss == pytest.approx(calibrated.log_loss)
