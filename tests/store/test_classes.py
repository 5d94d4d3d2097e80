"""Classes, rosters, decks, assignments and the instructor's reports, on real databases."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session, col

from engine.answering import Answer
from engine.content import Bank
from engine.errors import (
    ContentError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    RosterError,
)
from engine.mastery import MasteryLevel
from engine.scheduling import ItemKind, Rating
from engine.service import StudyService
from engine.service.classes import unused_password_hash
from engine.store.models import Item, LearnerParameters, User
from tests.conftest import NOW

HEADER = "sourcedId,givenName,familyName,email,role\n"


def _user(study: StudyService, email: str, role: str = "student", goals: dict | None = None) -> int:
    user = study.create_user(
        email=email, display_name=email.split("@")[0].title(), password_hash="x", role=role, now=NOW
    )
    if goals is not None:
        study.set_goals(user.id, goals, now=NOW)
    return user.id


def _study(  # type: ignore[no-untyped-def]
    study: StudyService, user: int, count: int, seed: int, start=NOW, **focus
) -> None:
    rng = np.random.default_rng(seed)
    moment = start
    for _ in range(count):
        served = study.next_item(user, now=moment, rng=rng, **focus)
        assert served is not None
        if served.kind is ItemKind.MCQ:
            with Session(study.engine) as session:
                item = session.get(Item, served.item_id)
                assert item is not None
                key = item.body["answer"]
            choice = (
                key if rng.random() < 0.7 else next(letter for letter in "ABCD" if letter != key)
            )
            study.answer(user, served.token, Answer(choice=choice, response_ms=9000), now=moment)
        else:
            rating = Rating.Good if rng.random() < 0.7 else Rating.Again
            study.answer(
                user, served.token, Answer(self_rating=rating, response_ms=7000), now=moment
            )
        moment += timedelta(seconds=50)


@pytest.fixture
def school(study: StudyService) -> dict[str, int]:
    ids = {
        "teacher": _user(study, "teach@school.edu", "instructor"),
        "other_teacher": _user(study, "other@school.edu", "instructor"),
        "admin": _user(study, "admin@school.edu", "admin"),
        "ana": _user(study, "ana@school.edu", goals={"A6": date(2026, 3, 20)}),
        "ben": _user(study, "ben@school.edu", goals={"A6": None, "A8": None}),
        "cy": _user(study, "cy@school.edu", goals={"A6": None}),
    }
    classroom = study.create_class(ids["teacher"], "Auto Tech 2", ["A6"], now=NOW)
    ids["class"] = classroom.id
    for name in ("ana", "ben"):
        study.join_class(ids[name], classroom.join_code.lower(), now=NOW)
    return ids


def test_classes_and_join_codes(study: StudyService, school: dict[str, int]) -> None:
    info = study.class_info(school["teacher"], school["class"])
    assert info.students == 2 and info.test_codes == ("A6",) and len(info.join_code) == 8
    with pytest.raises(ForbiddenError):
        study.create_class(school["ana"], "Mine", ["A6"], now=NOW)
    with pytest.raises(InvalidInputError):
        study.create_class(school["teacher"], "Bad", ["Z9"], now=NOW)
    with pytest.raises(ForbiddenError):
        study.class_info(school["other_teacher"], school["class"])
    assert study.class_info(school["admin"], school["class"]).id == school["class"]
    new_code = study.rotate_join_code(school["teacher"], school["class"])
    assert new_code != info.join_code
    with pytest.raises(NotFoundError):
        study.join_class(school["cy"], info.join_code, now=NOW)
    study.join_class(school["cy"], f" {new_code[:4]}-{new_code[4:]} ", now=NOW)
    study.join_class(school["cy"], new_code, now=NOW)  # joining twice is harmless
    assert study.class_info(school["teacher"], school["class"]).students == 3
    assert [c.name for c in study.classes_for(school["cy"])] == ["Auto Tech 2"]
    assert study.classes_for(school["other_teacher"]) == []
    assert len(study.classes_for(school["admin"])) == 1


def _users(study: StudyService) -> int:
    with Session(study.engine) as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_roster_import_is_all_or_nothing(study: StudyService, school: dict[str, int]) -> None:
    before = _users(study)
    bad = (
        HEADER
        + "s1,Dee,Ng,dee@school.edu,student\n"
        + "s2,Eve,Oh,,student\n"
        + "s3,Fay,Po,dee@school.edu,student\n"
        + "s4,Gus,Qi,gus@school.edu,janitor\n"
    ).encode()
    with pytest.raises(RosterError) as raised:
        study.import_roster(
            school["teacher"], school["class"], bad, now=NOW, password_hash=unused_password_hash()
        )
    assert [str(problem).split(":")[0] for problem in raised.value.problems] == [
        "line 3, email",
        "line 4, email",
        "line 5, role",
    ]
    assert _users(study) == before
    good = (
        HEADER
        + "s1,Dee,Ng,dee@school.edu,student\n"
        + "s2,Ana,Diaz,ANA@school.edu,student\n"
        + "t1,Tia,Ray,tia@school.edu,teacher\n"
    ).encode()
    result = study.import_roster(
        school["teacher"], school["class"], good, now=NOW, password_hash=unused_password_hash()
    )
    assert (
        result.created,
        result.linked,
        result.enrolled,
        result.already_enrolled,
        result.instructors,
    ) == (2, 1, 1, 1, 1)
    assert [email for email, _, _ in result.invites] == ["dee@school.edu", "tia@school.edu"]
    assert _users(study) == before + 2
    again = study.import_roster(
        school["teacher"], school["class"], good, now=NOW, password_hash=unused_password_hash()
    )
    assert (again.created, again.linked, again.enrolled) == (0, 3, 0)
    conflict = (HEADER + "s9,Ana,Diaz,ana@school.edu,teacher\n").encode()
    with pytest.raises(RosterError, match="roster problem"):
        study.import_roster(
            school["teacher"],
            school["class"],
            conflict,
            now=NOW,
            password_hash=unused_password_hash(),
        )
    with pytest.raises(ForbiddenError):
        study.import_roster(
            school["other_teacher"], school["class"], good, now=NOW, password_hash="x"
        )


def test_invites_work_once_and_expire(study: StudyService, school: dict[str, int]) -> None:
    data = (
        HEADER + "s1,Dee,Ng,dee@school.edu,student\ns2,Eli,Oh,eli@school.edu,student\n"
    ).encode()
    invites = study.import_roster(
        school["teacher"], school["class"], data, now=NOW, password_hash=unused_password_hash()
    ).invites
    (_, _, dee_token), (_, _, eli_token) = invites
    assert study.invite_user(dee_token, now=NOW).email == "dee@school.edu"
    study.accept_invite(dee_token, "new-hash", now=NOW)
    assert study.credentials("dee@school.edu")[1] == "new-hash"  # type: ignore[index]
    with pytest.raises(NotFoundError):
        study.accept_invite(dee_token, "again", now=NOW)
    with pytest.raises(NotFoundError):
        study.invite_user(eli_token, now=NOW + timedelta(days=15))
    with pytest.raises(NotFoundError):
        study.invite_user("forged", now=NOW)


def test_built_in_and_custom_decks(study: StudyService, school: dict[str, int]) -> None:
    decks = {deck.key: deck for deck in study.decks_for(school["teacher"])}
    assert (
        decks["test:A6"].items == 20
        and decks["area:A6.E"].items == 4
        and decks["area:A8.B"].items == 4
    )
    custom = study.create_deck(
        school["teacher"], "Charging review", areas=["A6.C"], item_ids=["A8-A-001"], now=NOW
    )
    assert custom.items == 5 and not custom.built_in
    assert custom.id in {deck.id for deck in study.decks_for(school["teacher"])}
    assert custom.id not in {deck.id for deck in study.decks_for(school["other_teacher"])}
    with pytest.raises(ForbiddenError):
        study.deck(school["other_teacher"], custom.id)
    with pytest.raises(InvalidInputError, match=r"A6\.Q"):
        study.create_deck(school["teacher"], "Bad", areas=["A6.Q"], now=NOW)
    with pytest.raises(InvalidInputError):
        study.create_deck(school["teacher"], "Empty", now=NOW)
    with pytest.raises(ForbiddenError):
        study.create_deck(school["ana"], "Mine", tests=["A6"], now=NOW)


DECK_FILE = """\
test: A6
area: A6.C
items:
  - id: A6-C-F901
    kind: flashcard
    difficulty: 1
    front: What does a charging system voltage of 14.4 V at 2,000 rpm tell you?
    back: The alternator and regulator are charging within a typical range.
