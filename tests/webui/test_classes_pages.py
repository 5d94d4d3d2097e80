from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import NOW
from tests.webui.conftest import PASSWORD, TOKEN, csrf_token, save_plan, sign_up
from webui import service
from webui.security import hash_password


def _teacher(app: Flask) -> FlaskClient:
    service(app).create_user(
        email="teach@school.edu",
        display_name="Ms Teach",
        password_hash=hash_password(PASSWORD),
        role="instructor",
        now=NOW,
    )
    client = app.test_client()
    client.post(
        "/login",
        data={"csrf_token": csrf_token(client), "email": "teach@school.edu", "password": PASSWORD},
    )
    return client


def _create_class(teacher: FlaskClient) -> int:
    response = teacher.post(
        "/classes",
        data={"csrf_token": csrf_token(teacher, "/classes"), "name": "Auto 2", "tests": ["A6"]},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_instructor_workflow(app: Flask, client: FlaskClient) -> None:
    teacher = _teacher(app)
    assert "You have no classes yet" in teacher.get("/classes").get_data(as_text=True)
    bad = teacher.post(
        "/classes", data={"csrf_token": csrf_token(teacher, "/classes"), "name": "", "tests": []}
    )
    assert bad.status_code == 400 and "Give the class a name." in bad.get_data(as_text=True)
    class_id = _create_class(teacher)
    page = teacher.get(f"/classes/{class_id}").get_data(as_text=True)
    assert "No students yet" in page
    code = re.search(r"join code <code>([A-Z0-9]+)</code>", page).group(1)  # type: ignore[union-attr]

    # A student joins with the code and studies.
    sign_up(client)
    save_plan(client, A6="2026-03-20")
    wrong = client.post(
        "/classes/join",
        data={"csrf_token": csrf_token(client, "/classes/join"), "code": "NOPE1234"},
    )
    assert wrong.status_code == 400 and "no class has that join code" in wrong.get_data(
        as_text=True
    )
    joined = client.post(
        "/classes/join",
        data={"csrf_token": csrf_token(client, "/classes/join"), "code": code.lower()},
    )
    assert joined.status_code == 302
    assert "Auto 2 with Ms Teach" in client.get("/").get_data(as_text=True)

    # The instructor assigns a deck; the student sees it and can study it alone.
    token = csrf_token(teacher, f"/classes/{class_id}/assignments")
    decks = re.findall(
        r'<option value="(\d+)">A6.E Body',
        teacher.get(f"/classes/{class_id}/assignments").get_data(as_text=True),
    )
    created = teacher.post(
        f"/classes/{class_id}/assignments",
        data={
            "csrf_token": token,
            "deck": decks[0],
            "starts_on": "2026-03-01",
            "due_on": "2026-03-10",
            "goal": "3",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    listed = teacher.get(f"/classes/{class_id}/assignments").get_data(as_text=True)
    assert "Sun Mar 1 to Tue Mar 10" in listed  # dates as people read them, not ISO
    backwards = teacher.post(
        f"/classes/{class_id}/assignments",
        data={
            "csrf_token": token,
            "deck": decks[0],
            "starts_on": "2026-03-10",
            "due_on": "2026-03-01",
            "goal": "3",
        },
    )
    assert backwards.status_code == 400 and "before the start date" in backwards.get_data(
        as_text=True
    )
    home = client.get("/").get_data(as_text=True)
    assert "A6.E Body Electrical Systems" in home and "0 of 1 area at Proficient" in home
    assignment_id = re.search(r"/study\?assignment=(\d+)", home).group(1)  # type: ignore[union-attr]
    study_page = client.get(f"/study?assignment={assignment_id}").get_data(as_text=True)
    assert "Studying only" in study_page and "A6.E" in study_page
    assert client.get("/study?assignment=99999").status_code == 404
    for _ in range(5):
        page = client.get(f"/study?assignment={assignment_id}").get_data(as_text=True)
        data = {"csrf_token": csrf_token(client, "/plan"), "token": TOKEN.search(page).group(1)}  # type: ignore[union-attr]
        data |= {"choice": "A"} if 'data-question="mcq"' in page else {"rating": "3"}
        client.post("/study/answer", data=data)

    board = teacher.get(f"/classes/{class_id}").get_data(as_text=True)
    assert "Sam" in board and 'class="cell band-' in board
    assert "<p>1 student · tests A6" in board
    assert teacher.get(f"/classes/{class_id}?at=exam").status_code == 200
    assert teacher.get(f"/classes/{class_id}?sort=risk").status_code == 200
    heatmap = teacher.get(f"/classes/{class_id}/export/heatmap.csv")
    assert heatmap.mimetype == "text/csv" and "A6.E mastery now" in heatmap.get_data(as_text=True)
    assert teacher.get(f"/classes/{class_id}/export/bogus.csv").status_code == 404
    items = teacher.get(f"/classes/{class_id}/items").get_data(as_text=True)
    assert "first</strong> attempt" in items and "A6-E-" in items
    student_id = re.search(rf"/classes/{class_id}/students/(\d+)", board).group(1)  # type: ignore[union-attr]
    detail = teacher.get(f"/classes/{class_id}/students/{student_id}").get_data(as_text=True)
    assert "Readiness" in detail and "Recent activity" in detail


def test_roster_import_pages(app: Flask) -> None:
    teacher = _teacher(app)
    class_id = _create_class(teacher)
    token = csrf_token(teacher, f"/classes/{class_id}/roster")

    def upload(rows: bytes) -> Any:
        csv = b"sourcedId,givenName,familyName,email,role\n" + rows
        return teacher.post(
            f"/classes/{class_id}/roster",
            data={"csrf_token": token, "roster": (io.BytesIO(csv), "roster.csv")},
            content_type="multipart/form-data",
        )

    bad = upload(b"s1,Ana,Diaz,,student\ns2,Ben,Ng,ben@x.edu,wizard\n")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Nothing was imported: 2 problems" in page
    assert "line 2, email: missing email" in page and "line 3, role: unknown role" in page
    good = upload(b"s1,Ana,Diaz,ana@x.edu,student\n")
    page = good.get_data(as_text=True)
    assert good.status_code == 200 and "1 new account" in page
    invite = re.search(r"http://localhost(/invite/[A-Za-z0-9_-]+)", page).group(1)  # type: ignore[union-attr]
    # The student follows the invite link and sets a password.
    student = app.test_client()
    assert "Welcome, Ana Diaz" in student.get(invite).get_data(as_text=True)
    short = student.post(
        invite,
        data={"csrf_token": csrf_token(student, invite), "password": "short", "confirm": "short"},
    )
    assert short.status_code == 400
    done = student.post(
        invite,
        data={"csrf_token": csrf_token(student, invite), "password": PASSWORD, "confirm": PASSWORD},
    )
    assert done.status_code == 302
    assert student.get(invite).status_code == 404, "the link works once"


def test_deck_pages(app: Flask) -> None:
    teacher = _teacher(app)
    assert "You have not built a deck yet" in teacher.get("/decks").get_data(as_text=True)
    token = csrf_token(teacher, "/decks")
    picked = teacher.post(
        "/decks",
        data={
            "csrf_token": token,
            "action": "pick",
            "pick-csrf_token": token,
            "pick-name": "Lighting + one",
            "pick-areas": ["A6.D"],
            "pick-items": "A8-A-001",
        },
    )
    assert picked.status_code == 302, picked.get_data(as_text=True)
    decks_page = teacher.get("/decks").get_data(as_text=True)
    # The instructor's own decks come first; the built-in ones wait folded away.
    assert decks_page.index("Lighting + one") < decks_page.index("<summary>Built-in decks")
    deck = b"test: A6\narea: A6.D\nitems:\n  - id: A6-D-F900\n    kind: flashcard\n"
    deck += b"    difficulty: 9\n    front: Q?\n    back: A.\n"
    upload = teacher.post(
        "/decks",
        data={
            "csrf_token": token,
            "action": "upload",
            "upload-csrf_token": token,
            "upload-name": "Mine",
            "upload-file": (io.BytesIO(deck), "lights.yaml"),
        },
        content_type="multipart/form-data",
    )
    page = upload.get_data(as_text=True)
    assert (
        upload.status_code == 400
        and "lights.yaml:6: A6-D-F900: difficulty: must be 1, 2 or 3, got 9" in page
    )
