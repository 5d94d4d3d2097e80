"""A small JSON API for the study loop (for apps and scripts; the pages use forms).

Posts need the session cookie and an ``X-CSRFToken`` header (from ``GET /api/session``).
Errors come back as ``{"error": message, "status": code}`` with a 4xx status.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf.csrf import generate_csrf

from engine.answering import CHOICE_LETTERS, Answer
from engine.errors import InvalidInputError
from engine.scheduling import Rating
from webui import service
from webui.inputs import study_scope
from webui.users import now, request_rng, signed_in

blueprint = Blueprint("api", __name__, url_prefix="/api")


@blueprint.get("/session")
@login_required  # type: ignore[misc]
def session() -> ResponseReturnValue:
    user = signed_in()
    return jsonify(
        user={"id": user.id, "name": user.display_name, "role": user.role},
        csrf_token=generate_csrf(),
    )


@blueprint.get("/study/next")
@login_required  # type: ignore[misc]
def next_item() -> ResponseReturnValue:
    area, assignment = study_scope()
    screen = service(current_app).study_screen(
        signed_in().id, now=now(), rng=request_rng(), focus_area=area, focus_assignment=assignment
    )
    served = screen.served
    today = {
        "items": screen.today.items,
        "minutes": round(screen.today.minutes, 1),
        "goal_minutes": screen.today.goal_minutes,
    }
    if served is None:
        message = "choose tests to study first" if not screen.has_goals else "nothing to study here"
        return jsonify(item=None, message=message, today=today)
    item: dict[str, Any] = {
        "token": served.token,
        "id": served.item_id,
        "kind": served.kind.value,
        "format": served.format,
        "test": served.test_code,
        "area": served.area_code,
        "reason": served.reason_text,
        "body": {key: value for key, value in served.body.items() if key != "figure"},
        "figure_url": f"/figures/{served.item_id}.svg" if "figure" in served.body else None,
    }
    if served.intervals:
        item["intervals_seconds"] = {
            str(rating): int(interval.total_seconds())
            for rating, interval in served.intervals.items()
        }
    return jsonify(item=item, today=today)


@blueprint.post("/study/answer")
@login_required  # type: ignore[misc]
def answer() -> ResponseReturnValue:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInputError("send a JSON object: {token, choice | rating, unsure}")
    token = data.get("token")
    choice = data.get("choice")
    rating = data.get("rating")
    unsure = data.get("unsure", False)
    if not isinstance(token, str) or not 0 < len(token) <= 64:
        raise InvalidInputError("token must be the string from /api/study/next")
    if choice is not None and choice not in CHOICE_LETTERS:
        raise InvalidInputError("choice must be one of A, B, C, D")
    if rating is not None and (isinstance(rating, bool) or rating not in (1, 2, 3, 4)):
        raise InvalidInputError("rating must be 1 (Again) to 4 (Easy)")
    if (choice is None) == (rating is None):
        raise InvalidInputError("send either a choice or a rating")
    if not isinstance(unsure, bool):
        raise InvalidInputError("unsure must be true or false")
    result = service(current_app).answer(
        signed_in().id,
        token,
        Answer(choice=choice, self_rating=Rating(rating) if rating else None, unsure=unsure),
        now=now(),
    )
    return jsonify(
        correct=result.correct,
        rating=result.rating,
        key=result.key,
        explanation=result.explanation,
        rationale=result.rationale,
        due=result.due.isoformat(),
        duplicate=result.duplicate,
    )


@blueprint.get("/progress")
@login_required  # type: ignore[misc]
def progress() -> ResponseReturnValue:
    report = service(current_app).progress(signed_in().id, now=now())
    return jsonify(
        cut_score=report.cut_score,
        tests=[
            {
                "test": estimate.test_code,
                "predicted_score": round(estimate.predicted_score, 4),
                "pass_probability": round(estimate.pass_probability, 4),
                "exam_at": estimate.exam_at.isoformat() if estimate.exam_at else None,
                "areas": [
                    {
                        "area": area.area_code,
                        "mastery_now": round(area.mastery_now, 4),
                        "mastery_at_exam": round(area.mastery_at_exam, 4),
                        "coverage": round(area.coverage, 4),
                        "level": area.level.label,
                    }
                    for area in report.areas_of(estimate.test_code)
                ],
            }
            for estimate in report.readiness
        ],
        streak_days=report.streak_days,
    )
