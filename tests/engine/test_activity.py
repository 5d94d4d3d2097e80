from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.activity import (
    MAX_ANSWER_SECONDS,
    StudyDay,
    calendar_weeks,
    items_per_day,
    streak,
    study_days,
)

CHICAGO = ZoneInfo("America/Chicago")


def test_answers_fall_on_the_learners_local_day() -> None:
    late_evening = datetime(2026, 3, 3, 4, 30, tzinfo=UTC)  # 22:30 on March 2 in Chicago
    days = study_days([(late_evening, 30_000), (late_evening + timedelta(hours=2), 6_000)], CHICAGO)
    assert set(days) == {date(2026, 3, 2), date(2026, 3, 3)}
    assert days[date(2026, 3, 2)] == StudyDay(date(2026, 3, 2), 1, 30.0)


def test_long_pauses_are_capped_and_missing_times_get_a_default() -> None:
    moment = datetime(2026, 3, 3, 15, tzinfo=UTC)
    day = study_days([(moment, 3_600_000), (moment, None)], UTC)[date(2026, 3, 3)]
    assert day.items == 2
    assert day.seconds == MAX_ANSWER_SECONDS + 20
    assert day.minutes == (MAX_ANSWER_SECONDS + 20) / 60


def test_streak_counts_back_from_today_or_yesterday() -> None:
    today = date(2026, 3, 10)
    run = {today - timedelta(days=n) for n in range(1, 5)}
    assert streak(run, today) == 4  # today not studied yet: the streak is still alive
    assert streak(run | {today}, today) == 5
    assert streak({today - timedelta(days=2)}, today) == 0
    assert streak(set(), today) == 0


def test_calendar_weeks_start_on_monday_and_stop_today() -> None:
    today = date(2026, 3, 11)  # a Wednesday
    studied = {today: StudyDay(today, 5, 300.0)}
    weeks = calendar_weeks(studied, today, weeks=3)
    assert len(weeks) == 3
    assert weeks[0][0].day.weekday() == 0
    assert [len(week) for week in weeks] == [7, 7, 3]
    assert weeks[-1][-1] == studied[today]
    assert weeks[0][0].items == 0


def test_pace_counts_only_the_days_since_the_learner_began() -> None:
    today = date(2026, 3, 10)

    def studied(*pairs: tuple[int, int]) -> dict[date, StudyDay]:
        return {
            today - timedelta(days=ago): StudyDay(today - timedelta(days=ago), n)
            for ago, n in pairs
        }

    assert items_per_day({}, today, 14) == 0.0
    assert items_per_day(studied((0, 10)), today, 14) == 10.0  # began today
    assert items_per_day(studied((3, 10), (0, 10)), today, 14) == 5.0  # four days, 20 items
    # A learner of long standing: the whole window, days off included.
    assert items_per_day(studied((40, 99), (13, 14), (2, 14)), today, 14) == 2.0
    # Nothing in the window: no pace, however much came before.
    assert items_per_day(studied((20, 50)), today, 14) == 0.0
