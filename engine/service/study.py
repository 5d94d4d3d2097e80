"""The study loop: serve an item, record an answer."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import (
    CursorResult,
    Table,
    bindparam,
    case,
    func,
    insert,
    literal,
    null,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from engine.activity import DEFAULT_ANSWER_SECONDS, MAX_ANSWER_SECONDS
from engine.answering import CHOICE_LETTERS, Answer, apply_answer
from engine.errors import (
    InvalidInputError,
    NotFoundError,
    StaleAttemptError,
    UnknownAccountError,
)
from engine.learner import start_of_day
from engine.mastery import AreaEvidence, area_mastery, item_scale_of, memory_recall, prior_known
from engine.scheduling import (
    CardMemory,
    ItemKind,
    MemoryGroup,
    Rating,
    memory_group,
)
from engine.selector import Reason, StudyContext, select_next
from engine.service.base import (
    OPEN_ATTEMPT_TTL,
    REVISION_QUERY,
    STORED_CURVE_COLUMNS,
    TYPICAL_TIME_WINDOW,
    USER_INFO_QUERY,
    ItemRecord,
    LearnerState,
    ServiceBase,
    UserInfo,
    calibration_from,
    card_memory,
    epoch_us,
    fuzz_rng,
    get_user,
    recent_mcq_ms,
    scheduler_for,
    scheduler_from,
    stored_curves,
    stored_item_scales,
    summary_horizons,
    typical_response_ms,
    updated_columns,
    zone_named,
)
from engine.store.db import autocommit_connection, transaction, unhurried_insert
from engine.store.models import (
    AreaPrior,
    Attempt,
    CardState,
    Goal,
    Item,
    LearnerParameters,
    Review,
    StudySession,
    UTCDateTime,
)


@dataclass(frozen=True)
class ServedAttempt:
    """An ``attempt`` row as the study loop builds and reads it: a plain record, because a
    table model validates every field on construction, and this is built on every serve."""

    token: str
    user_id: int
    item_id: str
    card_version: int
    served_at: datetime
    reason: str
    predicted_correct: float
    scope: str

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _ATTEMPT_FIELDS}


_ATTEMPT_FIELDS = tuple(ServedAttempt.__dataclass_fields__)
_ATTEMPT_TABLE = cast(Table, Attempt.__table__)  # type: ignore[attr-defined]


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
    body: Mapping[str, Any] = field(default_factory=dict)
    area_code: str = ""
    unsure: bool = False
    token: str = ""


MAX_RESPONSE_MS = 3_600_000
# Attempt tokens are secrets.token_urlsafe(24); anything else names no attempt (and a NUL
# byte, say, must not reach PostgreSQL, which refuses it in text).
MAX_TOKEN_LENGTH = 64
ATTEMPT_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_TOKEN_LENGTH}}}")
SESSION_IDLE = timedelta(minutes=30)
# A sitting's last activity is moved on by an answer at most this often: a sitting ends
# between 29 and 30 minutes after its last answer, and most answers write one row less.
SITTING_TOUCH_EVERY = timedelta(minutes=1)
PLACEMENT_PER_AREA = 2


@dataclass(frozen=True)
class TodayStats:
    """Today's study so far, in the learner's own day."""

    items: int
    minutes: float
    goal_minutes: int


@dataclass(frozen=True)
class StudyScreen:
    """Everything the study page shows."""

    served: ServedItem | None
    today: TodayStats
    has_goals: bool
    focus_area: str | None
    focus_label: str | None  # "A6.E Body Electrical Systems" or "assignment “…”"
    session_items: int
    user: UserInfo  # the learner's account, as read for this screen


@dataclass(frozen=True)
class PlacementItem:
    item_id: str
    area_code: str
    stem: str
    choices: tuple[str, ...]
    figure: Mapping[str, str] | None


class StudyUseCases(ServiceBase):
    def next_item(
        self,
        user_id: int,
        *,
        now: datetime,
        rng: np.random.Generator,
        focus_area: str | None = None,
        focus_assignment: int | None = None,
    ) -> ServedItem | None:
        """Serve the planner's next item with a one-time attempt token (None: nothing in scope).

        An item served in the last 30 minutes and not yet answered is served again with the
        same token, so a reload or the back button shows the same question. ``focus_area`` or
        ``focus_assignment`` narrow the scope to one area or one assignment's deck.
        """
        with transaction(self.engine) as session:
            served, attempt = self._plan_item(
                session, user_id, now, rng, focus_area, None, focus_assignment
            )
            attempt = self._record_served_now(session, attempt, None)
        self._record_served(attempt, None)
        return served

    def _record_served_now(
        self, session: Session, attempt: ServedAttempt | None, sitting: StudySession | None
    ) -> ServedAttempt | None:
        """Record the served attempt on the read transaction's own connection when that
        commits each statement by itself (PostgreSQL) and nothing else is to be written;
        returns what is left for :meth:`_record_served` after the read."""
        connection = autocommit_connection(session) if sitting is None else None
        if attempt is None or connection is None:
            return attempt
        unhurried_insert(connection, _ATTEMPT_TABLE, attempt.row())
        return None

    def _record_served(self, attempt: ServedAttempt | None, sitting: StudySession | None) -> None:
        """Write what serving an item starts, in a short write transaction of its own: the
        planning before it only reads, so on SQLite other learners' answers are not kept
        waiting for the write lock while one learner's next item is chosen."""
        if sitting is None:
            if attempt is not None:  # one INSERT, not waiting for the disk
                unhurried_insert(self.engine, _ATTEMPT_TABLE, attempt.row())
            return
        with transaction(self.engine, write=True) as session:
            if attempt is not None:
                session.connection().execute(insert(Attempt), attempt.row())
            # Another request of the same learner may have started the sitting meanwhile.
            if self._current_sitting(session, sitting.user_id, sitting.started_at) is None:
                session.add(sitting)

    def _plan_item(
        self,
        session: Session,
        user_id: int,
        now: datetime,
        rng: np.random.Generator,
        focus_area: str | None,
        state: LearnerState | None,
        focus_assignment: int | None = None,
        open_row: Any = None,
    ) -> tuple[ServedItem | None, ServedAttempt | None]:
        """The item to serve and the new attempt to record for it (None when the learner's
        open attempt is served again, or nothing is in scope). Only reads. ``open_row``: the
        learner's latest attempt as :meth:`_today` read it (None: read it here)."""
        scope = focus_area or (f"assignment:{focus_assignment}" if focus_assignment else "")
        open_attempt = self._open_attempt(session, user_id, now, scope, open_row)
        if open_attempt is not None:
            return self._served(session, open_attempt, None, state), None
        if state is None:
            state = self._load_learner(session, user_id, now)
        catalog = self.catalog(session)
        zone = zone_named(state.user.timezone)
        midnight_us = epoch_us(start_of_day(now, zone))
        assignments = (
            [
                scope
                for _, scope in self._active_assignments(session, user_id, state.user.timezone, now)
            ]
            if state.enrolled
            else []
        )
        context = StudyContext(
            now=now,
            exam_at=state.goals,
            assignments=assignments,
            recent_item_ids=state.recent_item_ids,
            new_today=int(
                np.count_nonzero(state.cards.seen & (state.cards.introduced_us >= midnight_us))
            ),
            focus_area=focus_area,
            focus_assignment_id=focus_assignment,
            timezone=zone,
        )
        selection = select_next(catalog, state.cards, state.beliefs, context, rng, self.planner)
        if selection is None:
            return None, None
        index = selection.item_index
        if state.cards.seen[index]:
            known = float(
                memory_recall(
                    state.beliefs,
                    state.cards,
                    epoch_us(now),
                    np.array([index]),
                    catalog.difficulty[[index]],
                )[0]
            )
        else:
            known = float(prior_known(catalog, state.cards, state.beliefs)[index])
        guess = catalog.guess_rate[index]
        attempt = ServedAttempt(
            token=secrets.token_urlsafe(24),
            user_id=user_id,
            item_id=selection.item_id,
            card_version=state.versions.get(selection.item_id, 0),
            served_at=now,
            reason=selection.reason_text[:300],
            predicted_correct=float(known + (1 - known) * guess),
            scope=scope,
        )
        return self._served(session, attempt, selection.reason, state), attempt

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
        if not ATTEMPT_TOKEN.fullmatch(token):
            raise NotFoundError("no such question was served to you; load the next question")
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
        # The hot path of every answer, in plain (Core) statements: the attempt with any
        # answer it already has and the card state, the learner's parameters (locked on
        # PostgreSQL: the calibration is read, updated and written back), then the writes.
        connection = session.connection()
        found = connection.execute(
            _ANSWER_QUERY_WITH_PARAMETERS, {"token": token, "user_id": user_id}
        ).first()
        parameters = found
        if found is None:  # not their attempt, or their first answer: no parameters yet
            found = connection.execute(_ANSWER_QUERY, {"token": token}).first()
            if found is None or found.user_id != user_id:
                if connection.execute(USER_INFO_QUERY, {"user_id": user_id}).first() is None:
                    raise UnknownAccountError(f"no user with id {user_id}")
                raise NotFoundError("no such question was served to you; load the next question")
            parameters = connection.execute(_PARAMETERS_FOR_UPDATE, {"user_id": user_id}).first()
        snapshot = self._snapshot(session, found.revision or "")  # came with the attempt
        if found.review_id is not None:
            earlier = session.get(Review, found.review_id)
            assert earlier is not None
            return self._feedback(session, earlier, duplicate=True)
        item = self.item_record(session, found.item_id)
        if item is None:
            raise NotFoundError(f"item {found.item_id} no longer exists")
        kind = item.kind
        if kind is ItemKind.MCQ and answer.self_rating is not None:
            raise InvalidInputError("a multiple-choice question is answered with a choice")
        if kind is ItemKind.FLASHCARD and answer.self_rating is None:
            raise InvalidInputError("a flashcard is answered with a rating from 1 to 4")
        if now < found.served_at:
            now = found.served_at
        if answer.response_ms is None:
            waited_ms = (now - found.served_at) // timedelta(milliseconds=1)
            answer = replace(answer, response_ms=min(waited_ms, MAX_RESPONSE_MS))
        seen = found.version is not None
        version = found.version if seen else 0
        if version != found.card_version:
            raise StaleAttemptError(
                "this question changed after it was shown (answered in another tab?); "
                "load the next question"
            )
        stored = parameters.calibration if parameters is not None else None
        calibration = calibration_from(stored)
        scheduler = scheduler_from(parameters.parameters if parameters is not None else None)
        card = card_memory(found) if seen else None
        group = MemoryGroup.SETTLED
        if seen and found.last_review is not None:
            group = memory_group(
                first_correct=found.first_correct,
                reps=found.reps,
                first_seen=found.introduced_at,
                last_review=found.last_review,
            )
        prior_decay = scheduler.parameters[20]
        curves = (stored_curves(parameters) if parameters is not None else None) or (
            calibration.curves(prior_decay)
        )
        item_scales = (stored_item_scales(parameters) if parameters is not None else None) or (
            calibration.item_scales()
        )
        scale, decay = curves[group]
        difficulty = int(snapshot.catalog.difficulty[snapshot.catalog.index[item.id]])
        if card is not None and card.last_review is not None and now < card.last_review:
            now = card.last_review
        recent = recent_mcq_ms(stored)
        result = apply_answer(
            kind=kind,
            key=item.body.get("answer"),
            card=card,
            answer=answer,
            now=now,
            rng=fuzz_rng(user_id, item.id)(card.reps if card else 0),
            scheduler=scheduler,
            calibration=calibration,
            typical_response_ms=typical_response_ms(recent),
            grading=self.grading,
            stability_scale=scale,
            prior_correct=found.predicted_correct,
            decay=decay,
            group=group,
            difficulty=difficulty,
            item_scale=float(item_scale_of(item_scales, difficulty)),
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
        if not seen:
            fields |= {
                "user_id": user_id,
                "item_id": item.id,
                "introduced_at": now,
                "first_correct": result.correct,
                "version": 1,
            }
            connection.execute(_INSERT_CARD, fields)
        else:
            changed = cast(
                CursorResult[Any],
                connection.execute(
                    _UPDATE_CARD,
                    {
                        **fields,
                        "version": version + 1,
                        "b_user_id": user_id,
                        "b_item_id": item.id,
                        "b_version": version,
                    },
                ),
            )
            if changed.rowcount != 1:
                raise StaleAttemptError("this question was answered at the same moment elsewhere")
        connection.execute(
            _INSERT_REVIEW,
            {
                "user_id": user_id,
                "item_id": item.id,
                "answered_at": now,
                "rating": int(result.rating),
                "correct": result.correct,
                "choice": answer.choice,
                "unsure": answer.unsure,
                "response_ms": answer.response_ms,
                "attempt_token": token,
                "predicted_correct": result.predicted_correct,
                "elapsed_days": result.elapsed_days,
                "first_attempt": not seen,
            },
        )
        if kind is ItemKind.MCQ and answer.response_ms is not None:
            recent = [*recent, answer.response_ms][-TYPICAL_TIME_WINDOW:]
        learner = {
            "calibration": {**result.calibration.to_json(), "recent_mcq_ms": recent},
            "updated_at": now,
            **updated_columns(curves, item_scales, calibration, result.calibration, prior_decay),
        }
        if parameters is None:
            connection.execute(insert(LearnerParameters), {**learner, "user_id": user_id})
        else:
            connection.execute(_UPDATE_PARAMETERS, {**learner, "b_user_id": user_id})
        active_at = found.sitting_active_at
        if active_at is None or not now - SITTING_TOUCH_EVERY < active_at <= now:
            connection.execute(
                _TOUCH_SITTING,
                {"b_user_id": user_id, "now": now, "idle_since": now - SESSION_IDLE},
            )
        return _answer_result(
            item,
            correct=result.correct,
            rating=int(result.rating),
            choice=answer.choice,
            unsure=answer.unsure,
            answered_at=now,
            due=new.due,
            token=token,
            duplicate=False,
        )

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
        self, session: Session, user_id: int, now: datetime, scope: str, row: Any = None
    ) -> ServedAttempt | None:
        """The attempt last served to the learner, if that was in the last 30 minutes, it is
        unanswered, of this scope and still answerable (its card unchanged, its item active).

        Only the latest attempt is looked at (one index probe): a question the learner moved
        on from is not brought back later, and the cost does not grow with the attempts of
        the last half hour (every one of them had to be checked for an answer). ``row``: that
        attempt as :data:`_TODAY_IN_SITTING_QUERY` read it (its token None: there is none)."""
        if row is None:
            row = (
                session.connection()
                .execute(_OPEN_ATTEMPT_QUERY, {"user_id": user_id, "since": now - OPEN_ATTEMPT_TTL})
                .first()
            )
        if (
            row is None
            or row.token is None
            or row.scope != scope
            or (row.version or 0) != row.card_version
        ):
            return None
        item = self.item_record(session, row.item_id)
        if item is None or item.retired:
            return None
        return ServedAttempt(
            token=row.token,
            user_id=user_id,
            item_id=row.item_id,
            card_version=row.card_version,
            served_at=row.served_at,
            reason=row.reason,
            predicted_correct=row.predicted_correct,
            scope=row.scope,
        )

    def _served(
        self,
        session: Session,
        attempt: ServedAttempt,
        reason: Reason | None,
        state: LearnerState | None = None,
    ) -> ServedItem:
        item = self.item_record(session, attempt.item_id)
        assert item is not None
        intervals = None
        if item.kind is ItemKind.MCQ:
            shown = ("stem", "choices", "figure")
            body = {key: item.body[key] for key in shown if key in item.body}
        else:
            body = dict(item.body)
            index = self.catalog(session).index.get(item.id) if state is not None else None
            if state is not None and index is not None:  # the learner's cards are loaded
                card = state.cards.get(index) or CardMemory.new(attempt.served_at)
                scheduler = state.beliefs.scheduler
            else:
                connection = session.connection()
                row = connection.execute(
                    _CARD_QUERY, {"user_id": attempt.user_id, "item_id": item.id}
                ).first()
                card = card_memory(row) if row else CardMemory.new(attempt.served_at)
                scheduler = (
                    state.beliefs.scheduler
                    if state is not None
                    else scheduler_from(
                        connection.execute(_PARAMETERS_QUERY, {"user_id": attempt.user_id}).scalar()
                    )
                )
            previews = scheduler.preview_intervals(card, attempt.served_at)
            intervals = {int(rating): interval for rating, interval in previews.items()}
        return ServedItem(
            token=attempt.token,
            item_id=item.id,
            kind=item.kind,
            format=item.format,
            test_code=item.test_code,
            area_code=item.area_code,
            body=body,
            reason=reason,
            reason_text=attempt.reason,
            served_at=attempt.served_at,
            intervals=intervals,
        )

    def _feedback(self, session: Session, review: Review, *, duplicate: bool) -> AnswerResult:
        item = self.item_record(session, review.item_id)
        assert item is not None
        due = (
            session.connection()
            .execute(_CARD_DUE_QUERY, {"user_id": review.user_id, "item_id": review.item_id})
            .scalar()
        )
        return _answer_result(
            item,
            correct=review.correct,
            rating=review.rating,
            choice=review.choice,
            unsure=review.unsure,
            answered_at=review.answered_at,
            due=due if due is not None else review.answered_at,
            token=review.attempt_token,
            duplicate=duplicate,
        )

    # -- the study page, feedback and sessions ------------------------------------------------

    def study_screen(
        self,
        user_id: int,
        *,
        now: datetime,
        rng: np.random.Generator,
        focus_area: str | None = None,
        focus_assignment: int | None = None,
    ) -> StudyScreen:
        """The next item (or the open one), today's progress and the sitting, in one go.

        Starts a sitting (with a snapshot of area mastery for its summary) when the learner
        has been away for more than 30 minutes.

        Raises:
            InvalidInputError: a focus area that is not one of the learner's goal areas.
        """
        new_sitting = None
        with transaction(self.engine) as session:
            state = self._load_learner(session, user_id, now)
            catalog = self.catalog(session)
            areas = catalog.blueprint.areas()
            if focus_area is not None and (
                focus_area not in areas or areas[focus_area].test_code not in state.goals
            ):
                raise InvalidInputError(f"{focus_area} is not an area of your tests")
            # Today's progress, the current sitting's start and the open attempt in one
            # statement (nothing below writes a review, and the new attempt is written after
            # planning, so reading them first changes nothing).
            today, session_items, sitting, open_row = self._today(
                session,
                user_id,
                state.user.timezone,
                state.user.daily_goal_minutes,
                now,
                in_sitting=True,
            )
            if sitting is None and state.goals:
                mastery = area_mastery(
                    catalog,
                    state.cards,
                    state.beliefs,
                    now=now,
                    exam_at=summary_horizons(state.goals, now),
                )
                new_sitting = StudySession(
                    user_id=user_id,
                    started_at=now,
                    last_activity_at=now,
                    mastery_before={
                        a.area_code: {"now": a.mastery_now, "later": a.mastery_at_exam}
                        for a in mastery
                    },
                )
            focus_name = f"{focus_area} {areas[focus_area].name}" if focus_area else None
            if focus_assignment is not None:
                found = [
                    info
                    for info, _ in self._active_assignments(
                        session, user_id, state.user.timezone, now
                    )
                    if info.id == focus_assignment
                ]
                if not found:
                    raise NotFoundError("that assignment is not open in your classes")
                focus_name = f"assignment “{found[0].deck_name}”"
            served, attempt = self._plan_item(
                session, user_id, now, rng, focus_area, state, focus_assignment, open_row
            )
            attempt = self._record_served_now(session, attempt, new_sitting)
        self._record_served(attempt, new_sitting)
        return StudyScreen(
            served=served,
            today=today,
            has_goals=bool(state.goals),
            focus_area=focus_area,
            focus_label=focus_name,
            session_items=session_items,
            user=state.user,
        )

    def feedback(
        self, user_id: int, token: str, *, now: datetime
    ) -> tuple[AnswerResult, TodayStats]:
        """The feedback for an answered attempt, as often as it is asked for.

        Raises:
            NotFoundError: the token was not answered by this learner.
        """
        if not ATTEMPT_TOKEN.fullmatch(token):
            raise NotFoundError("no answer to show for that question")
        with transaction(self.engine) as session:
            review = session.scalars(
                select(Review).where(col(Review.attempt_token) == token)
            ).first()
            if review is None or review.user_id != user_id:
                raise NotFoundError("no answer to show for that question")
            user = get_user(session, user_id)
            result = self._feedback(session, review, duplicate=False)
            today, _, _, _ = self._today(
                session, user_id, user.timezone, user.daily_goal_minutes, now
            )
            return result, today

    def _current_sitting(self, session: Session, user_id: int, now: datetime) -> datetime | None:
        """When the learner's current sitting started (None: away for over 30 minutes)."""
        started: datetime | None = (
            session.connection()
            .execute(_SITTING_QUERY, {"user_id": user_id, "idle_since": now - SESSION_IDLE})
            .scalar()
        )
        return started

    def _today(
        self,
        session: Session,
        user_id: int,
        timezone: str,
        goal_minutes: int,
        now: datetime,
        *,
        in_sitting: bool = False,
    ) -> tuple[TodayStats, int, datetime | None, Any]:
        """Today's progress in one aggregate query, whose cost stays the same however many
        items the learner did today; with ``in_sitting``, also the current sitting's start
        (see :meth:`_current_sitting`; None: away for over 30 minutes), the answers since
        it (0 without a sitting) and the row :meth:`_open_attempt` looks at (None without
        ``in_sitting``). Time per answer is counted as :func:`engine.activity.study_days`
        counts it."""
        midnight = start_of_day(now, zone_named(timezone))
        query = _TODAY_IN_SITTING_QUERY if in_sitting else _TODAY_QUERY
        row = (
            session.connection()
            .execute(
                query,
                {
                    "user_id": user_id,
                    "midnight": midnight,
                    "idle_since": now - SESSION_IDLE,
                    "since": now - OPEN_ATTEMPT_TTL,
                },
            )
            .one()
        )
        stats = TodayStats(
            items=int(row.items), minutes=int(row.spent_ms) / 60_000, goal_minutes=goal_minutes
        )
        return stats, int(row.in_sitting), row.sitting_started, row if in_sitting else None

    def figure_svg(self, item_id: str) -> str:
        """The SVG figure of an active item.

        Raises:
            NotFoundError: no such item, or it has no figure.
        """
        with transaction(self.engine) as session:
            item = session.get(Item, item_id)
            figure = item.body.get("figure") if item is not None and not item.retired else None
            if not figure:
                raise NotFoundError(f"no figure for {item_id}")
            return str(figure["svg"])

    # -- placement ----------------------------------------------------------------------------

    def placement_items(self, user_id: int, *, rng: np.random.Generator) -> list[PlacementItem]:
        """About two multiple-choice items per area of the learner's goal tests, never seen
        before, shuffled. Nothing is recorded until :meth:`record_placement`."""
        with transaction(self.engine) as session:
            goals = set(
                session.scalars(select(col(Goal.test_code)).where(col(Goal.user_id) == user_id))
            )
            seen = set(
                session.scalars(
                    select(col(CardState.item_id)).where(col(CardState.user_id) == user_id)
                )
            )
            rows = session.scalars(
                select(Item)
                .where(
                    col(Item.test_code).in_(goals),
                    col(Item.kind) == ItemKind.MCQ.value,
                    col(Item.retired) == False,  # noqa: E712
                )
                .order_by(col(Item.id))
            ).all()
        by_area: dict[str, list[Item]] = {}
        for row in rows:
            if row.id not in seen:
                by_area.setdefault(row.area_code, []).append(row)
        picked: list[PlacementItem] = []
        for area_code in sorted(by_area):
            candidates = by_area[area_code]
            shuffled = [candidates[int(i)] for i in rng.permutation(len(candidates))]
            # Medium items first: they tell apart "knows the area" from "does not".
            shuffled.sort(key=lambda row: row.difficulty != 2)
            for row in shuffled[:PLACEMENT_PER_AREA]:
                picked.append(
                    PlacementItem(
                        item_id=row.id,
                        area_code=row.area_code,
                        stem=row.body["stem"],
                        choices=tuple(row.body["choices"]),
                        figure=row.body.get("figure"),
                    )
                )
        return [picked[int(i)] for i in rng.permutation(len(picked))]

    def record_placement(
        self, user_id: int, answers: Mapping[str, str | None], *, now: datetime
    ) -> dict[str, AreaEvidence]:
        """Turn placement answers (item id → letter, or None for "I don't know") into area
        evidence. No review is recorded: there was no feedback, so nothing was studied.

        Raises:
            InvalidInputError: an item that is not a multiple-choice item of the learner's
                tests, or a choice that is not A-D.
        """
        with transaction(self.engine, write=True) as session:
            get_user(session, user_id)
            goals = set(
                session.scalars(select(col(Goal.test_code)).where(col(Goal.user_id) == user_id))
            )
            evidence: dict[str, list[float]] = {}
            for item_id, choice in answers.items():
                item = session.get(Item, item_id)
                if item is None or item.kind != ItemKind.MCQ.value or item.test_code not in goals:
                    raise InvalidInputError(f"{item_id!r} is not a placement question for you")
                if choice is not None and choice not in CHOICE_LETTERS:
                    raise InvalidInputError(f"choice must be A-D or blank, got {choice!r}")
                guess = ItemKind.MCQ.guess_rate
                if choice is None:
                    known = 0.0
                else:
                    known = ((choice == item.body["answer"]) - guess) / (1 - guess)
                total = evidence.setdefault(item.area_code, [0.0, 0.0])
                total[0] += 1
                total[1] += known
            for area_code, (attempts, known) in evidence.items():
                prior = session.get(AreaPrior, (user_id, area_code)) or AreaPrior(
                    user_id=user_id, area_code=area_code, updated_at=now
                )
                prior.attempts = attempts
                prior.known = known
                prior.updated_at = now
                session.add(prior)
            return {code: AreaEvidence(a, k) for code, (a, k) in evidence.items()}


