"""Classes: joining (students), the dashboard, rosters, assignments, item analysis, exports
(instructors and admins)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import DateField, FileField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from engine.errors import InvalidInputError, NotFoundError, RosterError
from engine.mastery import MasteryLevel
from engine.service.classes import GOAL_LEVELS, unused_password_hash
from webui import service
from webui.charts import activity_chart
from webui.inputs import UploadError, read_upload
from webui.users import now, role_required, signed_in

blueprint = Blueprint("classes", __name__)

TEACHERS = ("instructor", "admin")
MAX_ROSTER_BYTES = 2_000_000


class JoinForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        "Join code",
        validators=[DataRequired("Enter the code from your instructor."), Length(max=20)],
    )


class ClassForm(FlaskForm):  # type: ignore[misc]
    name = StringField(
        "Class name", validators=[DataRequired("Give the class a name."), Length(max=200)]
    )
    tests = SelectMultipleField(
        "Tests the class prepares for", validators=[DataRequired("Choose at least one test.")]
    )


class RosterForm(FlaskForm):  # type: ignore[misc]
    roster = FileField("Roster file (CSV)")


class AssignmentForm(FlaskForm):  # type: ignore[misc]
    deck = SelectField("Deck", coerce=int, validators=[DataRequired("Choose a deck.")])
    starts_on = DateField("Starts on", validators=[DataRequired("Choose a start date.")])
    due_on = DateField("Due on", validators=[DataRequired("Choose a due date.")])
    goal = SelectField(
        "Goal: every area of the deck at",
        coerce=int,
        choices=[SelectChoice(int(level), label) for level, label in GOAL_LEVELS.items()],
        default=int(MasteryLevel.PROFICIENT),
    )


# -- students -------------------------------------------------------------------------------


@blueprint.route("/classes/join", methods=["GET", "POST"])
@login_required  # type: ignore[misc]
def join() -> ResponseReturnValue:
    form = JoinForm()
    if form.validate_on_submit():
        try:
            joined = service(current_app).join_class(signed_in().id, form.code.data, now=now())
        except NotFoundError as error:
            form.code.errors.append(str(error))
        else:
            flash(f"You joined {joined.name}.", "success")
            return redirect(url_for("home.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("classes/join.html", form=form), status


# -- instructors ----------------------------------------------------------------------------


@blueprint.route("/classes", methods=["GET", "POST"])
@role_required(*TEACHERS)
def index() -> ResponseReturnValue:
    study = service(current_app)
    user = signed_in()
    form = ClassForm()
    form.tests.choices = [
        SelectChoice(t.code, f"{t.code} {t.name}") for t in study.catalog().blueprint.values()
    ]
    if form.validate_on_submit():
        try:
            created = study.create_class(user.id, form.name.data, form.tests.data, now=now())
        except InvalidInputError as error:
            form.form_errors.append(str(error))
        else:
            flash(f"Class created. Students join with the code {created.join_code}.", "success")
            return redirect(url_for("classes.dashboard", class_id=created.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "classes/index.html", classes=study.classes_for(user.id), form=form
    ), status


@blueprint.get("/classes/<int:class_id>")
@role_required(*TEACHERS)
def dashboard(class_id: int) -> ResponseReturnValue:
    at_exam = request.args.get("at") == "exam"
    sort = request.args.get("sort", "name")[:12]
    board = service(current_app).class_dashboard(
        signed_in().id, class_id, now=now(), at_exam=at_exam, sort=sort
    )
    return render_template(
        "classes/dashboard.html",
        board=board,
        sort=sort,
        chart=activity_chart(board.activity),
    )


@blueprint.get("/classes/<int:class_id>/students/<int:student_id>")
@role_required(*TEACHERS)
def student(class_id: int, student_id: int) -> ResponseReturnValue:
    study = service(current_app)
    viewer = signed_in()
    person = study.student_visible_to(viewer.id, student_id, class_id)
    classroom = study.class_info(viewer.id, class_id)
    report = study.progress(student_id, now=now())
    board = study.class_dashboard(viewer.id, class_id, now=now())
    row = next(row for row in board.rows if row.user_id == student_id)
    recent = [day for week in report.calendar for day in week][-14:]
    return render_template(
        "classes/student.html",
        person=person,
        classroom=classroom,
        report=report,
        row=row,
        recent=recent,
    )


@blueprint.post("/classes/<int:class_id>/code")
@role_required(*TEACHERS)
def rotate_code(class_id: int) -> ResponseReturnValue:
    if not FlaskForm().validate_on_submit():
        abort(400)
    code = service(current_app).rotate_join_code(signed_in().id, class_id)
    flash(f"New join code: {code}. The old code no longer works.", "success")
    return redirect(url_for("classes.dashboard", class_id=class_id))


@blueprint.route("/classes/<int:class_id>/roster", methods=["GET", "POST"])
@role_required(*TEACHERS)
def roster(class_id: int) -> ResponseReturnValue:
    study = service(current_app)
    viewer = signed_in()
    classroom = study.class_info(viewer.id, class_id)
    form = RosterForm()
    problems: list[str] = []
    result = None
    if form.validate_on_submit():
        try:
            _, data = read_upload("roster", MAX_ROSTER_BYTES, "CSV file")
        except UploadError as error:
            problems = [str(error)]
        else:
            try:
                result = study.import_roster(
                    viewer.id, class_id, data, now=now(), password_hash=unused_password_hash()
                )
            except RosterError as error:
                problems = [str(problem) for problem in error.problems]
    elif form.is_submitted():
        abort(400)
    status = 400 if problems else 200
    return render_template(
        "classes/roster.html", classroom=classroom, form=form, problems=problems, result=result
    ), status


@blueprint.route("/classes/<int:class_id>/assignments", methods=["GET", "POST"])
@role_required(*TEACHERS)
def assignments(class_id: int) -> ResponseReturnValue:
    study = service(current_app)
    viewer = signed_in()
    classroom = study.class_info(viewer.id, class_id)
    decks = study.decks_for(viewer.id)
    form = AssignmentForm()
    form.deck.choices = [
        SelectChoice(deck.id, f"{deck.name} ({deck.items} items)") for deck in decks
    ]
    if request.method == "GET":
        today = now().date()
        form.starts_on.data = form.starts_on.data or today
        form.due_on.data = form.due_on.data or today + timedelta(days=14)
    if form.validate_on_submit():
        try:
            study.create_assignment(
                viewer.id,
                class_id,
                form.deck.data,
                starts_on=form.starts_on.data,
                due_on=form.due_on.data,
                goal_level=MasteryLevel(form.goal.data),
                now=now(),
            )
        except InvalidInputError as error:
            form.form_errors.append(str(error))
        else:
            flash("Assignment created.", "success")
            return redirect(url_for("classes.dashboard", class_id=class_id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "classes/assignments.html",
        classroom=classroom,
        form=form,
        assignments=study.class_assignments(viewer.id, class_id),
        today=date.today(),
    ), status


@blueprint.post("/classes/<int:class_id>/assignments/<int:assignment_id>/delete")
@role_required(*TEACHERS)
def delete_assignment(class_id: int, assignment_id: int) -> ResponseReturnValue:
    if not FlaskForm().validate_on_submit():
        abort(400)
    service(current_app).delete_assignment(signed_in().id, assignment_id)
    flash("Assignment removed.", "info")
    return redirect(url_for("classes.assignments", class_id=class_id))


@blueprint.get("/classes/<int:class_id>/items")
@role_required(*TEACHERS)
def items(class_id: int) -> ResponseReturnValue:
    study = service(current_app)
    viewer = signed_in()
    classroom = study.class_info(viewer.id, class_id)
    stats = study.item_report(viewer.id, class_id)
    return render_template("classes/items.html", classroom=classroom, stats=stats, scope="class")


@blueprint.get("/classes/<int:class_id>/export/<kind>.csv")
@role_required(*TEACHERS)
def export(class_id: int, kind: str) -> ResponseReturnValue:
    study = service(current_app)
    viewer = signed_in()
    if kind == "items":
        body = study.items_csv(study.item_report(viewer.id, class_id))
    elif kind in ("heatmap", "students"):
        board = study.class_dashboard(
            viewer.id, class_id, now=now(), at_exam=request.args.get("at") == "exam"
        )
        body = study.heatmap_csv(board) if kind == "heatmap" else study.students_csv(board)
    else:
        abort(404)
    return _csv(body, f"class-{class_id}-{kind}.csv")


@blueprint.get("/items/<item_id>")
@role_required(*TEACHERS)
def item(item_id: str) -> ResponseReturnValue:
    if len(item_id) > 32:
        abort(404)
    detail = service(current_app).item_detail(signed_in().id, item_id)
    return render_template("classes/item.html", item=detail, letters=("A", "B", "C", "D"))


def _csv(body: str, filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
