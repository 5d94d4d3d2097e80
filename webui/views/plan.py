"""Onboarding: choose target tests, exam dates and daily minutes; an optional placement check."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm

from engine.answering import CHOICE_LETTERS
from engine.errors import InvalidInputError
from webui import service
from webui.forms import plan_form
from webui.users import now, request_rng, signed_in

blueprint = Blueprint("plan", __name__)

MAX_PLACEMENT_ITEMS = 80


@blueprint.route("/plan", methods=["GET", "POST"])
@login_required  # type: ignore[misc]
def edit() -> ResponseReturnValue:
    study = service(current_app)
    user = signed_in()
    tests = [(test.code, test.name) for test in study.catalog().blueprint.values()]
    current = study.goals(user.id)
    defaults = {f"goal_{code}": code in current for code, _ in tests}
    defaults |= {f"exam_{code}": current.get(code) for code, _ in tests}
    form = plan_form(tests, daily_goal_minutes=user.daily_goal_minutes, **defaults)
    if form.validate_on_submit():
        try:
            study.save_plan(
                user.id,
                form.chosen(),
                daily_goal_minutes=form.daily_goal_minutes.data,
                now=now(),
            )
        except InvalidInputError as error:
            form.form_errors.append(str(error))
        else:
            flash("Your study plan is saved.", "success")
            if not current:
                return redirect(url_for("plan.placement"))
            return redirect(url_for("home.index"))
    status = 400 if form.is_submitted() else 200
    today = now().astimezone(ZoneInfo(user.timezone)).date().isoformat()
    page = render_template(
        "plan/edit.html", form=form, tests=tests, first_time=not current, today=today
    )
    return page, status


@blueprint.route("/placement", methods=["GET", "POST"])
@login_required  # type: ignore[misc]
def placement() -> ResponseReturnValue:
    """A short check, about two questions per area, with "I don't know" allowed and no
    feedback; it tells the planner where the learner starts."""
    study = service(current_app)
    user = signed_in()
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        item_ids = request.form.getlist("item")[:MAX_PLACEMENT_ITEMS]
        answers: dict[str, str | None] = {}
        for item_id in item_ids:
            choice = request.form.get(f"choice-{item_id}", "")
            answers[item_id] = choice if choice in CHOICE_LETTERS else None
        if not answers:
            raise InvalidInputError("no placement answers were sent")
        study.record_placement(user.id, answers, now=now())
        flash("Thanks! Your study plan now starts from what you already know.", "success")
        return redirect(url_for("study.study"))
    if not study.goals(user.id):
        return redirect(url_for("plan.edit"))
    items = study.placement_items(user.id, rng=request_rng())
    return render_template("plan/placement.html", form=form, items=items, letters=CHOICE_LETTERS)
