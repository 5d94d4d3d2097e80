"""Service use cases on a real database (SQLite, and PostgreSQL when available)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import Engine, Table, func, select, update
from sqlmodel import Session, col

from engine.activity import MAX_ANSWER_SECONDS, study_days
from engine.answering import Answer
from engine.content import Bank, BankItem
from engine.errors import ContentError, InvalidInputError, NotFoundError, StaleAttemptError
from engine.scheduling import ItemKind, Rating
from engine.service import ServedItem, StudyService
from engine.store.db import WriteInReadTransactionError, autocommit, transaction
from engine.store.models import CardState, Goal, Item, Review, User
from tests.conftest import NOW


def _student(study: StudyService, email: str = "sam@example.com", goals: dict | None = None) -> int:
    user = study.create_user(email=email, display_name="Sam", password_hash="x", now=NOW)
    study.set_goals(user.id, goals if goals is not None else {"A6": date(2026, 3, 20)}, now=NOW)
    return user.id


def _answer_for(
    study: StudyService, served_kind: ItemKind, item_id: str, right: bool = True
) -> Answer:
    if served_kind is ItemKind.FLASHCARD:
        return Answer(self_rating=Rating.Good if right else Rating.Again, response_ms=6000)
    with Session(study.engine) as session:
        item = session.get(Item, item_id)
        assert item is not None
        key = item.body["answer"]
    choice = key if right else next(letter for letter in "ABCD" if letter != key)
    return Answer(choice=choice, response_ms=11_000)


def _study_right(
    study: StudyService, user: int, count: int, *, every: timedelta, answer_after: timedelta
) -> datetime:
    """Serve and answer ``count`` items correctly from NOW, one every ``every``; returns when
    the next would be served."""
    moment = NOW
    for step in range(count):
        served = study.next_item(user, now=moment, rng=np.random.default_rng(step))
        assert served is not None
        study.answer(
            user,
            served.token,
            _answer_for(study, served.kind, served.item_id),
            now=moment + answer_after,
        )
        moment += every
    return moment


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# -- content loading ---------------------------------------------------------------------------


def test_load_is_all_or_nothing_and_reload_keeps_reviews(
    study: StudyService, fixture_bank: Bank
) -> None:
    user = _student(study)
    served = study.next_item(user, now=NOW, rng=np.random.default_rng(0))
    assert served is not None
    study.answer(user, served.token, _answer_for(study, served.kind, served.item_id), now=NOW)

    changed = [
        BankItem(**{**item.__dict__, "body": {**item.body, "explanation": "Rewritten."}})
        if item.id == "A6-A-002"
        else item
        for item in fixture_bank.items
        if item.id != served.item_id
    ]
    new_item = BankItem(
        id="A6-A-900",
        test_code="A6",
        area_code="A6.A",
        kind=ItemKind.FLASHCARD,
        difficulty=1,
        body={"front": "New?", "back": "Yes."},
    )
    report = study.load_content(
        Bank(fixture_bank.blueprint, (*changed, new_item), ()), now=NOW + timedelta(hours=1)
    )
    assert (report.added, report.updated, report.retired) == (1, 1, 1)
    assert report.unchanged == len(fixture_bank.items) - 2
    with Session(study.engine) as session:
        retired = session.get(Item, served.item_id)
        assert retired is not None and retired.retired
        assert session.get(CardState, (user, served.item_id)) is not None
    assert _count(study.engine, Review) == 1
    assert served.item_id not in study.catalog().index

    restored = study.load_content(fixture_bank, now=NOW + timedelta(hours=2))
    assert (restored.added, restored.updated, restored.retired) == (0, 2, 1)
    assert served.item_id in study.catalog().index

    before = _count(study.engine, Item)
    bad = Bank(fixture_bank.blueprint, fixture_bank.items, ("problem",))  # type: ignore[arg-type]
    with pytest.raises(ContentError):
        study.load_content(bad, now=NOW)
    assert _count(study.engine, Item) == before


def test_a_failing_load_rolls_back_everything(study: StudyService, fixture_bank: Bank) -> None:
    before = {row.id: row.content_hash for row in _items(study.engine)}
    broken = BankItem(
        id="A6-A-901",
        test_code="A6",
        area_code="A6.Q",
        kind=ItemKind.FLASHCARD,
        difficulty=1,
        body={"front": "?", "back": "!"},
    )  # an area the database does not know: the foreign key fails mid-load
    changed = [
        BankItem(**{**item.__dict__, "body": {**item.body, "stem": "Changed?"}})
        if item.kind is ItemKind.MCQ
        else item
        for item in fixture_bank.items
    ]
    with pytest.raises(Exception):  # noqa: B017  (the database's integrity error)
        study.load_content(Bank(fixture_bank.blueprint, (*changed, broken), ()), now=NOW)
    assert {row.id: row.content_hash for row in _items(study.engine)} == before


def _items(engine: Engine) -> list[Item]:
    with Session(engine) as session:
        return list(session.scalars(select(Item)))


# -- users and goals ---------------------------------------------------------------------------


def test_users_are_validated(study: StudyService) -> None:
    _student(study)
    with pytest.raises(InvalidInputError, match="already exists"):
        study.create_user(email="SAM@example.com", display_name="Sam", password_hash="x", now=NOW)
    for bad in (
        {"email": "not-an-email"},
        {"role": "wizard"},
        {"timezone": "Mars/Olympus"},
        {"display_name": " "},
    ):
        arguments = {
            "email": "new@example.com",
            "display_name": "New",
            "password_hash": "x",
            "now": NOW,
        } | bad
        with pytest.raises(InvalidInputError):
            study.create_user(**arguments)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        study.user(9999)


def test_goals_are_validated_and_replaced(study: StudyService) -> None:
    user = _student(study)
    with pytest.raises(InvalidInputError, match="unknown test"):
        study.set_goals(user, {"Z9": None}, now=NOW)
    with pytest.raises(InvalidInputError, match="in the past"):
        study.set_goals(user, {"A6": date(2026, 1, 1)}, now=NOW)
    study.set_goals(user, {"A8": None}, now=NOW)
    assert study.goals(user) == {"A8": None}


# -- answering ---------------------------------------------------------------------------------


def test_serving_and_answering_records_one_review_and_one_card_state(study: StudyService) -> None:
    user = _student(study)
    served = study.next_item(user, now=NOW, rng=np.random.default_rng(1))
    assert served is not None
    assert served.reason_text.endswith("exam in 18 days")
    if served.kind is ItemKind.MCQ:
        assert set(served.body) <= {"stem", "choices", "figure"}, "the key must not be served"
    result = study.answer(
        user,
        served.token,
        _answer_for(study, served.kind, served.item_id),
        now=NOW + timedelta(seconds=12),
    )
    assert result.correct and not result.duplicate
    assert result.explanation
    assert result.due.tzinfo is not None and result.answered_at.tzinfo is not None
    assert _count(study.engine, Review) == 1
    card = study.card_state(user, served.item_id)
    assert card is not None and card.reps == 1
    assert (
        card.due.tzinfo == UTC and card.last_review is not None and card.last_review.tzinfo == UTC
    )


@pytest.mark.parametrize("page", [False, True], ids=["next_item", "study_screen"])
def test_a_reload_serves_the_same_open_attempt(study: StudyService, page: bool) -> None:
    """Whether the open attempt is read on its own (next_item) or with the day's figures
    (the study page)."""

    def serve(at: datetime, seed: int, area: str | None = None) -> ServedItem | None:
        rng = np.random.default_rng(seed)
        if page:
            return study.study_screen(user, now=at, rng=rng, focus_area=area).served
        return study.next_item(user, now=at, rng=rng, focus_area=area)

    user = _student(study)
    first = serve(NOW, 1)
    again = serve(NOW + timedelta(minutes=3), 2)
    assert first is not None and again is not None
    assert again.token == first.token and again.item_id == first.item_id
    study.answer(
        user,
        first.token,
        _answer_for(study, first.kind, first.item_id),
        now=NOW + timedelta(minutes=4),
    )
    after = serve(NOW + timedelta(minutes=5), 3)
    assert after is not None and after.token != first.token
    elsewhere = serve(NOW + timedelta(minutes=6), 4, area="A6.A")  # another scope
    assert elsewhere is not None and elsewhere.token != after.token
    late = serve(NOW + timedelta(minutes=40), 5, area="A6.A")  # open for half an hour only
    assert late is not None and late.token != elsewhere.token


def test_only_the_last_served_question_is_served_again(study: StudyService) -> None:
    """A reload serves the open question again only while it is the last one served: a
    question left unanswered in one scope (an area) is not brought back after the learner
    studied elsewhere."""
    user = _student(study)
    in_area = study.next_item(user, now=NOW, rng=np.random.default_rng(1), focus_area="A6.A")
    assert in_area is not None and in_area.area_code == "A6.A"
    moment = NOW + timedelta(minutes=1)
    elsewhere = study.next_item(user, now=moment, rng=np.random.default_rng(2))
    assert elsewhere is not None and elsewhere.token != in_area.token
    reload = study.next_item(user, now=moment, rng=np.random.default_rng(3))
    assert reload is not None and reload.token == elsewhere.token
    study.answer(
        user, elsewhere.token, _answer_for(study, elsewhere.kind, elsewhere.item_id), now=moment
    )
    back = study.next_item(
        user, now=moment + timedelta(minutes=1), rng=np.random.default_rng(4), focus_area="A6.A"
    )
    assert back is not None and back.token != in_area.token


def test_a_second_post_of_the_same_token_is_recorded_once(study: StudyService) -> None:
    user = _student(study)
    served = study.next_item(user, now=NOW, rng=np.random.default_rng(1))
    assert served is not None
    answer = _answer_for(study, served.kind, served.item_id)
    first = study.answer(user, served.token, answer, now=NOW + timedelta(seconds=10))
    second = study.answer(user, served.token, answer, now=NOW + timedelta(seconds=11))
    assert second.duplicate and not first.duplicate
    assert (second.correct, second.rating, second.key, second.due) == (
        first.correct,
        first.rating,
        first.key,
        first.due,
    )
    assert _count(study.engine, Review) == 1
    card = study.card_state(user, served.item_id)
    assert card is not None and card.reps == 1


def test_concurrent_posts_of_one_token_record_one_review(study: StudyService) -> None:
    user = _student(study)
    served = study.next_item(user, now=NOW, rng=np.random.default_rng(1))
    assert served is not None
    answer = _answer_for(study, served.kind, served.item_id)
    results: list[object] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        barrier.wait()
        try:
            results.append(study.answer(user, served.token, answer, now=NOW + timedelta(seconds=9)))
        except Exception as error:  # collected and asserted below
            results.append(error)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(not isinstance(result, Exception) for result in results), results
    assert sum(not result.duplicate for result in results) == 1  # type: ignore[attr-defined]
    assert _count(study.engine, Review) == 1
    card = study.card_state(user, served.item_id)
    assert card is not None and card.reps == 1


def test_an_answer_for_a_changed_card_is_refused(study: StudyService) -> None:
    user = _student(study)
    served = study.next_item(user, now=NOW, rng=np.random.default_rng(1))
    assert served is not None
    # The same item answered through another attempt (another tab) after this one was served.
    other = study.next_item(user, now=NOW + timedelta(minutes=40), rng=np.random.default_rng(1))
    assert other is not None
    if other.item_id != served.item_id:
        pytest.skip("planner chose another item")  # pragma: no cover
    study.answer(
        user,
        other.token,
        _answer_for(study, other.kind, other.item_id),
        now=NOW + timedelta(minutes=41),
    )
    with pytest.raises(StaleAttemptError, match="changed after it was shown"):
        study.answer(
            user,
            served.token,
            _answer_for(study, served.kind, served.item_id),
            now=NOW + timedelta(minutes=42),
        )
    assert _count(study.engine, Review) == 1


def test_answers_are_checked_against_the_item_and_the_learner(study: StudyService) -> None:
    user = _student(study)
    intruder = _student(study, email="eve@example.com")
    served = study.next_item(user, now=NOW, rng=np.random.default_rng(1))
    assert served is not None
    with pytest.raises(NotFoundError):
        study.answer(intruder, served.token, Answer(choice="A"), now=NOW)
    with pytest.raises(NotFoundError):
        study.answer(user, "no-such-token", Answer(choice="A"), now=NOW)
    wrong_shape = (
        Answer(choice="A") if served.kind is ItemKind.FLASHCARD else Answer(self_rating=Rating.Good)
    )
    with pytest.raises(InvalidInputError):
        study.answer(user, served.token, wrong_shape, now=NOW)
    assert _count(study.engine, Review) == 0


def test_replaying_reviews_rebuilds_every_stored_card_state(study: StudyService) -> None:
    user = _student(study, goals={"A6": None, "A8": date(2026, 4, 1)})
    rng = np.random.default_rng(7)
    moment = NOW
    for day in range(12):
        moment = NOW + timedelta(days=day)
        for _ in range(8):
            served = study.next_item(user, now=moment, rng=rng)
            assert served is not None
            right = bool(rng.random() < 0.7)
            study.answer(
                user,
                served.token,
                _answer_for(study, served.kind, served.item_id, right),
                now=moment + timedelta(seconds=20),
            )
            moment += timedelta(seconds=45)
    with Session(study.engine) as session:
        item_ids = list(session.scalars(select(CardState.item_id).where(CardState.user_id == user)))
    assert len(item_ids) > 10
    for item_id in item_ids:
        assert study.replay_card(user, item_id) == study.card_state(user, item_id), item_id


def test_mastery_and_readiness_move_with_study(study: StudyService) -> None:
    user = _student(study)
    before = study.readiness(user, now=NOW)
    moment = _study_right(
        study, user, 30, every=timedelta(seconds=30), answer_after=timedelta(seconds=15)
    )
    after = study.readiness(user, now=moment)
    assert [r.test_code for r in after] == ["A6"]
    assert after[0].predicted_score > before[0].predicted_score
    assert after[0].exam_at is not None and after[0].exam_at.date() == date(2026, 3, 20)
    areas = study.area_mastery(user, now=moment)
    assert {area.area_code for area in areas} == {"A6.A", "A6.B", "A6.C", "A6.D", "A6.E"}
    assert sum(area.seen for area in areas) > 0


def test_nothing_to_study_without_goals(study: StudyService) -> None:
    user = _student(study, goals={})
    assert study.next_item(user, now=NOW, rng=np.random.default_rng(0)) is None


def test_loaded_card_times_are_exact_to_the_microsecond(study: StudyService) -> None:
    """The learner's card table reads times as epoch microseconds computed by the database;
    they must equal the stored datetimes exactly."""
    from engine.scheduling import to_epoch_us
    from engine.store.db import transaction

    user = _student(study)
    rng = np.random.default_rng(5)
    moment = NOW + timedelta(microseconds=123_457)
    for _ in range(6):
        served = study.next_item(user, now=moment, rng=rng)
        assert served is not None
        study.answer(
            user, served.token, _answer_for(study, served.kind, served.item_id), now=moment
        )
        moment += timedelta(seconds=33, microseconds=987_651)
    with transaction(study.engine) as session:
        state = study._load_learner(session, user, moment)
    catalog = study.catalog()
    with Session(study.engine) as session:
        rows = list(session.scalars(select(CardState).where(CardState.user_id == user)))
    assert rows
    for row in rows:
        index = catalog.index[row.item_id]
        assert state.cards.due_us[index] == to_epoch_us(row.due)
        assert row.last_review is not None
        assert state.cards.last_review_us[index] == to_epoch_us(row.last_review)
        assert state.cards.introduced_us[index] == to_epoch_us(row.introduced_at)


def test_a_learners_curves_come_from_their_stored_copies_or_else_from_the_grids(
    study: StudyService,
) -> None:
    """Loading a learner reads each memory group's curve from the parameters row's columns
    (kept by every answer); a row without them (older rows) gives the same curves from the
    calibration grids."""
    from engine.scheduling import MemoryGroup, StabilityCalibration
    from engine.store.models import LearnerParameters

    user = _student(study)
    moment = NOW
    rng = np.random.default_rng(8)
    for step in range(12):  # answers a day apart carry evidence into the grids
        served = study.next_item(user, now=moment, rng=rng)
        assert served is not None
        answer = _answer_for(study, served.kind, served.item_id, right=step % 3 != 0)
        study.answer(user, served.token, answer, now=moment)
        moment += timedelta(hours=20)
    with transaction(study.engine) as session:
        stored = study._load_learner(session, user, moment).beliefs.group_curves
        row = session.get(LearnerParameters, user)
        assert row is not None
        from_grids = StabilityCalibration.from_json(row.calibration).curves()
    assert row.calibration["observations"] > 0
    assert from_grids != StabilityCalibration().curves()  # the evidence moved them
    # The columns are computed from the unrounded grids, the JSON keeps float32.
    assert np.ravel(stored) == pytest.approx(np.ravel(from_grids), rel=1e-4)
    with transaction(study.engine, write=True) as session:
        session.execute(
            update(LearnerParameters)
            .where(col(LearnerParameters.user_id) == user)
            .values(scale_settled=None, decay_settled=None)
        )
    with transaction(study.engine) as session:
        recomputed = study._load_learner(session, user, moment).beliefs
    assert np.ravel(recomputed.group_curves) == pytest.approx(np.ravel(from_grids))
    assert recomputed.stability_scale == pytest.approx(from_grids[MemoryGroup.SETTLED][0])


def test_items_are_served_as_the_latest_content_load_wrote_them(
    study: StudyService, fixture_bank: Bank
) -> None:
    """Items are cached per content revision: a load that rewrites an item shows at once."""
    user = _student(study)
    served = study.next_item(user, now=NOW, rng=np.random.default_rng(0))
    assert served is not None
    rewritten = [
        BankItem(
            **{
                **item.__dict__,
                "body": {**item.body, "explanation": "Rewritten.", "back": "Rewritten."},
            }
        )
        if item.id == served.item_id
        else item
        for item in fixture_bank.items
    ]
    study.load_content(Bank(fixture_bank.blueprint, tuple(rewritten), ()), now=NOW)
    result = study.answer(
        user, served.token, _answer_for(study, served.kind, served.item_id), now=NOW
    )
    assert result.explanation == "Rewritten."


def test_grading_uses_the_learners_own_typical_time(study: StudyService) -> None:
    """After a run of 10-second answers, a correct answer taking 40 s is graded Hard and one
    taking 3 s Easy; the typical time is kept with the learner, not recomputed by a query."""
    user = _student(study)
    rng = np.random.default_rng(9)
    moment = NOW
    ratings = []
    times = [10_000] * 8 + [40_000, 3_000]
    for response_ms in times:
        while True:
            served = study.next_item(user, now=moment, rng=rng)
            assert served is not None
            if served.kind is ItemKind.MCQ:
                break
            study.answer(
                user, served.token, _answer_for(study, served.kind, served.item_id), now=moment
            )
            moment += timedelta(seconds=20)
        right = _answer_for(study, served.kind, served.item_id)
        result = study.answer(
            user, served.token, Answer(choice=right.choice, response_ms=response_ms), now=moment
        )
        ratings.append(result.rating)
        moment += timedelta(seconds=20)
    assert ratings[-2] == Rating.Hard
    assert ratings[-1] == Rating.Easy


def test_todays_progress_and_the_sittings_count_match_the_calendar(study: StudyService) -> None:
    """The study bar's figures come from one aggregate query; they must agree with the
    progress calendar (engine.activity.study_days over the stored reviews): answers before the
    learner's midnight are yesterday's, a long pause counts as five minutes, and a sitting
    that began before midnight keeps counting its earlier answers."""
    user = study.create_user(
        email="owl@example.com",
        display_name="Owl",
        password_hash="x",
        now=NOW,
        timezone="America/Chicago",
    )
    study.set_goals(user.id, {"A6": date(2026, 3, 20)}, now=NOW)
    # 23:50 in Chicago on 1 March; the sitting runs on past midnight.
    moment = datetime(2026, 3, 2, 5, 50, tzinfo=UTC)
    for response_ms in (6_000, 11_000, 2_000_000, 9_000, 14_000):
        served = study.study_screen(user.id, now=moment, rng=np.random.default_rng(7)).served
        assert served is not None
        answer = _answer_for(study, served.kind, served.item_id)
        answer = replace(answer, response_ms=response_ms)
        moment += timedelta(minutes=4)
        study.answer(user.id, served.token, answer, now=moment)
    screen = study.study_screen(user.id, now=moment, rng=np.random.default_rng(8))
    with Session(study.engine) as session:
        rows = session.execute(select(Review.answered_at, Review.response_ms)).all()
    zone = ZoneInfo("America/Chicago")
    today = study_days([(row[0], row[1]) for row in rows], zone)[moment.astimezone(zone).date()]
    assert (screen.today.items, screen.today.minutes) == (today.items, pytest.approx(today.minutes))
    # Answered 23:54 and 23:58 on 1 March, then 00:02 (a 2,000 s pause), 00:06 and 00:10.
    assert (today.items, today.seconds) == (3, MAX_ANSWER_SECONDS + 9 + 14)
    assert screen.session_items == 5


def test_a_new_learners_pace_is_their_own_not_spread_over_two_weeks(
    study: StudyService,
) -> None:
    user = _student(study)
    _study_right(study, user, 6, every=timedelta(minutes=1), answer_after=timedelta(seconds=20))
    report = study.progress(user, now=NOW + timedelta(minutes=10))
    assert report.items_per_day == 6.0
    later = study.progress(user, now=NOW + timedelta(days=2))
    assert later.items_per_day == 2.0  # six items over the three days since they began


def test_the_session_summary_judges_each_area_at_the_exam_not_minutes_after_study(
    study: StudyService,
) -> None:
    """Right after a sitting, recall of everything just seen is near 1 whether it was answered
    right or wrong; the summary reports what is expected to remain on exam day."""
    user = _student(study)
    moment = NOW
    for step in range(8):
        served = study.study_screen(user, now=moment, rng=np.random.default_rng(step)).served
        assert served is not None
        wrong = _answer_for(study, served.kind, served.item_id, right=False)
        study.answer(user, served.token, wrong, now=moment + timedelta(seconds=20))
        moment += timedelta(seconds=30)
    summary = study.session_summary(user, now=moment)
    assert summary.items == 8 and summary.correct == 0
    at_exam = {area.area_code: area for area in study.area_mastery(user, now=moment)}
    assert summary.changes, "eight looks at new items move some area"
    for change in summary.changes:
        assert change.after == pytest.approx(at_exam[change.area_code].mastery_at_exam)
        assert change.after < at_exam[change.area_code].mastery_now


def test_without_an_exam_date_the_later_column_is_thirty_days_on(study: StudyService) -> None:
    """The progress page labels the second column "In 30 days" for a test without an exam
    date; it must hold mastery thirty days on, not mastery now again."""
    user = _student(study, goals={"A6": None})
    _study_right(study, user, 4, every=timedelta(minutes=1), answer_after=timedelta(0))
    report = study.progress(user, now=NOW + timedelta(minutes=5))
    studied = [area for area in report.areas if area.seen]
    assert studied and all(area.mastery_at_exam < area.mastery_now for area in studied)
    assert all(area.exam_at is None for area in report.areas)
    assert [estimate.exam_at for estimate in report.readiness] == [None]


def test_read_transactions_refuse_writes_and_skip_begin_on_postgresql(
    study: StudyService,
) -> None:
    """transaction(engine) only reads: a write there raises (on PostgreSQL it would otherwise
    commit on its own, since reads run in autocommit to save BEGIN and COMMIT round trips)."""
    user = _student(study)
    with pytest.raises(WriteInReadTransactionError), transaction(study.engine) as session:
        session.execute(update(User).where(col(User.id) == user).values(display_name="Changed"))
    with transaction(study.engine) as session:
        assert session.get(User, user).display_name == "Sam"  # type: ignore[union-attr]
        driver = session.connection().connection.driver_connection
        if study.engine.dialect.name == "postgresql":
            assert driver.autocommit  # type: ignore[union-attr]
    with transaction(study.engine, write=True) as session:
        session.execute(update(User).where(col(User.id) == user).values(display_name="Sam O."))
        if study.engine.dialect.name == "postgresql":
            assert not session.connection().connection.driver_connection.autocommit  # type: ignore[union-attr]
    with transaction(study.engine) as session:
        assert session.get(User, user).display_name == "Sam O."  # type: ignore[union-attr]


def test_a_single_statement_runs_as_its_own_transaction(
    study: StudyService,
) -> None:
    """autocommit(engine), the signed-in user's lookup on every request: the statement is its own
    transaction (no BEGIN/COMMIT on SQLite, autocommit on PostgreSQL), writes are refused
    unless asked for, and the next write transaction on the pooled connection is a real one
    again."""
    from engine.store.db import autocommit

    user = _student(study)
    with autocommit(study.engine) as connection:
        assert study.find_user_by_id(user) is not None
        assert connection.execute(select(User.display_name)).scalar() == "Sam"
        driver = connection.connection.driver_connection
        if study.engine.dialect.name == "postgresql":
            assert driver.autocommit  # type: ignore[union-attr]
        else:
            assert not driver.in_transaction  # type: ignore[union-attr]
        with pytest.raises(WriteInReadTransactionError):
            connection.execute(update(User).values(display_name="Changed"))
    with transaction(study.engine, write=True) as session:
        session.execute(update(User).where(col(User.id) == user).values(display_name="Sam O."))
        driver = session.connection().connection.driver_connection
        if study.engine.dialect.name == "sqlite":
            assert driver.in_transaction  # type: ignore[union-attr]
    assert study.find_user_by_id(user).display_name == "Sam O."  # type: ignore[union-attr]
    with autocommit(study.engine, write=True) as connection:  # no commit: it is its own
        connection.execute(update(User).where(col(User.id) == user).values(display_name="Sal"))
    assert study.find_user_by_id(user).display_name == "Sal"  # type: ignore[union-attr]


def test_a_served_item_is_recorded_without_waiting_for_the_disk_and_answers_still_wait(
    study: StudyService,
) -> None:
    """unhurried_insert (the attempt row of a served item) commits with PostgreSQL's
    synchronous_commit off, in one statement whose transaction alone has it off: the next
    commit on the same pooled connection waits for the disk again. On SQLite it is a plain
    autocommit write."""
    from engine.store.db import _unhurried_insert_statement, unhurried_insert

    user = _student(study)
    postgres = study.engine.dialect.name == "postgresql"
    table = cast(Table, Goal.__table__)
    row = {"user_id": user, "test_code": "A8", "exam_date": None, "created_at": NOW}
    unhurried_insert(study.engine, table, row)
    with transaction(study.engine) as session:
        codes = session.scalars(select(col(Goal.test_code)).where(col(Goal.user_id) == user))
        assert "A8" in set(codes)
    if postgres:
        study.engine.pool.dispose()  # one pooled connection: the next one is the same
        statement = _unhurried_insert_statement(table, tuple(row), "postgresql")
        with autocommit(study.engine, write=True) as connection:
            setting = connection.execute(
                statement.returning(func.current_setting("synchronous_commit")),
                {**row, "test_code": "A7"},
            ).scalar()
            assert setting == "off"  # while the INSERT's own transaction commits
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        with transaction(study.engine, write=True) as session:
            setting = session.connection().exec_driver_sql("SHOW synchronous_commit").scalar()
            assert setting == "on"
    served = study.next_item(user, now=NOW, rng=np.random.default_rng(0))
    assert served is not None  # its attempt is answerable
    study.answer(user, served.token, _answer_for(study, served.kind, served.item_id), now=NOW)


def test_a_learner_loads_with_goals_priors_and_the_latest_answers_items(
    study: StudyService,
) -> None:
    """Goals, area priors and the items of the latest answers come in one statement; the
    planner's same-area rule needs the latest answers' items oldest first."""
    user = _student(study)
    study.record_placement(user, {"A6-E-001": "A", "A6-E-002": None}, now=NOW)
    moment = NOW + timedelta(minutes=5)
    rng = np.random.default_rng(3)
    answered = []
    for _ in range(4):
        served = study.next_item(user, now=moment, rng=rng)
        assert served is not None
        study.answer(
            user, served.token, _answer_for(study, served.kind, served.item_id), now=moment
        )
        answered.append(served.item_id)
        moment += timedelta(minutes=3)
    with transaction(study.engine) as session:
        state = study._load_learner(session, user, moment)
    assert state.recent_item_ids == tuple(answered[-study.planner.max_same_area_run :])
    assert state.goals == {"A6": datetime(2026, 3, 20, 9, tzinfo=UTC)}  # exams start at 09:00
    placed = state.beliefs.area_evidence["A6.E"]
    assert placed.attempts == 2  # two placement items of A6.E


def test_an_answer_reads_its_attempt_and_the_learners_parameters_in_one_statement(
    study: StudyService,
) -> None:
    """From a learner's second answer on, the attempt, its card and the learner's parameters
    (locked on PostgreSQL) come in one statement; the first answer, before there are any
    parameters, still reads them on their own and creates them."""
    from sqlalchemy import event

    user = _student(study)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(study.engine, "before_cursor_execute", record)
    try:
        moment = NOW
        reads_of_parameters = []
        for _ in range(3):
            served = study.next_item(user, now=moment, rng=np.random.default_rng(1))
            assert served is not None
            statements.clear()
            study.answer(
                user, served.token, _answer_for(study, served.kind, served.item_id), now=moment
            )
            reads_of_parameters.append(
                [s for s in statements if s.startswith("SELECT") and "learner_parameters" in s]
            )
            moment += timedelta(minutes=2)
    finally:
        event.remove(study.engine, "before_cursor_execute", record)
    first, *later = reads_of_parameters
    assert len(first) == 2  # the joined read found no parameters; they were read alone
    for reads in later:
        assert len(reads) == 1 and "FROM attempt" in reads[0]
    with transaction(study.engine) as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 3


def test_a_flashcards_intervals_come_from_the_loaded_cards_as_from_the_database(
    study: StudyService,
) -> None:
    """Serving a flashcard shows the next interval for each rating; with the learner loaded
    they come from the loaded cards, and agree with the card state as stored."""
    from engine.service.study import _ATTEMPT_TABLE, ServedAttempt
    from engine.store.db import unhurried_insert

    user = _student(study)
    catalog = study.catalog()
    item_id = next(
        item.id
        for item in catalog.items
        if item.kind is ItemKind.FLASHCARD and item.test_code == "A6"
    )

    def attempt(token: str, at: datetime) -> ServedAttempt:
        version = 0 if study.card_state(user, item_id) is None else 1
        return ServedAttempt(token, user, item_id, version, at, "test", 0.5, "")

    first = attempt("t" * 32, NOW)
    unhurried_insert(study.engine, _ATTEMPT_TABLE, first.row())
    study.answer(user, first.token, Answer(self_rating=Rating.Good, response_ms=5000), now=NOW)
    later = attempt("u" * 32, NOW + timedelta(days=2))
    for served_attempt in (first, later):
        with transaction(study.engine) as session:
            state = study._load_learner(session, user, later.served_at)
            from_loaded = study._served(session, served_attempt, None, state)
            from_database = study._served(session, served_attempt, None, None)
        assert from_loaded.intervals is not None
        assert from_loaded.intervals == from_database.intervals
    stored = study.card_state(user, item_id)
    assert stored is not None and stored.reps == 1


def test_a_sitting_lasts_until_half_an_hour_after_its_last_answer_touched_once_a_minute(
    study: StudyService,
) -> None:
    """Answers seconds apart move the sitting's last activity on at most once a minute (one
    write less on most answers), so a sitting ends between 29 and 30 minutes after its last
    answer."""
    from sqlalchemy import event

    user = _student(study)
    touches: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().startswith("UPDATE study_session"):
            touches.append(statement)

    moment = NOW
    event.listen(study.engine, "before_cursor_execute", record)
    try:
        for _ in range(8):
            screen = study.study_screen(user, now=moment, rng=np.random.default_rng(2))
            assert screen.served is not None
            moment += timedelta(seconds=25)
            served = screen.served
            study.answer(
                user, served.token, _answer_for(study, served.kind, served.item_id), now=moment
            )
    finally:
        event.remove(study.engine, "before_cursor_execute", record)
    assert 2 <= len(touches) <= 4  # 200 s of answers: a touch at most once a minute

    def sitting_started(at: datetime) -> datetime | None:
        with transaction(study.engine) as session:
            return study._current_sitting(session, user, at)

    assert sitting_started(moment + timedelta(minutes=28, seconds=55)) == NOW
    assert sitting_started(moment + timedelta(minutes=30, seconds=1)) is None


def test_serving_a_question_on_postgresql_takes_one_connection_from_the_pool(
    study: StudyService,
) -> None:
    """The read transaction of GET /study runs in autocommit on PostgreSQL, so the served
    attempt is recorded on its connection; on SQLite the read is one transaction and the
    INSERT takes a connection of its own after it. Either way the attempt is answerable."""
    from sqlalchemy import event

    from engine.store.db import autocommit_connection, unhurried_insert

    user = _student(study)
    checkouts = []

    def record(*_args: object) -> None:
        checkouts.append(1)

    study.study_screen(user, now=NOW, rng=np.random.default_rng(0))  # starts the sitting
    event.listen(study.engine, "checkout", record)
    try:
        moment = NOW + timedelta(minutes=1)
        screen = study.study_screen(user, now=moment, rng=np.random.default_rng(1))
        assert screen.served is not None
        # The open attempt was served again: answer it, then serve a new one.
        study.answer(
            user,
            screen.served.token,
            _answer_for(study, screen.served.kind, screen.served.item_id),
            now=moment,
        )
        checkouts.clear()
        served = study.study_screen(user, now=moment, rng=np.random.default_rng(2)).served
    finally:
        event.remove(study.engine, "checkout", record)
    assert served is not None and served.token != screen.served.token
    postgres = study.engine.dialect.name == "postgresql"
    assert len(checkouts) == (1 if postgres else 2)
    study.answer(user, served.token, _answer_for(study, served.kind, served.item_id), now=moment)
    with transaction(study.engine, write=True) as session:  # a real transaction: refused
        assert autocommit_connection(session) is None
        with pytest.raises(ValueError, match="autocommit"):
            unhurried_insert(session.connection(), cast(Table, Goal.__table__), {})
