"""What every use case shares: the engine, the cached catalog, loading a learner."""

from __future__ import annotations

import re
import statistics
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy import column as sa_column
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import table as sa_table
from sqlmodel import Session, col

from engine.blueprint import AreaSpec, Blueprint, TestSpec
from engine.catalog import CardTable, ItemCatalog, ItemInfo
from engine.errors import InvalidInputError, NotFoundError, UnknownAccountError
from engine.mastery import AreaEvidence, Beliefs
from engine.readiness import DEFAULT_CUT_SCORE
from engine.scheduling import (
    CardMemory,
    GradingPolicy,
    ItemKind,
    MemoryGroup,
    MemoryScheduler,
    RngFactory,
    StabilityCalibration,
    State,
    learner_scheduler,
)
from engine.selector import AssignmentScope, PlannerSettings
from engine.store.db import transaction
from engine.store.models import (
    Area,
    AreaPrior,
    CardState,
    Enrollment,
    Goal,
    Item,
    LearnerParameters,
    Review,
    Setting,
    Test,
    User,
    UTCDateTime,
)

ROLES = ("student", "instructor", "admin")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
EXAM_HOUR = time(9, 0)
OPEN_ATTEMPT_TTL = timedelta(minutes=30)
TYPICAL_TIME_WINDOW = 50
CONTENT_REVISION = "content_revision"
_SESSION_CATALOG = "pitstop_catalog"


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str
    display_name: str
    role: str
    timezone: str
    daily_goal_minutes: int = 20


@dataclass(frozen=True)
class ItemRecord:
    """An item as the study loop needs it. Cached per content revision: never mutate ``body``."""

    id: str
    test_code: str
    area_code: str
    kind: ItemKind
    format: str | None
    body: Mapping[str, Any]
    retired: bool


@dataclass(frozen=True)
class _CatalogSnapshot:
    revision: str
    catalog: ItemCatalog
    # Items read at this revision, filled as they are asked for (content changes bump the
    # revision, so a snapshot's items never go stale).
    items: dict[str, ItemRecord] = field(default_factory=dict)


@dataclass
class LearnerState:
    user: UserInfo
    goals: dict[str, datetime | None]
    cards: CardTable
    versions: dict[str, int]
    beliefs: Beliefs
    enrolled: bool = True  # in a class (False: no assignments to look up)
    recent_item_ids: tuple[str, ...] = ()  # the items of the latest answers, oldest first


class ServiceBase:
    """Holds the database engine and per-process caches."""

    def __init__(
        self,
        engine: Engine,
        *,
        planner: PlannerSettings = PlannerSettings(),
        grading: GradingPolicy = GradingPolicy(),
        cut_score: float = DEFAULT_CUT_SCORE,
    ) -> None:
        self.engine = engine
        self.planner = planner
        self.grading = grading
        self.cut_score = cut_score
        self._catalog: _CatalogSnapshot | None = None
        self._catalog_lock = threading.Lock()

    def catalog(self, session: Session | None = None) -> ItemCatalog:
        """The active items as a catalog, cached until the content revision changes."""
        return self._snapshot(session).catalog

    def item_record(self, session: Session, item_id: str) -> ItemRecord | None:
        """An item, active or retired, from the cache of the transaction's content revision
        (None: no such item)."""
        snapshot = self._snapshot(session)
        found = snapshot.items.get(item_id)
        if found is None:
            row = session.connection().execute(_ITEM_QUERY, {"item_id": item_id}).first()
            if row is None:
                return None
            found = ItemRecord(
                row.id,
                row.test_code,
                row.area_code,
                ItemKind(row.kind),
                row.format,
                row.body,
                bool(row.retired),
            )
            snapshot.items[item_id] = found
        return found

    def _snapshot(self, session: Session | None, revision: str | None = None) -> _CatalogSnapshot:
        """The catalog snapshot of the content revision, checked once per transaction;
        ``revision``: the revision when the caller has already read it."""
        if session is None:
            with transaction(self.engine) as own:
                return self._snapshot(own)
        checked: _CatalogSnapshot | None = session.info.get(_SESSION_CATALOG)
        if checked is not None:  # already checked in this transaction
            return checked
        if revision is None:
            revision = session.connection().execute(REVISION_QUERY).scalar() or ""
        with self._catalog_lock:
            snapshot = self._catalog
        if snapshot is None or snapshot.revision != revision:
            snapshot = _CatalogSnapshot(revision, self._read_catalog(session))
            with self._catalog_lock:
                self._catalog = snapshot
        session.info[_SESSION_CATALOG] = snapshot
        return snapshot

    def _read_catalog(self, session: Session) -> ItemCatalog:
        tests = session.scalars(select(Test).order_by(col(Test.position), col(Test.code))).all()
        areas = session.scalars(select(Area).order_by(col(Area.position))).all()
        blueprint = Blueprint(
            TestSpec(
                code=test.code,
                name=test.name,
                scored_questions=test.scored_questions,
                time_minutes=test.time_minutes,
                edition=test.edition,
                source=test.source,
                areas=tuple(
                    AreaSpec(area.code, area.name, area.scored_questions)
                    for area in areas
                    if area.test_code == test.code
                ),
            )
            for test in tests
        )
        rows = session.execute(
            select(
                col(Item.id),
                col(Item.test_code),
                col(Item.area_code),
                col(Item.kind),
                col(Item.difficulty),
                col(Item.origin),
            )
            .where(col(Item.retired) == False)  # noqa: E712
            .order_by(col(Item.id))
        ).all()
        return ItemCatalog(
            [
                ItemInfo(row[0], row[1], row[2], ItemKind(row[3]), row[4], row[5] == "bank")
                for row in rows
            ],
            blueprint,
        )

    def _active_assignments(
        self, session: Session, student_id: int, timezone: str, now: datetime
    ) -> list[tuple[Any, AssignmentScope]]:
        """The student's active assignments and their items (classes are a later layer)."""
        return []

    def _load_learner(self, session: Session, user_id: int, now: datetime) -> LearnerState:
        """Everything the planner knows of a learner, in three plain (Core) statements: the
        account with its parameters, the content revision and whether it is in a class;
        goals, area priors and the latest answers' items; cards."""
        connection = session.connection()
        head = connection.execute(_LEARNER_HEAD_QUERY, {"user_id": user_id}).first()
        if head is None:
            raise UnknownAccountError(f"no user with id {user_id}")
        user = user_info_of(head)
        zone = zone_named(user.timezone)
        goals: dict[str, datetime | None] = {}
        evidence: dict[str, AreaEvidence] = {}
        recent: list[tuple[datetime, float, str]] = []
        side_rows = connection.execute(
            _LEARNER_SIDE_QUERY,
            {"user_id": user_id, "recent": max(self.planner.max_same_area_run, 1)},
        )
        for kind, key, exam_date, first, second, answered_at in side_rows:
            if kind == "g":
                goals[key] = (
                    datetime.combine(exam_date, EXAM_HOUR, tzinfo=zone).astimezone(UTC)
                    if exam_date
                    else None
                )
            elif kind == "p":
                evidence[key] = AreaEvidence(first, second)
            else:
                recent.append((answered_at, first, key))
        catalog = self._snapshot(session, head.revision or "").catalog
        rows = connection.execute(
            _learner_cards_query(session.get_bind().dialect.name), {"user_id": user_id}
        ).all()
        cards, versions = card_table(catalog, rows)
        scheduler = scheduler_from(head.parameters)
        curves = stored_curves(head)
        item_scales = stored_item_scales(head)
        if curves is None or item_scales is None:
            # Not stored yet: from the calibration's grids (hundreds of numbers).
            stored = connection.execute(_CALIBRATION_QUERY, {"user_id": user_id}).scalar()
            calibration = calibration_from(stored)
            curves = calibration.curves(scheduler.parameters[20])
            item_scales = calibration.item_scales()
        scale, decay = curves[MemoryGroup.SETTLED]
        beliefs = Beliefs(
            scheduler=scheduler,
            stability_scale=scale,
            area_evidence=evidence,
            decay=decay,
            group_curves=curves,
            item_scales=item_scales,
        )
        return LearnerState(
            user,
            goals,
            cards,
            versions,
            beliefs,
            enrolled=bool(head.enrolled),
            recent_item_ids=tuple(item for _, _, item in sorted(recent)),  # oldest first
        )


# learner_parameters' copies of each memory group's curve (curve_columns_of), in
# MemoryGroup order, scale before decay: scale_failed_once, decay_failed_once, ...
_CURVE_COLUMNS = tuple(
    f"{what}_{group.name.lower()}" for group in MemoryGroup for what in ("scale", "decay")
)


# learner_parameters' copies of the calibration's item scales of easy and hard items.
_ITEM_SCALE_COLUMNS = ("item_scale_easy", "item_scale_hard")
_STORED_COLUMNS = _CURVE_COLUMNS + _ITEM_SCALE_COLUMNS


# The columns themselves, to select with the rest of a learner's row.
STORED_CURVE_COLUMNS = tuple(getattr(LearnerParameters, name) for name in _STORED_COLUMNS)


def stored_curves(row: Any) -> tuple[tuple[float, float], ...] | None:
    """The curves stored in a learner's parameters row (None: no row, or not stored)."""
    values = [getattr(row, name) for name in _CURVE_COLUMNS]
    if any(value is None for value in values):
        return None
    return tuple(zip(values[::2], values[1::2], strict=True))


def stored_item_scales(row: Any) -> tuple[float, ...] | None:
    """The item scales (author difficulty 1, 2, 3) stored in a learner's parameters row
    (None: no row, or not stored)."""
    easy, hard = (getattr(row, name) for name in _ITEM_SCALE_COLUMNS)
    if easy is None or hard is None:
        return None
    return (float(easy), 1.0, float(hard))


REVISION_QUERY = select(col(Setting.value)).where(col(Setting.key) == CONTENT_REVISION)
_ITEM_QUERY = select(
    col(Item.id),
    col(Item.test_code),
    col(Item.area_code),
    col(Item.kind),
    col(Item.format),
    col(Item.body),
    col(Item.retired),
).where(col(Item.id) == bindparam("item_id"))
# The account as UserInfo holds it, in its field order (user_info_of reads a row of them).
USER_INFO_COLUMNS = (
    col(User.id),
    col(User.email),
    col(User.display_name),
    col(User.role),
    col(User.timezone),
    col(User.daily_goal_minutes),
)
USER_INFO_QUERY = select(*USER_INFO_COLUMNS).where(col(User.id) == bindparam("user_id"))
_LEARNER_HEAD_QUERY = (
    select(
        *USER_INFO_COLUMNS,
        col(LearnerParameters.parameters),
        *STORED_CURVE_COLUMNS,
        REVISION_QUERY.scalar_subquery().label("revision"),
        exists().where(col(Enrollment.user_id) == col(User.id)).label("enrolled"),
    )
    .select_from(User)
    .outerjoin(LearnerParameters, col(LearnerParameters.user_id) == col(User.id))
    .where(col(User.id) == bindparam("user_id"))
)
_CALIBRATION_QUERY = select(col(LearnerParameters.calibration)).where(
    col(LearnerParameters.user_id) == bindparam("user_id")
)
_LATEST_ANSWERS = (
    select(col(Review.item_id), col(Review.answered_at), col(Review.id))
    .where(col(Review.user_id) == bindparam("user_id"))
    .order_by(col(Review.answered_at).desc(), col(Review.id).desc())
    .limit(bindparam("recent"))
    .subquery()
)
# A learner's goals ("g": test, exam date), area priors ("p": area, attempts, known) and the
# items of the latest answers ("r": item, review id, answered at) as one statement's rows.
# (A row_number() over the answers instead of the time and id made PostgreSQL sort all of a
# learner's reviews.)
_LEARNER_SIDE_QUERY = union_all(
    select(
        literal("g").label("kind"),
        col(Goal.test_code).label("key"),
        col(Goal.exam_date).label("exam_date"),
        cast(null(), Float).label("first"),
        cast(null(), Float).label("second"),
        cast(null(), UTCDateTime).label("at"),
    ).where(col(Goal.user_id) == bindparam("user_id")),
    select(
        literal("p"),
        col(AreaPrior.area_code),
        cast(null(), Date),
        col(AreaPrior.attempts),
        col(AreaPrior.known),
        cast(null(), UTCDateTime),
    ).where(col(AreaPrior.user_id) == bindparam("user_id")),
    select(
        literal("r"),
        _LATEST_ANSWERS.c.item_id,
        cast(null(), Date),
        cast(_LATEST_ANSWERS.c.id, Float),
        cast(null(), Float),
        _LATEST_ANSWERS.c.answered_at,
    ),
)


# -- helpers ---------------------------------------------------------------------------------


SUMMARY_HORIZON = timedelta(days=7)
# A goal test without an exam date (or with one past) is judged this far on, "at the exam",
# wherever mastery at the exam is shown: the learner's progress page and the class reports.
NO_EXAM_DAYS = 30


def exam_horizons(
    goals: Mapping[str, datetime | None], now: datetime, without_exam: timedelta
) -> dict[str, datetime | None]:
    """The moment each goal test is judged at: its exam, or ``without_exam`` on for a test
    without one (or whose exam has passed)."""
    return {
        code: exam if exam is not None and exam > now else now + without_exam
        for code, exam in goals.items()
    }


def summary_horizons(
    goals: Mapping[str, datetime | None], now: datetime
) -> dict[str, datetime | None]:
    """When a sitting's progress is judged: each exam, or a week on. Mastery *now*, minutes
    after study, flatters every area the learner touched, right or wrong; what is left of it
    later is what the sitting was worth."""
    return exam_horizons(goals, now, SUMMARY_HORIZON)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return user


def user_info(user: User) -> UserInfo:
    assert user.id is not None
    return UserInfo(
        user.id, user.email, user.display_name, user.role, user.timezone, user.daily_goal_minutes
    )


def user_info_of(row: Any) -> UserInfo:
    """The account from a row that starts with :data:`USER_INFO_COLUMNS`."""
    return UserInfo(*row[: len(USER_INFO_COLUMNS)])


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown timezone {name!r}") from None


def epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def fuzz_rng(user_id: int, item_id: str) -> RngFactory:
    """Fuzz for a review is drawn from (learner, item, reps): replaying reviews redraws it."""
    return RngFactory(user_id, zlib.crc32(item_id.encode()))


def scheduler_for(parameters: LearnerParameters | None) -> MemoryScheduler:
    """The learner's scheduler: their fitted parameters when they have them."""
    return scheduler_from(parameters.parameters if parameters is not None else None)


def scheduler_from(values: Sequence[float] | None) -> MemoryScheduler:
    """The scheduler of a ``learner_parameters.parameters`` value (None or empty: defaults)."""
    return learner_scheduler(values) if values else _DEFAULT_SCHEDULER


_DEFAULT_SCHEDULER = learner_scheduler()


def recent_mcq_ms(calibration: Mapping[str, Any] | None) -> list[int]:
    """The learner's latest multiple-choice response times (ms), newest last, from a
    ``learner_parameters.calibration`` value.

    Kept in the parameters row, which every answer already updates, so grading needs no
    query over the learner's whole review history.
    """
    return [int(value) for value in (calibration or {}).get("recent_mcq_ms", [])]


def typical_response_ms(recent: Sequence[int]) -> int | None:
    # statistics.median: a numpy array for a few dozen numbers cost ten times as much.
    return int(statistics.median(recent)) if recent else None


def calibration_from(stored: Mapping[str, Any] | None) -> StabilityCalibration:
    """The calibration of a ``learner_parameters.calibration`` value (an older row's, or a
    missing one, reads as a fresh start)."""
    return StabilityCalibration.from_json(stored) if stored else StabilityCalibration()


def curve_columns(parameters: LearnerParameters | None) -> dict[str, float]:
    """Each memory group's ``(scale, decay)`` as the row's calibration and parameters imply
    them (the curves :meth:`ServiceBase._load_learner` reads back), keyed by the
    ``learner_parameters`` columns that keep them for reports: ``scale_settled``,
    ``decay_settled``, ... ``None``: a fresh learner's."""
    stored = parameters.calibration if parameters is not None else None
    return curve_columns_of(scheduler_for(parameters), calibration_from(stored))


def curve_columns_of(
    scheduler: MemoryScheduler, calibration: StabilityCalibration
) -> dict[str, float]:
    """:func:`curve_columns` of a scheduler and calibration already at hand."""
    return stored_columns(calibration.curves(scheduler.parameters[20]), calibration.item_scales())


def stored_columns(
    curves: Sequence[tuple[float, float]], item_scales: Sequence[float]
) -> dict[str, float]:
    """Curves (one ``(scale, decay)`` per memory group) and item scales (author difficulty
    1, 2, 3), keyed by the ``learner_parameters`` columns that keep them."""
    values = [value for curve in curves for value in curve]
    return dict(zip(_CURVE_COLUMNS, values, strict=True)) | dict(
        zip(_ITEM_SCALE_COLUMNS, (item_scales[0], item_scales[-1]), strict=True)
    )


def updated_columns(
    curves: Sequence[tuple[float, float]],
    item_scales: Sequence[float],
    before: StabilityCalibration,
    after: StabilityCalibration,
    prior_decay: float,
) -> dict[str, float]:
    """:func:`stored_columns` of ``after``, a calibration grown from ``before`` (whose curves
    and item scales are ``curves`` and ``item_scales``): each estimated again only when the
    answer added evidence to its grid (most answers within a sitting add none), as each
    estimate is a pass over a grid."""
    if after.log_likelihood is not before.log_likelihood:
        curves = after.curves(prior_decay)
    if after.slope_log_likelihood is not before.slope_log_likelihood:
        item_scales = after.item_scales()
    return stored_columns(curves, item_scales)


def store_curves(parameters: LearnerParameters) -> None:
    """Refresh the row's copies of its curves; call after changing its calibration or its
    FSRS parameters."""
    for name, value in curve_columns(parameters).items():
        setattr(parameters, name, value)


def recompute_stored_curves(connection: Connection) -> None:
    """Write every learner's curve columns afresh from their calibration and parameters:
    for a migration after which the stored copies no longer follow from the engine's curve
    maths (revisions 0004 to 0006). Reads the table as plain columns, whatever the
    models say, and writes the columns the table has at the migration's revision."""
    present = {
        column["name"] for column in sa_inspect(connection).get_columns("learner_parameters")
    }
    names = [name for name in _STORED_COLUMNS if name in present]
    table = sa_table(
        "learner_parameters",
        sa_column("user_id", Integer()),
        sa_column("parameters", JSON()),
        sa_column("calibration", JSON()),
        *[sa_column(name, Float()) for name in names],
    )
    rows = connection.execute(
        select(table.c.user_id, table.c.parameters, table.c.calibration)
    ).all()
    updates = []
    for user_id, parameters, calibration in rows:
        columns = curve_columns(
            LearnerParameters(user_id=user_id, parameters=parameters, calibration=calibration)
        )
        updates.append({"uid": user_id, **{name: columns[name] for name in names}})
    if updates:
        connection.execute(
            table.update()
            .where(table.c.user_id == bindparam("uid"))
            .values({name: bindparam(name) for name in names}),
            updates,
        )


def card_memory(row: Any) -> CardMemory:
    """A card's memory from a :class:`CardState` or any row with its memory columns."""
    return CardMemory(
        state=State(row.state),
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=row.due,
        last_review=row.last_review,
        reps=row.reps,
        lapses=row.lapses,
        proven_interval_days=row.proven_interval_days,
    )


def epoch_us_column(column: Any, dialect: str) -> Any:
    """Whole microseconds since the epoch of a UTC datetime column, computed by the database.

    Loading a learner reads three datetimes for each of thousands of cards; converting them
    in SQL is exact (SQLite stores UTC text with microseconds; PostgreSQL's EXTRACT is
    numeric) and several times faster than building datetime objects in Python.
    """
    if dialect == "sqlite":
        seconds = cast(func.strftime("%s", column), BigInteger)
        fraction = cast(func.substr(column, 21, 6), BigInteger)
        return seconds * 1_000_000 + fraction
    return cast(func.extract("epoch", column) * 1_000_000, BigInteger)


@cache
def _learner_cards_query(dialect: str) -> Any:
    """One learner's card states as :func:`card_table` reads them (``user_id`` bound at
    execution). Built once per dialect: loading a learner is on every study request.

    Times are epoch microseconds computed by PostgreSQL; SQLite's own date functions cost
    more than the rest of the query together, so there the stored UTC text comes back as it
    is and numpy parses it (:func:`card_table`)."""

    def when(column: Any) -> Any:
        if dialect == "sqlite":
            return type_coerce(column, String)
        return epoch_us_column(column, dialect)

    columns = (
        col(CardState.item_id),
        col(CardState.state),
        func.coalesce(col(CardState.step), -1),
        col(CardState.stability),
        col(CardState.difficulty),
        when(col(CardState.due)),
        when(col(CardState.last_review)),
        col(CardState.reps),
        col(CardState.lapses),
        col(CardState.proven_interval_days),
        when(col(CardState.introduced_at)),
        col(CardState.first_correct),
        col(CardState.version),
    )
    return select(*columns).where(col(CardState.user_id) == bindparam("user_id"))


def _epoch_us(values: Sequence[Any]) -> np.ndarray:
    """Epoch microseconds of a column of times: integers already, or SQLite's stored UTC text
    ("2026-11-25 20:55:23.123456"); a missing time (never reviewed) is 0."""
    if not any(isinstance(value, str) for value in values):
        return np.array([value or 0 for value in values], np.int64)
    parsed = np.array(values, dtype="datetime64[us]")
    return np.where(np.isnat(parsed), 0, parsed.astype(np.int64))


def card_table(catalog: ItemCatalog, rows: Sequence[Any]) -> tuple[CardTable, dict[str, int]]:
    """Build a card table from the column tuples of :func:`_learner_cards_query` (step None
    read as -1, never-reviewed as 0 µs), a column at a time."""
    times = (5, 6, 10)
    cards = CardTable(len(catalog))
    if not rows:
        return cards, {}
    columns = list(zip(*rows, strict=True))
    versions = dict(zip(columns[0], map(int, columns[12]), strict=True))
    positions = np.array([catalog.index.get(item_id, -1) for item_id in columns[0]])
    keep = positions >= 0  # cards of retired items stay out of the table
    index = positions[keep]
    cards.seen[index] = True
    for name, number, dtype in (
        ("state", 1, np.int8),
        ("step", 2, np.int16),
        ("stability", 3, np.float64),
        ("difficulty", 4, np.float64),
        ("due_us", 5, np.int64),
        ("last_review_us", 6, np.int64),
        ("reps", 7, np.int32),
        ("lapses", 8, np.int32),
        ("proven_days", 9, np.float64),
        ("introduced_us", 10, np.int64),
        ("first_correct", 11, np.int8),
    ):
        values = _epoch_us(columns[number]) if number in times else columns[number]
        getattr(cards, name)[index] = np.array(values, dtype)[keep]
    return cards, versions
