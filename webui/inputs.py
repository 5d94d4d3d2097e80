"""Reading request input that several views share, with one set of messages."""

from __future__ import annotations

from flask import request

from engine.errors import InvalidInputError

__all__ = ["UploadError", "read_upload", "study_scope"]


def study_scope() -> tuple[str | None, int | None]:
    """The study page's optional ``area`` (an area code) and ``assignment`` (an id).

    Raises:
        InvalidInputError: a malformed value (the caller answers 400).
    """
    area = request.args.get("area") or None
    assignment = request.args.get("assignment") or None
    if (area is not None and len(area) > 12) or (
        assignment is not None and not (assignment.isdigit() and len(assignment) < 10)
    ):
        raise InvalidInputError("area is a code like A6.E; assignment is a number")
    return area, int(assignment) if assignment else None


class UploadError(ValueError):
    """An uploaded file is missing or too large; the message is for the form."""


def read_upload(field: str, limit_bytes: int, what: str) -> tuple[str, bytes]:
    """The uploaded file's name and bytes.

    Raises:
        UploadError: no file, an empty file, or more than ``limit_bytes``.
    """
    upload = request.files.get(field)
    data = upload.read(limit_bytes + 1) if upload else b""
    if not data:
        raise UploadError(f"Choose a {what} to upload.")
    if len(data) > limit_bytes:
        raise UploadError(f"The file is larger than {limit_bytes // 1_000_000} MB.")
    return (upload.filename or "") if upload else "", data