"""


def test_a_content_revision_never_comes_back(
    study: StudyService, school: dict[str, int], fixture_bank: Bank
) -> None:
    """Load the bank, add a deck of new items, reload the same bank: the revision must be a
    new one, or a process that cached the catalog before the deck (another app server, say)
    would keep serving a catalog without the deck's items."""
    first = study.load_content(fixture_bank, now=NOW).revision
    assert study.load_content(fixture_bank, now=NOW).revision == first  # nothing changed
    elsewhere = StudyService(study.engine)  # another process, with its own caches
    assert "A6-C-F901" not in elsewhere.catalog().index
    study.upload_deck(school["teacher"], "Extras", "charging.yaml", DECK_FILE.encode(), now=NOW)
    reloaded = study.load_content(fixture_bank, now=NOW).revision
    assert reloaded != first
    assert "A6-C-F901" in elsewhere.catalog().index


def test_uploaded_decks_use_the_bank_checker(study: StudyService, school: dict[str, int]) -> None:
    broken = DECK_FILE.replace("difficulty: 1", "difficulty: 7")
    with pytest.raises(ContentError) as raised:
        study.upload_deck(school["teacher"], "Mine", "charging.yaml", broken.encode(), now=NOW)
    assert [str(p) for p in raised.value.problems] == [
        "charging.yaml:6: A6-C-F901: difficulty: must be 1, 2 or 3, got 7"
    ]
    deck = study.upload_deck(
        school["teacher"], "Charging extras", "charging.yaml", DECK_FILE.encode(), now=NOW
    )
    assert deck.items == 1
    catalog = study.catalog()
    assert "A6-C-F901" in catalog.index and not catalog.in_bank[catalog.index["A6-C-F901"]]
    with pytest.raises(ContentError, match="content problem"):
        study.upload_deck(school["teacher"], "Twice", "charging.yaml", DECK_FILE.encode(), now=NOW)
    # Deck items never enter a student's goal scope on their own...
    for seed in range(15):
        served = study.next_item(
            school["cy"], now=NOW + timedelta(days=seed), rng=np.random.default_rng(seed)
        )
        assert served is not None and served.item_id != "A6-C-F901"
        study.answer(
            school["cy"],
            served.token,
            Answer(choice="A") if served.kind is ItemKind.MCQ else Answer(self_rating=Rating.Good),
            now=NOW + timedelta(days=seed),
        )
    # ...but an assignment brings them in.
    assignment = study.create_assignment(
        school["teacher"],
        school["class"],
        deck.id,
        starts_on=date(2026, 3, 1),
        due_on=date(2026, 3, 6),
        now=NOW,
    )
    served = study.next_item(
        school["ana"], now=NOW, rng=np.random.default_rng(0), focus_assignment=assignment.id
    )
    assert served is not None and served.item_id == "A6-C-F901"


