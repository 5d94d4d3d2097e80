"""The home page: a welcome for visitors, today's plan for learners."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webui import service
from webui.users import now, signed_in

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
def index() -> ResponseReturnValue:
    study = service(current_app)
    if not current_user.is_authenticated:
        catalog = study.catalog()
        tests = [
            (test, sum(1 for item in catalog.items if item.test_code == test.code))
            for test in catalog.blueprint.values()
        ]
        return render_template("home/welcome.html", tests=tests, items=len(catalog))
    page = study.home_page(signed_in().id, now=now())
    return render_template("home/dashboard.html", overview=page.overview, page=page)
