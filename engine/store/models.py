"""Tables (SQLModel). Schema changes go through Alembic migrations in ``migrations/``.

Datetimes are stored as UTC and always leave this layer UTC-aware (SQLite hands back naive
values; :class:`UTCDateTime` re-attaches UTC). Reviews are append-only and are the source of
truth: a card state can always be rebuilt by replaying its reviews.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "Area",
    "AreaPrior",
    "Assignment",
    "Attempt",
    "CardState",
    "Classroom",
    "Deck",
    "Enrollment",
    "Goal",
    "Invite",
    "Item",
    "LearnerParameters",
    "Review",
    "Setting",
    "StudySession",
    "Test",
    "UTCDateTime",
    "User",
]


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC on every database.

    Raises:
        ValueError: when binding a naive datetime (its zone would be a guess).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; attach a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _utc(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class User(SQLModel, table=True):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="student", max_length=20)
    timezone: str = Field(default="UTC", max_length=64)
    daily_goal_minutes: int = Field(default=20, sa_column_kwargs={"server_default": "20"})
    created_at: datetime = _utc()


class Test(SQLModel, table=True):
    __tablename__ = "ase_test"
    __test__ = False  # not a pytest class

    code: str = Field(primary_key=True, max_length=8)
    name: str = Field(max_length=200)
    scored_questions: int
    time_minutes: int | None = None
    edition: str = Field(default="", max_length=40)
    source: str = Field(default="")
    position: int = 0


class Area(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=12)
    test_code: str = Field(foreign_key="ase_test.code", max_length=8, index=True)
    name: str = Field(max_length=200)
    scored_questions: int
    position: int = 0


class Item(SQLModel, table=True):
    """An item of a bank. Never deleted: removed items are retired so reviews keep their item."""

    id: str = Field(primary_key=True, max_length=32)
    test_code: str = Field(foreign_key="ase_test.code", max_length=8, index=True)
    area_code: str = Field(foreign_key="area.code", max_length=12, index=True)
    kind: str = Field(max_length=16)
    format: str | None = Field(default=None, max_length=16)
    scenario: bool = False
    difficulty: int = 2
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    retired: bool = False
    origin: str = Field(default="bank", max_length=16)
    source: str = Field(default="", max_length=300)
    updated_at: datetime = _utc()


class Goal(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("user_id", "test_code"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    test_code: str = Field(foreign_key="ase_test.code", max_length=8)
    exam_date: date | None = None
    created_at: datetime = _utc()


class Deck(SQLModel, table=True):
    """A set of items: built in (``key`` like ``test:A6`` or ``area:A6.E``, no owner) or an
    instructor's own (``selection`` of tests, areas and item ids, or an uploaded file's items)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    key: str | None = Field(default=None, max_length=40, unique=True)
    owner_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    selection: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()


class Classroom(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    instructor_id: int = Field(foreign_key="user_account.id", index=True)
    join_code: str = Field(max_length=16, unique=True)
    test_codes: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    created_at: datetime = _utc()


class Enrollment(SQLModel, table=True):
    class_id: int = Field(foreign_key="classroom.id", primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", primary_key=True, index=True)
    sourced_id: str | None = Field(default=None, max_length=64)
    joined_at: datetime = _utc()


class Assignment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="classroom.id", index=True)
    deck_id: int = Field(foreign_key="deck.id")
    starts_on: date
    due_on: date
    goal: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()


class CardState(SQLModel, table=True):
    """One learner's FSRS memory of one item. ``version`` counts the answers applied to it;
    an answer served against another version is refused."""

    __tablename__ = "card_state"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    item_id: str = Field(foreign_key="item.id", primary_key=True, max_length=32)
    state: int
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime = _utc()
    last_review: datetime | None = _utc(nullable=True)
    reps: int = 0
    lapses: int = 0
    proven_interval_days: float = 0.0
    introduced_at: datetime = _utc()
    first_correct: bool = False
    version: int = 0


class Attempt(SQLModel, table=True):
    """An item as served: the one-time token an answer must carry, and the card version it
    was served against."""

    token: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id")
    item_id: str = Field(foreign_key="item.id", max_length=32)
    card_version: int
    served_at: datetime = _utc()
    reason: str = Field(default="", max_length=300)
    predicted_correct: float = 0.0
    scope: str = Field(default="", max_length=64)

    __table_args__ = (Index("ix_attempt_user_served", "user_id", "served_at"),)


class Review(SQLModel, table=True):
    """An answer. Append-only."""

    __table_args__ = (
        Index("ix_review_user_answered", "user_id", "answered_at"),
        Index("ix_review_user_item", "user_id", "item_id", "answered_at"),
    )

    id: int | None = Field(
        default=None,
        # BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER primary key.
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    )
    user_id: int = Field(foreign_key="user_account.id")
    item_id: str = Field(foreign_key="item.id", max_length=32)
    answered_at: datetime = _utc()
    rating: int
    correct: bool
    choice: str | None = Field(default=None, max_length=1)
    unsure: bool = False
    response_ms: int | None = None
    attempt_token: str = Field(max_length=64, unique=True)
    predicted_correct: float = 0.0
    elapsed_days: int = 0
    # The learner's first answer to this item: the evidence item analysis is built on.
    first_attempt: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class LearnerParameters(SQLModel, table=True):
    """A learner's fitted FSRS parameters (None: the defaults) and their calibration."""

    __tablename__ = "learner_parameters"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    parameters: list[float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    fitted_at: datetime | None = _utc(nullable=True)
    review_count: int = 0
    log_loss: float | None = None
    calibration: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # Each memory group's curve (stability scale, decay) as the calibration and parameters
    # imply it (engine.service.base.store_curves), so reports compute recall in SQL for a
    # whole school at once. NULL: not yet computed; reports then use a fresh learner's.
    scale_failed_once: float | None = None
    decay_failed_once: float | None = None
    scale_failed_restudied: float | None = None
    decay_failed_restudied: float | None = None
    scale_known_at_first: float | None = None
    decay_known_at_first: float | None = None
    scale_settled: float | None = None
    decay_settled: float | None = None
    # The calibration's factors on the stability of easy (author difficulty 1) and hard (3)
    # items (StabilityCalibration.item_scales; middling ones: 1), kept the same way.
    item_scale_easy: float | None = None
    item_scale_hard: float | None = None
    updated_at: datetime = _utc()


class AreaPrior(SQLModel, table=True):
    """Placement-check evidence about one area: items known among attempts (guessing removed)."""

    __tablename__ = "area_prior"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    area_code: str = Field(foreign_key="area.code", primary_key=True, max_length=12)
    attempts: float = 0.0
    known: float = 0.0
    updated_at: datetime = _utc()


class StudySession(SQLModel, table=True):
    """A sitting: starts with the learner's area mastery so the summary can say what moved."""

    __tablename__ = "study_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    started_at: datetime = _utc()
    last_activity_at: datetime = _utc()
    mastery_before: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class Invite(SQLModel, table=True):
    """A one-time link for a rostered student to set their password. Only its hash is kept."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    used_at: datetime | None = _utc(nullable=True)


class Setting(SQLModel, table=True):
    """Small key/value facts about the database itself (e.g. the loaded content revision)."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="")
