"""``optimize_learners``: fit each eligible learner, store fits that predict better."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from engine.errors import NotFoundError
from engine.optimize import MIN_LONG_TERM_REVIEWS
from engine.service import StudyService
from engine.store.db import transaction
from engine.store.models import LearnerParameters, Review
from tests.conftest import NOW
from tests.engine.helpers import review_history
from tests.engine.test_optimize import FAST_FORGETTER


def _learner(study: StudyService, email: str, items: list[str], repeats: int, seed: int) -> int:
    user = study.create_user(email=email, display_name="L", password_hash="x", now=NOW)
    start = NOW - timedelta(days=200)
    history = review_history(
        items,
        start,
        np.random.default_rng(seed),
        true_parameters=FAST_FORGETTER,
        reviews_per_item=repeats,
    )
    with transaction(study.engine, write=True) as session:
        session.execute(
            insert(Review),
            [
                {
                    "user_id": user.id,
                    "item_id": item,
                    "answered_at": at,
                    "rating": rating,
                    "correct": rating > 1,
                    "attempt_token": f"{user.id}-{n}",
                }
                for n, (item, at, rating) in enumerate(history)
            ],
        )
    return user.id


def test_optimize_fits_eligible_learners_and_the_scheduler_uses_the_fit(
    study: StudyService,
) -> None:
    items = [item.id for item in study.catalog().items]
    assert len(items) * 20 > MIN_LONG_TERM_REVIEWS * 1.5
    busy = _learner(study, "busy@example.com", items, 20, seed=2)
    new = _learner(study, "new@example.com", items[:5], 2, seed=2)
    reports = {
        report.user_id: report for report in study.optimize_learners(user_email=None, now=NOW)
    }
    assert set(reports) == {busy, new}
    assert not reports[new].accepted and reports[new].current is None
    fitted = reports[busy]
    assert fitted.long_term_reviews >= MIN_LONG_TERM_REVIEWS
    assert fitted.current is not None and fitted.fitted is not None
    assert fitted.accepted == (fitted.fitted.log_loss < fitted.current.log_loss)
    with transaction(study.engine) as session:
        stored = session.get(LearnerParameters, busy)
        untouched = session.get(LearnerParameters, new)
        assert untouched is None
        if fitted.accepted:
            assert stored is not None and stored.parameters is not None
            assert len(stored.parameters) == 21
            assert stored.fitted_at == NOW and stored.review_count == fitted.reviews
            assert stored.log_loss == pytest.approx(fitted.fitted.log_loss)
            state = study._load_learner(session, busy, NOW)
            assert state.beliefs.scheduler.parameters == pytest.approx(stored.parameters)
        else:
            assert stored is None
    assert fitted.accepted, fitted.reason  # this learner forgets far faster than the defaults


def test_optimize_one_learner_by_email(study: StudyService) -> None:
    items = [item.id for item in study.catalog().items]
    _learner(study, "one@example.com", items[:3], 2, seed=3)
    reports = study.optimize_learners(user_email="ONE@example.com", now=NOW)
    assert [(r.email, r.accepted) for r in reports] == [("one@example.com", False)]
    assert "fewer than" in reports[0].reason
    with pytest.raises(NotFoundError):
        study.optimize_learners(user_email="nobody@example.com", now=NOW)
