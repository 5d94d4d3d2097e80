"""Malformed and hostile input at every form and JSON endpoint: a 4xx or a correct result,
never a 500; and user-written text never becomes HTML."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.conftest import NOW
from tests.webui.conftest import PASSWORD, csrf_token, save_plan, sign_up
from webui import service
from webui.security import hash_password

SCRIPT = "<script>alert('x')</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
NASTY = [
    SCRIPT,
    ATTRIBUTE,
    "' OR 1=1 --",
    "\x00",
    "A" * 100_000,
    "😀" * 300,
    "../../etc/passwd",
    "%00",
    "{{7*7}}",
]

values = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=300),
    st.integers().map(str),
    st.sampled_from(
        ["", " ", "-1", "0", "99999999999999999999", "1e308", "NaN", "A6.Z", "2026-13-45"]
    ),
)
FORMS: list[tuple[str, list[str]]] = [
    ("/signup", ["display_name", "email", "password", "confirm", "timezone"]),
    ("/login", ["email", "password", "remember"]),
    ("/account/password", ["current", "password", "confirm"]),
    ("/plan", ["daily_goal_minutes", "goal_A6", "exam_A6", "goal_Z9", "exam_A8"]),
    ("/placement", ["item", "choice-A6-A-001", "choice-Z"]),
    ("/study/answer", ["token", "choice", "rating", "unsure"]),
    ("/classes/join", ["code"]),
    ("/classes", ["name", "tests"]),
    ("/classes/{class_id}/assignments", ["deck", "starts_on", "due_on", "goal"]),
    ("/classes/{class_id}/roster", ["roster"]),
    ("/decks", ["action", "pick-name", "pick-tests", "pick-areas", "pick-items", "upload-name"]),
    ("/invite/{token}", ["password", "confirm"]),
]
QUERIES = [
    "/study?area={}",
    "/study?assignment={}",
    "/classes/{class_id}?sort={}",
    "/classes/{class_id}?at={}",
    "/study/feedback/{}",
    "/figures/{}.svg",
    "/items/{}",
    "/api/study/next?area={}",
    "/classes/{class_id}/export/{}.csv",
]


@pytest.fixture
def people(app: Flask) -> dict[str, Any]:
    study = service(app)
    teacher = study.create_user(
        email="teach@school.edu",
        display_name="Teach",
        password_hash=hash_password(PASSWORD),
        role="instructor",
        now=NOW,
    )
    classroom = study.create_class(teacher.id, "Class", ["A6"], now=NOW)
    student = app.test_client()
    sign_up(student)
    save_plan(student, A6="2026-03-20")
    instructor = app.test_client()
    instructor.post(
        "/login",
        data={
            "csrf_token": csrf_token(instructor),
            "email": "teach@school.edu",
            "password": PASSWORD,
        },
    )
    return {"student": student, "instructor": instructor, "class_id": classroom.id}


def _assert_safe(response: Any, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if response.mimetype == "text/html":
        page = response.get_data(as_text=True)
        assert SCRIPT not in page and ATTRIBUTE not in page, f"{where} echoed markup"


SLOW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SLOW
@given(form=st.sampled_from(FORMS), data=st.data(), with_csrf=st.booleans())
def test_forms_never_fail_on_hostile_input(
    people: dict[str, Any], form: tuple[str, list[str]], data: st.DataObject, with_csrf: bool
) -> None:
    path, fields = form
    path = path.format(class_id=people["class_id"], token="not-a-token")
    client: FlaskClient = people[
        "instructor" if "/classes" in path or "/decks" in path else "student"
    ]
    payload: dict[str, Any] = {
        field: data.draw(values, label=field)
        for field in data.draw(st.sets(st.sampled_from(fields)), label="fields")
    }
    if with_csrf:
        payload["csrf_token"] = csrf_token(client, "/plan")
    if "roster" in payload:
        payload["roster"] = (
            io.BytesIO(payload["roster"].encode("utf-8", "surrogatepass")),
            "roster.csv",
        )
    response = client.post(
        path, data=payload, content_type="multipart/form-data" if "roster" in payload else None
    )
    _assert_safe(response, path)


@SLOW
@given(template=st.sampled_from(QUERIES), value=values)
def test_query_strings_and_path_parts_never_fail(
    people: dict[str, Any], template: str, value: str
) -> None:
    client: FlaskClient = people[
        "instructor" if "/classes" in template or "/items" in template else "student"
    ]
    from urllib.parse import quote

    path = template.format(quote(value, safe=""), class_id=people["class_id"])
    _assert_safe(client.get(path), template)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=50),
        st.sampled_from(NASTY),
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)


@SLOW
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "token": json_values,
                "choice": json_values,
                "rating": json_values,
                "unsure": json_values,
            }
        ),
        st.text(max_size=200),
    ),
    with_csrf=st.booleans(),
)
def test_the_json_api_never_fails(people: dict[str, Any], body: Any, with_csrf: bool) -> None:
    client: FlaskClient = people["student"]
    headers = (
        {"X-CSRFToken": client.get("/api/session").get_json()["csrf_token"]} if with_csrf else {}
    )
    raw = body if isinstance(body, str) else json.dumps(body)
    response = client.post(
        "/api/study/answer", data=raw, headers=headers, content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert "error" in response.get_json()


def test_other_users_ids_are_refused(app: Flask, people: dict[str, Any]) -> None:
    """A student cannot answer, read or reach another learner's things by guessing ids."""
    other = app.test_client()
    sign_up(other, email="eve@example.com", name="Eve")
    save_plan(other, A6="")
    page = people["student"].get("/study").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = other.post(
        "/study/answer",
        data={"csrf_token": csrf_token(other, "/plan"), "token": token, "choice": "A"},
    )
    assert answer.status_code == 404
    api = other.post(
        "/api/study/answer",
        json={"token": token, "choice": "A"},
        headers={"X-CSRFToken": other.get("/api/session").get_json()["csrf_token"]},
    )
    assert api.status_code == 404 and "no such question" in api.get_json()["error"]
    assert other.get(f"/classes/{people['class_id']}").status_code == 403