# -- the study loop's statements, built once ---------------------------------------------------

_CARD_COLUMNS = (
    col(CardState.state),
    col(CardState.step),
    col(CardState.stability),
    col(CardState.difficulty),
    col(CardState.due),
    col(CardState.last_review),
    col(CardState.reps),
    col(CardState.lapses),
    col(CardState.proven_interval_days),
)
_CARD_QUERY = select(*_CARD_COLUMNS).where(
    col(CardState.user_id) == bindparam("user_id"), col(CardState.item_id) == bindparam("item_id")
)
_CARD_DUE_QUERY = select(col(CardState.due)).where(
    col(CardState.user_id) == bindparam("user_id"), col(CardState.item_id) == bindparam("item_id")
)
_PARAMETERS_QUERY = select(col(LearnerParameters.parameters)).where(
    col(LearnerParameters.user_id) == bindparam("user_id")
)
_PARAMETERS_FOR_UPDATE = (
    select(
        col(LearnerParameters.parameters),
        col(LearnerParameters.calibration),
        *STORED_CURVE_COLUMNS,
    )
    .where(col(LearnerParameters.user_id) == bindparam("user_id"))
    .with_for_update()
)


def _attempts_with_answers_and_cards(*columns: Any) -> Any:
    """``columns`` of attempts, each joined with its answer (review) and its card state, if
    any: what answering and re-serving an attempt both need to know."""
    return (
        select(*columns)
        .select_from(Attempt)
        .outerjoin(Review, col(Review.attempt_token) == col(Attempt.token))
        .outerjoin(
            CardState,
            (col(CardState.user_id) == col(Attempt.user_id))
            & (col(CardState.item_id) == col(Attempt.item_id)),
        )
    )


