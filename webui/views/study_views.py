"""The study loop: a question, an answer, feedback; the sitting's summary; figures."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required

from engine.answering import CHOICE_LETTERS, Answer
from engine.errors import InvalidInputError, StaleAttemptError
from engine.scheduling import Rating
from engine.service.study import MAX_TOKEN_LENGTH
from webui import service
from webui.inputs import study_scope
from webui.users import (
    account_read,
    now,
    request_rng,
    session_login_required,
    session_user_id,
    signed_in,
)

blueprint = Blueprint("study", __name__)

RATING_LABELS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


@blueprint.get("/study")
@session_login_required
def study() -> ResponseReturnValue:
    area, assignment = study_scope()
    screen = service(current_app).study_screen(
        _user_id(), now=now(), rng=request_rng(), focus_area=area, focus_assignment=assignment
    )
    account_read(screen.user)
    response = current_app.make_response(
        render_template(
            "study/study.html",
            screen=screen,
            letters=CHOICE_LETTERS,
            ratings=RATING_LABELS,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/study/answer")
@session_login_required
def answer() -> ResponseReturnValue:
    # Read by hand rather than through a FlaskForm (this runs for every answer); CSRFProtect
    # has already checked the form's CSRF token.
    token = request.form.get("token", "")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidInputError("the answer form was incomplete; reload the question")
    unsure = request.form.get("unsure", "") not in ("", "false")  # as a BooleanField reads it
    choice = request.form.get("choice")
    rating = request.form.get("rating")
    if choice is not None and choice not in CHOICE_LETTERS:
        raise InvalidInputError("choose one of A, B, C or D")
    if rating is not None and rating not in {"1", "2", "3", "4"}:
        raise InvalidInputError("rate the card with 1 (Again) to 4 (Easy)")
    if (choice is None) == (rating is None):
        raise InvalidInputError("send either a choice or a rating")
    submitted = Answer(
        choice=choice,
        self_rating=Rating(int(rating)) if rating else None,
        unsure=unsure,
    )
    try:
        service(current_app).answer(_user_id(), token, submitted, now=now())
    except StaleAttemptError as error:
        flash(str(error), "warning")
        return redirect(url_for("study.study"), code=303)
    return redirect(url_for("study.feedback", token=token), code=303)


def _user_id() -> int:
    """The signed-in learner's id, without an account lookup when the route does not need
    one (:func:`~webui.users.session_login_required`)."""
    found = session_user_id()
    return found if found is not None else signed_in().id


@blueprint.get("/study/feedback/<token>")
@login_required  # type: ignore[misc]
def feedback(token: str) -> ResponseReturnValue:
    result, today = service(current_app).feedback(signed_in().id, token, now=now())
    return render_template(
        "study/feedback.html",
        result=result,
        today=today,
        letters=CHOICE_LETTERS,
        ratings=RATING_LABELS,
    )


@blueprint.get("/study/summary")
@login_required  # type: ignore[misc]
def summary() -> ResponseReturnValue:
    report = service(current_app).session_summary(signed_in().id, now=now())
    return render_template("study/summary.html", summary=report)


@blueprint.get("/figures/<item_id>.svg")
@login_required  # type: ignore[misc]
def figure(item_id: str) -> ResponseReturnValue:
    svg = service(current_app).figure_svg(item_id)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
