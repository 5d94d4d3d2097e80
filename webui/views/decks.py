"""Decks: built-in ones, and instructors' own (picked from the bank or uploaded as YAML)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import FileField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from engine.errors import ContentError, InvalidInputError
from webui import service
from webui.inputs import UploadError, read_upload
from webui.users import now, role_required, signed_in

blueprint = Blueprint("decks", __name__)

MAX_DECK_BYTES = 1_000_000


class DeckForm(FlaskForm):  # type: ignore[misc]
    name = StringField(
        "Deck name", validators=[DataRequired("Give the deck a name."), Length(max=200)]
    )
    tests = SelectMultipleField("Whole tests", validate_choice=False)
    areas = SelectMultipleField("Content areas", validate_choice=False)
    items = TextAreaField(
        "Single items (ids, one per line or separated by commas)", validators=[Length(max=20_000)]
    )


class UploadForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Deck name", validators=[Length(max=200)])
    file = FileField("Deck file (YAML, the bank's format)")


@blueprint.route("/decks", methods=["GET", "POST"])
@role_required("instructor", "admin")
def index() -> ResponseReturnValue:
    study = service(current_app)
    user = signed_in()
    blueprint_ = study.catalog().blueprint
    form = DeckForm(prefix="pick")
    upload = UploadForm(prefix="upload")
    form.tests.choices = [SelectChoice(t.code, f"{t.code} {t.name}") for t in blueprint_.values()]
    form.areas.choices = [
        SelectChoice(a.code, f"{a.code} {a.name}") for a in blueprint_.areas().values()
    ]
    problems: list[str] = []
    if request.method == "POST" and request.form.get("action") == "pick":
        if form.validate_on_submit():
            item_ids = [
                part.strip()
                for part in form.items.data.replace(",", "\n").splitlines()
                if part.strip()
            ]
            try:
                deck = study.create_deck(
                    user.id,
                    form.name.data,
                    tests=form.tests.data,
                    areas=form.areas.data,
                    item_ids=item_ids,
                    now=now(),
                )
            except InvalidInputError as error:
                form.form_errors.append(str(error))
            else:
                flash(f"Deck “{deck.name}” created with {deck.items} items.", "success")
                return redirect(url_for("decks.index"))
    elif request.method == "POST" and request.form.get("action") == "upload":
        if upload.validate_on_submit():
            try:
                filename, data = read_upload("upload-file", MAX_DECK_BYTES, "deck file")
            except UploadError as error:
                problems = [str(error)]
            else:
                try:
                    deck = study.upload_deck(
                        user.id, upload.name.data or "", filename or "deck.yaml", data, now=now()
                    )
                except ContentError as error:
                    problems = [str(problem) for problem in error.problems]
                else:
                    flash(f"Deck “{deck.name}” uploaded with {deck.items} items.", "success")
                    return redirect(url_for("decks.index"))
    elif request.method == "POST":
        problems = ["Unknown action."]
    failed = request.method == "POST"
    return render_template(
        "decks/index.html",
        decks=study.decks_for(user.id),
        form=form,
        upload=upload,
        problems=problems,
    ), (400 if failed else 200)
