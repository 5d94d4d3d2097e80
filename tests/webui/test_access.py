"""Who may open what: every route of the app, for every kind of visitor.

A route added without an entry in EXPECTED fails this test, so access is always a decision.
Forms are posted empty with CSRF checks off: an allowed visitor gets the form's own 400 (or the
action's redirect), a refused one gets 302 to the log-in page (anonymous) or 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from engine.answering import Answer
from engine.content import Bank
from engine.scheduling import ItemKind, Rating
from tests.conftest import NOW
from tests.webui.conftest import Clock
from webui import create_app, service
from webui.security import hash_password

ROLES = ("anonymous", "student", "other_student", "instructor", "other_instructor", "admin")
PASSWORD = "access-test-password"


def _all(status: int) -> tuple[int, ...]:
    return (status,) * 6


def _logged_in(anonymous: int, others: int) -> tuple[int, ...]:
    return (anonymous,) + (others,) * 5


def _teachers(allowed: int, *, other_instructor: int = 403) -> tuple[int, ...]:
    return (302, 403, 403, allowed, other_instructor, allowed)


# (endpoint, method) -> status for (anonymous, student, other student, instructor, other
# instructor, admin). "The class" is the instructor's; the student is in it, the other student
# is in the other instructor's class.
EXPECTED: dict[tuple[str, str], tuple[int, ...]] = {
    ("health.healthz", "GET"): _all(200),
    ("home.index", "GET"): _all(200),
    ("auth.signup", "GET"): _all(200),
    ("auth.signup", "POST"): _all(400),
    ("auth.login", "GET"): _all(200),
    ("auth.login", "POST"): _all(400),
    ("auth.logout", "POST"): _logged_in(302, 302),
    ("auth.password", "GET"): _logged_in(302, 200),
    ("auth.password", "POST"): _logged_in(302, 400),
    ("auth.invite", "GET"): _all(404),
    ("auth.invite", "POST"): _all(404),
    ("plan.edit", "GET"): _logged_in(302, 200),
    ("plan.edit", "POST"): _logged_in(302, 400),
    ("plan.placement", "GET"): (302, 200, 200, 302, 302, 302),  # no goals: back to the plan
    ("plan.placement", "POST"): _logged_in(302, 400),
    ("study.study", "GET"): _logged_in(302, 200),
    ("study.answer", "POST"): _logged_in(302, 400),
    ("study.feedback", "GET"): (302, 200, 404, 404, 404, 404),  # only the student's own answer
    ("study.summary", "GET"): _logged_in(302, 200),
    ("study.figure", "GET"): _logged_in(302, 200),
    ("progress.index", "GET"): _logged_in(302, 200),
    ("classes.join", "GET"): _logged_in(302, 200),
    ("classes.join", "POST"): _logged_in(302, 400),
    ("classes.index", "GET"): _teachers(200, other_instructor=200),
    ("classes.index", "POST"): _teachers(400, other_instructor=400),
    ("classes.dashboard", "GET"): _teachers(200),
    ("classes.student", "GET"): _teachers(200),
    ("classes.rotate_code", "POST"): _teachers(302),
    ("classes.roster", "GET"): _teachers(200),
    ("classes.roster", "POST"): _teachers(400),
    ("classes.assignments", "GET"): _teachers(200),
    ("classes.assignments", "POST"): _teachers(400),
    ("classes.delete_assignment", "POST"): _teachers(302),
    ("classes.items", "GET"): _teachers(200),
    ("classes.export", "GET"): _teachers(200),
    ("classes.item", "GET"): _teachers(200, other_instructor=200),
    ("decks.index", "GET"): _teachers(200, other_instructor=200),
    ("decks.index", "POST"): _teachers(400, other_instructor=400),
    ("admin.index", "GET"): (302, 403, 403, 403, 403, 200),
    ("admin.items", "GET"): (302, 403, 403, 403, 403, 200),
    ("admin.export_items", "GET"): (302, 403, 403, 403, 403, 200),
    ("admin.export_school", "GET"): (302, 403, 403, 403, 403, 200),
    ("static", "GET"): _all(200),
    ("api.session", "GET"): _logged_in(401, 200),
    ("api.next_item", "GET"): _logged_in(401, 200),
    ("api.answer", "POST"): _logged_in(401, 400),
    ("api.progress", "GET"): _logged_in(401, 200),
}


@pytest.fixture
def world(
    database_url: str, fixture_bank: Bank, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Flask, dict[str, Any]]]:
    monkeypatch.setenv("PITSTOP_INSTANCE_DIR", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "PITSTOP_CLOCK": Clock(NOW),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    study = service(app)
    study.load_content(fixture_bank, now=NOW)
    ids: dict[str, Any] = {}
    for role_name, role in (
        ("student", "student"),
        ("other_student", "student"),
        ("instructor", "instructor"),
        ("other_instructor", "instructor"),
        ("admin", "admin"),
    ):
        user = study.create_user(
            email=f"{role_name}@school.edu",
            display_name=role_name,
            password_hash=hash_password(PASSWORD),
            role=role,
            now=NOW,
        )
        ids[role_name] = user.id
    for name in ("student", "other_student"):
        study.set_goals(ids[name], {"A6": date(2026, 3, 20)}, now=NOW)
    mine = study.create_class(ids["instructor"], "Mine", ["A6"], now=NOW)
    theirs = study.create_class(ids["other_instructor"], "Theirs", ["A6"], now=NOW)
    study.join_class(ids["student"], mine.join_code, now=NOW)
    study.join_class(ids["other_student"], theirs.join_code, now=NOW)
    served = study.next_item(ids["student"], now=NOW, rng=np.random.default_rng(0))
    assert served is not None
    answer = Answer(choice="A") if served.kind is ItemKind.MCQ else Answer(self_rating=Rating.Good)
    study.answer(ids["student"], served.token, answer, now=NOW)
    ids |= {"class": mine.id, "token": served.token}
    yield app, ids
    study.engine.dispose()


def _arguments(app: Flask, ids: dict[str, Any], endpoint: str) -> dict[str, Any]:
    study = service(app)
    values: dict[str, Any] = {
        "class_id": ids["class"],
        "student_id": ids["student"],
        "token": ids["token"],
        "item_id": "A6-A-001",
        "kind": "heatmap",
        "filename": "pitstop.css",
    }
    if endpoint == "classes.delete_assignment":
        deck = study.decks_for(ids["instructor"])[0]
        assignment = study.create_assignment(
            ids["instructor"],
            ids["class"],
            deck.id,
            starts_on=date(2026, 3, 1),
            due_on=date(2026, 3, 9),
            now=NOW,
        )
        values["assignment_id"] = assignment.id
    if endpoint == "auth.invite":
        values["token"] = "not-a-real-invite"
    return values


def _client(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        response = client.post("/login", data={"email": f"{role}@school.edu", "password": PASSWORD})
        assert response.status_code == 302, role
    return client


def test_every_route_is_classified() -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert routes - EXPECTED.keys() == set(), "new routes need an access decision in EXPECTED"
    assert EXPECTED.keys() - routes == set(), "EXPECTED lists routes that no longer exist"


@pytest.mark.parametrize("role", ROLES)
def test_each_visitor_gets_the_expected_status_on_every_route(
    world: tuple[Flask, dict[str, Any]], role: str
) -> None:
    app, ids = world
    column = ROLES.index(role)
    client = _client(app, role)
    mismatches = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            expected = EXPECTED[(rule.endpoint, method)][column]
            with app.test_request_context():
                url = url_for(rule.endpoint, **_arguments(app, ids, rule.endpoint))
            response = client.open(url, method=method, data={})
            response.close()  # static files are streamed from disk
            if response.status_code != expected:
                mismatches.append(f"{method} {url}: {response.status_code}, expected {expected}")
            if rule.endpoint == "auth.logout" and role != "anonymous":
                client = _client(app, role)
    assert mismatches == [], "\n".join(mismatches)
