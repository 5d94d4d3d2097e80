from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlmodel import Session

from engine.store.models import AreaPrior, Item, Review
from tests.webui.conftest import CSRF, PASSWORD, TOKEN, Clock, csrf_token, save_plan, sign_up
from webui import service


def _reviews(app: Flask) -> int:
    with Session(service(app).engine) as session:
        return int(session.scalar(select(func.count()).select_from(Review)) or 0)


def _key(app: Flask, item_id: str) -> str:
    with Session(service(app).engine) as session:
        item = session.get(Item, item_id)
        assert item is not None
        return str(item.body.get("answer", ""))


def _served(client: FlaskClient, path: str = "/study") -> tuple[str, str, str]:
    """(token, item id, kind) of the question on the study page."""
    page = client.get(path).get_data(as_text=True)
    token = TOKEN.search(page)
    assert token, page
    attempt_item = re.search(r"/figures/([A-Z0-9-]+)\.svg", page)
    kind = "mcq" if 'data-question="mcq"' in page else "flashcard"
    return token.group(1), attempt_item.group(1) if attempt_item else "", kind


def _answer(
    client: FlaskClient, token: str, kind: str, *, choice: str = "A", rating: str = "3"
) -> str:
    data = {"csrf_token": csrf_token(client, "/plan"), "token": token}
    data |= {"choice": choice} if kind == "mcq" else {"rating": rating}
    response = client.post("/study/answer", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return str(response.headers["Location"])


def test_plan_validation(client: FlaskClient) -> None:
    sign_up(client)
    none = client.post(
        "/plan", data={"csrf_token": csrf_token(client, "/plan"), "daily_goal_minutes": "20"}
    )
    assert none.status_code == 400 and "Choose at least one test." in none.get_data(as_text=True)
    past = client.post(
        "/plan",
        data={
            "csrf_token": csrf_token(client, "/plan"),
            "daily_goal_minutes": "20",
            "goal_A6": "y",
            "exam_A6": "2020-01-01",
        },
    )
    assert past.status_code == 400 and "is in the past" in past.get_data(as_text=True)
    minutes = client.post(
        "/plan",
        data={
            "csrf_token": csrf_token(client, "/plan"),
            "daily_goal_minutes": "999",
            "goal_A6": "y",
        },
    )
    assert minutes.status_code == 400 and "Choose 5 to 240 minutes." in minutes.get_data(
        as_text=True
    )
    garbage = client.post(
        "/plan",
        data={
            "csrf_token": csrf_token(client, "/plan"),
            "daily_goal_minutes": "twenty",
            "goal_A6": "y",
            "exam_A6": "soon",
        },
    )
    assert garbage.status_code == 400


def test_first_plan_leads_to_placement_and_placement_seeds_priors(
    client: FlaskClient, app: Flask
) -> None:
    sign_up(client)
    data = {"csrf_token": csrf_token(client, "/plan"), "daily_goal_minutes": "15", "goal_A6": "y"}
    assert client.post("/plan", data=data).headers["Location"] == "/placement"
    page = client.get("/placement").get_data(as_text=True)
    items = re.findall(r'name="item" value="([^"]+)"', page)
    assert len(items) == 10  # two per area of A6
    assert "I don't know" in page
    answers = {"csrf_token": csrf_token(client, "/placement"), "item": items}
    for item_id in items:
        if item_id.startswith("A6-E"):
            answers[f"choice-{item_id}"] = _key(app, item_id)
    response = client.post("/placement", data=answers)
    assert response.headers["Location"] == "/study"
    with Session(service(app).engine) as session:
        priors = {row.area_code: row for row in session.scalars(select(AreaPrior))}
    assert priors["A6.E"].known == 2.0 and priors["A6.E"].attempts == 2.0
    assert priors["A6.A"].known == 0.0
    assert _reviews(app) == 0, "placement answers are not study reviews"
    forged = client.post(
        "/placement", data={"csrf_token": csrf_token(client, "/placement"), "item": ["A8-A-001"]}
    )
    assert forged.status_code == 400


def test_the_study_loop(student: FlaskClient, app: Flask, clock: Clock) -> None:
    page = student.get("/study").get_data(as_text=True)
    assert "exam in 18 days" in page
    assert "0 items today" in page
    token, _, kind = _served(student)
    location = _answer(student, token, kind)
    assert location == f"/study/feedback/{token}"
    feedback = student.get(location).get_data(as_text=True)
    assert "Next question" in feedback and "You'll see this again" in feedback
    assert _reviews(app) == 1
    # The same answer posted again (double tap, resubmitted form) is recorded once.
    assert _answer(student, token, kind) == location
    assert _reviews(app) == 1
    # The same page again (the sign-out form's CSRF token is re-signed with the wall-clock
    # second, so it alone may differ).
    assert _without_csrf(student.get(location).get_data(as_text=True)) == _without_csrf(feedback)
    clock.advance(seconds=30)
    assert "1 item today" in student.get("/study").get_data(as_text=True)


def _without_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)


