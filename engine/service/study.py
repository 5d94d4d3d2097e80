"""The study loop: serve an item, record an answer."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from engine.answering import Answer, apply_answer
from engine.errors import InvalidInputError, NotFoundError, StaleAttemptError
from engine.learner import start_of_day
from engine.mastery import prior_known
from engine.scheduling import (
    CardMemory,
    ItemKind,
    Rating,
)
from engine.selector import Reason, StudyContext, select_next
from engine.service.base import (
    OPEN_ATTEMPT_TTL,
    ServiceBase,
    calibration_of,
    card_memory,
    epoch_us,
    fuzz_rng,
    scheduler_for,
    zone_named,
)
from engine.store.db import transaction
from engine.store.models import (
    Attempt,
    CardState,
    Item,
    LearnerParameters,
    Review,
)


@dataclass(frozen=True)
class ServedItem:
    """An item as shown to a learner. ``body`` never carries the key or explanations of a
    multiple-choice item; those come back with the answer."""

    token: str
    item_id: str
    kind: ItemKind
    format: str | None
    test_code: str
    area_code: str
    body: Mapping[str, Any]
    reason: Reason | None
    reason_text: str
    served_at: datetime
    intervals: Mapping[int, timedelta] | None = None


@dataclass(frozen=True)
class AnswerResult:
    """The feedback for an answer. ``duplicate`` is True when this token had already been
    answered: the stored answer is returned and nothing new is recorded."""

    item_id: str
    kind: ItemKind
    correct: bool
    rating: int
    choice: str | None
    key: str | None
    explanation: str | None
    rationale: str | None
    due: datetime
    answered_at: datetime
    duplicate: bool


class StudyUseCases(ServiceBase):
    def next_item(
        self,
        user_id: int,
        *,
        now: datetime,
        rng: np.random.Generator,
        focus_area: str | None = None,
    ) -> ServedItem | None:
        """Serve the planner's next item with a one-time attempt token (None: nothing in scope).

        An item served in the last 30 minutes and not yet answered is served again with the
        same token, so a reload or the back button shows the same question.
        """
        scope = focus_area or ""
        with transaction(self.engine, write=True) as session:
            open_attempt = self._open_attempt(session, user_id, now, scope)
            if open_attempt is not None:
                return self._served(session, open_attempt, None)
            state = self._load_learner(session, user_id, now)
            recent = session.scalars(
                select(col(Review.item_id))
                .where(col(Review.user_id) == user_id)
                .order_by(col(Review.answered_at).desc(), col(Review.id).desc())
                .limit(max(self.planner.max_same_area_run, 1))
            ).all()
            catalog = self.catalog(session)
            zone = zone_named(state.user.timezone)
            midnight_us = epoch_us(start_of_day(now, zone))
            context = StudyContext(
                now=now,
                exam_at=state.goals,
                recent_item_ids=tuple(reversed(recent)),
                new_today=int(
                    np.count_nonzero(state.cards.seen & (state.cards.introduced_us >= midnight_us))
                ),
                focus_area=focus_area,
            )
            selection = select_next(catalog, state.cards, state.beliefs, context, rng, self.planner)
            if selection is None:
                return None
            index = selection.item_index
            if state.cards.seen[index]:
                recall = state.beliefs.scheduler.retrievability_many(
                    state.cards.stability[index : index + 1] * state.beliefs.stability_scale,
                    state.cards.last_review_us[index : index + 1],
                    epoch_us(now),
                )[0]
                known = float(recall)
            else:
                known = float(prior_known(catalog, state.cards, state.beliefs)[index])
            guess = catalog.guess_rate[index]
            attempt = Attempt(
                token=secrets.token_urlsafe(24),
                user_id=user_id,
                item_id=selection.item_id,
                card_version=state.versions.get(selection.item_id, 0),
                served_at=now,
                reason=selection.reason_text[:300],
                predicted_correct=known + (1 - known) * guess,
                scope=scope,
            )
            session.add(attempt)
            session.flush()
            return self._served(session, attempt, selection.reason)

    def answer(self, user_id: int, token: str, answer: Answer, *, now: datetime) -> AnswerResult:
        """Record the answer to a served item: the review and the card state in one transaction.

        A second post of the same token records nothing and returns the first answer's
        feedback, whether it arrives later or at the same moment.

        Raises:
            NotFoundError: no attempt with this token for this learner.
            StaleAttemptError: the item's card state changed after it was served.
            InvalidInputError: the answer does not fit the item (e.g. a rating for a
                multiple-choice item).
        """
        try:
            with transaction(self.engine, write=True) as session:
                return self._answer(session, user_id, token, answer, now)
        except (IntegrityError, StaleAttemptError):
            # A concurrent post of the same token may have won the race: report its answer.
            with transaction(self.engine) as session:
                review = session.scalars(
                    select(Review).where(col(Review.attempt_token) == token)
                ).first()
                if review is None or review.user_id != user_id:
                    raise StaleAttemptError(
                        "this question changed after it was shown (answered in another tab?); "
                        "load the next question"
                    ) from None
                return self._feedback(session, review, duplicate=True)

    def _answer(
        self, session: Session, user_id: int, token: str, answer: Answer, now: datetime
    ) -> AnswerResult:
        attempt = session.get(Attempt, token)
        if attempt is None or attempt.user_id != user_id:
            raise NotFoundError("no such question was served to you; load the next question")
        earlier = session.scalars(select(Review).where(col(Review.attempt_token) == token)).first()
        if earlier is not None:
            return self._feedback(session, earlier, duplicate=True)
        item = session.get(Item, attempt.item_id)
        if item is None:
            raise NotFoundError(f"item {attempt.item_id} no longer exists")
        kind = ItemKind(item.kind)
        if kind is ItemKind.MCQ and answer.self_rating is not None:
            raise InvalidInputError("a multiple-choice question is answered with a choice")
        if kind is ItemKind.FLASHCARD and answer.self_rating is None:
            raise InvalidInputError("a flashcard is answered with a rating from 1 to 4")
        if now < attempt.served_at:
            now = attempt.served_at
        row = session.get(CardState, (user_id, item.id))
        version = row.version if row is not None else 0
        if version != attempt.card_version:
            raise StaleAttemptError(
                "this question changed after it was shown (answered in another tab?); "
                "load the next question"
            )
        parameters = session.get(LearnerParameters, user_id, with_for_update=True)
        calibration = calibration_of(parameters)
        scheduler = scheduler_for(parameters)
        card = card_memory(row) if row is not None else None
        if card is not None and card.last_review is not None and now < card.last_review:
            now = card.last_review
        result = apply_answer(
            kind=kind,
            key=item.body.get("answer"),
            card=card,
            answer=answer,
            now=now,
            rng=fuzz_rng(user_id, item.id)(card.reps if card else 0),
            scheduler=scheduler,
            calibration=calibration,
            typical_response_ms=self._typical_response_ms(session, user_id),
            grading=self.grading,
            stability_scale=calibration.scale,
            prior_correct=attempt.predicted_correct,
        )
        new = result.card
        fields: dict[str, Any] = {
            "state": int(new.state),
            "step": new.step,
            "stability": new.stability,
            "difficulty": new.difficulty,
            "due": new.due,
            "last_review": new.last_review,
            "reps": new.reps,
            "lapses": new.lapses,
            "proven_interval_days": new.proven_interval_days,
        }
        if row is None:
            session.add(
                CardState(
                    user_id=user_id,
                    item_id=item.id,
                    introduced_at=now,
                    first_correct=result.correct,
                    version=1,
                    **fields,
                )
            )
        else:
            changed = cast(
                CursorResult[Any],
                session.execute(
                    update(CardState)
                    .where(
                        col(CardState.user_id) == user_id,
                        col(CardState.item_id) == item.id,
                        col(CardState.version) == version,
                    )
                    .values(version=version + 1, **fields)
                    .execution_options(synchronize_session=False)
                ),
            )
            if changed.rowcount != 1:
                raise StaleAttemptError("this question was answered at the same moment elsewhere")
        review = Review(
            user_id=user_id,
            item_id=item.id,
            answered_at=now,
            rating=int(result.rating),
            correct=result.correct,
            choice=answer.choice,
            unsure=answer.unsure,
            response_ms=answer.response_ms,
            attempt_token=token,
            predicted_correct=result.predicted_correct,
            elapsed_days=result.elapsed_days,
        )
        session.add(review)
        if parameters is None:
            parameters = LearnerParameters(user_id=user_id, calibration={}, updated_at=now)
        parameters.calibration = {
            "log_likelihood": list(result.calibration.log_likelihood),
            "observations": result.calibration.observations,
        }
        parameters.updated_at = now
        session.add(parameters)
        session.flush()
        return self._feedback(session, review, duplicate=False, item=item, due=new.due)

    def replay_card(self, user_id: int, item_id: str) -> CardMemory | None:
        """The card state rebuilt from the learner's reviews of the item alone."""
        with transaction(self.engine) as session:
            parameters = session.get(LearnerParameters, user_id)
            reviews = session.execute(
                select(col(Review.answered_at), col(Review.rating)).where(
                    col(Review.user_id) == user_id,
                    col(Review.item_id) == item_id,
                )
            ).all()
        return scheduler_for(parameters).replay(
            [(answered_at, Rating(rating)) for answered_at, rating in reviews],
            fuzz_rng(user_id, item_id),
        )

    def card_state(self, user_id: int, item_id: str) -> CardMemory | None:
        with transaction(self.engine) as session:
            row = session.get(CardState, (user_id, item_id))
            return card_memory(row) if row else None

    # -- internals --------------------------------------------------------------------------

    def _open_attempt(
        self, session: Session, user_id: int, now: datetime, scope: str
    ) -> Attempt | None:
        attempt = session.scalars(
            select(Attempt)
            .outerjoin(Review, col(Review.attempt_token) == col(Attempt.token))
            .where(
                col(Attempt.user_id) == user_id,
                col(Attempt.served_at) >= now - OPEN_ATTEMPT_TTL,
                col(Review.id).is_(None),
            )
            .order_by(col(Attempt.served_at).desc())
            .limit(1)
        ).first()
        if attempt is None or attempt.scope != scope:
            return None
        row = session.get(CardState, (user_id, attempt.item_id))
        item = session.get(Item, attempt.item_id)
        if (row.version if row else 0) != attempt.card_version or item is None or item.retired:
            return None
        return attempt

    def _served(self, session: Session, attempt: Attempt, reason: Reason | None) -> ServedItem:
        item = session.get(Item, attempt.item_id)
        assert item is not None
        kind = ItemKind(item.kind)
        body = dict(item.body)
        intervals = None
        if kind is ItemKind.MCQ:
            body = {key: body[key] for key in ("stem", "choices", "figure") if key in body}
        else:
            row = session.get(CardState, (attempt.user_id, item.id))
            card = card_memory(row) if row else CardMemory.new(attempt.served_at)
            parameters = session.get(LearnerParameters, attempt.user_id)
            previews = scheduler_for(parameters).preview_intervals(card, attempt.served_at)
            intervals = {int(rating): interval for rating, interval in previews.items()}
        return ServedItem(
            token=attempt.token,
            item_id=item.id,
            kind=kind,
            format=item.format,
            test_code=item.test_code,
            area_code=item.area_code,
            body=body,
            reason=reason,
            reason_text=attempt.reason,
            served_at=attempt.served_at,
            intervals=intervals,
        )

    def _feedback(
        self,
        session: Session,
        review: Review,
        *,
        duplicate: bool,
        item: Item | None = None,
        due: datetime | None = None,
    ) -> AnswerResult:
        item = item or session.get(Item, review.item_id)
        assert item is not None
        if due is None:
            row = session.get(CardState, (review.user_id, review.item_id))
            due = row.due if row else review.answered_at
        body = item.body
        rationale = None
        if review.choice and review.choice != body.get("answer"):
            rationale = body.get("rationales", {}).get(review.choice)
        return AnswerResult(
            item_id=item.id,
            kind=ItemKind(item.kind),
            correct=review.correct,
            rating=review.rating,
            choice=review.choice,
            key=body.get("answer"),
            explanation=body.get("explanation") or body.get("back"),
            rationale=rationale,
            due=due,
            answered_at=review.answered_at,
            duplicate=duplicate,
        )