_ANSWER_COLUMNS: tuple[Any, ...] = (
    col(Attempt.user_id),
    col(Attempt.item_id),
    col(Attempt.card_version),
    col(Attempt.served_at),
    col(Attempt.predicted_correct),
    col(Review.id).label("review_id"),
    *_CARD_COLUMNS,
    col(CardState.introduced_at),
    col(CardState.first_correct),
    col(CardState.version),
    REVISION_QUERY.scalar_subquery().label("revision"),
    select(func.max(col(StudySession.last_activity_at)))
    .where(col(StudySession.user_id) == col(Attempt.user_id))
    .scalar_subquery()
    .label("sitting_active_at"),
)
_ANSWER_QUERY: Any = _attempts_with_answers_and_cards(*_ANSWER_COLUMNS).where(
    col(Attempt.token) == bindparam("token")
)
# The same with the learner's parameters, locked (PostgreSQL) for the read, update and write
# back of the calibration: one statement where two were, on every answer but a learner's
# first (no parameters yet) and on attempts that are not the learner's (no row: see above).
_ANSWER_QUERY_WITH_PARAMETERS: Any = (
    _attempts_with_answers_and_cards(*_ANSWER_COLUMNS, *_PARAMETERS_FOR_UPDATE.selected_columns)
    .join(LearnerParameters, col(LearnerParameters.user_id) == col(Attempt.user_id))
    .where(col(Attempt.token) == bindparam("token"), col(Attempt.user_id) == bindparam("user_id"))
    .with_for_update(of=LearnerParameters)
)
_LATEST = Attempt.__table__.alias("latest")  # type: ignore[attr-defined]
_OPEN_ATTEMPT_QUERY = _attempts_with_answers_and_cards(
    col(Attempt.token),
    col(Attempt.item_id),
    col(Attempt.card_version),
    col(Attempt.served_at),
    col(Attempt.reason),
    col(Attempt.predicted_correct),
    col(Attempt.scope),
    col(CardState.version),
).where(
    col(Attempt.token)
    == (
        select(_LATEST.c.token)
        .where(
            _LATEST.c.user_id == bindparam("user_id"),
            _LATEST.c.served_at >= bindparam("since"),
        )
        .order_by(_LATEST.c.served_at.desc())
        .limit(1)
        .scalar_subquery()
    ),
    col(Review.id).is_(None),
)
_SITTING_QUERY = (
    select(col(StudySession.started_at))
    .where(
        col(StudySession.user_id) == bindparam("user_id"),
        col(StudySession.last_activity_at) >= bindparam("idle_since"),
    )
    .order_by(col(StudySession.started_at).desc())
    .limit(1)
)
_TOUCH_SITTING = (
    update(StudySession)
    .where(
        col(StudySession.user_id) == bindparam("b_user_id"),
        col(StudySession.last_activity_at) >= bindparam("idle_since"),
    )
    .values(last_activity_at=bindparam("now"))
)
# Executed with the new values keyed by column name (SET) and the ``b_`` keys (WHERE).
_UPDATE_CARD = update(CardState).where(
    col(CardState.user_id) == bindparam("b_user_id"),
    col(CardState.item_id) == bindparam("b_item_id"),
    col(CardState.version) == bindparam("b_version"),
)
_INSERT_CARD = insert(CardState)
_INSERT_REVIEW = insert(Review)
_UPDATE_PARAMETERS = update(LearnerParameters).where(
    col(LearnerParameters.user_id) == bindparam("b_user_id")
)