def test_feedback_shows_the_key_the_explanation_and_the_chosen_rationale(
    student: FlaskClient, app: Flask
) -> None:
    for _ in range(12):
        token, _, kind = _served(student)
        if kind == "mcq":
            break
        _answer(student, token, kind)
    assert kind == "mcq"
    attempt_item = _attempt_item(app, token)
    key = _key(app, attempt_item)
    wrong = next(letter for letter in "ABCD" if letter != key)
    page = student.get(_answer(student, token, kind, choice=wrong)).get_data(as_text=True)
    assert "Not quite" in page
    assert f"Why {wrong} is wrong" in page and f"Why {key} is right" in page
    assert "Fixture rationale for choice" in page and "Fixture explanation for" in page


def _attempt_item(app: Flask, token: str) -> str:
    from engine.store.models import Attempt

    with Session(service(app).engine) as session:
        attempt = session.get(Attempt, token)
        assert attempt is not None
        return attempt.item_id


def test_flashcards_show_intervals_and_take_a_rating(student: FlaskClient) -> None:
    for _ in range(30):
        page = student.get("/study").get_data(as_text=True)
        token = TOKEN.search(page)
        assert token
        if 'data-question="flashcard"' in page:
            break
        _answer(student, token.group(1), "mcq")
    assert 'data-question="flashcard"' in page
    for label in ("Again", "Hard", "Good", "Easy"):
        assert f'<span class="rating-label">{label}</span>' in page
    intervals = re.findall(r'<span class="interval">([^<]+)</span>', page)
    # No fixed learning steps: Again schedules the card a day out (the planner may bring a
    # forgotten card back sooner when a restudy is worth it).
    assert intervals[0] == "1d" and len(intervals) == 4
    feedback = student.get(_answer(student, token.group(1), "flashcard", rating="4")).get_data(
        as_text=True
    )
    assert "You rated it Easy" in feedback


def test_bad_answers_get_a_4xx_and_a_message(student: FlaskClient, app: Flask) -> None:
    token, _, kind = _served(student)
    csrf = csrf_token(student, "/plan")
    cases = [
        ({"csrf_token": csrf, "token": token, "choice": "E"}, 400, "choose one of A, B, C or D"),
        ({"csrf_token": csrf, "token": token, "rating": "9"}, 400, "rate the card"),
        ({"csrf_token": csrf, "token": token}, 400, "either a choice or a rating"),
        (
            {"csrf_token": csrf, "token": token, "choice": "A", "rating": "3"},
            400,
            "either a choice or a rating",
        ),
        ({"csrf_token": csrf, "choice": "A"}, 400, "incomplete"),
        ({"csrf_token": csrf, "token": "x" * 40, "choice": "A"}, 404, "no such question"),
        ({"token": token, "choice": "A"}, 400, "expired or was sent from elsewhere"),
    ]
    for data, status, message in cases:
        response = student.post("/study/answer", data=data)
        assert response.status_code == status, (data, response.get_data(as_text=True))
        assert message in response.get_data(as_text=True)
    wrong_shape = {"choice": "A"} if kind == "flashcard" else {"rating": "3"}
    response = student.post(
        "/study/answer", data={"csrf_token": csrf, "token": token, **wrong_shape}
    )
    assert response.status_code == 400
    assert _reviews(app) == 0
    assert student.get("/study/feedback/unknown-token").status_code == 404
    assert student.get("/study?area=Z9.Q").status_code == 400


def test_a_stale_tab_is_told_and_sent_on(student: FlaskClient, app: Flask, clock: Clock) -> None:
    """Tab 1 shows an item; tab 2 (another attempt of the same item) answers it first."""
    from engine.store.models import Attempt

    token, _, kind = _served(student)
    with Session(service(app).engine) as session:
        first = session.get(Attempt, token)
        assert first is not None
        session.add(
            Attempt(
                token="other-tab",
                user_id=first.user_id,
                item_id=first.item_id,
                card_version=first.card_version,
                served_at=clock.now,
            )
        )
        session.commit()
    _answer(student, "other-tab", kind)
    data = {"csrf_token": csrf_token(student, "/plan"), "token": token}
    data |= {"choice": "A"} if kind == "mcq" else {"rating": "3"}
    response = student.post("/study/answer", data=data, follow_redirects=True)
    assert response.request.path == "/study"
    assert "changed after it was shown" in response.get_data(as_text=True)
    assert _reviews(app) == 1


