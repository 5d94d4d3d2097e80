"""The logged-in user as Flask-Login sees it, and the request's clock and rng."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast

import numpy as np
from flask import abort, current_app
from flask_login import UserMixin, current_user

from engine.service import UserInfo

__all__ = ["CurrentUser", "now", "request_rng", "role_required", "signed_in"]

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
