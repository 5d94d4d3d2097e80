"""Forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from engine.service.accounts import MAX_DAILY_MINUTES, MIN_DAILY_MINUTES
from engine.service.base import EMAIL
from webui.security import MIN_PASSWORD_LENGTH

TIMEZONES = [
    SelectChoice(value, label)
    for value, label in (
        ("America/New_York", "Eastern (New York)"),
        ("America/Chicago", "Central (Chicago)"),
        ("America/Denver", "Mountain (Denver)"),
        ("America/Phoenix", "Arizona (Phoenix)"),
        ("America/Los_Angeles", "Pacific (Los Angeles)"),
        ("America/Anchorage", "Alaska (Anchorage)"),
        ("Pacific/Honolulu", "Hawaii (Honolulu)"),
        ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
        ("America/Toronto", "Eastern (Toronto)"),
        ("UTC", "UTC"),
    )
]
PASSWORD_RULE = Length(
    min=MIN_PASSWORD_LENGTH, max=200, message=f"Use at least {MIN_PASSWORD_LENGTH} characters."
)


class SignupForm(FlaskForm):  # type: ignore[misc]
    display_name = StringField(
        "Your name", validators=[DataRequired("Enter your name."), Length(max=100)]
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter your email address."),
            Regexp(EMAIL.pattern, message="Enter an email address like name@example.com."),
            Length(max=254),
        ],
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Choose a password."), PASSWORD_RULE]
    )
    confirm = PasswordField(
        "Repeat password", validators=[EqualTo("password", message="The passwords differ.")]
    )
    timezone = SelectField("Time zone", choices=TIMEZONES, default="America/New_York")


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=200)]
    )
    remember = BooleanField("Keep me logged in on this device")


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    password = PasswordField(
        "New password", validators=[DataRequired("Choose a new password."), PASSWORD_RULE]
    )
    confirm = PasswordField(
        "Repeat new password", validators=[EqualTo("password", message="The passwords differ.")]
    )


def plan_form(tests: list[tuple[str, str]], **values: Any) -> FlaskForm:
    """A form with a checkbox and an optional exam date for each test, and daily minutes."""

    class PlanForm(FlaskForm):  # type: ignore[misc]
        daily_goal_minutes = IntegerField(
            "Minutes a day",
            default=20,
            validators=[
                InputRequired("Enter how many minutes a day you plan to study."),
                NumberRange(
                    MIN_DAILY_MINUTES,
                    MAX_DAILY_MINUTES,
                    f"Choose {MIN_DAILY_MINUTES} to {MAX_DAILY_MINUTES} minutes.",
                ),
            ],
        )

        def validate(self, extra_validators: Any = None) -> bool:
            valid: bool = super().validate(extra_validators)
            if valid and not self.chosen():
                self.daily_goal_minutes.errors = []
                self.form_errors.append("Choose at least one test.")
                return False
            return valid

        def chosen(self) -> dict[str, date | None]:
            return {
                code: getattr(self, f"exam_{code}").data
                for code, _ in tests
                if getattr(self, f"goal_{code}").data
            }

    for code, name in tests:
        setattr(PlanForm, f"goal_{code}", BooleanField(f"{code} {name}"))
        setattr(
            PlanForm,
            f"exam_{code}",
            DateField(
                f"{code} exam date (optional)",
                validators=[Optional()],
                render_kw={"aria-describedby": "exam-date-help"},
            ),
        )
    return PlanForm(**values)


class InviteForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField(
        "Choose a password", validators=[DataRequired("Choose a password."), PASSWORD_RULE]
    )
    confirm = PasswordField(
        "Repeat password", validators=[EqualTo("password", message="The passwords differ.")]
    )
