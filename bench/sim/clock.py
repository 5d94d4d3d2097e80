"""Simulated time: seconds since the first study session, and the datetimes the engine needs.

Every learner studies once a day, starting at 18:00 UTC; day ``d``'s session starts at
``d * DAY`` seconds. Exams are sat at 09:00 on their day, before that day's session, so an exam
on day 14 follows 14 study sessions (days 0–13).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

__all__ = ["DAY", "EXAM_HOUR_OFFSET", "START", "exam_time", "study_day", "to_datetime"]

DAY = 86_400.0
START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # a Monday, 18:00 UTC
EXAM_HOUR_OFFSET = 9 * 3600.0  # the exam (09:00) is nine hours before the 18:00 session
ROLLOVER_OFFSET = 14 * 3600.0  # Anki's day starts at 04:00, fourteen hours before 18:00


def to_datetime(seconds: float) -> datetime:
    """The UTC datetime ``seconds`` after the first session started (whole microseconds)."""
    return START + timedelta(microseconds=round(seconds * 1e6))


def exam_time(day: int) -> float:
    """Seconds since the start at which an exam on ``day`` is sat (09:00 that day)."""
    return day * DAY - EXAM_HOUR_OFFSET


def study_day(t: float | np.ndarray) -> np.ndarray:
    """The calendar study day of ``t`` with Anki's 04:00 rollover: day ``d``'s session is on
    study day ``d`` and a review the next evening is one day later, whatever the clock time."""
    return np.floor((np.asarray(t, dtype=np.float64) + ROLLOVER_OFFSET) / DAY)
