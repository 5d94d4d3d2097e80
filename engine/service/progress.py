"""Mastery, readiness and progress: what the learner's home, progress and summary pages show."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlmodel import Session, col

from engine.activity import StudyDay, calendar_weeks, items_per_day, streak, study_days
from engine.forecast import ForecastPoint, forecast
from engine.mastery import AreaMastery, area_mastery
from engine.readiness import Readiness, readiness
from engine.service.base import (
    NO_EXAM_DAYS,
    LearnerState,
    ServiceBase,
    exam_horizons,
    summary_horizons,
    zone_named,
)
from engine.store.db import transaction
from engine.store.models import Review, StudySession

__all__ = ["AreaChange", "HomeOverview", "ProgressReport", "ProgressUseCases", "SessionSummary"]

CALENDAR_WEEKS = 12
PACE_DAYS = 14
FORECAST_MAX_DAYS = 120
STREAK_LOOKBACK_DAYS = 120


@dataclass(frozen=True)
class ProgressReport:
    """The progress page: readiness and mastery per goal test, activity and a forecast."""

    readiness: list[Readiness]
    areas: list[AreaMastery]
    calendar: list[list[StudyDay]]
    streak_days: int
    today: StudyDay
    items_per_day: float
    forecast: list[ForecastPoint]
    cut_score: float
    reviews: int

    def areas_of(self, test_code: str) -> list[AreaMastery]:
        return [area for area in self.areas if area.test_code == test_code]


@dataclass(frozen=True)
class AreaChange:
    """How an area's mastery moved in a sitting, judged at the exam (or a week on: see
    :func:`engine.service.base.summary_horizons`)."""

    area_code: str
    area_name: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class SessionSummary:
    """What a sitting achieved."""

    started_at: datetime | None
    items: int
    correct: int
    minutes: float
    changes: list[AreaChange]

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.items if self.items else None


@dataclass(frozen=True)
class HomeOverview:
    """The learner's home page: today against the daily goal, streak, readiness at a glance."""

    display_name: str
    has_goals: bool
    today: StudyDay
    goal_minutes: int
    streak_days: int
    readiness: list[Readiness]
    cut_score: float