def _today_query(in_sitting: bool) -> Any:
    answered_at = col(Review.answered_at)
    response_ms = col(Review.response_ms)
    cap_ms = MAX_ANSWER_SECONDS * 1000
    spent_ms = case(
        (response_ms.is_(None), DEFAULT_ANSWER_SECONDS * 1000),
        (response_ms > cap_ms, cap_ms),
        else_=response_ms,
    )
    midnight = bindparam("midnight", type_=UTCDateTime())
    today = answered_at >= midnight
    if in_sitting:
        # A CTE, so the sitting is looked up once however often the query refers to it.
        sitting = _SITTING_QUERY.cte("sitting")
        started: Any = select(sitting.c.started_at).scalar_subquery()
        since: Any = func.coalesce(func.sum(case((answered_at >= started, 1), else_=0)), 0)
        lower: Any = case((started < midnight, started), else_=midnight)
    else:
        started, since, lower = null(), literal(0), midnight
    return select(
        func.coalesce(func.sum(case((today, 1), else_=0)), 0).label("items"),
        func.coalesce(func.sum(case((today, spent_ms), else_=0)), 0).label("spent_ms"),
        since.label("in_sitting"),
        started.label("sitting_started"),
    ).where(col(Review.user_id) == bindparam("user_id"), answered_at >= lower)


