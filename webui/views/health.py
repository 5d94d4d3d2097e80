"""Health check for load balancers and `make run`."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from webui import service

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    try:
        items = len(service(current_app).catalog())
    except SQLAlchemyError as error:
        return jsonify(status="error", database=type(error).__name__), 503
    return jsonify(status="ok", database="ok", items=items)
