"""How fast are the class dashboard and the school-wide CSV on a school-sized database?

Builds a school of 2,000 students (classes of 40, a few instructors, one admin) with
2,000,000 reviews, on the real content bank: one class, the timed one, has 40 students with
2,500 reviews each (100,000); the others share the rest. Every student has 2-3 goals (tests,
most with an exam date 2-8 weeks ahead), card states for a few hundred items of those tests,
reviews spread over the last 60 days (each card's first one marked ``first_attempt``),
learner parameters and, for half of them, placement priors. The timed class also has two
assignments. Data are synthetic (numpy, not the planner) and bulk-written: COPY on
PostgreSQL, large ``executemany`` batches in one transaction on SQLite, rows in the order the
app would have written them (reviews by time, card states by last review).

Then, in Flask's test client on the app factory: GET ``/classes/<id>`` as the class's
instructor (now and ``?at=exam``; 2 warm-ups, then ``--runs`` timed), the same
``class_dashboard`` service calls without the web layer, GET ``/admin/export/school.csv`` as
the admin (1 warm-up, then ``--csv-runs`` timed) and ``school_csv`` alone. GET ``/healthz``
on the same app is the baseline each median is compared with. Besides wall time the table
gives this process's CPU time (SQLite's work included, the PostgreSQL server's not) and the
load average around the runs, since a shared machine stretches wall times. SQLite (a temp
file) always; PostgreSQL on a throwaway database when ``--postgres URL`` is given (it gets
``VACUUM ANALYZE`` after the load, the state autovacuum would soon reach).

``--profile`` adds, for one request of each report: every SQL statement with the engine
function that sent it and its time (in the request, and replayed with fetchall), a cProfile
of the project's functions, and the plan of the main aggregation query (EXPLAIN ANALYZE on
PostgreSQL, EXPLAIN QUERY PLAN plus a timed run on SQLite).

Run (full, both databases; ~3-6 min on 2 cores):
  ``.venv/bin/python bench/dashboard.py --postgres postgresql://postgres@127.0.0.1/postgres``
Quick (200 students, 150,000 reviews, fewer runs; ~30 s):
  ``.venv/bin/python bench/dashboard.py --quick [--postgres URL]``

Targets (on PostgreSQL): class dashboard under 300 ms, school report under 5 s.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import io
import math
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, event, insert, select, text
from sqlmodel import col

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.content import Bank, check_path  # noqa: E402
from engine.scheduling import ItemKind  # noqa: E402
from engine.service import StudyService  # noqa: E402
from engine.service.base import curve_columns  # noqa: E402
from engine.store.db import connect, normalise_url  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from engine.store.models import (  # noqa: E402
    AreaPrior,
    Assignment,
    Classroom,
    Deck,
    Enrollment,
    Goal,
    LearnerParameters,
    User,
)
from webui import create_app  # noqa: E402

FRESH_CURVES = curve_columns(None)
from webui.security import hash_password  # noqa: E402

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
CONTENT_AT = NOW - timedelta(days=120)
HISTORY_DAYS = 60
DAY_US = 86_400_000_000
PASSWORD = "benchmark-password"
ADMIN = "admin@bench.example"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
ZONES = ("UTC", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
ZONE_SHARE = (0.6, 0.12, 0.12, 0.06, 0.1)
LETTERS = ("A", "B", "C", "D")
CHUNK = 100_000
LOADS: list[str] = []  # 1-minute load average around each database's timed runs
# The aggregation both reports are built on (ReportUseCases._area_sums).
AGGREGATION = re.compile(r"GROUP BY card_state\.user_id, item\.area_code", re.IGNORECASE)


# -- the synthetic school --------------------------------------------------------------------


@dataclass
class School:
    """Everything to write, database-agnostic: small tables as row dicts, the two big ones as
    numpy columns (times in µs since the epoch)."""

    users: list[dict[str, Any]]
    classes: list[dict[str, Any]]
    enrollments: list[dict[str, Any]]
    goals: list[dict[str, Any]]
    parameters: list[dict[str, Any]]
    priors: list[dict[str, Any]]
    assignments: list[tuple[int, str, date, date, int]]  # class id, deck key, start, due, level
    item_ids: list[str]
    cards: dict[str, np.ndarray]
    reviews: dict[str, np.ndarray]
    tokens: bytes  # 24 random bytes per review: token_urlsafe(24)-like attempt tokens
    timed_class: int
    timed_instructor: str
    students: int


def fingerprint() -> str:
    """A hash of the engine's and web layer's source, to tie results to the code measured
    (the benchmark reads the working tree, not a commit)."""
    digest = hashlib.sha256()
    for path in sorted([*ROOT.glob("engine/**/*.py"), *ROOT.glob("webui/**/*.py")]):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def say(message: str) -> None:
    """Progress on stderr (the report goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def reviews_per_student(args: argparse.Namespace, rng: np.random.Generator) -> np.ndarray:
    """``--class-reviews`` for each student of the timed class; the rest of ``--reviews``
    spread unevenly (gamma) over the other students, summing exactly."""
    in_class = min(args.class_size, args.students)
    counts = np.zeros(args.students, dtype=np.int64)
    counts[:in_class] = args.class_reviews
    others = args.students - in_class
    rest = args.reviews - int(counts.sum())
    if others and rest > 0:
        weights = rng.gamma(2.0, 1.0, others)
        share = np.floor(weights / weights.sum() * rest).astype(np.int64)
        share[: rest - int(share.sum())] += 1
        counts[in_class:] = share
    return counts


@dataclass(frozen=True)
class BankArrays:
    """The bank's items as arrays: id, test (index), MCQ or not, key letter (index)."""

    ids: list[str]
    tests: list[str]
    test_of: np.ndarray
    is_mcq: np.ndarray
    key_of: np.ndarray
    areas_of_test: dict[str, list[str]]

    @classmethod
    def of(cls, bank: Bank) -> BankArrays:
        items = sorted(bank.items, key=lambda item: item.id)
        tests = list(bank.blueprint)
        return cls(
            ids=[item.id for item in items],
            tests=tests,
            test_of=np.array([tests.index(item.test_code) for item in items]),
            is_mcq=np.array([item.kind is ItemKind.MCQ for item in items]),
            key_of=np.array(
                [
                    LETTERS.index(str(item.body.get("answer", "A")))
                    if item.kind is ItemKind.MCQ
                    else -1
                    for item in items
                ]
            ),
            areas_of_test={code: [a.code for a in bank.blueprint[code].areas] for code in tests},
        )

    def pool(self, tests: list[int]) -> np.ndarray:
        return np.flatnonzero(np.isin(self.test_of, tests))


def history(
    rng: np.random.Generator, uid: int, items: BankArrays, pool: np.ndarray, total: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One student's card states and ``total`` reviews over a few hundred items of ``pool``.

    Each card has 1 + a skewed share of the reviews; its first review is the first attempt
    (correct as ``first_correct``), its last one sets ``last_review``, ``due`` and
    ``proven_interval_days``. The student studied from 60 days ago until 0-12 days ago.
    """
    now_us = us(NOW)
    k = min(len(pool), total, int(rng.integers(150, 351)))
    cards = rng.choice(pool, k, replace=False)
    weights = rng.lognormal(0.0, 0.8, k)
    reps = 1 + rng.multinomial(total - k, weights / weights.sum())
    quiet_days = rng.uniform(0, 4) if rng.random() < 0.75 else rng.uniform(4, 12)
    start, end = now_us - HISTORY_DAYS * DAY_US, now_us - int(quiet_days * DAY_US)
    card_of = np.repeat(np.arange(k), reps)
    moments = rng.integers(start, end, total)
    order = np.lexsort((moments, card_of))
    card_of, moments = card_of[order], moments[order]
    first = np.r_[True, card_of[1:] != card_of[:-1]]
    last = np.r_[card_of[1:] != card_of[:-1], True]
    gaps = np.diff(moments, prepend=moments[0])
    gaps[first] = 0
    state = rng.choice([2, 1, 3], k, p=[0.9, 0.05, 0.05])  # Review, Learning, Relearning
    learning = state != 2
    first_correct = rng.random(k) < 0.6
    correct = rng.random(total) < 0.8
    correct[first] = first_correct
    correct[last] = state != 3
    stability = np.clip(rng.lognormal(np.log(10.0), 0.6, k), 0.3, 365.0)
    last_review = moments[last]
    interval = (stability * rng.uniform(0.9, 1.1, k) * DAY_US).astype(np.int64)
    item = cards[card_of]
    mcq = items.is_mcq[item]
    wrong = (items.key_of[item] + rng.integers(1, 4, total)) % 4
    response = np.where(
        mcq, rng.lognormal(np.log(15_000), 0.5, total), rng.lognormal(np.log(8_000), 0.5, total)
    )
    card = {
        "user_id": np.full(k, uid, dtype=np.int32),
        "item": cards.astype(np.int32),
        "state": state.astype(np.int8),
        "step": np.where(learning, 0, -1).astype(np.int8),
        "stability": np.round(stability, 4),
        "difficulty": np.round(rng.uniform(3.0, 8.0, k), 4),
        "due": last_review + np.where(learning, 600_000_000, interval),
        "last_review": last_review,
        "reps": reps.astype(np.int32),
        "lapses": rng.binomial(reps - 1, 0.12).astype(np.int32),
        "proven": np.round(np.where(correct[last] & (reps > 1), gaps[last] / DAY_US, 0.0), 4),
        "introduced": moments[first],
        "first_correct": first_correct,
    }
    review = {
        "user_id": np.full(total, uid, dtype=np.int32),
        "item": item.astype(np.int32),
        "answered": moments,
        "rating": np.where(correct, rng.choice([2, 3, 4], total, p=[0.15, 0.7, 0.15]), 1),
        "correct": correct,
        "choice": np.where(mcq, np.where(correct, items.key_of[item], wrong), -1),
        "unsure": rng.random(total) < 0.05,
        "response_ms": response.astype(np.int32),
        "predicted": np.round(rng.uniform(0.4, 0.97, total), 3),
        "elapsed": (gaps // DAY_US).astype(np.int32),
        "first": first,
    }
    return card, review


def build_school(args: argparse.Namespace, bank: Bank) -> School:
    rng = np.random.default_rng(args.seed)
    items = BankArrays.of(bank)
    tests = items.tests
    password_hash = hash_password(PASSWORD)
    users: list[dict[str, Any]] = []

    def user(email: str, name: str, role: str, zone: str = "UTC") -> int:
        users.append(
            {
                "id": len(users) + 1,
                "email": email,
                "display_name": name,
                "password_hash": password_hash,
                "role": role,
                "timezone": zone,
                "daily_goal_minutes": 20,
                "created_at": CONTENT_AT,
            }
        )
        return len(users)

    classes_count = math.ceil(args.students / args.class_size)
    user(ADMIN, "School Admin", "admin")
    teachers = [
        user(f"teacher{n:03d}@bench.example", f"Teacher {n:03d}", "instructor")
        for n in range(max(1, math.ceil(classes_count / 5)))
    ]
    zones = rng.choice(len(ZONES), args.students, p=ZONE_SHARE)
    students = [
        user(f"student{n:05d}@bench.example", f"Student {n:05d}", "student", ZONES[zones[n]])
        for n in range(args.students)
    ]
    class_tests = [
        sorted({number % len(tests), (number + 3) % len(tests)}) for number in range(classes_count)
    ]
    classes = [
        {
            "id": number + 1,
            "name": f"Class {number + 1:03d}",
            "instructor_id": teachers[number % len(teachers)],
            "join_code": f"BENCH{number:03d}",
            "test_codes": [tests[t] for t in pair],
            "created_at": CONTENT_AT,
        }
        for number, pair in enumerate(class_tests)
    ]
    timed_class = 1
    started = NOW.date() - timedelta(days=14)
    assignments = [
        (timed_class, f"test:{tests[class_tests[0][0]]}", started, NOW.date() + timedelta(7), 2),
        (
            timed_class,
            f"area:{items.areas_of_test[tests[class_tests[0][-1]]][0]}",
            started,
            NOW.date() + timedelta(days=21),
            3,
        ),
    ]

    counts = reviews_per_student(args, rng)
    enrollments, goals, parameters, priors = [], [], [], []
    card_parts, review_parts = [], []
    for n, uid in enumerate(students):
        class_number = n // args.class_size
        enrollments.append({"class_id": class_number + 1, "user_id": uid, "joined_at": CONTENT_AT})
        chosen = list(class_tests[class_number])
        if rng.random() < 0.5:
            chosen.append(int(rng.choice([t for t in range(len(tests)) if t not in chosen])))
        for t in chosen:
            exam = NOW.date() + timedelta(days=int(rng.integers(14, 57)))
            goals.append(
                {
                    "user_id": uid,
                    "test_code": tests[t],
                    "exam_date": exam if rng.random() < 0.7 else None,
                    "created_at": CONTENT_AT,
                }
            )
        if rng.random() < 0.5:  # took the placement check
            for area in (a for t in chosen for a in items.areas_of_test[tests[t]]):
                attempts = int(rng.integers(2, 5))
                priors.append(
                    {
                        "user_id": uid,
                        "area_code": area,
                        "attempts": float(attempts),
                        "known": float(rng.integers(0, attempts + 1)),
                        "updated_at": CONTENT_AT + timedelta(days=30),
                    }
                )
        total = int(counts[n])
        if total == 0:
            continue
        card, review = history(rng, uid, items, items.pool(chosen), total)
        card_parts.append(card)
        review_parts.append(review)
        parameters.append(
            {
                "user_id": uid,
                "parameters": None,
                "fitted_at": None,
                "review_count": total,
                "log_loss": None,
                "calibration": {
                    "log_likelihood": [0.0] * 41,
                    "observations": 0,
                    "recent_mcq_ms": [],
                },
                # Curves that differ between learners, as fitted ones would.
                **{
                    name: value * float(rng.uniform(0.7, 1.3))
                    if name.startswith("scale")
                    else value
                    for name, value in FRESH_CURVES.items()
                },
                "updated_at": datetime(1970, 1, 1, tzinfo=UTC)
                + timedelta(microseconds=int(review["answered"].max())),
            }
        )
    # Written in the order the app would have: reviews appended in time, card states
    # rewritten at their last review.
    cards = {name: np.concatenate([part[name] for part in card_parts]) for name in card_parts[0]}
    reviews = {
        name: np.concatenate([part[name] for part in review_parts]) for name in review_parts[0]
    }
    card_order = np.argsort(cards["last_review"], kind="stable")
    review_order = np.argsort(reviews["answered"], kind="stable")
    return School(
        users=users,
        classes=classes,
        enrollments=enrollments,
        goals=goals,
        parameters=parameters,
        priors=priors,
        assignments=assignments,
        item_ids=items.ids,
        cards={name: values[card_order] for name, values in cards.items()},
        reviews={name: values[review_order] for name, values in reviews.items()},
        tokens=rng.bytes(24 * len(review_order)),
        timed_class=timed_class,
        timed_instructor=str(users[teachers[0] - 1]["email"]),
        students=args.students,
    )


# -- writing ---------------------------------------------------------------------------------


def time_texts(values: np.ndarray, suffix: str) -> list[str]:
    """µs since the epoch as stored: 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLite's naive UTC text;
    with ``+00`` for a PostgreSQL timestamptz)."""
    texts = np.datetime_as_string(values.astype("datetime64[us]"), unit="us").tolist()
    return [f"{value[:10]} {value[11:]}{suffix}" for value in texts]


def card_rows(school: School, start: int, stop: int, dialect: str) -> Iterator[tuple[Any, ...]]:
    c = {name: values[start:stop] for name, values in school.cards.items()}
    suffix = "+00" if dialect == "postgresql" else ""
    due = time_texts(c["due"], suffix)
    last = time_texts(c["last_review"], suffix)
    introduced = time_texts(c["introduced"], suffix)
    ids = school.item_ids
    yes, no = (True, False) if dialect == "postgresql" else (1, 0)
    for row in zip(
        c["user_id"].tolist(),
        c["item"].tolist(),
        c["state"].tolist(),
        c["step"].tolist(),
        c["stability"].tolist(),
        c["difficulty"].tolist(),
        due,
        last,
        c["reps"].tolist(),
        c["lapses"].tolist(),
        c["proven"].tolist(),
        introduced,
        c["first_correct"].tolist(),
        strict=True,
    ):
        yield (
            row[0],
            ids[row[1]],
            row[2],
            None if row[3] < 0 else row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            row[11],
            yes if row[12] else no,
            row[8],  # version = reps
        )


def review_rows(school: School, start: int, stop: int, dialect: str) -> Iterator[tuple[Any, ...]]:
    r = {name: values[start:stop] for name, values in school.reviews.items()}
    suffix = "+00" if dialect == "postgresql" else ""
    answered = time_texts(r["answered"], suffix)
    tokens = base64.urlsafe_b64encode(school.tokens[24 * start : 24 * stop]).decode()
    ids = school.item_ids
    yes, no = (True, False) if dialect == "postgresql" else (1, 0)
    for offset, row in enumerate(
        zip(
            r["user_id"].tolist(),
            r["item"].tolist(),
            answered,
            r["rating"].tolist(),
            r["correct"].tolist(),
            r["choice"].tolist(),
            r["unsure"].tolist(),
            r["response_ms"].tolist(),
            r["predicted"].tolist(),
            r["elapsed"].tolist(),
            r["first"].tolist(),
            strict=True,
        )
    ):
        yield (
            row[0],
            ids[row[1]],
            row[2],
            row[3],
            yes if row[4] else no,
            LETTERS[row[5]] if row[5] >= 0 else None,
            yes if row[6] else no,
            row[7],
            tokens[32 * offset : 32 * offset + 32],
            row[8],
            row[9],
            yes if row[10] else no,
        )


CARD_COLUMNS = (
    "user_id, item_id, state, step, stability, difficulty, due, last_review, reps, lapses, "
    "proven_interval_days, introduced_at, first_correct, version"
)
REVIEW_COLUMNS = (
    "user_id, item_id, answered_at, rating, correct, choice, unsure, response_ms, "
    "attempt_token, predicted_correct, elapsed_days, first_attempt"
)


def write_school(url: str, bank: Bank, school: School) -> dict[str, float]:
    """Migrate, load the bank, write the school; returns the seconds each step took."""
    steps: dict[str, float] = {}
    began = time.perf_counter()
    engine = connect(url)
    upgrade(engine)
    StudyService(engine).load_content(bank, now=CONTENT_AT)
    steps["schema + content"] = time.perf_counter() - began
    began = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(User), school.users)
        connection.execute(insert(Classroom), school.classes)
        connection.execute(insert(Enrollment), school.enrollments)
        connection.execute(insert(Goal), school.goals)
        connection.execute(insert(LearnerParameters), school.parameters)
        if school.priors:
            connection.execute(insert(AreaPrior), school.priors)
        decks = dict(connection.execute(select(col(Deck.key), col(Deck.id))).all())
        connection.execute(
            insert(Assignment),
            [
                {
                    "class_id": class_id,
                    "deck_id": decks[key],
                    "starts_on": starts,
                    "due_on": due,
                    "goal": {"level": level},
                    "created_at": NOW - timedelta(days=15),
                }
                for class_id, key, starts, due, level in school.assignments
            ],
        )
        if engine.dialect.name == "postgresql":
            for table in ("user_account", "classroom"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    steps["users, classes, goals, parameters"] = time.perf_counter() - began
    began = time.perf_counter()
    if engine.dialect.name == "postgresql":
        _copy_postgres(engine, school)
    else:
        _insert_sqlite(engine, school)
    steps["card states + reviews"] = time.perf_counter() - began
    began = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        steps["VACUUM ANALYZE"] = time.perf_counter() - began
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        steps["WAL checkpoint"] = time.perf_counter() - began
    engine.dispose()
    return steps


def _insert_sqlite(engine: Engine, school: School) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB while the indexes grow
        cursor.execute("BEGIN")
        cards = len(school.cards["user_id"])
        for start in range(0, cards, CHUNK):
            cursor.executemany(
                f"INSERT INTO card_state ({CARD_COLUMNS}) VALUES ({', '.join('?' * 14)})",
                card_rows(school, start, min(cards, start + CHUNK), "sqlite"),
            )
        reviews = len(school.reviews["user_id"])
        for start in range(0, reviews, CHUNK):
            cursor.executemany(
                f"INSERT INTO review ({REVIEW_COLUMNS}) VALUES ({', '.join('?' * 12)})",
                review_rows(school, start, min(reviews, start + CHUNK), "sqlite"),
            )
        cursor.execute("COMMIT")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-2000")
        cursor.close()
    finally:
        raw.close()


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _tsv(rows: Iterator[tuple[Any, ...]]) -> str:
    """COPY text format (no value here contains a tab, newline or backslash)."""
    return "".join("\t".join(map(_copy_value, row)) + "\n" for row in rows)


def _copy_postgres(engine: Engine, school: School) -> None:
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None
        with connection.cursor() as cursor:
            for table, columns, rows, total in (
                ("card_state", CARD_COLUMNS, card_rows, len(school.cards["user_id"])),
                ("review", REVIEW_COLUMNS, review_rows, len(school.reviews["user_id"])),
            ):
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for start in range(0, total, CHUNK):
                        copy.write(
                            _tsv(rows(school, start, min(total, start + CHUNK), "postgresql"))
                        )
        connection.commit()
    finally:
        raw.close()


# -- measuring -------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Timing:
    label: str
    values: list[float]  # wall-clock ms
    cpu: list[float]  # this process's CPU ms (SQLite's work included; PostgreSQL's server not)
    note: str = ""
    target_ms: float | None = None


def login(app: Any, email: str) -> Any:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page)
    assert token, page[:500]
    response = client.post(
        "/login", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD}
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    return client


def timed(
    label: str, action: Callable[[], Any], warm: int, runs: int, target_ms: float | None = None
) -> tuple[Timing, Any]:
    result = None
    for _ in range(warm):
        result = action()
    timing = Timing(label, [], [], target_ms=target_ms)
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = action()
        timing.values.append((time.perf_counter() - began) * 1000)
        timing.cpu.append((time.process_time() - began_cpu) * 1000)
    return timing, result


def get_ok(client: Any, path: str) -> Callable[[], bytes]:
    def action() -> bytes:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return bytes(response.get_data())

    return action


def make_app(url: str) -> Any:
    return create_app(
        {
            "DATABASE_URL": url,
            "PITSTOP_CLOCK": lambda: NOW,
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "benchmark",
        }
    )


def measure(url: str, school: School, args: argparse.Namespace, label: str) -> list[Timing]:
    app = make_app(url)
    study = app.extensions["pitstop"]
    teacher = login(app, school.timed_instructor)
    admin = login(app, ADMIN)
    teacher_id = study.find_user(school.timed_instructor).id
    admin_id = study.find_user(ADMIN).id
    board = f"/classes/{school.timed_class}"
    results = []
    load_before = os.getloadavg()[0]
    health, _ = timed(f"{label}: GET /healthz (baseline)", get_ok(teacher, "/healthz"), 5, 30)
    results.append(health)
    for suffix, at_exam in (("", False), ("?at=exam", True)):
        path = board + suffix
        timing, page = timed(
            f"{label}: GET {path} (dashboard)", get_ok(teacher, path), 2, args.runs, 300.0
        )
        timing.note = f"{len(page) / 1024:.0f} KiB HTML"
        results.append(timing)
        timing, dashboard = timed(
            f"{label}: service class_dashboard(at_exam={at_exam})",
            lambda at_exam=at_exam: study.class_dashboard(
                teacher_id, school.timed_class, now=NOW, at_exam=at_exam
            ),
            2,
            args.runs,
        )
        timing.note = f"{len(dashboard.rows)} students × {len(dashboard.areas)} areas"
        results.append(timing)
    csv_path = "/admin/export/school.csv"
    timing, body = timed(
        f"{label}: GET {csv_path}", get_ok(admin, csv_path), 1, args.csv_runs, 5000.0
    )
    rows = body.count(b"\n") - 1  # less the header
    timing.note = f"{rows:,} rows, {len(body) / 2**20:.1f} MiB"
    results.append(timing)
    timing, _ = timed(
        f"{label}: service school_csv",
        lambda: study.school_csv(admin_id, now=NOW),
        1,
        args.csv_runs,
    )
    results.append(timing)
    load_after = os.getloadavg()[0]
    if args.profile:
        profile(app, teacher, admin, board, label)
    study.engine.dispose()
    say(f"{label}: measured (1-minute load average {load_before:.1f} → {load_after:.1f})")
    LOADS.append(f"{label} {load_before:.1f} → {load_after:.1f}")
    return results


@dataclass
class Statement:
    sql: str
    parameters: Any
    ms: float
    caller: str


def traced(engine: Engine, action: Callable[[], Any]) -> tuple[float, list[Statement]]:
    """Run ``action`` once, timing each SQL statement the engine sends (the DBAPI execute:
    the whole result on psycopg, up to the first row on sqlite3) and naming the engine
    functions that sent it."""
    statements: list[Statement] = []

    def before(conn: Any, *_: Any) -> None:
        conn.info["bench_began"] = time.perf_counter()

    def after(conn: Any, cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        ms = (time.perf_counter() - conn.info.pop("bench_began")) * 1000
        statements.append(Statement(sql, parameters, ms, _caller()))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        began = time.perf_counter()
        action()
        total = (time.perf_counter() - began) * 1000
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return total, statements


def _caller() -> str:
    """The chain of engine.service functions on the stack, outermost first."""
    names = []
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if f"{Path('engine', 'service')}" in path:
            names.append(frame.f_code.co_name)
        frame = frame.f_back
    return " › ".join(reversed(names[:4]))


def _summary(sql: str, parameters: Any) -> str:
    flat = " ".join(sql.split())
    tables = list(dict.fromkeys(re.findall(r"\b(?:FROM|JOIN) (\w+)", flat)))
    grouped = re.search(r"GROUP BY (.+?)(?: ORDER BY| LIMIT|$)", flat)
    what = ", ".join(tables)
    if grouped:
        what += f"; GROUP BY {grouped.group(1)}"
    count = len(parameters) if parameters else 0
    if not tables:
        return flat[:40]
    return f"{what}; {count} bound values"


def replay(engine: Engine, statements: list[Statement]) -> list[float]:
    """Each statement run again on a raw connection, execute plus fetchall (ms): the
    database's whole share, as sqlite3 computes much of a GROUP BY while rows are fetched."""
    raw = engine.raw_connection()
    values = []
    try:
        cursor = raw.cursor()
        for statement in statements:
            began = time.perf_counter()
            cursor.execute(statement.sql, statement.parameters)
            if cursor.description is not None:
                cursor.fetchall()
            values.append((time.perf_counter() - began) * 1000)
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return values


def profile(app: Any, teacher: Any, admin: Any, board: str, label: str) -> None:
    """Where one request of each report spends its time: each SQL statement, a cProfile of
    the Python side, and the plan of the main aggregation (the slowest ``_area_sums`` one)."""
    engine: Engine = app.extensions["pitstop"].engine
    for client, path in ((teacher, board), (admin, "/admin/export/school.csv")):
        total, statements = traced(engine, get_ok(client, path))
        queries = [s for s in statements if s.sql.split(None, 1)[0].upper() in ("SELECT", "WITH")]
        again = replay(engine, queries)
        executed = sum(statement.ms for statement in statements)
        print(f"\n## {label}: GET {path}, statement by statement\n")
        print(
            f"request {total:.1f} ms; {len(statements)} statements: execute {executed:.1f} ms "
            f"in the request, {sum(again):.1f} ms replayed with fetchall; so about "
            f"{total - sum(again):.1f} ms is Python (ORM, numpy, CSV or template)\n"
        )
        print("| # | sent by | statement | execute ms | replayed + fetchall ms |")
        print("|---:|---|---|---:|---:|")
        replayed = dict(zip(map(id, queries), again, strict=True))
        for number, statement in enumerate(statements, 1):
            repeat = replayed.get(id(statement))
            print(
                f"| {number} | {statement.caller} | "
                f"{_summary(statement.sql, statement.parameters)} | {statement.ms:.1f} | "
                f"{'' if repeat is None else f'{repeat:.1f}'} |"
            )
        profiler = cProfile.Profile()
        profiler.enable()
        get_ok(client, path)()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(r"engine|webui/views|jinja2/environment", 25)
        print(f"\n## {label}: cProfile of GET {path} (project functions, by cumulative time)\n")
        print("```")
        print(_trim_profile(out.getvalue()))
        print("```")
        aggregations = [s for s in statements if AGGREGATION.search(s.sql)]
        if aggregations:
            slowest = max(aggregations, key=lambda s: s.ms)
            explain(engine, slowest, f"{label}: main aggregation of GET {path}")


def _trim_profile(report: str) -> str:
    lines = [line for line in report.strip().splitlines() if line.strip()]
    keep = [line for line in lines if not line.startswith(("Ordered by", "List reduced"))]
    return "\n".join(line.replace(str(ROOT) + "/", "") for line in keep)


def explain(engine: Engine, statement: Statement, title: str) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement.sql, statement.parameters)
            plan = "\n".join(f"{row[0]:>3} {row[1]:>3}  {row[3]}" for row in cursor.fetchall())
            began = time.perf_counter()
            cursor.execute(statement.sql, statement.parameters)
            fetched = len(cursor.fetchall())
            elapsed = (time.perf_counter() - began) * 1000
            plan += f"\n-- run again with fetchall: {fetched} rows in {elapsed:.0f} ms"
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    sql = statement.sql.strip()
    if len(sql) > 3000:
        sql = f"{sql[:3000]} … ({len(sql):,} characters in all)"
    print(f"\n## {title} ({statement.caller}): query plan\n")
    print("```sql")
    print(sql)
    print("```\n")
    print("```")
    print(_collapse(plan))
    print("```")


def _collapse(plan: str) -> str:
    """Runs of one or two plan lines that repeat but for numbers (a long UNION ALL), once."""
    lines = plan.splitlines()
    shapes = [" ".join(re.sub(r"[0-9.]+", "#", line).split()) for line in lines]
    out: list[str] = []
    at = 0
    while at < len(lines):
        for width in (1, 2):
            block = shapes[at : at + width]
            end = at + width
            while len(block) == width and shapes[end : end + width] == block:
                end += width
            repeats = (end - at) // width - 1
            if repeats >= 3:
                out += lines[at : at + width]
                indent = " " * (len(lines[at]) - len(lines[at].lstrip()))
                out.append(f"{indent}… the line(s) above {repeats} more times")
                at = end
                break
        else:
            out.append(lines[at])
            at += 1
    return "\n".join(out)


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--reviews", type=int, default=2_000_000)
    parser.add_argument("--class-size", type=int, default=40)
    parser.add_argument("--class-reviews", type=int, default=2500, help="per timed student")
    parser.add_argument("--runs", type=int, default=20, help="timed dashboard runs")
    parser.add_argument("--csv-runs", type=int, default=3, help="timed school CSV runs")
    parser.add_argument("--quick", action="store_true", help="200 students, 150,000 reviews")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to add a run on")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--profile", action="store_true", help="cProfile and query plans")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.quick:
        args.students, args.reviews, args.class_reviews = 200, 150_000, 1000
        args.runs, args.csv_runs = 10, 3
    if args.reviews < args.class_reviews * min(args.class_size, args.students):
        parser.error("--reviews must cover the timed class's reviews")

    make_app("sqlite://")  # imports every view now, so the code measured is the code hashed
    source = fingerprint()
    began = time.perf_counter()
    bank = check_path(ROOT / "content" / "ase", ROOT / "content")
    assert not bank.problems, bank.problems[:5]
    school = build_school(args, bank)
    built_s = time.perf_counter() - began
    say(f"school built in {built_s:.1f} s")
    cards = len(school.cards["user_id"])
    reviews = len(school.reviews["user_id"])
    loads: list[tuple[str, dict[str, float]]] = []
    results: list[Timing] = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/school.db"
            loads.append(("SQLite", write_school(url, bank, school)))
            say(f"SQLite loaded in {sum(loads[-1][1].values()):.1f} s")
            size = Path(folder, "school.db").stat().st_size
            loads[-1][1]["size MiB"] = size / 2**20
            results += measure(url, school, args, "SQLite")
    if args.postgres:
        admin = create_engine(normalise_url(args.postgres), isolation_level="AUTOCOMMIT")
        name = f"pitstop_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        try:
            loads.append(("PostgreSQL", write_school(url, bank, school)))
            say(f"PostgreSQL loaded in {sum(loads[-1][1].values()):.1f} s")
            with admin.connect() as connection:
                size = connection.execute(text(f"SELECT pg_database_size('{name}')")).scalar()
            loads[-1][1]["size MiB"] = int(size or 0) / 2**20
            results += measure(url, school, args, "PostgreSQL")
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    print(
        f"\n# Class dashboard and school report: {school.students:,} students in classes of "
        f"{args.class_size}, {cards:,} card states, {reviews:,} reviews "
        f"(timed class: {min(args.class_size, args.students)} students × "
        f"{args.class_reviews:,} reviews); data built in {built_s:.1f} s\n"
    )
    after = fingerprint()
    changed = (
        ""
        if after == source
        else f"; the files changed on disk during the run (now {after}), the run kept the "
        "code it had imported"
    )
    print(f"- engine + webui source as imported at start: sha256 {source}{changed}")
    for database, steps in loads:
        detail = ", ".join(
            f"{step} {value:.0f}" if step == "size MiB" else f"{step} {value:.1f} s"
            for step, value in steps.items()
        )
        total = sum(value for step, value in steps.items() if step != "size MiB")
        print(f"- {database} load: {total:.1f} s ({detail})")
    print(
        f"\nFlask test client, fixed clock {NOW:%Y-%m-%d %H:%M} UTC; dashboards: 2 warm-ups, "
        f"{args.runs} timed runs; school CSV: 1 warm-up, {args.csv_runs} timed runs. "
        "× /healthz: median over the same app's /healthz median; p95 is the nearest rank. "
        f"1-minute load average around the runs ({os.cpu_count()} CPUs): {'; '.join(LOADS)}.\n"
    )
    print(
        "| request | runs | median ms | p95 ms | min ms | max ms | CPU median ms | × /healthz "
        "| target | size |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    baseline = 1.0
    missed = False
    for timing in results:
        median = statistics.median(timing.values)
        if "/healthz" in timing.label:
            baseline = median
        target = ""
        if timing.target_ms is not None:
            verdict = "met" if median < timing.target_ms else "MISSED"
            missed |= verdict == "MISSED" and timing.label.startswith("PostgreSQL")
            target = f"< {timing.target_ms:,.0f} ms: {verdict}"
        print(
            f"| {timing.label} | {len(timing.values)} | {median:,.1f} | "
            f"{percentile(timing.values, 0.95):,.1f} | {min(timing.values):,.1f} | "
            f"{max(timing.values):,.1f} | {statistics.median(timing.cpu):,.1f} | "
            f"{median / baseline:,.0f} | {target} | {timing.note} |"
        )
    print("\ntargets apply to PostgreSQL: class dashboard under 300 ms, school report under 5 s")
    if missed and not args.profile:
        print("a PostgreSQL target was missed: run again with --profile to see where time goes")


if __name__ == "__main__":
    main()
