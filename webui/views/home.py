"""The home page (a placeholder until the study pages land)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue

from webui import service

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
def index() -> ResponseReturnValue:
    catalog = service(current_app).catalog()
    tests = [
        (test, sum(1 for item in catalog.items if item.test_code == test.code))
        for test in catalog.blueprint.values()
    ]
    return render_template("home/index.html", tests=tests, items=len(catalog))
