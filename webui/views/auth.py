"""Sign up, log in, log out, change password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required, login_user, logout_user

from engine.errors import InvalidInputError
from engine.service import UserInfo
from webui import service
from webui.extensions import login_manager
from webui.forms import InviteForm, LoginForm, PasswordForm, SignupForm
from webui.security import check_password, hash_password
from webui.users import CurrentUser, now, signed_in

blueprint = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> CurrentUser | None:
    if not user_id.isdigit():
        return None
    found = service(current_app).find_user_by_id(int(user_id))
    return CurrentUser(found) if found else None


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never redirect a log-in to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _start_page(user: UserInfo) -> str:
    """Where a log-in lands: instructors on their classes, new students on the plan."""
    if user.role in ("instructor", "admin"):
        return url_for("classes.index")
    if not service(current_app).goals(user.id):
        return url_for("plan.edit")
    return url_for("home.index")


@blueprint.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    form = SignupForm()
    if form.validate_on_submit():
        try:
            created = service(current_app).create_user(
                email=form.email.data,
                display_name=form.display_name.data,
                password_hash=hash_password(form.password.data),
                timezone=form.timezone.data,
                now=now(),
            )
        except InvalidInputError as error:
            form.email.errors.append(str(error))
        else:
            login_user(CurrentUser(created))
            flash("Welcome to Pitstop! Choose the tests you are preparing for.", "success")
            return redirect(url_for("plan.edit"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/signup.html", form=form), status


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        found = service(current_app).credentials(form.email.data)
        if found is not None and check_password(found[1], form.password.data):
            login_user(CurrentUser(found[0]), remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or _start_page(found[0]))
        form.form_errors.append("That email and password do not match an account.")
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@blueprint.post("/logout")
@login_required  # type: ignore[misc]
def logout() -> ResponseReturnValue:
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("home.index"))


@blueprint.route("/account/password", methods=["GET", "POST"])
@login_required  # type: ignore[misc]
def password() -> ResponseReturnValue:
    form = PasswordForm()
    user = signed_in()
    if form.validate_on_submit():
        found = service(current_app).credentials(user.email)
        if found is None or not check_password(found[1], form.current.data):
            form.current.errors.append("That is not your current password.")
        else:
            service(current_app).change_password(user.id, hash_password(form.password.data))
            flash("Your password is changed.", "success")
            return redirect(url_for("home.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/password.html", form=form), status


@blueprint.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str) -> ResponseReturnValue:
    """A rostered student sets a password with the one-time link from their instructor."""
    if len(token) > 64:
        abort(404)
    study = service(current_app)
    invited = study.invite_user(token, now=now())
    form = InviteForm()
    if form.validate_on_submit():
        account = study.accept_invite(token, hash_password(form.password.data), now=now())
        login_user(CurrentUser(account))
        flash("Your password is set. Welcome to Pitstop!", "success")
        return redirect(_start_page(account))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/invite.html", form=form, invited=invited), status