def test_focus_on_one_area(student: FlaskClient) -> None:
    page = student.get("/study?area=A6.C").get_data(as_text=True)
    assert "Studying only" in page and "A6.C Charging System" in page
    assert "A6.C" in re.search(r'<p class="reason">(.*?)</p>', page, re.DOTALL).group(1)  # type: ignore[union-attr]


def test_summary_and_progress_after_studying(student: FlaskClient, clock: Clock) -> None:
    assert "have not answered anything" in student.get("/study/summary").get_data(as_text=True)
    for day in range(3):
        for _ in range(8):
            token, _, kind = _served(student)
            _answer(student, token, kind)
            clock.advance(seconds=40)
        if day < 2:
            clock.advance(days=1)
    summary = student.get("/study/summary").get_data(as_text=True)
    assert "<dt>Items</dt><dd>8</dd>" in summary
    assert "Areas that moved" in summary
    progress = student.get("/progress").get_data(as_text=True)
    assert "A6 Electrical/Electronic Systems" in progress
    assert "Chance of passing (estimate)" in progress and "assuming a pass mark of 70%" in progress
    assert '<svg class="chart"' in progress, "a forecast after three days of study"
    assert "3-day streak" in progress
    assert progress.count('class="level level-') == 5
    home = student.get("/").get_data(as_text=True)
    assert "3-day streak" in home and "chance of passing" in home


def test_empty_states_guide_a_new_student(client: FlaskClient) -> None:
    sign_up(client)
    assert "Choose what to study" in client.get("/study").get_data(as_text=True)
    assert "Choose the tests you are studying for" in client.get("/progress").get_data(as_text=True)
    assert "Start by choosing the ASE tests" in client.get("/").get_data(as_text=True)
    save_plan(client, A8="")
    assert "Hi, Sam" in client.get("/").get_data(as_text=True)


def test_figures_are_served_as_svg(student: FlaskClient) -> None:
    response = student.get("/figures/A6-A-001.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "<title>Fixture circuit</title>" in response.get_data(as_text=True)
    assert student.get("/figures/A6-A-002.svg").status_code == 404


def test_a_malformed_token_names_no_question(student: FlaskClient) -> None:
    """Tokens that cannot be attempt tokens (a NUL byte, which PostgreSQL refuses in text;
    other characters; too long) are a 404, not a database error."""
    for token in ("not*a*token", "x" * 65, "a.b"):
        assert student.get(f"/study/feedback/{token}").status_code == 404
    for token in ("%00", "abc%00def"):  # refused before any view: see test_hostile_input
        assert student.get(f"/study/feedback/{token}").status_code == 400
    response = student.post("/study/answer", data={"token": "bad\x00token", "choice": "A"})
    assert response.status_code in (400, 404), response.status_code


def test_the_study_loop_reads_the_account_with_the_learner_and_logs_out_a_vanished_one(
    client: FlaskClient, app: Flask
) -> None:
    # GET /study and POST /study/answer skip Flask-Login's account lookup (the learner's own
    # statements read or check the account); count the statements that read user_account.
    sign_up(client)
    save_plan(client, A6="")
    account_reads: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith("SELECT user_account."):
            account_reads.append(statement)

    engine = service(app).engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get("/study").get_data(as_text=True)
        assert len(account_reads) == 1  # the learner's head query, not a second lookup
        assert "Log out" in page  # the page's navigation saw the signed-in account
        token, csrf = TOKEN.search(page), CSRF.search(page)
        assert token and csrf
        account_reads.clear()
        answer = {"choice": "A"} if 'data-question="mcq"' in page else {"rating": "3"}
        response = client.post(
            "/study/answer",
            data={"csrf_token": csrf.group(1), "token": token.group(1), **answer},
        )
        assert response.status_code == 303
        assert account_reads == []
    finally:
        event.remove(engine, "before_cursor_execute", count)

    # A session that outlived its account (say, after restoring an older backup) is logged
    # out on either route, as Flask-Login logs out an unknown id on any other page.
    token, _, _ = _served(client)
    with client.session_transaction() as cookie:
        cookie["_user_id"] = "987654"
    answer = client.post(
        "/study/answer",
        data={"csrf_token": csrf_token(client, "/login"), "token": token, "choice": "A"},
    )
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    with client.session_transaction() as cookie:
        assert "_user_id" not in cookie
        cookie["_user_id"] = "987654"
    study = client.get("/study")
    assert study.status_code == 302 and "/login" in study.headers["Location"]


def test_a_remembered_log_in_studies_without_its_session(client: FlaskClient) -> None:
    sign_up(client, email="kim@example.com")
    save_plan(client, A6="")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/plan")})
    client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client, "/login"),
            "email": "kim@example.com",
            "password": PASSWORD,
            "remember": "y",
        },
    )
    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")  # the browser was closed; only the remember-me cookie is left
    token, _, kind = _served(client)
    assert _answer(client, token, kind).startswith("/study/feedback/")