def test_assignments_steer_the_planner_and_show_progress(
    study: StudyService, school: dict[str, int]
) -> None:
    decks = {deck.key: deck for deck in study.decks_for(school["teacher"])}
    with pytest.raises(InvalidInputError):
        study.create_assignment(
            school["teacher"],
            school["class"],
            decks["area:A6.D"].id,
            starts_on=date(2026, 3, 5),
            due_on=date(2026, 3, 1),
            now=NOW,
        )
    assignment = study.create_assignment(
        school["teacher"],
        school["class"],
        decks["area:A6.D"].id,
        starts_on=date(2026, 3, 1),
        due_on=date(2026, 3, 4),
        goal_level=MasteryLevel.FAMILIAR,
        now=NOW,
    )
    assert assignment.goal_text == "every area of the deck at Familiar or better"
    served = study.next_item(school["ana"], now=NOW, rng=np.random.default_rng(0))
    assert served is not None and served.item_id.startswith("A6-D"), (
        "due in two days: the planner leans on it"
    )
    assert served.reason_text.startswith("Assignment “A6.D Lighting Systems” due in 2 days")
    progress = study.student_assignments(school["ana"], now=NOW)
    assert [(p.areas, p.areas_met, p.items, p.items_seen) for p in progress] == [(1, 0, 4, 0)]
    assert study.student_assignments(school["cy"], now=NOW) == []  # not in the class
    _study(study, school["ana"], 12, seed=3, focus_assignment=assignment.id)
    after = study.student_assignments(school["ana"], now=NOW + timedelta(minutes=15))[0]
    assert after.items_seen == 4
    with pytest.raises(NotFoundError):
        study.assignment_for_student(school["cy"], assignment.id)