class ProgressUseCases(ServiceBase):
    def home(self, user_id: int, *, now: datetime) -> HomeOverview:
        with transaction(self.engine) as session:
            state = self._load_learner(session, user_id, now)
            zone = zone_named(state.user.timezone)
            today = now.astimezone(zone).date()
            rows = session.execute(
                select(col(Review.answered_at), col(Review.response_ms)).where(
                    col(Review.user_id) == user_id,
                    col(Review.answered_at) >= now - timedelta(days=STREAK_LOOKBACK_DAYS),
                )
            ).all()
            days = study_days([(row[0], row[1]) for row in rows], zone)
            mastery = self._goal_mastery(session, state, now)
            catalog = self.catalog(session)
            return HomeOverview(
                display_name=state.user.display_name,
                has_goals=bool(state.goals),
                today=days.get(today, StudyDay(today)),
                goal_minutes=state.user.daily_goal_minutes,
                streak_days=streak(days, today),
                readiness=[
                    readiness(catalog.blueprint[code], mastery, self.cut_score)
                    for code in sorted(state.goals)
                ],
                cut_score=self.cut_score,
            )

    def area_mastery(self, user_id: int, *, now: datetime) -> list[AreaMastery]:
        """Mastery of every area of the learner's goal tests, now and at each exam."""
        with transaction(self.engine) as session:
            return self._goal_mastery(session, self._load_learner(session, user_id, now), now)

    def readiness(self, user_id: int, *, now: datetime) -> list[Readiness]:
        """Predicted score and pass probability for each goal test (an estimate)."""
        mastery = self.area_mastery(user_id, now=now)
        catalog = self.catalog()
        codes = sorted({area.test_code for area in mastery})
        return [readiness(catalog.blueprint[code], mastery, self.cut_score) for code in codes]

    def progress(self, user_id: int, *, now: datetime) -> ProgressReport:
        """Readiness, mastery per area, a study calendar and streak, and a forecast of the
        predicted score at the learner's recent pace (items per day over two weeks, or since
        they began)."""
        with transaction(self.engine) as session:
            state = self._load_learner(session, user_id, now)
            catalog = self.catalog(session)
            zone = zone_named(state.user.timezone)
            today = now.astimezone(zone).date()
            since = now - timedelta(weeks=CALENDAR_WEEKS, days=1)
            rows = session.execute(
                select(col(Review.answered_at), col(Review.response_ms)).where(
                    col(Review.user_id) == user_id, col(Review.answered_at) >= since
                )
            ).all()
            days = study_days([(row[0], row[1]) for row in rows], zone)
            pace = items_per_day(days, today, PACE_DAYS)
            mastery = self._goal_mastery(session, state, now)
            tests = sorted(state.goals)
            horizon = max(
                (
                    (exam - now).days + 1
                    for exam in state.goals.values()
                    if exam is not None and exam > now
                ),
                default=NO_EXAM_DAYS,
            )
            points = forecast(
                catalog,
                state.cards,
                state.beliefs,
                state.goals,
                now=now,
                items_per_day=round(pace),
                rng=np.random.default_rng(user_id),
                days=min(horizon, FORECAST_MAX_DAYS),
                settings=self.planner,
            )
            return ProgressReport(
                readiness=[
                    readiness(catalog.blueprint[code], mastery, self.cut_score) for code in tests
                ],
                areas=mastery,
                calendar=calendar_weeks(days, today, CALENDAR_WEEKS),
                streak_days=streak(days, today),
                today=days.get(today, StudyDay(today)),
                items_per_day=pace,
                forecast=points,
                cut_score=self.cut_score,
                reviews=int(state.cards.reps.sum()),
            )

    def session_summary(self, user_id: int, *, now: datetime) -> SessionSummary:
        """The learner's latest sitting: items, accuracy, minutes and how each area moved."""
        with transaction(self.engine) as session:
            sitting = session.scalars(
                select(StudySession)
                .where(col(StudySession.user_id) == user_id)
                .order_by(col(StudySession.started_at).desc())
                .limit(1)
            ).first()
            if sitting is None:
                return SessionSummary(None, 0, 0, 0.0, [])
            state = self._load_learner(session, user_id, now)
            rows = session.execute(
                select(col(Review.answered_at), col(Review.response_ms), col(Review.correct)).where(
                    col(Review.user_id) == user_id, col(Review.answered_at) >= sitting.started_at
                )
            ).all()
            seconds = sum(
                day.seconds
                for day in study_days([(r[0], r[1]) for r in rows], zone_named("UTC")).values()
            )
            horizons = summary_horizons(state.goals, now)
            changes = []
            for area in area_mastery(
                self.catalog(session), state.cards, state.beliefs, now=now, exam_at=horizons
            ):
                before = sitting.mastery_before.get(area.area_code)
                if area.test_code not in state.goals or before is None:
                    continue
                if isinstance(before, dict):
                    change = AreaChange(
                        area.area_code, area.area_name, before["later"], area.mastery_at_exam
                    )
                else:  # a sitting begun before snapshots kept the later figure
                    change = AreaChange(area.area_code, area.area_name, before, area.mastery_now)
                if abs(change.change) >= 0.005:
                    changes.append(change)
            changes.sort(key=lambda change: -abs(change.change))
            return SessionSummary(
                started_at=sitting.started_at,
                items=len(rows),
                correct=sum(bool(r[2]) for r in rows),
                minutes=seconds / 60,
                changes=changes,
            )

    def _goal_mastery(
        self, session: Session, state: LearnerState, now: datetime
    ) -> list[AreaMastery]:
        """Mastery of the goal tests' areas, now and at each exam; a test without an exam date
        (or with one past) is judged ``NO_EXAM_DAYS`` on, as the forecast runs, and keeps
        ``exam_at`` None."""
        horizons = exam_horizons(state.goals, now, timedelta(days=NO_EXAM_DAYS))
        return [
            replace(area, exam_at=state.goals[area.test_code])
            for area in area_mastery(
                self.catalog(session), state.cards, state.beliefs, now=now, exam_at=horizons
            )
            if area.test_code in state.goals
        ]
