"""The engine's error hierarchy. The web layer turns these into 4xx responses."""

from __future__ import annotations


class PitstopError(Exception):
    """Base class for errors a caller can act on (bad input, stale state, missing row)."""


class NotFoundError(PitstopError):
    """A referenced row (user, item, attempt, test) does not exist."""


class UnknownAccountError(NotFoundError):
    """The account a request speaks for does not exist (a session that outlived its account,
    e.g. after a restore from an older backup)."""


class InvalidInputError(PitstopError, ValueError):
    """An argument is malformed or out of range; the message names the bad value."""


class StaleAttemptError(PitstopError):
    """The card state changed after this attempt was served; the answer is refused."""


class ContentError(PitstopError):
    """A content bank failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[object]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} content problem(s)")


class ForbiddenError(PitstopError):
    """The user may not see or change this (another instructor's class, another student)."""


class RosterError(PitstopError):
    """A roster file has bad rows; ``problems`` lists every one and nothing was imported."""

    def __init__(self, problems: list[object]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} roster problem(s); nothing was imported")
