"""Errors become pages (or JSON for /api): a clear message and a 4xx, never a bare 500."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError
from werkzeug.datastructures import MultiDict
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


def _holds_nul(values: MultiDict[str, Any]) -> bool:
    return any("\x00" in key or "\x00" in str(value) for key, value in values.items(multi=True))


def register(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters() -> Any:
        """No text Pitstop keeps or looks up can hold a NUL character (PostgreSQL refuses one in
        text), so a URL or form carrying one is refused before any view sees it."""
        if (
            "\x00" in request.path
            or _holds_nul(request.args)
            or (request.method == "POST" and _holds_nul(request.form))
        ):
            return _page(400, "The request holds a NUL character, which no field may contain.")
        return None

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

    @app.errorhandler(DataError)
    def unstorable(error: DataError) -> Any:
        # The database refused a value that got past the forms (a NUL inside JSON, a number
        # out of range): the input is at fault, and the transaction has been rolled back.
        app.logger.warning("database refused input: %s", error.orig)
        return _page(400, "Some of that input cannot be stored. Check the values and try again.")

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> Any:
        if not error.connection_invalidated:
            return unexpected(error)
        # The database server went away under a connection in use (a restart): nothing was
        # committed by this request, and the pool has dropped its connections.
        app.logger.warning("database connection lost: %s", error.orig)
        response = make_response(_page(503, "The database connection was reset. Try again."))
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        app.logger.exception("unhandled error", exc_info=error)
        return _page(500, MESSAGES[500])
