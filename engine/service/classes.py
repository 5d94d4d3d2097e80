"""Classes, rosters, invites, decks and assignments."""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from engine.content import load_bank
from engine.errors import (
    ContentError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    RosterError,
)
from engine.mastery import MasteryLevel
from engine.roster import parse_roster
from engine.selector import AssignmentScope
from engine.service.base import ServiceBase, UserInfo, get_user, user_info, zone_named
from engine.store.db import transaction
from engine.store.models import (
    Assignment,
    Classroom,
    Deck,
    Enrollment,
    Invite,
    Item,
    Setting,
    User,
)

__all__ = [
    "AssignmentInfo",
    "ClassInfo",
    "ClassUseCases",
    "DeckInfo",
    "RosterResult",
]

JOIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
JOIN_CODE_LENGTH = 8
INVITE_DAYS = 14
GOAL_LEVELS = {
    MasteryLevel.FAMILIAR: "Familiar",
    MasteryLevel.PROFICIENT: "Proficient",
    MasteryLevel.MASTERED: "Mastered",
}
ASSIGNMENT_DUE_HOUR = time(23, 59)


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    instructor_id: int
    instructor_name: str
    join_code: str
    test_codes: tuple[str, ...]
    students: int


@dataclass(frozen=True)
class DeckInfo:
    id: int
    name: str
    key: str | None
    owner_id: int | None
    selection: Mapping[str, Any]
    items: int

    @property
    def built_in(self) -> bool:
        return self.owner_id is None


@dataclass(frozen=True)
class AssignmentInfo:
    id: int
    class_id: int
    class_name: str
    deck_id: int
    deck_name: str
    starts_on: date
    due_on: date
    goal_level: MasteryLevel

    @property
    def goal_text(self) -> str:
        return f"every area of the deck at {self.goal_level.label} or better"


@dataclass(frozen=True)
class RosterResult:
    created: int
    linked: int
    enrolled: int
    already_enrolled: int
    instructors: int
    invites: list[tuple[str, str, str]]  # (email, display name, one-time invite token)


def _join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ClassUseCases(ServiceBase):
    # -- classes ------------------------------------------------------------------------------

    def create_class(
        self, instructor_id: int, name: str, test_codes: Sequence[str], *, now: datetime
    ) -> ClassInfo:
        """Create a class with a fresh join code.

        Raises:
            ForbiddenError: the user is not an instructor or admin.
            InvalidInputError: an empty name or an unknown test.
        """
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInputError("give the class a name (up to 200 characters)")
        with transaction(self.engine, write=True) as session:
            teacher = get_user(session, instructor_id)
            if teacher.role not in ("instructor", "admin"):
                raise ForbiddenError("only instructors create classes")
            known = set(self.catalog(session).blueprint)
            unknown = sorted(set(test_codes) - known)
            if unknown:
                raise InvalidInputError(f"unknown test code(s): {', '.join(unknown)}")
            classroom = Classroom(
                name=name,
                instructor_id=instructor_id,
                join_code=_join_code(),
                test_codes=sorted(set(test_codes)),
                created_at=now,
            )
            session.add(classroom)
            session.flush()
            return self._class_info(session, classroom)

    def rotate_join_code(self, user_id: int, class_id: int) -> str:
        """A new join code; the old one stops working at once."""
        with transaction(self.engine, write=True) as session:
            classroom = self._owned_class(session, user_id, class_id)
            classroom.join_code = _join_code()
            session.add(classroom)
            return classroom.join_code

    def join_class(self, student_id: int, join_code: str, *, now: datetime) -> ClassInfo:
        """Enrol a student with the class's join code (again: a no-op).

        Raises:
            NotFoundError: no class has this code.
        """
        code = join_code.strip().upper().replace("-", "").replace(" ", "")
        with transaction(self.engine, write=True) as session:
            get_user(session, student_id)
            classroom = session.scalars(
                select(Classroom).where(col(Classroom.join_code) == code)
            ).first()
            if classroom is None or not code:
                raise NotFoundError("no class has that join code; check it with your instructor")
            assert classroom.id is not None
            if session.get(Enrollment, (classroom.id, student_id)) is None:
                session.add(Enrollment(class_id=classroom.id, user_id=student_id, joined_at=now))
                session.flush()
            return self._class_info(session, classroom)

    def classes_for(self, user_id: int) -> list[ClassInfo]:
        """An instructor's own classes (all classes for an admin), or a student's classes."""
        with transaction(self.engine) as session:
            user = get_user(session, user_id)
            query = select(Classroom).order_by(col(Classroom.name))
            if user.role == "instructor":
                query = query.where(col(Classroom.instructor_id) == user_id)
            elif user.role == "student":
                query = query.join(Enrollment, col(Enrollment.class_id) == col(Classroom.id)).where(
                    col(Enrollment.user_id) == user_id
                )
            return [self._class_info(session, row) for row in session.scalars(query)]

    def class_info(self, user_id: int, class_id: int) -> ClassInfo:
        with transaction(self.engine) as session:
            return self._class_info(session, self._owned_class(session, user_id, class_id))

    def class_students(self, user_id: int, class_id: int) -> list[UserInfo]:
        with transaction(self.engine) as session:
            self._owned_class(session, user_id, class_id)
            return [user_info(user) for user in self._members(session, class_id)]

    def _members(self, session: Session, class_id: int) -> list[User]:
        return list(
            session.scalars(
                select(User)
                .join(Enrollment, col(Enrollment.user_id) == col(User.id))
                .where(col(Enrollment.class_id) == class_id)
                .order_by(col(User.display_name), col(User.id))
            )
        )

    def _owned_class(self, session: Session, user_id: int, class_id: int) -> Classroom:
        """The class, if ``user_id`` teaches it or is an admin.

        Raises:
            NotFoundError: no such class.
            ForbiddenError: another instructor's class, or a student.
        """
        classroom = session.get(Classroom, class_id)
        if classroom is None:
            raise NotFoundError(f"no class {class_id}")
        user = get_user(session, user_id)
        if user.role == "admin" or classroom.instructor_id == user_id:
            return classroom
        raise ForbiddenError("this is not one of your classes")

    def _class_info(self, session: Session, classroom: Classroom) -> ClassInfo:
        assert classroom.id is not None
        teacher = session.get(User, classroom.instructor_id)
        students = session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(col(Enrollment.class_id) == classroom.id)
        )
        return ClassInfo(
            id=classroom.id,
            name=classroom.name,
            instructor_id=classroom.instructor_id,
            instructor_name=teacher.display_name if teacher else "",
            join_code=classroom.join_code,
            test_codes=tuple(classroom.test_codes),
            students=int(students or 0),
        )

    def student_visible_to(self, viewer_id: int, student_id: int, class_id: int) -> UserInfo:
        """A student of the viewer's class (or any student for an admin).

        Raises:
            ForbiddenError / NotFoundError as :meth:`_owned_class`, or when the student is
            not in that class.
        """
        with transaction(self.engine) as session:
            self._owned_class(session, viewer_id, class_id)
            if session.get(Enrollment, (class_id, student_id)) is None:
                raise NotFoundError("that student is not in this class")
            return user_info(get_user(session, student_id))

    # -- rosters and invites --------------------------------------------------------------------

    def import_roster(
        self, user_id: int, class_id: int, data: bytes, *, now: datetime, password_hash: str
    ) -> RosterResult:
        """Import a OneRoster-style CSV: all rows or none.

        New student accounts get a one-time invite link (14 days) to set their password;
        existing accounts with the same email are linked. Students are enrolled; teacher rows
        create or link instructor accounts without enrolling them. ``password_hash`` is the
        unusable placeholder stored until the invite is accepted.

        Raises:
            RosterError: listing every bad row (with line numbers); nothing is imported.
        """
        rows, problems = parse_roster(data)
        if problems:
            raise RosterError(list(problems))
        with transaction(self.engine, write=True) as session:
            self._owned_class(session, user_id, class_id)
            emails = [row.email for row in rows]
            existing = {
                user.email: user
                for user in session.scalars(select(User).where(col(User.email).in_(emails)))
            }
            conflicts = [
                f"line {row.line}, role: {row.email} is a {existing[row.email].role} account, "
                f"not a {row.role}"
                for row in rows
                if row.email in existing
                and existing[row.email].role != row.role
                and existing[row.email].role != "admin"
            ]
            if conflicts:
                raise RosterError(list(conflicts))
            created = linked = enrolled = already = instructors = 0
            invites: list[tuple[str, str, str]] = []
            for row in rows:
                account = existing.get(row.email)
                if account is None:
                    account = User(
                        email=row.email,
                        display_name=row.display_name[:100],
                        password_hash=password_hash,
                        role=row.role,
                        created_at=now,
                    )
                    session.add(account)
                    session.flush()
                    assert account.id is not None
                    token = secrets.token_urlsafe(24)
                    session.add(
                        Invite(
                            token_hash=_token_hash(token),
                            user_id=account.id,
                            created_at=now,
                            expires_at=now + timedelta(days=INVITE_DAYS),
                        )
                    )
                    invites.append((row.email, account.display_name, token))
                    created += 1
                else:
                    linked += 1
                assert account.id is not None
                if row.role == "instructor":
                    instructors += 1
                    continue
                enrollment = session.get(Enrollment, (class_id, account.id))
                if enrollment is None:
                    session.add(
                        Enrollment(
                            class_id=class_id,
                            user_id=account.id,
                            sourced_id=row.sourced_id,
                            joined_at=now,
                        )
                    )
                    enrolled += 1
                else:
                    enrollment.sourced_id = row.sourced_id
                    session.add(enrollment)
                    already += 1
            return RosterResult(created, linked, enrolled, already, instructors, invites)

    def invite_user(self, token: str, *, now: datetime) -> UserInfo:
        """The account an unused, unexpired invite token belongs to.

        Raises:
            NotFoundError: unknown, used or expired token.
        """
        with transaction(self.engine) as session:
            invite = session.get(Invite, _token_hash(token))
            if invite is None or invite.used_at is not None or invite.expires_at < now:
                raise NotFoundError("this invite link is not valid (used or expired)")
            return user_info(get_user(session, invite.user_id))

    def accept_invite(self, token: str, password_hash: str, *, now: datetime) -> UserInfo:
        """Set the password of an invited account; the link then stops working."""
        with transaction(self.engine, write=True) as session:
            invite = session.get(Invite, _token_hash(token), with_for_update=True)
            if invite is None or invite.used_at is not None or invite.expires_at < now:
                raise NotFoundError("this invite link is not valid (used or expired)")
            user = get_user(session, invite.user_id)
            user.password_hash = password_hash
            invite.used_at = now
            session.add(user)
            session.add(invite)
            return user_info(user)

    # -- decks ----------------------------------------------------------------------------------

    def decks_for(self, user_id: int) -> list[DeckInfo]:
        """Built-in decks and the user's own (all decks for an admin)."""
        with transaction(self.engine) as session:
            user = get_user(session, user_id)
            query = select(Deck).order_by(col(Deck.owner_id).is_(None).desc(), col(Deck.name))
            if user.role != "admin":
                query = query.where(
                    (col(Deck.owner_id).is_(None)) | (col(Deck.owner_id) == user_id)
                )
            return [self._deck_info(session, deck) for deck in session.scalars(query)]

    def deck(self, user_id: int, deck_id: int) -> DeckInfo:
        with transaction(self.engine) as session:
            return self._deck_info(session, self._usable_deck(session, user_id, deck_id))

    def create_deck(
        self,
        owner_id: int,
        name: str,
        *,
        tests: Iterable[str] = (),
        areas: Iterable[str] = (),
        item_ids: Iterable[str] = (),
        now: datetime,
    ) -> DeckInfo:
        """A deck of whole tests, areas and single items.

        Raises:
            InvalidInputError: no name, nothing chosen, or unknown tests, areas or items.
        """
        name = name.strip()
        tests, areas, item_ids = sorted(set(tests)), sorted(set(areas)), sorted(set(item_ids))
        if not name or len(name) > 200:
            raise InvalidInputError("give the deck a name (up to 200 characters)")
        if not (tests or areas or item_ids):
            raise InvalidInputError("choose at least one test, area or item for the deck")
        with transaction(self.engine, write=True) as session:
            self._require_teacher(session, owner_id)
            catalog = self.catalog(session)
            unknown = [code for code in tests if code not in catalog.blueprint]
            unknown += [code for code in areas if code not in catalog.blueprint.areas()]
            unknown += [item for item in item_ids if item not in catalog.index]
            if unknown:
                raise InvalidInputError(f"unknown test, area or item: {', '.join(unknown)}")
            deck = Deck(
                name=name,
                owner_id=owner_id,
                selection={"tests": tests, "areas": areas, "items": item_ids},
                created_at=now,
            )
            session.add(deck)
            session.flush()
            return self._deck_info(session, deck)

    def upload_deck(
        self, owner_id: int, name: str, filename: str, data: bytes, *, now: datetime
    ) -> DeckInfo:
        """A deck from a YAML file in the bank's format, checked by the same validator.

        Raises:
            ContentError: every problem, as ``pitstop content check`` reports it; or ids
                already used by the bank or another deck. Nothing is saved.
        """
        safe_name = Path(filename or "deck.yaml").name
        if not safe_name.endswith((".yaml", ".yml")):
            safe_name += ".yaml"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / safe_name
            path.write_bytes(data)
            with transaction(self.engine) as session:
                blueprint = self.catalog(session).blueprint
            bank = load_bank(path, blueprint, base=Path(folder), apply_policy=False)
        if bank.problems:
            raise ContentError(list(bank.problems))
        with transaction(self.engine, write=True) as session:
            self._require_teacher(session, owner_id)
            ids = [item.id for item in bank.items]
            taken = sorted(session.scalars(select(col(Item.id)).where(col(Item.id).in_(ids))))
            if taken:
                raise ContentError(
                    [
                        f"{safe_name}: id {item_id} is already used by the bank or another deck"
                        for item_id in taken
                    ]
                )
            deck = Deck(
                name=(name.strip() or safe_name)[:200],
                owner_id=owner_id,
                selection={"tests": [], "areas": [], "items": ids},
                created_at=now,
            )
            session.add(deck)
            session.flush()
            for bank_item in bank.items:
                session.add(
                    Item(
                        id=bank_item.id,
                        test_code=bank_item.test_code,
                        area_code=bank_item.area_code,
                        kind=bank_item.kind.value,
                        format=bank_item.format,
                        scenario=bank_item.scenario,
                        difficulty=bank_item.difficulty,
                        body=dict(bank_item.body),
                        content_hash=bank_item.content_hash,
                        origin="deck",
                        source=f"deck {deck.id}: {safe_name}"[:300],
                        updated_at=now,
                    )
                )
            # New items change the catalog every process caches.
            session.merge(
                Setting(key="content_revision", value=f"deck-{deck.id}-{secrets.token_hex(4)}")
            )
            session.flush()
            return self._deck_info(session, deck)

    def deck_item_ids(self, session: Session, deck: Deck) -> list[str]:
        """The active items a deck's selection resolves to, in a stable order."""
        catalog = self.catalog(session)
        selection = deck.selection
        mask = catalog.mask_for_tests(selection.get("tests", []))
        mask |= catalog.mask_for_areas(selection.get("areas", []))
        mask |= catalog.mask_for_items(selection.get("items", []))
        return [catalog.items[index].id for index in mask.nonzero()[0]]

    def _deck_info(self, session: Session, deck: Deck) -> DeckInfo:
        assert deck.id is not None
        return DeckInfo(
            id=deck.id,
            name=deck.name,
            key=deck.key,
            owner_id=deck.owner_id,
            selection=deck.selection,
            items=len(self.deck_item_ids(session, deck)),
        )

    def _usable_deck(self, session: Session, user_id: int, deck_id: int) -> Deck:
        deck = session.get(Deck, deck_id)
        if deck is None:
            raise NotFoundError(f"no deck {deck_id}")
        user = get_user(session, user_id)
        if deck.owner_id is None or deck.owner_id == user_id or user.role == "admin":
            return deck
        raise ForbiddenError("that deck belongs to another instructor")

    def _require_teacher(self, session: Session, user_id: int) -> User:
        user = get_user(session, user_id)
        if user.role not in ("instructor", "admin"):
            raise ForbiddenError("only instructors build decks")
        return user

    # -- assignments ----------------------------------------------------------------------------

    def create_assignment(
        self,
        user_id: int,
        class_id: int,
        deck_id: int,
        *,
        starts_on: date,
        due_on: date,
        goal_level: MasteryLevel = MasteryLevel.PROFICIENT,
        now: datetime,
    ) -> AssignmentInfo:
        """Assign a deck to a class between two dates with a goal level for its areas.

        Raises:
            InvalidInputError: due before start, or a goal level that is not Familiar,
                Proficient or Mastered.
        """
        if due_on < starts_on:
            raise InvalidInputError("the due date is before the start date")
        if goal_level not in GOAL_LEVELS:
            raise InvalidInputError("the goal is Familiar, Proficient or Mastered")
        with transaction(self.engine, write=True) as session:
            classroom = self._owned_class(session, user_id, class_id)
            deck = self._usable_deck(session, user_id, deck_id)
            assignment = Assignment(
                class_id=class_id,
                deck_id=deck_id,
                starts_on=starts_on,
                due_on=due_on,
                goal={"level": int(goal_level)},
                created_at=now,
            )
            session.add(assignment)
            session.flush()
            return self._assignment_info(assignment, classroom, deck)

    def delete_assignment(self, user_id: int, assignment_id: int) -> None:
        with transaction(self.engine, write=True) as session:
            assignment = session.get(Assignment, assignment_id)
            if assignment is None:
                raise NotFoundError(f"no assignment {assignment_id}")
            self._owned_class(session, user_id, assignment.class_id)
            session.execute(delete(Assignment).where(col(Assignment.id) == assignment_id))

    def class_assignments(self, user_id: int, class_id: int) -> list[AssignmentInfo]:
        with transaction(self.engine) as session:
            classroom = self._owned_class(session, user_id, class_id)
            return self._assignments_of(session, [classroom])

    def _assignments_of(
        self, session: Session, classrooms: Sequence[Classroom]
    ) -> list[AssignmentInfo]:
        by_id = {classroom.id: classroom for classroom in classrooms}
        rows = session.scalars(
            select(Assignment)
            .where(col(Assignment.class_id).in_(list(by_id)))
            .order_by(col(Assignment.due_on), col(Assignment.id))
        ).all()
        wanted = [row.deck_id for row in rows]
        decks = {
            deck.id: deck for deck in session.scalars(select(Deck).where(col(Deck.id).in_(wanted)))
        }
        return [self._assignment_info(row, by_id[row.class_id], decks[row.deck_id]) for row in rows]

    def _assignment_info(
        self, assignment: Assignment, classroom: Classroom, deck: Deck
    ) -> AssignmentInfo:
        assert assignment.id is not None and classroom.id is not None and deck.id is not None
        return AssignmentInfo(
            id=assignment.id,
            class_id=classroom.id,
            class_name=classroom.name,
            deck_id=deck.id,
            deck_name=deck.name,
            starts_on=assignment.starts_on,
            due_on=assignment.due_on,
            goal_level=MasteryLevel(int(assignment.goal.get("level", MasteryLevel.PROFICIENT))),
        )

    def _active_assignments(
        self, session: Session, student_id: int, timezone: str, now: datetime
    ) -> list[tuple[AssignmentInfo, AssignmentScope]]:
        """The student's assignments that have started and are not more than a week overdue,
        with their items, for the planner."""
        today = now.astimezone(zone_named(timezone)).date()
        classrooms = list(
            session.scalars(
                select(Classroom)
                .join(Enrollment, col(Enrollment.class_id) == col(Classroom.id))
                .where(col(Enrollment.user_id) == student_id)
            )
        )
        if not classrooms:
            return []
        active = []
        decks: dict[int, Deck] = {}
        for info in self._assignments_of(session, classrooms):
            if not info.starts_on <= today <= info.due_on + timedelta(days=7):
                continue
            deck = decks.get(info.deck_id) or session.get(Deck, info.deck_id)
            assert deck is not None
            decks[info.deck_id] = deck
            due_at = datetime.combine(
                info.due_on, ASSIGNMENT_DUE_HOUR, tzinfo=zone_named(timezone)
            ).astimezone(UTC)
            scope = AssignmentScope(
                assignment_id=info.id,
                name=info.deck_name,
                item_ids=frozenset(self.deck_item_ids(session, deck)),
                due_at=due_at,
            )
            active.append((info, scope))
        return active

    def assignment_for_student(self, student_id: int, assignment_id: int) -> AssignmentInfo:
        """An assignment of one of the student's classes.

        Raises:
            NotFoundError: no such assignment, or not in the student's classes.
        """
        with transaction(self.engine) as session:
            assignment = session.get(Assignment, assignment_id)
            if (
                assignment is None
                or session.get(Enrollment, (assignment.class_id, student_id)) is None
            ):
                raise NotFoundError("no such assignment in your classes")
            classroom = session.get(Classroom, assignment.class_id)
            deck = session.get(Deck, assignment.deck_id)
            assert classroom is not None and deck is not None
            return self._assignment_info(assignment, classroom, deck)


def unused_password_hash() -> str:
    """A password hash no password matches: accounts waiting for their invite."""
    return "!invite-pending!" + secrets.token_hex(16)