_TODAY_QUERY = _today_query(in_sitting=False)
_TODAY_IN_SITTING = _today_query(in_sitting=True).subquery("today")
_OPEN_ATTEMPT = _OPEN_ATTEMPT_QUERY.subquery("open_attempt")
# The study page's one read of the day: today's figures and the sitting, and beside them
# the open attempt's columns (all NULL when there is none).
_TODAY_IN_SITTING_QUERY = select(_TODAY_IN_SITTING, _OPEN_ATTEMPT).select_from(
    _TODAY_IN_SITTING.outerjoin(_OPEN_ATTEMPT, true())
)


def _answer_result(
    item: ItemRecord,
    *,
    correct: bool,
    rating: int,
    choice: str | None,
    unsure: bool,
    answered_at: datetime,
    due: datetime,
    token: str,
    duplicate: bool,
) -> AnswerResult:
    body = item.body
    rationale = None
    if choice and choice != body.get("answer"):
        rationale = body.get("rationales", {}).get(choice)
    return AnswerResult(
        item_id=item.id,
        kind=item.kind,
        correct=correct,
        rating=rating,
        choice=choice,
        key=body.get("answer"),
        explanation=body.get("explanation") or body.get("back"),
        rationale=rationale,
        due=due,
        answered_at=answered_at,
        duplicate=duplicate,
        body=body,
        area_code=item.area_code,
        unsure=unsure,
        token=token,
    )
