"""What instructors and admins see: the class heatmap, students at risk, assignment progress,
item analysis and activity, and the exports. Aggregation is set-based SQL over all the
students in scope at once; Python only combines the per (student, area) totals."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlmodel import Session, col

from engine.analysis import ItemStats, item_analysis
from engine.blueprint import AreaSpec
from engine.catalog import ItemCatalog
from engine.errors import ForbiddenError, NotFoundError
from engine.mastery import (
    AreaTotals,
    LevelRules,
    MasteryLevel,
    levels_from_totals,
    mastery_from_totals,
)
from engine.readiness import pass_probability
from engine.scheduling import DAY_US, FRESH_DAYS, ItemKind, MemoryGroup, to_epoch_us
from engine.service.base import (
    EXAM_HOUR,
    NO_EXAM_DAYS,
    curve_columns,
    epoch_us_column,
    get_user,
    zone_named,
)
from engine.service.classes import AssignmentInfo, ClassInfo, ClassUseCases
from engine.service.progress import HomeOverview, ProgressUseCases
from engine.store.db import transaction
from engine.store.models import (
    AreaPrior,
    CardState,
    Classroom,
    Deck,
    Enrollment,
    Goal,
    Item,
    LearnerParameters,
    Review,
    User,
)

__all__ = [
    "AssignmentProgress",
    "ClassDashboard",
    "HomePage",
    "ReportUseCases",
    "StudentFlag",
    "StudentRow",
]

INACTIVE_DAYS = 5
AT_RISK_PASS = 0.5
PACE_DAYS = 7
ACTIVITY_DAYS = 30
MCQ_GUESS = ItemKind.MCQ.guess_rate
_EXAMS_PER_QUERY = 400  # rows of the exam-moment UNION ALL; SQLite allows 500 terms


class StudentFlag:
    INACTIVE = "inactive 5+ days"
    AT_RISK = "pass chance under 50%"
    BEHIND = "behind on an assignment"


@dataclass(frozen=True)
class AssignmentProgress:
    """One student's progress on one assignment."""

    assignment: AssignmentInfo
    areas: int
    areas_met: int
    items: int
    items_seen: int
    behind: bool

    @property
    def completion(self) -> float:
        return self.areas_met / self.areas if self.areas else 1.0

    @property
    def done(self) -> bool:
        return self.areas_met == self.areas


@dataclass(frozen=True)
class StudentRow:
    user_id: int
    name: str
    email: str
    mastery: tuple[float, ...]  # one per dashboard area
    levels: tuple[MasteryLevel, ...]
    pass_chance: dict[str, float]
    last_active: datetime | None
    items_7d: int
    assignments: tuple[AssignmentProgress, ...]
    flags: tuple[str, ...]

    @property
    def risk(self) -> float:
        """Lower is riskier: the smallest pass chance over the class's tests."""
        return min(self.pass_chance.values(), default=1.0)


@dataclass(frozen=True)
class ClassDashboard:
    classroom: ClassInfo
    areas: tuple[AreaSpec, ...]
    rows: tuple[StudentRow, ...]
    assignments: tuple[AssignmentInfo, ...]
    at_exam: bool
    activity: tuple[tuple[date, int], ...]  # items answered per day, oldest first
    now: datetime


@dataclass(frozen=True)
class MasteryGrid:
    """Mastery, level and coverage of each (user, area), users × areas."""

    user_ids: list[int]
    area_codes: list[str]
    mastery: np.ndarray
    levels: list[list[MasteryLevel]]
    coverage: np.ndarray


@dataclass(frozen=True)
class _Totals:
    """Per (user, area) totals from SQL, keyed for lookup."""

    seen: dict[tuple[int, str], np.ndarray]
    recall: dict[tuple[int, str], float]
    recall_settled: dict[tuple[int, str], float]  # a week on from now: what levels judge
    delayed: dict[tuple[int, str], float]
    known: dict[tuple[int, str], float]
    attempts: dict[tuple[int, str], float]

    @classmethod
    def empty(cls) -> _Totals:
        return cls(*({} for _ in _TOTALS_FIELDS))

    def update(self, other: _Totals) -> None:
        for name in _TOTALS_FIELDS:
            getattr(self, name).update(getattr(other, name))


