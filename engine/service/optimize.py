"""Per-learner FSRS parameters: fit each eligible learner and keep the fits that predict better."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import col

from engine.errors import NotFoundError
from engine.optimize import (
    MIN_LONG_TERM_REVIEWS,
    FitResult,
    Metrics,
    ReviewEvent,
    fit_parameters,
)
from engine.service.base import ServiceBase, store_curves
from engine.store.db import transaction
from engine.store.models import LearnerParameters, Review, User

__all__ = ["FitReport", "OptimizeUseCases"]


@dataclass(frozen=True)
class FitReport:
    """What happened to one learner's parameters.

    ``accepted`` True: the fitted parameters were stored and the scheduler uses them from the
    next answer on. ``current`` / ``fitted`` are the hold-out metrics (None when the learner
    had too few long-term reviews to try).
    """

    user_id: int
    email: str
    reviews: int
    long_term_reviews: int
    accepted: bool
    reason: str
    current: Metrics | None
    fitted: Metrics | None


class OptimizeUseCases(ServiceBase):
    def optimize_learners(self, *, user_email: str | None, now: datetime) -> list[FitReport]:
        """Fit FSRS parameters for every learner (or the one with ``user_email``) with at least
        :data:`~engine.optimize.MIN_LONG_TERM_REVIEWS` long-term reviews; store those whose
        fit beats their current parameters on the latest quarter of their reviews, with
        ``fitted_at``, ``review_count`` and the hold-out ``log_loss``. Others are unchanged.

        Each learner is fitted and stored in a transaction of its own.

        Raises:
            NotFoundError: ``user_email`` names no user.
        """
        with transaction(self.engine) as session:
            query = select(col(User.id), col(User.email)).order_by(col(User.id))
            if user_email is not None:
                query = query.where(func.lower(col(User.email)) == user_email.strip().lower())
            users = [(int(row[0]), str(row[1])) for row in session.execute(query).all()]
            if user_email is not None and not users:
                raise NotFoundError(f"no user with email {user_email!r}")
            counts = dict(
                session.execute(
                    select(col(Review.user_id), func.count())
                    .where(col(Review.user_id).in_([user_id for user_id, _ in users]))
                    .group_by(col(Review.user_id))
                ).all()
            )
        reports = []
        for user_id, email in users:
            count = int(counts.get(user_id, 0))
            if count < MIN_LONG_TERM_REVIEWS:  # long-term reviews are a subset of reviews
                reports.append(
                    FitReport(
                        user_id,
                        email,
                        count,
                        0,
                        False,
                        f"{count} reviews, fewer than {MIN_LONG_TERM_REVIEWS} long-term ones",
                        None,
                        None,
                    )
                )
                continue
            reports.append(self._optimize_one(user_id, email, count, now))
        return reports

    def _optimize_one(self, user_id: int, email: str, count: int, now: datetime) -> FitReport:
        with transaction(self.engine) as session:
            rows = session.execute(
                select(col(Review.item_id), col(Review.answered_at), col(Review.rating))
                .where(col(Review.user_id) == user_id)
                .order_by(col(Review.answered_at), col(Review.id))
            ).all()
            stored = session.get(LearnerParameters, user_id)
            current = list(stored.parameters) if stored and stored.parameters else None
        result: FitResult = fit_parameters(
            [ReviewEvent(row[0], row[1], int(row[2])) for row in rows], current
        )
        if result.accepted and result.parameters is not None and result.fitted_holdout:
            with transaction(self.engine, write=True) as session:
                parameters = session.get(LearnerParameters, user_id, with_for_update=True)
                if parameters is None:
                    parameters = LearnerParameters(user_id=user_id, calibration={}, updated_at=now)
                parameters.parameters = list(result.parameters)
                parameters.fitted_at = now
                parameters.review_count = len(rows)
                parameters.log_loss = result.fitted_holdout.log_loss
                store_curves(parameters)  # the curves' prior decay is one of the parameters
                parameters.updated_at = now
                session.add(parameters)
        return FitReport(
            user_id=user_id,
            email=email,
            reviews=len(rows),
            long_term_reviews=result.long_term_reviews,
            accepted=result.accepted,
            reason=result.reason,
            current=result.current_holdout,
            fitted=result.fitted_holdout,
        )