def test_the_dashboard_matches_each_students_own_mastery(
    study: StudyService, school: dict[str, int]
) -> None:
    _study(study, school["ana"], 25, seed=1)
    _study(study, school["ben"], 10, seed=2, start=NOW - timedelta(days=9))
    study.record_placement(school["ben"], {"A6-E-001": "A", "A6-E-002": None}, now=NOW)
    later = NOW + timedelta(days=3, hours=5)
    for at_exam in (False, True):
        board = study.class_dashboard(
            school["teacher"], school["class"], now=later, at_exam=at_exam
        )
        assert [area.code for area in board.areas] == ["A6.A", "A6.B", "A6.C", "A6.D", "A6.E"]
        for row in board.rows:
            # What the student sees on their own progress page (Ben has no exam dates: his
            # "at exam" is 30 days on there, and must be here too).
            own = {a.area_code: a for a in study.area_mastery(row.user_id, now=later)}
            expected = [
                own[code].mastery_at_exam if at_exam else own[code].mastery_now
                for code in ("A6.A", "A6.B", "A6.C", "A6.D", "A6.E")
            ]
            assert row.mastery == pytest.approx(expected, abs=1e-9), (row.name, at_exam)
            assert list(row.levels) == [
                own[code].level for code in ("A6.A", "A6.B", "A6.C", "A6.D", "A6.E")
            ]
    ana = next(row for row in board.rows if row.user_id == school["ana"])
    ben = next(row for row in board.rows if row.user_id == school["ben"])
    assert "A6" in ana.pass_chance and 0 <= ana.pass_chance["A6"] <= 1
    assert "inactive 5+ days" not in ana.flags
    assert "inactive 5+ days" in ben.flags  # studied 9 days before, nothing since
    by_risk = study.class_dashboard(school["teacher"], school["class"], now=later, sort="risk")
    assert by_risk.rows[0].risk <= by_risk.rows[-1].risk
    by_area = study.class_dashboard(school["teacher"], school["class"], now=later, sort="A6.E")
    assert by_area.rows[0].mastery[4] <= by_area.rows[-1].mastery[4]
    assert sum(count for _, count in board.activity) == 35
    with pytest.raises(ForbiddenError):
        study.class_dashboard(school["other_teacher"], school["class"], now=later)
    with pytest.raises(ForbiddenError):
        study.class_dashboard(school["ana"], school["class"], now=later)


def test_the_dashboard_applies_each_students_item_scales(
    study: StudyService, school: dict[str, int]
) -> None:
    """Reports compute recall in SQL with the stored item scales of easy and hard items, as
    the student's own page does with the engine's."""

    def store_scales(easy: float, hard: float) -> None:
        with Session(study.engine) as session:
            session.execute(
                update(LearnerParameters)
                .where(col(LearnerParameters.user_id) == school["ana"])
                .values(item_scale_easy=easy, item_scale_hard=hard)
            )
            session.commit()

    _study(study, school["ana"], 25, seed=1)
    store_scales(3.0, 0.3)
    later = NOW + timedelta(days=3, hours=5)
    board = study.class_dashboard(school["teacher"], school["class"], now=later, at_exam=True)
    row = next(row for row in board.rows if row.user_id == school["ana"])
    own = {a.area_code: a.mastery_at_exam for a in study.area_mastery(row.user_id, now=later)}
    assert row.mastery == pytest.approx([own[code] for code in sorted(own)], abs=1e-9)
    store_scales(1.0, 1.0)
    plain = {a.area_code: a.mastery_at_exam for a in study.area_mastery(row.user_id, now=later)}
    assert plain != own  # the scales changed what the student's cards are worth


