"""The logged-in user as Flask-Login sees it, and the request's clock and rng."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast

import numpy as np
from flask import abort, current_app, g, session
from flask_login import UserMixin, current_user, login_required, logout_user

from engine.errors import UnknownAccountError
from engine.service import UserInfo

__all__ = [
    "CurrentUser",
    "account_read",
    "now",
    "request_rng",
    "role_required",
    "session_login_required",
    "session_user_id",
    "signed_in",
]

F = TypeVar("F", bound=Callable[..., Any])


class CurrentUser(UserMixin):  # type: ignore[misc]
    """A :class:`UserInfo` with what Flask-Login needs."""

    def __init__(self, info: UserInfo) -> None:
        self.info = info
        self.id = info.id

    def get_id(self) -> str:
        return str(self.info.id)

    @property
    def role(self) -> str:
        return self.info.role


def signed_in() -> UserInfo:
    """The logged-in user's account (views behind ``login_required`` only)."""
    return cast(CurrentUser, current_user).info


def session_login_required(view: F) -> F:
    """``login_required`` without the account lookup, for the study loop's two routes (every
    answer is a GET and a POST of them).

    Flask-Login reads the account on each request before the view runs. These views take the
    account id from the signed session cookie instead (:func:`session_user_id`), because their
    service call reads the account anyway (GET /study, whose page then uses it:
    :func:`account_read`) or only touches rows of that id and finds none for an unknown one
    (POST /study/answer). Both raise :class:`UnknownAccountError` for an account that no
    longer exists, which logs the session out as Flask-Login would. Without an id in the
    session (no log-in, or a remember-me cookie still to be read), or when Flask-Login's
    session protection rejects the session, this is plain ``login_required``; and anything
    else in the request that reads ``current_user`` loads the account as usual.
    """
    guarded = login_required(view)

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        manager = current_app.login_manager  # type: ignore[attr-defined]
        if "_login_user" in g or session_user_id() is None or manager._session_protection_failed():
            return guarded(*args, **kwargs)
        try:
            return view(*args, **kwargs)
        except UnknownAccountError:
            logout_user()
            return manager.unauthorized()

    return cast(F, wrapped)


def session_user_id() -> int | None:
    """The signed-in account's id as the session cookie holds it (None: none), unchecked:
    only for views behind :func:`session_login_required`, whose service calls check it."""
    value = session.get("_user_id")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def account_read(info: UserInfo) -> None:
    """Hand Flask-Login an account a service call has just read for this request, so that
    ``current_user`` (the page's navigation, for one) does not read it again."""
    g._login_user = CurrentUser(info)  # where Flask-Login keeps the request's user


def now() -> datetime:
    """The request's clock: the app's ``PITSTOP_CLOCK`` if set (tests), else the real UTC time."""
    clock: Callable[[], datetime] | None = current_app.config.get("PITSTOP_CLOCK")
    return clock() if clock else datetime.now(UTC)


def request_rng() -> np.random.Generator:
    return np.random.default_rng()


def role_required(*roles: str) -> Callable[[F], F]:
    """Allow only logged-in users with one of ``roles`` (403 for others)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if cast(CurrentUser, current_user).role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator
