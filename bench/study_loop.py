"""How fast is the study loop for a heavy learner, through the whole web stack?

Builds a learner with 1,500 synthetic items over the ten tests and 50,000 reviews (driven by
the engine's planner in memory, then written to a fresh database: card states, reviews and
calibration), and times, in Flask's test client, the two requests of each study step: GET
/study (the planner picks an item; an attempt is written) and POST /study/answer (the review
and the card state are written in one transaction). The feedback page the answer redirects
to is timed separately. Beside the loop, a trivial route (/healthz) on the same app shows the
framework's own floor. SQLite always; PostgreSQL when ``--postgres URL`` is given.

Run: ``.venv/bin/python bench/study_loop.py [--postgres postgresql://postgres@127.0.0.1/postgres]``
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    START,
    build_catalog,
    build_learner,
    percentile,
    throwaway_postgres,
)
from engine.blueprint import Blueprint  # noqa: E402
from engine.catalog import ItemCatalog  # noqa: E402
from engine.content import Bank, BankItem  # noqa: E402
from engine.learner import Learner  # noqa: E402
from engine.scheduling import ItemKind, from_epoch_us  # noqa: E402
from engine.service import StudyService  # noqa: E402
from engine.service.base import curve_columns_of  # noqa: E402
from engine.store.db import connect  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from engine.store.models import CardState, Goal, LearnerParameters, Review  # noqa: E402
from webui import create_app  # noqa: E402
from webui.security import hash_password  # noqa: E402

TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
EMAIL = "heavy@example.com"
PASSWORD = "benchmark-password"


def synthetic_bank(catalog: ItemCatalog, blueprint: Blueprint) -> Bank:
    items = []
    for info in catalog.items:
        if info.kind is ItemKind.MCQ:
            body = {
                "stem": f"Benchmark question {info.id}?",
                "choices": ["First", "Second", "Third", "Fourth"],
                "answer": "A",
                "explanation": "Benchmark explanation.",
                "rationales": {"B": "No.", "C": "No.", "D": "No."},
            }
        else:
            body = {"front": f"Benchmark card {info.id}?", "back": "Benchmark answer."}
        items.append(
            BankItem(
                id=info.id,
                test_code=info.test_code,
                area_code=info.area_code,
                kind=info.kind,
                difficulty=info.difficulty,
                body=body,
                format="direct" if info.kind is ItemKind.MCQ else None,
            )
        )
    return Bank(blueprint, tuple(items), ())


def write_learner(url: str, catalog: ItemCatalog, learner: Learner) -> None:
    """Store the in-memory learner's history as if it had studied through the app."""
    engine = connect(url)
    upgrade(engine)
    study = StudyService(engine)
    study.load_content(synthetic_bank(catalog, catalog.blueprint), now=START)
    user = study.create_user(
        email=EMAIL, display_name="Heavy", password_hash=hash_password(PASSWORD), now=START
    )
    cards = learner.cards
    states = []
    for index in np.flatnonzero(cards.seen):
        card = cards.get(int(index))
        assert card is not None
        states.append(
            {
                "user_id": user.id,
                "item_id": catalog.items[int(index)].id,
                "state": int(card.state),
                "step": card.step,
                "stability": card.stability,
                "difficulty": card.difficulty,
                "due": card.due,
                "last_review": card.last_review,
                "reps": card.reps,
                "lapses": card.lapses,
                "proven_interval_days": card.proven_interval_days,
                "introduced_at": from_epoch_us(int(cards.introduced_us[index])),
                "first_correct": bool(cards.first_correct[index]),
                "version": card.reps,
            }
        )
    reviews = [
        {
            "user_id": user.id,
            "item_id": record.item_id,
            "answered_at": record.answered_at,
            "rating": record.rating,
            "correct": record.correct,
            "choice": record.choice,
            "unsure": False,
            "response_ms": record.response_ms,
            "attempt_token": f"history-{number}",
            "predicted_correct": record.predicted_correct,
            "elapsed_days": record.elapsed_days,
        }
        for number, record in enumerate(learner.reviews)
    ]
    with engine.begin() as connection:
        connection.execute(insert(CardState), states)
        for start in range(0, len(reviews), 5000):
            connection.execute(insert(Review), reviews[start : start + 5000])
        connection.execute(
            insert(Goal),
            [
                {
                    "user_id": user.id,
                    "test_code": goal.test_code,
                    "exam_date": None,
                    "created_at": START,
                }
                for goal in learner.goals
            ],
        )
        connection.execute(
            insert(LearnerParameters),
            [
                {
                    "user_id": user.id,
                    "parameters": None,
                    "review_count": len(reviews),
                    "calibration": learner.calibration.to_json(),
                    # As every answer keeps them: the curves the learner is loaded with.
                    **curve_columns_of(learner.beliefs.scheduler, learner.calibration),
                    "updated_at": START,
                }
            ],
        )
    engine.dispose()


def measure(url: str, steps: int, label: str) -> list[tuple[str, list[float]]]:
    clock_now = [START + timedelta(days=102, hours=2)]
    app = create_app(
        {
            "DATABASE_URL": url,
            "PITSTOP_CLOCK": lambda: clock_now[0],
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "benchmark",
        }
    )
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(login_page)
    assert token
    client.post("/login", data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD})
    get_ms: list[float] = []
    post_ms: list[float] = []
    loop_ms: list[float] = []
    feedback_ms: list[float] = []
    trivial_ms: list[float] = []
    csrf = ""
    for step in range(steps + 20):
        began = time.perf_counter()
        page = client.get("/study").get_data(as_text=True)
        got = time.perf_counter()
        found = TOKEN.search(page)
        assert found, page[:500]
        csrf = csrf or CSRF.search(page).group(1)  # type: ignore[union-attr]
        data = {"csrf_token": csrf, "token": found.group(1)}
        data |= {"choice": "A"} if 'data-question="mcq"' in page else {"rating": "3"}
        before_post = time.perf_counter()
        response = client.post("/study/answer", data=data)
        posted = time.perf_counter()
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        client.get(response.headers["Location"])
        shown = time.perf_counter()
        client.get("/healthz")
        trivial = time.perf_counter()
        if step >= 20:  # warm-up excluded
            get_ms.append((got - began) * 1000)
            post_ms.append((posted - before_post) * 1000)
            loop_ms.append((got - began + posted - before_post) * 1000)
            feedback_ms.append((shown - posted) * 1000)
            trivial_ms.append((trivial - shown) * 1000)
        clock_now[0] += timedelta(seconds=25)
    app.extensions["pitstop"].engine.dispose()
    return [
        (f"{label}: study loop (GET /study + POST answer)", loop_ms),
        (f"{label}: GET /study", get_ms),
        (f"{label}: POST /study/answer", post_ms),
        (f"{label}: GET feedback page", feedback_ms),
        (f"{label}: GET /healthz (floor)", trivial_ms),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--reviews", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to add a run on")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    started = time.perf_counter()
    catalog = build_catalog(args.items)
    learner = build_learner(catalog, args.reviews, args.seed)
    built_s = time.perf_counter() - started
    rows: list[tuple[str, list[float]]] = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{folder}/bench.db"
        write_learner(sqlite_url, catalog, learner)
        rows += measure(sqlite_url, args.steps, "SQLite")
    if args.postgres:
        with throwaway_postgres(args.postgres, "pitstop_bench") as url:
            write_learner(url, catalog, learner)
            rows += measure(url, args.steps, "PostgreSQL")

    print(
        f"# Study loop benchmark: {len(catalog)} items, {len(learner.reviews)} reviews, "
        f"{int(learner.cards.seen.sum())} items seen (learner built in {built_s:.0f} s); "
        f"{args.steps} timed steps after 20 warm-up steps, Flask test client"
    )
    print()
    print("| request | median ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for label, values in rows:
        print(
            f"| {label} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} | "
            f"{percentile(values, 0.99):.1f} |"
        )
    print()
    print("target: study loop median under 30 ms")


if __name__ == "__main__":
    main()
