"""Accounts and goals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from engine.errors import InvalidInputError
from engine.service.base import (
    EMAIL,
    ROLES,
    USER_INFO_QUERY,
    ServiceBase,
    UserInfo,
    get_user,
    user_info,
    user_info_of,
    zone_named,
)
from engine.store.db import autocommit, transaction
from engine.store.models import (
    Goal,
    Test,
    User,
)

MIN_DAILY_MINUTES = 5
MAX_DAILY_MINUTES = 240


class AccountUseCases(ServiceBase):
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
        zone_named(timezone)
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
                return user_info(user)
        except IntegrityError:
            raise InvalidInputError(f"an account with the email {email} already exists") from None

    def find_user(self, email: str) -> UserInfo | None:
        with transaction(self.engine) as session:
            user = session.scalars(
                select(User).where(col(User.email) == email.strip().lower())
            ).first()
            return user_info(user) if user else None

    def user(self, user_id: int) -> UserInfo:
        with transaction(self.engine) as session:
            return user_info(get_user(session, user_id))

    def set_goals(self, user_id: int, goals: Mapping[str, date | None], *, now: datetime) -> None:
        """Replace the learner's target tests (test code → exam date or None).

        Raises:
            InvalidInputError: an unknown test code, or an exam date in the past.
        """
        with transaction(self.engine, write=True) as session:
            self._replace_goals(session, user_id, goals, now)

    def _replace_goals(
        self, session: Session, user_id: int, goals: Mapping[str, date | None], now: datetime
    ) -> None:
        user = get_user(session, user_id)
        known = set(session.scalars(select(col(Test.code))).all())
        unknown = sorted(set(goals) - known)
        if unknown:
            raise InvalidInputError(f"unknown test code(s): {', '.join(unknown)}")
        today = now.astimezone(zone_named(user.timezone)).date()
        for code, exam_date in goals.items():
            if exam_date is not None and exam_date < today:
                raise InvalidInputError(f"the exam date for {code} ({exam_date}) is in the past")
            if exam_date is not None and exam_date > today.replace(year=today.year + 3):
                raise InvalidInputError(f"the exam date for {code} is more than 3 years away")
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

    def find_user_by_id(self, user_id: int) -> UserInfo | None:
        """The account, or None. On every signed-in request: one plain statement."""
        with autocommit(self.engine) as connection:
            row = connection.execute(USER_INFO_QUERY, {"user_id": user_id}).first()
        return user_info_of(row) if row is not None else None

    def credentials(self, email: str) -> tuple[UserInfo, str] | None:
        """The account and its password hash, for checking a log-in (None: no such email)."""
        with transaction(self.engine) as session:
            user = session.scalars(
                select(User).where(col(User.email) == email.strip().lower())
            ).first()
            return (user_info(user), user.password_hash) if user else None

    def change_password(self, user_id: int, password_hash: str) -> None:
        with transaction(self.engine, write=True) as session:
            user = get_user(session, user_id)
            user.password_hash = password_hash
            session.add(user)

    def save_plan(
        self,
        user_id: int,
        goals: Mapping[str, date | None],
        *,
        daily_goal_minutes: int,
        now: datetime,
    ) -> None:
        """Set the learner's target tests, exam dates and daily minutes in one go.

        Raises:
            InvalidInputError: no test, an unknown test, a past exam date, or minutes outside
                5–240.
        """
        if not goals:
            raise InvalidInputError("choose at least one test to study for")
        if not MIN_DAILY_MINUTES <= daily_goal_minutes <= MAX_DAILY_MINUTES:
            raise InvalidInputError(
                f"daily goal must be {MIN_DAILY_MINUTES} to {MAX_DAILY_MINUTES} minutes"
            )
        with transaction(self.engine, write=True) as session:
            self._replace_goals(session, user_id, goals, now)
            user = get_user(session, user_id)
            user.daily_goal_minutes = daily_goal_minutes
            session.add(user)