def test_user_written_text_is_never_html(app: Flask, people: dict[str, Any]) -> None:
    study = service(app)
    hostile = f"Bad {SCRIPT} {ATTRIBUTE}"
    client = app.test_client()
    sign_up(client, email="mallory@example.com", name=hostile[:100])
    save_plan(client, A6="")
    teacher: FlaskClient = people["instructor"]
    class_id = people["class_id"]
    code = study.class_info(study.find_user("teach@school.edu").id, class_id).join_code  # type: ignore[union-attr]
    client.post(
        "/classes/join", data={"csrf_token": csrf_token(client, "/classes/join"), "code": code}
    )
    teacher.post(
        "/classes",
        data={"csrf_token": csrf_token(teacher, "/classes"), "name": hostile, "tests": ["A6"]},
    )
    deck_file = (
        "test: A6\narea: A6.D\nitems:\n  - id: A6-D-F777\n    kind: flashcard\n    difficulty: 1\n"
        f"    front: {json.dumps(hostile)}\n    back: {json.dumps(hostile)}\n"
    )
    token = csrf_token(teacher, "/decks")
    uploaded = teacher.post(
        "/decks",
        data={
            "csrf_token": token,
            "action": "upload",
            "upload-csrf_token": token,
            "upload-name": hostile,
            "upload-file": (io.BytesIO(deck_file.encode()), "x.yaml"),
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)
    pages = [
        (client, "/"),
        (teacher, "/classes"),
        (teacher, f"/classes/{class_id}"),
        (teacher, "/decks"),
        (teacher, "/items/A6-D-F777"),
        (teacher, f"/classes/{class_id}/assignments"),
    ]
    student_id = study.find_user("mallory@example.com").id  # type: ignore[union-attr]
    pages.append((teacher, f"/classes/{class_id}/students/{student_id}"))
    for who, path in pages:
        response = who.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert SCRIPT not in page and ATTRIBUTE not in page, path
    escaped = teacher.get(f"/classes/{class_id}").get_data(as_text=True)
    assert "&lt;script&gt;" in escaped, "the name is shown, escaped"


def test_a_nul_character_anywhere_is_a_400_on_every_database(people: dict[str, Any]) -> None:
    """PostgreSQL refuses NUL in text; a NUL in a path, a query string or a form is refused with
    a message before it reaches a view (found by the test above on PostgreSQL: /figures/%00.svg
    and /items/%00 answered 500)."""
    student: FlaskClient = people["student"]
    instructor: FlaskClient = people["instructor"]
    for client, path in (
        (student, "/figures/%00.svg"),
        (student, "/study/feedback/a%00b"),
        (student, "/study?area=A6.A%00"),
        (instructor, "/items/A6-A-001%00"),
        (instructor, f"/classes/{people['class_id']}?sort=%00"),
    ):
        response = client.get(path)
        assert response.status_code == 400, (path, response.status_code)
        assert "NUL character" in response.get_data(as_text=True)
    posted = student.post(
        "/classes/join", data={"csrf_token": csrf_token(student, "/"), "code": "AB\x00CD"}
    )
    assert posted.status_code == 400 and "NUL character" in posted.get_data(as_text=True)


def test_a_value_the_database_refuses_is_a_400_not_a_500(app: Flask) -> None:
    """The safety net behind the forms: a value PostgreSQL refuses (sqlalchemy DataError) is
    the input's fault, answered 400 with a message, and the transaction is rolled back."""
    engine = service(app).engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores whatever it is given; the net is for PostgreSQL")

    @app.get("/test-only/refused")
    def refused() -> str:
        with engine.begin() as connection:
            connection.execute(text("SELECT CAST(:value AS integer)"), {"value": "twelve"})
        return "stored"

    response = app.test_client().get("/test-only/refused")
    assert response.status_code == 400
    assert "cannot be stored" in response.get_data(as_text=True)
