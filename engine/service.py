"""Use cases: each public method is one unit of work in one transaction.

The service loads plain data from the store, calls the pure engine, and writes the result.
Views call exactly one of these per request. Errors are :mod:`engine.errors` exceptions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from sqlalchemy import CursorResult, Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from engine.answering import Answer, apply_answer
from engine.blueprint import AreaSpec, Blueprint, TestSpec
from engine.catalog import CardTable, ItemCatalog, ItemInfo
from engine.content import Bank
from engine.errors import ContentError, InvalidInputError, NotFoundError, StaleAttemptError
from engine.learner import start_of_day
from engine.mastery import AreaMastery, Beliefs, area_mastery, prior_known
from engine.readiness import DEFAULT_CUT_SCORE, Readiness, readiness
from engine.scheduling import (
    CardMemory,
    GradingPolicy,
    ItemKind,
    MemoryScheduler,
    Rating,
    RngFactory,
    StabilityCalibration,
    State,
)
from engine.selector import PlannerSettings, Reason, StudyContext, select_next
from engine.store.db import transaction
from engine.store.models import (
    Area,
    Attempt,
    CardState,
    Goal,
    Item,
    LearnerParameters,
    Review,
    Setting,
    Test,
    User,
)

__all__ = [
    "ROLES",
    "AnswerResult",
    "LoadReport",
    "ServedItem",
    "StudyService",
    "UserInfo",
]

ROLES = ("student", "instructor", "admin")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
EXAM_HOUR = time(9, 0)
OPEN_ATTEMPT_TTL = timedelta(minutes=30)
TYPICAL_TIME_WINDOW = 50
CONTENT_REVISION = "content_revision"


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str
    display_name: str
    role: str
    timezone: str


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


@dataclass(frozen=True)
class LoadReport:
    added: int
    updated: int
    unchanged: int
    retired: int
    revision: str


@dataclass(frozen=True)
class _CatalogSnapshot:
    revision: str
    catalog: ItemCatalog


@dataclass
class _LearnerState:
    user: User
    goals: dict[str, datetime | None]
    cards: CardTable
    versions: dict[str, int]
    beliefs: Beliefs
    calibration: StabilityCalibration


class StudyService:
    """Pitstop's use cases over one database."""

    def __init__(
        self,
        engine: Engine,
        *,
        planner: PlannerSettings = PlannerSettings(),
        grading: GradingPolicy = GradingPolicy(),
        cut_score: float = DEFAULT_CUT_SCORE,
    ) -> None:
        self.engine = engine
        self.planner = planner
        self.grading = grading
        self.cut_score = cut_score
        self._catalog: _CatalogSnapshot | None = None
        self._catalog_lock = threading.Lock()

    # -- content ----------------------------------------------------------------------------

    def load_content(self, bank: Bank, *, now: datetime) -> LoadReport:
        """Load a validated bank: all or nothing.

        Items are matched by id: changed ones (by content hash) are updated, new ones added,
        bank items no longer present are retired. Reviews and card states are never touched.

        Raises:
            ContentError: if the bank has problems (nothing is loaded).
        """
        if bank.problems:
            raise ContentError(list(bank.problems))
        with transaction(self.engine, write=True) as session:
            for position, test in enumerate(bank.blueprint.values()):
                session.merge(
                    Test(
                        code=test.code,
                        name=test.name,
                        scored_questions=test.scored_questions,
                        time_minutes=test.time_minutes,
                        edition=test.edition,
                        source=test.source,
                        position=position,
                    )
                )
                for area_position, area in enumerate(test.areas):
                    session.merge(
                        Area(
                            code=area.code,
                            test_code=test.code,
                            name=area.name,
                            scored_questions=area.scored_questions,
                            position=area_position,
                        )
                    )
            session.flush()
            existing = {
                row.id: row
                for row in session.scalars(select(Item).where(col(Item.origin) == "bank"))
            }
            added = updated = unchanged = 0
            for bank_item in bank.items:
                digest = bank_item.content_hash
                row = existing.pop(bank_item.id, None)
                if row is not None and row.content_hash == digest and not row.retired:
                    unchanged += 1
                    continue
                if row is None:
                    row = Item(
                        id=bank_item.id,
                        test_code=bank_item.test_code,
                        area_code=bank_item.area_code,
                        kind=bank_item.kind.value,
                        body={},
                        content_hash="",
                        updated_at=now,
                    )
                    added += 1
                else:
                    updated += 1
                row.test_code = bank_item.test_code
                row.area_code = bank_item.area_code
                row.kind = bank_item.kind.value
                row.format = bank_item.format
                row.scenario = bank_item.scenario
                row.difficulty = bank_item.difficulty
                row.body = dict(bank_item.body)
                row.content_hash = digest
                row.retired = False
                row.source = bank_item.source[:300]
                row.updated_at = now
                session.add(row)
            retired = 0
            for row in existing.values():
                if not row.retired:
                    row.retired = True
                    row.updated_at = now
                    session.add(row)
                    retired += 1
            revision = hashlib.sha256(
                "\n".join(sorted(f"{i.id}:{i.content_hash}" for i in bank.items)).encode()
            ).hexdigest()[:16]
            session.merge(Setting(key=CONTENT_REVISION, value=revision))
        return LoadReport(added, updated, unchanged, retired, revision)

    def catalog(self, session: Session | None = None) -> ItemCatalog:
        """The active items as a catalog, cached until the content revision changes."""
        if session is None:
            with transaction(self.engine) as own:
                return self.catalog(own)
        revision = session.get(Setting, CONTENT_REVISION)
        current = revision.value if revision else ""
        with self._catalog_lock:
            if self._catalog is not None and self._catalog.revision == current:
                return self._catalog.catalog
        tests = session.scalars(select(Test).order_by(col(Test.position), col(Test.code))).all()
        areas = session.scalars(select(Area).order_by(col(Area.position))).all()
        blueprint = Blueprint(
            TestSpec(
                code=test.code,
                name=test.name,
                scored_questions=test.scored_questions,
                time_minutes=test.time_minutes,
                edition=test.edition,
                source=test.source,
                areas=tuple(
                    AreaSpec(area.code, area.name, area.scored_questions)
                    for area in areas
                    if area.test_code == test.code
                ),
            )
            for test in tests
        )
        rows = session.execute(
            select(
                col(Item.id),
                col(Item.test_code),
                col(Item.area_code),
                col(Item.kind),
                col(Item.difficulty),
            )
            .where(col(Item.retired) == False)  # noqa: E712
            .order_by(col(Item.id))
        ).all()
        catalog = ItemCatalog(
            [ItemInfo(row[0], row[1], row[2], ItemKind(row[3]), row[4]) for row in rows], blueprint
        )
        with self._catalog_lock:
            self._catalog = _CatalogSnapshot(current, catalog)
        return catalog

    # -- users and goals --------------------------------------------------------------------

    def create_user(
        self,
        *,
        email: str,
        display_name: str,
        password_hash: str,
        now: datetime,
        role: str = "student",
        timezone: str = "UTC",
    ) -> UserInfo:
        """Create an account.

        Raises:
            InvalidInputError: a malformed or taken email, an unknown role or timezone, or an
                empty name.
        """
        email = email.strip().lower()
        if not EMAIL.match(email) or len(email) > 254:
            raise InvalidInputError(f"'{email}' is not a valid email address")
        if role not in ROLES:
            raise InvalidInputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        display_name = display_name.strip()
        if not display_name or len(display_name) > 100:
            raise InvalidInputError("display name must be 1 to 100 characters")
        _zone(timezone)
        try:
            with transaction(self.engine, write=True) as session:
                user = User(
                    email=email,
                    display_name=display_name,
                    password_hash=password_hash,
                    role=role,
                    timezone=timezone,
                    created_at=now,
                )
                session.add(user)
                session.flush()
                return _user_info(user)
        except IntegrityError:
            raise InvalidInputError(f"an account with the email {email} already exists") from None

    def find_user(self, email: str) -> UserInfo | None:
        with transaction(self.engine) as session:
            user = session.scalars(
                select(User).where(col(User.email) == email.strip().lower())
            ).first()
            return _user_info(user) if user else None

    def user(self, user_id: int) -> UserInfo:
        with transaction(self.engine) as session:
            return _user_info(_get_user(session, user_id))

    def set_goals(self, user_id: int, goals: Mapping[str, date | None], *, now: datetime) -> None:
        """Replace the learner's target tests (test code → exam date or None).

        Raises:
            InvalidInputError: an unknown test code, or an exam date in the past.
        """
        with transaction(self.engine, write=True) as session:
            user = _get_user(session, user_id)
            known = set(session.scalars(select(col(Test.code))).all())
            unknown = sorted(set(goals) - known)
            if unknown:
                raise InvalidInputError(f"unknown test code(s): {', '.join(unknown)}")
            today = now.astimezone(_zone(user.timezone)).date()
            for code, exam_date in goals.items():
                if exam_date is not None and exam_date < today:
                    raise InvalidInputError(
                        f"the exam date for {code} ({exam_date}) is in the past"
                    )
            current = {
                goal.test_code: goal
                for goal in session.scalars(select(Goal).where(col(Goal.user_id) == user_id))
            }
            for code, goal in current.items():
                if code not in goals:
                    session.delete(goal)
            for code, exam_date in goals.items():
                goal = current.get(code) or Goal(user_id=user_id, test_code=code, created_at=now)
                goal.exam_date = exam_date
                session.add(goal)

    def goals(self, user_id: int) -> dict[str, date | None]:
        with transaction(self.engine) as session:
            return {
                goal.test_code: goal.exam_date
                for goal in session.scalars(
                    select(Goal).where(col(Goal.user_id) == user_id).order_by(col(Goal.test_code))
                )
            }

    # -- studying ---------------------------------------------------------------------------

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
            zone = _zone(state.user.timezone)
            midnight_us = _epoch_us(start_of_day(now, zone))
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
                    _epoch_us(now),
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
        calibration = _calibration(parameters)
        scheduler = _scheduler(parameters)
        card = _card_memory(row) if row is not None else None
        if card is not None and card.last_review is not None and now < card.last_review:
            now = card.last_review
        result = apply_answer(
            kind=kind,
            key=item.body.get("answer"),
            card=card,
            answer=answer,
            now=now,
            rng=_fuzz_rng(user_id, item.id)(card.reps if card else 0),
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

    # -- progress ---------------------------------------------------------------------------

    def area_mastery(self, user_id: int, *, now: datetime) -> list[AreaMastery]:
        """Mastery of every area of the learner's goal tests, now and at each exam."""
        with transaction(self.engine) as session:
            state = self._load_learner(session, user_id, now)
            catalog = self.catalog(session)
            return [
                area
                for area in area_mastery(
                    catalog, state.cards, state.beliefs, now=now, exam_at=state.goals
                )
                if area.test_code in state.goals
            ]

    def readiness(self, user_id: int, *, now: datetime) -> list[Readiness]:
        """Predicted score and pass probability for each goal test (an estimate)."""
        mastery = self.area_mastery(user_id, now=now)
        catalog = self.catalog()
        codes = sorted({area.test_code for area in mastery})
        return [readiness(catalog.blueprint[code], mastery, self.cut_score) for code in codes]

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
        return _scheduler(parameters).replay(
            [(answered_at, Rating(rating)) for answered_at, rating in reviews],
            _fuzz_rng(user_id, item_id),
        )

    def card_state(self, user_id: int, item_id: str) -> CardMemory | None:
        with transaction(self.engine) as session:
            row = session.get(CardState, (user_id, item_id))
            return _card_memory(row) if row else None

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
            card = _card_memory(row) if row else CardMemory.new(attempt.served_at)
            parameters = session.get(LearnerParameters, attempt.user_id)
            previews = _scheduler(parameters).preview_intervals(card, attempt.served_at)
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

    def _typical_response_ms(self, session: Session, user_id: int) -> int | None:
        times = session.scalars(
            select(col(Review.response_ms))
            .join(Item, col(Item.id) == col(Review.item_id))
            .where(
                col(Review.user_id) == user_id,
                col(Item.kind) == ItemKind.MCQ.value,
                col(Review.response_ms).is_not(None),
            )
            .order_by(col(Review.answered_at).desc())
            .limit(TYPICAL_TIME_WINDOW)
        ).all()
        values = [value for value in times if value is not None]
        return int(np.median(values)) if values else None

    def _load_learner(self, session: Session, user_id: int, now: datetime) -> _LearnerState:
        user = _get_user(session, user_id)
        zone = _zone(user.timezone)
        goals = {
            goal.test_code: (
                datetime.combine(goal.exam_date, EXAM_HOUR, tzinfo=zone).astimezone(UTC)
                if goal.exam_date
                else None
            )
            for goal in session.scalars(select(Goal).where(col(Goal.user_id) == user_id))
        }
        catalog = self.catalog(session)
        columns = (
            col(CardState.item_id),
            col(CardState.state),
            col(CardState.step),
            col(CardState.stability),
            col(CardState.difficulty),
            col(CardState.due),
            col(CardState.last_review),
            col(CardState.reps),
            col(CardState.lapses),
            col(CardState.proven_interval_days),
            col(CardState.introduced_at),
            col(CardState.first_correct),
            col(CardState.version),
        )
        rows = session.execute(select(*columns).where(col(CardState.user_id) == user_id)).all()
        cards, versions = _card_table(catalog, rows)
        parameters = session.get(LearnerParameters, user_id)
        calibration = _calibration(parameters)
        beliefs = Beliefs(scheduler=_scheduler(parameters), stability_scale=calibration.scale)
        return _LearnerState(user, goals, cards, versions, beliefs, calibration)


# -- helpers ---------------------------------------------------------------------------------


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def _user_info(user: User) -> UserInfo:
    assert user.id is not None
    return UserInfo(user.id, user.email, user.display_name, user.role, user.timezone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown timezone {name!r}") from None


def _epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _fuzz_rng(user_id: int, item_id: str) -> RngFactory:
    """Fuzz for a review is drawn from (learner, item, reps): replaying reviews redraws it."""
    return RngFactory(user_id, zlib.crc32(item_id.encode()))


def _scheduler(parameters: LearnerParameters | None) -> MemoryScheduler:
    if parameters is not None and parameters.parameters:
        return MemoryScheduler(parameters=tuple(parameters.parameters))
    return _DEFAULT_SCHEDULER


_DEFAULT_SCHEDULER = MemoryScheduler()


def _calibration(parameters: LearnerParameters | None) -> StabilityCalibration:
    if parameters is None or not parameters.calibration:
        return StabilityCalibration()
    data = parameters.calibration
    return StabilityCalibration(
        log_likelihood=tuple(float(x) for x in data["log_likelihood"]),
        observations=int(data["observations"]),
    )


def _card_memory(row: CardState) -> CardMemory:
    return CardMemory(
        state=State(row.state),
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=row.due,
        last_review=row.last_review,
        reps=row.reps,
        lapses=row.lapses,
        proven_interval_days=row.proven_interval_days,
    )


def _card_table(catalog: ItemCatalog, rows: Sequence[Any]) -> tuple[CardTable, dict[str, int]]:
    """Build a card table from CardState column tuples in one vectorised pass."""
    cards = CardTable(len(catalog))
    versions = {row[0]: int(row[12]) for row in rows}
    present = [(catalog.index[row[0]], row) for row in rows if row[0] in catalog.index]
    if not present:
        return cards, versions
    index = np.array([position for position, _ in present])
    columns = list(zip(*(row for _, row in present), strict=True))
    cards.seen[index] = True
    cards.state[index] = np.array(columns[1], np.int8)
    cards.step[index] = np.array([-1 if step is None else step for step in columns[2]], np.int16)
    cards.stability[index] = np.array(columns[3], dtype=float)
    cards.difficulty[index] = np.array(columns[4], dtype=float)
    cards.due_us[index] = np.array([_epoch_us(moment) for moment in columns[5]], np.int64)
    cards.last_review_us[index] = np.array(
        [_epoch_us(moment) if moment else 0 for moment in columns[6]], np.int64
    )
    cards.reps[index] = np.array(columns[7], np.int32)
    cards.lapses[index] = np.array(columns[8], np.int32)
    cards.proven_days[index] = np.array(columns[9], dtype=float)
    cards.introduced_us[index] = np.array([_epoch_us(moment) for moment in columns[10]], np.int64)
    cards.first_correct[index] = np.array(columns[11], np.int8)
    return cards, versions
