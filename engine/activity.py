"""Study activity over calendar days: minutes and items per day, streaks. Pure.

Days are the learner's local days. Time per answer is capped so a question left open while
the learner walked away does not count as an hour of study.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

__all__ = [
    "DEFAULT_ANSWER_SECONDS",
    "MAX_ANSWER_SECONDS",
    "StudyDay",
    "calendar_weeks",
    "items_per_day",
    "streak",
    "study_days",
]

MAX_ANSWER_SECONDS = 300
DEFAULT_ANSWER_SECONDS = 20


@dataclass(frozen=True)
class StudyDay:
    day: date
    items: int = 0
    seconds: float = 0.0

    @property
    def minutes(self) -> float:
        return self.seconds / 60


def study_days(
    answers: Iterable[tuple[datetime, int | None]], zone: tzinfo
) -> dict[date, StudyDay]:
    """Group answers ``(answered_at, response_ms)`` into the learner's local days."""
    items: dict[date, int] = {}
    seconds: dict[date, float] = {}
    for answered_at, response_ms in answers:
        day = answered_at.astimezone(zone).date()
        spent = DEFAULT_ANSWER_SECONDS if response_ms is None else response_ms / 1000
        items[day] = items.get(day, 0) + 1
        seconds[day] = seconds.get(day, 0.0) + min(spent, MAX_ANSWER_SECONDS)
    return {day: StudyDay(day, items[day], seconds[day]) for day in items}


def items_per_day(days: dict[date, StudyDay], today: date, window: int) -> float:
    """Items a day over the last ``window`` days (today included), or since the learner's first
    study day when that is more recent: a learner who began today at 10 items keeps a pace of
    10 a day, not 10 spread over two weeks they were not here for."""
    if window < 1:
        raise ValueError("window must be at least one day")
    recent = [day for day in days.values() if 0 <= (today - day.day).days < window]
    if not recent:
        return 0.0
    first = min(days)
    span = min(window, (today - first).days + 1)
    return sum(day.items for day in recent) / span


def streak(days: Iterable[date], today: date) -> int:
    """Consecutive study days ending today, or ending yesterday while today is still open."""
    studied = set(days)
    cursor = today if today in studied else today - timedelta(days=1)
    count = 0
    while cursor in studied:
        count += 1
        cursor -= timedelta(days=1)
    return count


def calendar_weeks(
    days: dict[date, StudyDay], today: date, weeks: int = 12
) -> list[list[StudyDay]]:
    """``weeks`` rows of Monday..Sunday ending with the week holding ``today``; days after today
    are left out of the last row."""
    monday = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    rows = []
    for week in range(weeks):
        row = []
        for offset in range(7):
            day = monday + timedelta(weeks=week, days=offset)
            if day > today:
                break
            row.append(days.get(day, StudyDay(day)))
        rows.append(row)
    return rows