def test_item_analysis_and_exports(study: StudyService, school: dict[str, int]) -> None:
    for name, seed in (("ana", 4), ("ben", 5)):
        _study(study, school[name], 20, seed=seed)
    stats = study.item_report(school["teacher"], school["class"])
    assert stats and all(0 <= item.p_value <= 1 for item in stats)
    first_attempts = sum(item.learners for item in stats)
    with Session(study.engine) as session:
        from engine.store.models import CardState

        cards = int(session.scalar(select(func.count()).select_from(CardState)) or 0)
    assert first_attempts == cards, "one first attempt per card"
    with pytest.raises(ForbiddenError):
        study.item_report(school["teacher"], None)
    assert study.item_report(school["admin"], None)
    board = study.class_dashboard(school["teacher"], school["class"], now=NOW + timedelta(hours=1))
    heatmap = list(csv.reader(io.StringIO(study.heatmap_csv(board))))
    assert heatmap[0][:3] == ["student", "email", "A6.A mastery now"] and len(heatmap) == 3
    students = list(csv.reader(io.StringIO(study.students_csv(board))))
    assert students[0][-1] == "flags" and len(students) == 3
    items = list(csv.reader(io.StringIO(study.items_csv(stats))))
    assert items[0][:3] == ["item", "first attempts", "p-value"] and len(items) == len(stats) + 1
    school_rows = list(
        csv.reader(io.StringIO(study.school_csv(school["admin"], now=NOW + timedelta(hours=1))))
    )
    assert school_rows[0] == [
        "student_id",
        "student",
        "email",
        "test",
        "area",
        "mastery",
        "coverage",
        "level",
    ]
    covered = {(row[0], row[4]) for row in school_rows[1:]}
    assert (str(school["ben"]), "A8.E") in covered and (str(school["ana"]), "A8.E") not in covered
    with pytest.raises(ForbiddenError):
        study.school_csv(school["teacher"], now=NOW)


def test_csv_cells_cannot_run_as_formulas(study: StudyService, school: dict[str, int]) -> None:
    evil = study.create_user(
        email="evil@school.edu", display_name='=HYPERLINK("x")', password_hash="x", now=NOW
    )
    study.join_class(
        evil.id, study.class_info(school["teacher"], school["class"]).join_code, now=NOW
    )
    board = study.class_dashboard(school["teacher"], school["class"], now=NOW)
    assert "'=HYPERLINK" in study.heatmap_csv(board)


def test_behind_on_an_assignment_projects_each_students_own_pace(
    study: StudyService, school: dict[str, int]
) -> None:
    """ "Behind" means the student's pace (deck items begun a day, over the last week or since
    the assignment opened) will not cover the rest of the deck by the due date."""
    decks = {deck.key: deck for deck in study.decks_for(school["teacher"])}
    deck = decks["test:A6"]
    study.create_assignment(
        school["teacher"],
        school["class"],
        deck.id,
        starts_on=NOW.date(),
        due_on=NOW.date() + timedelta(days=9),
        goal_level=MasteryLevel.MASTERED,
        now=NOW,
    )
    _study(study, school["ana"], 8, seed=5)  # eight items on the day it opened
    ana = study.student_assignments(school["ana"], now=NOW + timedelta(hours=1))[0]
    ben = study.student_assignments(school["ben"], now=NOW + timedelta(hours=1))[0]
    remaining = ana.items - ana.items_seen
    assert ana.items_seen >= 6 and remaining <= ana.items_seen * 10
    assert not ana.behind, "a day's pace over the ten days left covers the rest of the deck"
    assert ben.behind, "no pace at all covers nothing"
    # A week on without further study, her pace has fallen behind what is left.
    later = study.student_assignments(school["ana"], now=NOW + timedelta(days=7))[0]
    assert later.behind