_TOTALS_FIELDS = tuple(field.name for field in fields(_Totals))


@dataclass(frozen=True)
class HomePage:
    """Everything the learner's home page shows."""

    overview: HomeOverview
    classes: list[ClassInfo]
    assignments: list[AssignmentProgress]


class ReportUseCases(ClassUseCases, ProgressUseCases):
    def home_page(self, user_id: int, *, now: datetime) -> HomePage:
        """Today, readiness, the learner's classes and their assignments with progress."""
        return HomePage(
            overview=self.home(user_id, now=now),
            classes=self.classes_for(user_id),
            assignments=self.student_assignments(user_id, now=now),
        )

    # -- the dashboard --------------------------------------------------------------------------

    def class_dashboard(
        self,
        viewer_id: int,
        class_id: int,
        *,
        now: datetime,
        at_exam: bool = False,
        sort: str = "name",
    ) -> ClassDashboard:
        """Students × content areas of the class's tests, with readiness, assignments and
        flags. ``sort``: ``name``, ``risk`` or an area code (weakest first).

        Raises:
            ForbiddenError / NotFoundError: not the viewer's class.
        """
        with transaction(self.engine) as session:
            classroom = self._owned_class(session, viewer_id, class_id)
            info = self._class_info(session, classroom)
            catalog = self.catalog(session)
            members = self._members(session, class_id)
            user_ids = [user.id for user in members if user.id is not None]
            areas = tuple(
                area
                for code in info.test_codes
                if code in catalog.blueprint
                for area in catalog.blueprint[code].areas
            )
            grid = self._mastery_matrix(
                session, catalog, user_ids, [a.code for a in areas], now, at_exam=at_exam
            )
            matrix, levels = grid.mastery, grid.levels
            assignments = tuple(self._assignments_of(session, [classroom]))
            progress = {
                assignment.id: self._assignment_progress(
                    session, catalog, assignment, user_ids, now
                )
                for assignment in assignments
            }
            last_active, recent_items = self._activity_by_user(session, user_ids, now)
            rows = []
            for position, user in enumerate(members):
                assert user.id is not None
                chances = {}
                for test_code in info.test_codes:
                    test = catalog.blueprint.get(test_code)
                    if test is None:
                        continue
                    per_question = [
                        float(matrix[position, index])
                        for index, area in enumerate(areas)
                        if area.test_code == test_code
                        for _ in range(area.scored_questions)
                    ]
                    chances[test_code] = pass_probability(per_question, self.cut_score)
                student_progress = tuple(progress[a.id][user.id] for a in assignments)
                flags = []
                seen_last = last_active.get(user.id)
                if seen_last is None or now - seen_last >= timedelta(days=INACTIVE_DAYS):
                    flags.append(StudentFlag.INACTIVE)
                if chances and min(chances.values()) < AT_RISK_PASS:
                    flags.append(StudentFlag.AT_RISK)
                if any(item.behind for item in student_progress):
                    flags.append(StudentFlag.BEHIND)
                rows.append(
                    StudentRow(
                        user_id=user.id,
                        name=user.display_name,
                        email=user.email,
                        mastery=tuple(float(v) for v in matrix[position]),
                        levels=tuple(levels[position]),
                        pass_chance=chances,
                        last_active=seen_last,
                        items_7d=recent_items.get(user.id, 0),
                        assignments=student_progress,
                        flags=tuple(flags),
                    )
                )
            rows = _sorted_rows(rows, sort, [area.code for area in areas])
            return ClassDashboard(
                classroom=info,
                areas=areas,
                rows=tuple(rows),
                assignments=assignments,
                at_exam=at_exam,
                activity=self._daily_activity(session, user_ids, now),
                now=now,
            )

    # -- students' own assignments --------------------------------------------------------------

    def student_assignments(self, student_id: int, *, now: datetime) -> list[AssignmentProgress]:
        """The student's current assignments (started, not more than a week overdue)."""
        with transaction(self.engine) as session:
            user = get_user(session, student_id)
            catalog = self.catalog(session)
            result = []
            for info, _scope in self._active_assignments(session, student_id, user.timezone, now):
                result.append(
                    self._assignment_progress(session, catalog, info, [student_id], now)[student_id]
                )
            return result

    # -- item analysis ------------------------------------------------------------------------

    def item_report(self, viewer_id: int, class_id: int | None) -> list[ItemStats]:
        """First-attempt statistics for every item, over one class's students (``class_id``)
        or over all learners (admins only, ``class_id`` None)."""
        with transaction(self.engine) as session:
            query = select(
                col(Review.user_id), col(Review.item_id), col(Review.correct), col(Review.choice)
            ).where(col(Review.first_attempt) == True)  # noqa: E712
            if class_id is None:
                viewer = get_user(session, viewer_id)
                if viewer.role != "admin":
                    raise ForbiddenError("only admins see item analysis for all learners")
            else:
                self._owned_class(session, viewer_id, class_id)
                members = select(col(Enrollment.user_id)).where(
                    col(Enrollment.class_id) == class_id
                )
                query = query.where(col(Review.user_id).in_(members))
            rows = session.execute(query).all()
            item_ids = sorted({row[1] for row in rows})
            keys: list[str | None] = []
            if item_ids:
                bodies = dict(
                    session.execute(
                        select(col(Item.id), col(Item.body)).where(col(Item.id).in_(item_ids))
                    ).all()
                )
                keys = [bodies[item_id].get("answer") for item_id in item_ids]
        if not rows:
            return []
        position = {item_id: index for index, item_id in enumerate(item_ids)}
        letters = {"A": 0, "B": 1, "C": 2, "D": 3}
        stats = item_analysis(
            item_ids=item_ids,
            keys=keys,
            learner=np.array([row[0] for row in rows]),
            item=np.array([position[row[1]] for row in rows]),
            correct=np.array([bool(row[2]) for row in rows]),
            choice=np.array([letters.get(row[3] or "", -1) for row in rows]),
        )
        return sorted(stats, key=lambda s: (-len(s.flags), s.point_biserial or 0.0, s.item_id))

    def item_detail(self, viewer_id: int, item_id: str) -> dict[str, Any]:
        """An item's full text for instructors and admins (students never see keys outside
        feedback)."""
        with transaction(self.engine) as session:
            viewer = get_user(session, viewer_id)
            if viewer.role not in ("instructor", "admin"):
                raise ForbiddenError("only instructors see items outside study")
            item = session.get(Item, item_id)
            if item is None:
                raise NotFoundError(f"no item {item_id}")
            return {
                "id": item.id,
                "test_code": item.test_code,
                "area_code": item.area_code,
                "kind": item.kind,
                "format": item.format,
                "difficulty": item.difficulty,
                "retired": item.retired,
                "body": item.body,
            }

    # -- exports --------------------------------------------------------------------------------

    def heatmap_csv(self, dashboard: ClassDashboard) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        moment = "at exam date" if dashboard.at_exam else "now"
        writer.writerow(
            ["student", "email"]
            + [f"{area.code} mastery {moment}" for area in dashboard.areas]
            + [f"{a.deck_name} (due {a.due_on}) completion" for a in dashboard.assignments]
        )
        for row in dashboard.rows:
            writer.writerow(
                [_cell(row.name), row.email]
                + [f"{value:.3f}" for value in row.mastery]
                + [f"{progress.completion:.3f}" for progress in row.assignments]
            )
        return out.getvalue()

    def students_csv(self, dashboard: ClassDashboard) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        tests = list(dashboard.classroom.test_codes)
        writer.writerow(
            ["student", "email", "last active (UTC)", "items last 7 days"]
            + [f"{code} pass chance (estimate)" for code in tests]
            + ["flags"]
        )
        for row in dashboard.rows:
            writer.writerow(
                [
                    _cell(row.name),
                    row.email,
                    row.last_active.isoformat() if row.last_active else "",
                    row.items_7d,
                ]
                + [f"{row.pass_chance.get(code, float('nan')):.3f}" for code in tests]
                + ["; ".join(row.flags)]
            )
        return out.getvalue()

    @staticmethod
    def items_csv(stats: Sequence[ItemStats]) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["item", "first attempts", "p-value", "point-biserial", "key"]
            + [f"picked {label}" for label in ("A", "B", "C", "D", "none")]
            + ["flags"]
        )
        for item in stats:
            writer.writerow(
                [
                    item.item_id,
                    item.learners,
                    f"{item.p_value:.3f}",
                    "" if item.point_biserial is None else f"{item.point_biserial:.3f}",
                    item.key or "",
                ]
                + [f"{item.choice_rates[label]:.3f}" for label in ("A", "B", "C", "D", "none")]
                + ["; ".join(item.flags)]
            )
        return out.getvalue()

    def school_csv(self, viewer_id: int, *, now: datetime) -> str:
        """Every student × every area of the tests they study (goals and classes): mastery
        now, coverage and level. Admins only. One aggregation over the whole school."""
        with transaction(self.engine) as session:
            viewer = get_user(session, viewer_id)
            if viewer.role != "admin":
                raise ForbiddenError("only admins export the school report")
            catalog = self.catalog(session)
            students = list(
                session.execute(
                    select(col(User.id), col(User.display_name), col(User.email))
                    .where(col(User.role) == "student")
                    .order_by(col(User.id))
                ).all()
            )
            tests_of: dict[int, set[str]] = {row[0]: set() for row in students}
            for user_id, test_code in session.execute(
                select(col(Goal.user_id), col(Goal.test_code))
            ).all():
                if user_id in tests_of:
                    tests_of[user_id].add(test_code)
            for user_id, codes in session.execute(
                select(col(Enrollment.user_id), col(Classroom.test_codes)).join(
                    Classroom, col(Classroom.id) == col(Enrollment.class_id)
                )
            ).all():
                if user_id in tests_of:
                    tests_of[user_id].update(codes)
            area_codes = list(catalog.blueprint.areas())
            grid = self._mastery_matrix(session, catalog, None, area_codes, now, at_exam=False)
        matrix, levels, coverage = grid.mastery, grid.levels, grid.coverage
        index_of = {user_id: position for position, user_id in enumerate(grid.user_ids)}
        areas = catalog.blueprint.areas()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["student_id", "student", "email", "test", "area", "mastery", "coverage", "level"]
        )
        for user_id, name, email in students:
            position = index_of.get(user_id)
            for column_index, code in enumerate(area_codes):
                if areas[code].test_code not in tests_of[user_id]:
                    continue
                if position is None:
                    mastery, cover, level = _fresh_mastery(catalog, code), 0.0, MasteryLevel(0)
                else:
                    mastery = float(matrix[position, column_index])
                    cover = float(coverage[position, column_index])
                    level = levels[position][column_index]
                writer.writerow(
                    [
                        user_id,
                        _cell(name),
                        email,
                        areas[code].test_code,
                        code,
                        f"{mastery:.3f}",
                        f"{cover:.3f}",
                        level.label,
                    ]
                )
        return out.getvalue()

    # -- set-based aggregation ------------------------------------------------------------------

    def _mastery_matrix(
        self,
        session: Session,
        catalog: ItemCatalog,
        user_ids: list[int] | None,
        area_codes: list[str],
        now: datetime,
        *,
        at_exam: bool,
        item_ids: Iterable[str] | None = None,
    ) -> MasteryGrid:
        """Mastery of each (user, area) as :func:`engine.mastery.area_mastery` computes it,
        from one grouped query over every card of the users in scope.

        ``user_ids`` None means every user with a card. ``item_ids`` restricts the items
        (an assigned deck); the area's evidence for unseen items still comes from all its bank
        items, as in the learner's own view.
        """
        bank = self._area_sums(session, user_ids, now, at_exam=at_exam, item_ids=None)
        subset = (
            bank
            if item_ids is None
            else self._area_sums(session, user_ids, now, at_exam=at_exam, item_ids=item_ids)
        )
        placement = self._placement(session, user_ids)
        if user_ids is None:
            user_ids = sorted({user for user, _ in bank.seen} | {user for user, _ in placement})
        chosen = catalog.in_bank if item_ids is None else catalog.mask_for_items(item_ids)
        items_by_difficulty = {}
        for code in area_codes:
            if code not in catalog.area_codes:
                items_by_difficulty[code] = np.zeros(3)
                continue
            members = chosen & (catalog.area_of == catalog.area_codes.index(code))
            difficulty = np.clip(catalog.difficulty[members], 1, 3) - 1
            items_by_difficulty[code] = np.bincount(difficulty, minlength=3).astype(float)
        keys = [(user, code) for user in user_ids for code in area_codes]
        zeros = np.zeros(3)
        totals = AreaTotals(
            items_by_difficulty=np.array([items_by_difficulty[code] for _, code in keys]).reshape(
                -1, 3
            ),
            seen_by_difficulty=np.array([subset.seen.get(key, zeros) for key in keys]).reshape(
                -1, 3
            ),
            recall_sum=np.array([subset.recall.get(key, 0.0) for key in keys]),
            known=np.array(
                [bank.known.get(key, 0.0) + placement.get(key, (0.0, 0.0))[1] for key in keys]
            ),
            attempts=np.array(
                [bank.attempts.get(key, 0.0) + placement.get(key, (0.0, 0.0))[0] for key in keys]
            ),
            delayed=np.array([subset.delayed.get(key, 0.0) for key in keys]),
        )
        mastery = mastery_from_totals(totals)
        shape = (len(user_ids), len(area_codes))
        # Levels judge mastery a week on (LevelRules.settle_days), as the learner's own view
        # does; the same grouped query summed recall then.
        rules = LevelRules()
        level_basis = mastery_from_totals(
            replace(
                totals,
                recall_sum=np.array([subset.recall_settled.get(key, 0.0) for key in keys]),
            )
        )
        flat_levels = levels_from_totals(level_basis, totals, rules)
        levels = [
            flat_levels[row * len(area_codes) : (row + 1) * len(area_codes)]
            for row in range(len(user_ids))
        ]
        coverage = totals.seen / np.maximum(totals.items, 1)
        return MasteryGrid(
            list(user_ids),
            list(area_codes),
            mastery.reshape(shape),
            levels,
            coverage.reshape(shape),
        )

    def _area_sums(
        self,
        session: Session,
        user_ids: list[int] | None,
        now: datetime,
        *,
        at_exam: bool,
        item_ids: Iterable[str] | None,
    ) -> _Totals:
        """Per (learner, area) sums over the learners' cards, one grouped query (``user_ids``
        None: every learner). Recall uses each card's memory-group curve, which the learner's
        ``learner_parameters`` row keeps (a fresh learner's when there is no row).

        At the exam date each learner's exam moments travel into the query as rows of a UNION
        ALL, which SQLite caps at 500 terms: then the learners go in batches.

        Remembered for the rest of the session (a report's read transaction): a dashboard's
        assignments all need the same whole-bank sums its grid computed."""
        chosen = None if item_ids is None else list(item_ids)
        key = (
            None if user_ids is None else tuple(user_ids),
            now,
            at_exam,
            None if chosen is None else tuple(chosen),
        )
        memo: dict[tuple[Any, ...], _Totals] = session.info.setdefault("pitstop.area_sums", {})
        totals = memo.get(key)
        if totals is None:
            totals = self._area_sums_uncached(session, user_ids, now, at_exam, chosen)
            memo[key] = totals
        return totals

    def _area_sums_uncached(
        self,
        session: Session,
        user_ids: list[int] | None,
        now: datetime,
        at_exam: bool,
        chosen: list[str] | None,
    ) -> _Totals:
        # Without an exam (none set, or past) "at the exam" is NO_EXAM_DAYS on, as the
        # learner's own progress page has it.
        no_exam = now + timedelta(days=NO_EXAM_DAYS) if at_exam else now
        if not (at_exam and user_ids):
            return self._area_sums_query(session, user_ids, now, [], chosen, no_exam)
        exams_of: dict[int, list[tuple[int, str, int]]] = {}
        for exam in self._exam_moments(session, user_ids, now):
            exams_of.setdefault(exam[0], []).append(exam)
        batches: list[tuple[list[int], list[tuple[int, str, int]]]] = [([], [])]
        for user in user_ids:
            own = exams_of.get(user, [])
            users, moments = batches[-1]
            if users and len(moments) + len(own) > _EXAMS_PER_QUERY:
                batches.append(([], []))
                users, moments = batches[-1]
            users.append(user)
            moments.extend(own)
        totals = _Totals.empty()
        for users, moments in batches:
            batch = self._area_sums_query(session, users, now, moments, chosen, no_exam)
            totals.update(batch)
        return totals

    def _area_sums_query(
        self,
        session: Session,
        user_ids: list[int] | None,
        now: datetime,
        exams: list[tuple[int, str, int]],
        item_ids: list[str] | None,
        no_exam: datetime,
    ) -> _Totals:
        """Sums at each card's exam moment (``exams``; ``no_exam`` for cards without one) and
        a week on from ``now``."""
        dialect = session.get_bind().dialect.name
        last_us = epoch_us_column(col(CardState.last_review), dialect)
        moment: Any = literal(to_epoch_us(no_exam), BigInteger)
        exam_table = None
        if exams:
            # A small table of exam moments, as a CTE both databases accept.
            exam_table = union_all(
                *[
                    select(
                        literal(user, Integer).label("user_id"),
                        literal(test, String).label("test_code"),
                        literal(at_us, BigInteger).label("at_us"),
                    )
                    for user, test, at_us in exams
                ]
            ).cte("exam_moment")
            moment = func.coalesce(exam_table.c.at_us, moment)
        # The card's memory group (CardTable.memory_groups) picks the curve that applies.
        introduced_us = epoch_us_column(col(CardState.introduced_at), dialect)
        conditions = {
            MemoryGroup.SETTLED: last_us - introduced_us >= int(FRESH_DAYS * DAY_US),
            MemoryGroup.KNOWN_AT_FIRST: col(CardState.first_correct) == True,  # noqa: E712
            MemoryGroup.FAILED_ONCE: col(CardState.reps) <= 1,
        }
        fresh = _fresh_curves()

        def curve(kind: str) -> Any:
            def column(group: MemoryGroup) -> Any:
                name = f"{kind}_{group.name.lower()}"
                return func.coalesce(getattr(LearnerParameters, name), fresh[name])

            return case(
                *[(condition, column(group)) for group, condition in conditions.items()],
                else_=column(MemoryGroup.FAILED_RESTUDIED),
            )

        # And its author difficulty the learner's item scale (easy and hard; middling: 1).
        item_difficulty = col(Item.difficulty)
        item_scale = case(
            (
                item_difficulty <= 1,
                func.coalesce(col(LearnerParameters.item_scale_easy), fresh["item_scale_easy"]),
            ),
            (
                item_difficulty >= 3,
                func.coalesce(col(LearnerParameters.item_scale_hard), fresh["item_scale_hard"]),
            ),
            else_=1.0,
        )
        first = case((col(CardState.first_correct), 1.0), else_=0.0)
        # One row per card with its curve picked: a derived table behind OFFSET 0, so that
        # PostgreSQL works each card's group, curve and timestamps out once, rather than once
        # for every place the sums below use them.
        per_card = (
            select(
                col(CardState.user_id).label("user_id"),
                col(Item.area_code).label("area_code"),
                col(Item.difficulty).label("difficulty"),
                col(CardState.stability).label("stability"),
                col(CardState.proven_interval_days).label("proven_days"),
                last_us.label("last_us"),
                moment.label("at_us"),
                curve("scale").label("scale"),
                curve("decay").label("decay"),
                item_scale.label("item_scale"),
                case(
                    (col(Item.kind) == ItemKind.MCQ.value, (first - MCQ_GUESS) / (1 - MCQ_GUESS)),
                    else_=first,
                ).label("known"),
            )
            .select_from(CardState)
            .join(Item, col(Item.id) == col(CardState.item_id))
            .outerjoin(LearnerParameters, col(LearnerParameters.user_id) == col(CardState.user_id))
            .where(col(Item.retired) == False)  # noqa: E712
        )
        if exam_table is not None:
            per_card = per_card.outerjoin(
                exam_table,
                and_(
                    exam_table.c.user_id == col(CardState.user_id),
                    exam_table.c.test_code == col(Item.test_code),
                ),
            )
        if item_ids is None:
            per_card = per_card.where(col(Item.origin) == "bank")
        else:
            per_card = per_card.where(col(Item.id).in_(item_ids))
        if user_ids is not None:
            per_card = per_card.where(col(CardState.user_id).in_(user_ids))
        card = per_card.offset(0).subquery("card")
        factor = func.power(0.9, -1.0 / card.c.decay) - 1.0

        def recall_at(at_us: Any) -> Any:
            # Fractional days since the last review, as the engine's calibrated recall counts.
            elapsed = cast(at_us - card.c.last_us, Float) / literal(float(DAY_US), Float)
            days = case((elapsed < 0, 0.0), else_=elapsed)
            return func.power(
                1.0 + factor * days / (card.c.stability * card.c.scale * card.c.item_scale),
                -card.c.decay,
            )

        settled_at = literal(
            to_epoch_us(now + timedelta(days=LevelRules().settle_days)), BigInteger
        )
        difficulty = card.c.difficulty
        query = select(
            card.c.user_id,
            card.c.area_code,
            func.sum(case((difficulty <= 1, 1), else_=0)),
            func.sum(case((difficulty == 2, 1), else_=0)),
            func.sum(case((difficulty >= 3, 1), else_=0)),
            func.sum(recall_at(card.c.at_us)),
            func.sum(recall_at(settled_at)),
            func.sum(case((card.c.proven_days >= 7.0, 1), else_=0)),
            func.sum(card.c.known),
            func.count(),
        ).group_by(card.c.user_id, card.c.area_code)
        totals = _Totals.empty()
        for row in session.execute(query):
            user, area, d1, d2, d3, recall_sum, settled_sum, delayed, known_sum, count = row
            key = (int(user), str(area))
            totals.seen[key] = np.array([d1, d2, d3], dtype=float)
            totals.recall[key] = float(recall_sum or 0.0)
            totals.recall_settled[key] = float(settled_sum or 0.0)
            totals.delayed[key] = float(delayed or 0)
            totals.known[key] = float(known_sum or 0.0)
            totals.attempts[key] = float(count)
        return totals

    def _placement(
        self, session: Session, user_ids: list[int] | None
    ) -> dict[tuple[int, str], tuple[float, float]]:
        query = select(
            col(AreaPrior.user_id),
            col(AreaPrior.area_code),
            col(AreaPrior.attempts),
            col(AreaPrior.known),
        )
        if user_ids is not None:
            query = query.where(col(AreaPrior.user_id).in_(user_ids))
        return {(row[0], row[1]): (float(row[2]), float(row[3])) for row in session.execute(query)}

    def _exam_moments(
        self, session: Session, user_ids: list[int], now: datetime
    ) -> list[tuple[int, str, int]]:
        """(user, test, epoch µs) of each future exam: 9:00 local time on the exam date."""
        zones = dict(
            session.execute(
                select(col(User.id), col(User.timezone)).where(col(User.id).in_(user_ids))
            ).all()
        )
        moments = []
        for user_id, test_code, exam_date in session.execute(
            select(col(Goal.user_id), col(Goal.test_code), col(Goal.exam_date)).where(
                col(Goal.user_id).in_(user_ids), col(Goal.exam_date).is_not(None)
            )
        ):
            at = datetime.combine(exam_date, EXAM_HOUR, tzinfo=zone_named(zones[user_id]))
            at = at.astimezone(UTC)
            if at > now:
                moments.append((int(user_id), str(test_code), to_epoch_us(at)))
        return moments

    def _assignment_progress(
        self,
        session: Session,
        catalog: ItemCatalog,
        assignment: AssignmentInfo,
        user_ids: list[int],
        now: datetime,
    ) -> dict[int, AssignmentProgress]:
        deck = session.get(Deck, assignment.deck_id)
        assert deck is not None
        item_ids = self.deck_item_ids(session, deck)
        if not item_ids or not user_ids:
            return {
                user: AssignmentProgress(assignment, 0, 0, len(item_ids), 0, False)
                for user in user_ids
            }
        mask = catalog.mask_for_items(item_ids)
        area_codes = sorted({catalog.items[i].area_code for i in np.flatnonzero(mask)})
        levels = self._mastery_matrix(
            session, catalog, user_ids, area_codes, now, at_exam=False, item_ids=item_ids
        ).levels
        # Pace: deck items begun a day over the last week, or since the assignment opened
        # when that is more recent (two days in, a week's average would read as "behind").
        pace_days = min(PACE_DAYS, max(1, (now.date() - assignment.starts_on).days + 1))
        seen_rows = session.execute(
            select(
                col(CardState.user_id),
                func.count(),
                func.sum(
                    case(
                        (col(CardState.introduced_at) >= now - timedelta(days=pace_days), 1),
                        else_=0,
                    )
                ),
            )
            .where(col(CardState.user_id).in_(user_ids), col(CardState.item_id).in_(item_ids))
            .group_by(col(CardState.user_id))
        ).all()
        seen = {row[0]: (int(row[1]), int(row[2] or 0)) for row in seen_rows}
        days_left = (assignment.due_on - now.date()).days + 1
        result = {}
        for position, user in enumerate(user_ids):
            met = sum(level >= assignment.goal_level for level in levels[position])
            items_seen, recent = seen.get(user, (0, 0))
            remaining = len(item_ids) - items_seen
            pace = recent / pace_days
            behind = met < len(area_codes) and (
                days_left <= 0
                or (now.date() >= assignment.starts_on and pace * days_left < remaining)
            )
            result[user] = AssignmentProgress(
                assignment=assignment,
                areas=len(area_codes),
                areas_met=int(met),
                items=len(item_ids),
                items_seen=items_seen,
                behind=bool(behind),
            )
        return result

    def _activity_by_user(
        self, session: Session, user_ids: list[int], now: datetime
    ) -> tuple[dict[int, datetime], dict[int, int]]:
        if not user_ids:
            return {}, {}
        rows = session.execute(
            select(
                col(Review.user_id),
                func.max(col(Review.answered_at)),
                func.sum(case((col(Review.answered_at) >= now - timedelta(days=7), 1), else_=0)),
            )
            .where(col(Review.user_id).in_(user_ids))
            .group_by(col(Review.user_id))
        ).all()
        last = {}
        recent = {}
        for user, latest, count in rows:
            if latest is not None:
                last[int(user)] = _aware(latest)
            recent[int(user)] = int(count or 0)
        return last, recent

    def _daily_activity(
        self, session: Session, user_ids: list[int], now: datetime
    ) -> tuple[tuple[date, int], ...]:
        start = (now - timedelta(days=ACTIVITY_DAYS - 1)).date()
        counts: dict[date, int] = {}
        if user_ids:
            dialect = session.get_bind().dialect.name
            answered = col(Review.answered_at)
            day = (
                func.substr(answered, 1, 10)
                if dialect == "sqlite"
                else func.to_char(func.timezone("UTC", answered), "YYYY-MM-DD")
            )
            rows = session.execute(
                select(day, func.count())
                .where(
                    col(Review.user_id).in_(user_ids),
                    answered >= datetime.combine(start, datetime.min.time(), tzinfo=UTC),
                )
                .group_by(day)
            ).all()
            counts = {date.fromisoformat(str(row[0])): int(row[1]) for row in rows}
        return tuple(
            (start + timedelta(days=offset), counts.get(start + timedelta(days=offset), 0))
            for offset in range(ACTIVITY_DAYS)
        )


