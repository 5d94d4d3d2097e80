"""Errors become pages (or JSON for /api): a clear message and a 4xx, never a bare 500."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PitstopError,
    StaleAttemptError,
)

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "There is nothing here.",
    405: "That action is not allowed here.",
    413: "That upload is too large.",
    429: "Too many attempts. Please wait a minute and try again.",
    500: "Something went wrong on our side. Your answers are safe; please try again.",
}


def _page(status: int, message: str) -> Any:
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error=message, status=status), status
    return render_template("error.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        return _page(
            400, "This form expired or was sent from elsewhere. Reload the page and try again."
        )

    @app.errorhandler(ForbiddenError)
    def forbidden(error: ForbiddenError) -> Any:
        return _page(403, str(error))

    @app.errorhandler(NotFoundError)
    def not_found(error: NotFoundError) -> Any:
        return _page(404, str(error))

    @app.errorhandler(InvalidInputError)
    def invalid(error: InvalidInputError) -> Any:
        return _page(400, str(error))

    @app.errorhandler(StaleAttemptError)
    def stale(error: StaleAttemptError) -> Any:
        return _page(409, str(error))

    @app.errorhandler(PitstopError)
    def other(error: PitstopError) -> Any:
        return _page(400, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        return _page(status, MESSAGES.get(status, error.description or "Error."))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        app.logger.exception("unhandled error", exc_info=error)
        return _page(500, MESSAGES[500])
