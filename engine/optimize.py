"""Per-learner FSRS parameters, fitted with fsrs-rs-python from the learner's own reviews.

A learner's reviews (item, time, rating) become fsrs-rs ``FSRSItem``s: one per review that
comes a whole day (24 hours) or more after the item's previous review — a *long-term*
review — carrying the item's history up to and including it, each step's ``delta_t`` in whole
days since the previous review (0 within a day), as py-fsrs counts them when it schedules.

Parameters are fitted with ``FSRS(DEFAULT_PARAMETERS).compute_parameters`` (no torch; well
under a second for 5,000 reviews) and adopted only when a time-series split says they predict
better: they are fitted on the earlier 75 % of the long-term reviews and both they and the
current parameters predict the later 25 %; the fitted ones must have the lower log loss.
Accepted parameters are then refitted on all the reviews.

Threshold: :data:`MIN_LONG_TERM_REVIEWS` (400). fsrs-rs fits 21 parameters; with fewer
long-term reviews its pretraining of the initial stabilities falls back to the defaults and
the rest barely move, and a 25 % hold-out of under ~100 binary outcomes cannot tell a better
fit from noise (the standard error of a log loss difference over 100 reviews is about 0.03,
the size of the gains a per-learner fit brings). Until then the engine's per-learner
calibration (:class:`~engine.scheduling.StabilityCalibration`) adapts the defaults.

Not one of the pure engine modules (it calls the fsrs-rs extension), but it reads no clock,
no database and no global random state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import fsrs_rs_python as fsrs_rs
import numpy as np
from fsrs.scheduler import (
    DEFAULT_PARAMETERS,
    LOWER_BOUNDS_PARAMETERS,
    UPPER_BOUNDS_PARAMETERS,
)

__all__ = [
    "HOLDOUT_SHARE",
    "MIN_LONG_TERM_REVIEWS",
    "FitResult",
    "Metrics",
    "ReviewEvent",
    "Sample",
    "auc",
    "evaluate",
    "fit_parameters",
    "fit_samples",
    "rmse_bins",
    "samples_from_reviews",
]

MIN_LONG_TERM_REVIEWS = 400
HOLDOUT_SHARE = 0.25
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class ReviewEvent:
    """One answer as stored: which item, when (UTC-aware), and the FSRS rating 1–4."""

    item_id: str
    answered_at: datetime
    rating: int


@dataclass(frozen=True)
class Sample:
    """One long-term review to predict, with the history before it.

    ``ratings`` / ``delta_t`` are the item's reviews up to and including this one (``delta_t``
    in whole days since the previous review, 0 for the first). ``lapses`` counts Again
    answers among the earlier long-term reviews (for RMSE(bins)).
    """

    item_id: str
    answered_at: datetime
    ratings: tuple[int, ...]
    delta_t: tuple[int, ...]
    lapses: int

    @property
    def recalled(self) -> bool:
        return self.ratings[-1] > 1

    def fsrs_item(self, *, with_target: bool = True) -> fsrs_rs.FSRSItem:
        count = len(self.ratings) if with_target else len(self.ratings) - 1
        pairs = zip(self.ratings[:count], self.delta_t[:count], strict=True)
        return fsrs_rs.FSRSItem([fsrs_rs.FSRSReview(r, t) for r, t in pairs])


@dataclass(frozen=True)
class Metrics:
    """How well parameters predict a set of long-term reviews."""

    log_loss: float
    rmse_bins: float
    auc: float
    reviews: int


@dataclass(frozen=True)
class FitResult:
    """The outcome of fitting one learner.

    ``accepted`` says whether ``parameters`` (fitted on all reviews) should replace
    ``current``; ``current_holdout`` / ``fitted_holdout`` are both parameter sets' metrics on
    the later 25 % of long-term reviews (None when there were too few reviews to fit).
    """

    accepted: bool
    reason: str
    long_term_reviews: int
    current: tuple[float, ...]
    parameters: tuple[float, ...] | None = None
    current_holdout: Metrics | None = None
    fitted_holdout: Metrics | None = None


def samples_from_reviews(reviews: Iterable[ReviewEvent]) -> list[Sample]:
    """Every long-term review with its item's history, in the order they were answered."""
    by_item: dict[str, list[ReviewEvent]] = defaultdict(list)
    for review in reviews:
        by_item[review.item_id].append(review)
    samples: list[Sample] = []
    for item_id, events in by_item.items():
        events.sort(key=lambda event: event.answered_at)
        ratings: list[int] = []
        deltas: list[int] = []
        lapses = 0
        previous: datetime | None = None
        for event in events:
            delta = 0 if previous is None else max((event.answered_at - previous) // _DAY, 0)
            ratings.append(int(event.rating))
            deltas.append(int(delta))
            if previous is not None and delta > 0:
                samples.append(
                    Sample(item_id, event.answered_at, tuple(ratings), tuple(deltas), lapses)
                )
                lapses += int(event.rating == 1)
            previous = event.answered_at
    samples.sort(key=lambda sample: (sample.answered_at, sample.item_id))
    return samples


def predict(parameters: Sequence[float], samples: Sequence[Sample]) -> np.ndarray:
    """FSRS-6's recall probability for each sample's review, from its history before it."""
    if not samples:
        return np.zeros(0)
    model = fsrs_rs.FSRS(list(parameters))
    states = model.memory_state_batch([sample.fsrs_item(with_target=False) for sample in samples])
    stability = np.array([state.stability for state in states])
    elapsed = np.array([sample.delta_t[-1] for sample in samples], dtype=np.float64)
    decay = float(parameters[20])
    factor = 0.9 ** (-1.0 / decay) - 1.0
    return np.power(1.0 + factor * elapsed / stability, -decay)


def evaluate(parameters: Sequence[float], samples: Sequence[Sample]) -> Metrics:
    """Log loss, RMSE(bins) and AUC of ``parameters`` on ``samples``."""
    predicted = np.clip(predict(parameters, samples), 1e-6, 1 - 1e-6)
    outcome = np.array([sample.recalled for sample in samples], dtype=np.float64)
    if outcome.size == 0:
        return Metrics(float("nan"), float("nan"), float("nan"), 0)
    log_loss = -float(np.mean(outcome * np.log(predicted) + (1 - outcome) * np.log1p(-predicted)))
    return Metrics(
        log_loss=log_loss,
        rmse_bins=rmse_bins(predicted, outcome, samples),
        auc=auc(predicted, outcome),
        reviews=int(outcome.size),
    )


def _bucket(values: np.ndarray, base: float, factor: float, digits: int) -> np.ndarray:
    safe = np.maximum(values, 1e-6)
    return np.round(base * np.power(factor, np.floor(np.log(safe) / np.log(factor))), digits)


def rmse_bins(predicted: np.ndarray, outcome: np.ndarray, samples: Sequence[Sample]) -> float:
    """RMSE(bins) as the srs-benchmark defines it: reviews are binned by elapsed days,
    review number and lapse count (each on a geometric scale), and the RMSE between mean
    outcome and mean prediction per bin is weighted by the bins' sizes."""
    elapsed = np.array([sample.delta_t[-1] for sample in samples], dtype=np.float64)
    number = np.array([len(sample.ratings) - 1 for sample in samples], dtype=np.float64)
    lapses = np.array([sample.lapses for sample in samples], dtype=np.float64)
    keys = np.stack(
        [
            _bucket(elapsed, 2.48, 3.62, 2),
            _bucket(number, 1.99, 1.89, 0),
            np.where(lapses > 0, _bucket(lapses, 1.65, 1.73, 0), 0.0),
        ],
        axis=1,
    )
    _, bins = np.unique(keys, axis=0, return_inverse=True)
    bins = bins.ravel()
    counts = np.bincount(bins).astype(np.float64)
    mean_outcome = np.bincount(bins, weights=outcome) / counts
    mean_predicted = np.bincount(bins, weights=predicted) / counts
    return float(np.sqrt(np.sum(counts * (mean_outcome - mean_predicted) ** 2) / counts.sum()))


def auc(predicted: np.ndarray, outcome: np.ndarray) -> float:
    """Area under the ROC curve (ties count a half); NaN with only one class."""
    positives = outcome > 0.5
    n_pos = int(positives.sum())
    n_neg = outcome.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(predicted, kind="mergesort")
    ranks = np.empty(predicted.size)
    sorted_values = predicted[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fit_samples(samples: Sequence[Sample]) -> tuple[float, ...]:
    """fsrs-rs's fit of all 21 FSRS-6 parameters to ``samples``, clipped to py-fsrs's
    bounds (so py-fsrs accepts them)."""
    model = fsrs_rs.FSRS(list(fsrs_rs.DEFAULT_PARAMETERS))
    fitted = model.compute_parameters([sample.fsrs_item() for sample in samples])
    clipped = np.clip(np.asarray(fitted), LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS)
    return tuple(float(x) for x in clipped)


def fit_parameters(
    reviews: Iterable[ReviewEvent],
    current: Sequence[float] | None = None,
    *,
    min_long_term_reviews: int = MIN_LONG_TERM_REVIEWS,
    holdout_share: float = HOLDOUT_SHARE,
) -> FitResult:
    """Fit a learner's parameters and decide whether to adopt them (see the module notes).

    ``current`` is what the learner's scheduler uses now (None: py-fsrs's defaults).
    """
    current_parameters = tuple(float(x) for x in (current or DEFAULT_PARAMETERS))
    samples = samples_from_reviews(reviews)
    if len(samples) < min_long_term_reviews:
        return FitResult(
            accepted=False,
            reason=f"{len(samples)} long-term reviews, fewer than {min_long_term_reviews}",
            long_term_reviews=len(samples),
            current=current_parameters,
        )
    cut = round(len(samples) * (1 - holdout_share))
    train, test = samples[:cut], samples[cut:]
    candidate = fit_samples(train)
    current_metrics = evaluate(current_parameters, test)
    fitted_metrics = evaluate(candidate, test)
    if not fitted_metrics.log_loss < current_metrics.log_loss:
        return FitResult(
            accepted=False,
            reason=(
                f"fitted log loss {fitted_metrics.log_loss:.4f} is not below the current "
                f"{current_metrics.log_loss:.4f} on the latest {len(test)} reviews"
            ),
            long_term_reviews=len(samples),
            current=current_parameters,
            parameters=candidate,
            current_holdout=current_metrics,
            fitted_holdout=fitted_metrics,
        )
    return FitResult(
        accepted=True,
        reason=(
            f"fitted log loss {fitted_metrics.log_loss:.4f} < current "
            f"{current_metrics.log_loss:.4f} on the latest {len(test)} reviews"
        ),
        long_term_reviews=len(samples),
        current=current_parameters,
        parameters=fit_samples(samples),
        current_holdout=current_metrics,
        fitted_holdout=fitted_metrics,
    )