def _aware(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite's max() of a datetime column returns its text
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sorted_rows(rows: list[StudentRow], sort: str, area_codes: list[str]) -> list[StudentRow]:
    if sort == "risk":
        return sorted(rows, key=lambda row: (row.risk, -len(row.flags), row.name.lower()))
    if sort in area_codes:
        index = area_codes.index(sort)
        return sorted(rows, key=lambda row: (row.mastery[index], row.name.lower()))
    return sorted(rows, key=lambda row: (row.name.lower(), row.user_id))


def _cell(text: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@cache
def _fresh_curves() -> dict[str, float]:
    """A fresh learner's curves, for learners without a ``learner_parameters`` row."""
    return curve_columns(None)


def _fresh_mastery(catalog: ItemCatalog, area_code: str) -> float:
    """Mastery of an area for a learner with no evidence at all (the neutral prior)."""
    position = catalog.area_codes.index(area_code)
    members = catalog.in_bank & (catalog.area_of == position)
    difficulty = np.clip(catalog.difficulty[members], 1, 3) - 1
    totals = AreaTotals(
        np.bincount(difficulty, minlength=3).astype(float).reshape(1, 3),
        np.zeros((1, 3)),
        np.zeros(1),
        np.zeros(1),
        np.zeros(1),
        np.zeros(1),
    )
    return float(mastery_from_totals(totals)[0])
