"""The admin's views over the whole school."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template
from flask.typing import ResponseReturnValue

from webui import service
from webui.users import now, role_required, signed_in

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/")
@role_required("admin")
def index() -> ResponseReturnValue:
    return render_template(
        "admin/index.html", classes=service(current_app).classes_for(signed_in().id)
    )


@blueprint.get("/items")
@role_required("admin")
def items() -> ResponseReturnValue:
    stats = service(current_app).item_report(signed_in().id, None)
    return render_template("classes/items.html", classroom=None, stats=stats, scope="school")


@blueprint.get("/export/items.csv")
@role_required("admin")
def export_items() -> ResponseReturnValue:
    study = service(current_app)
    return _csv(study.items_csv(study.item_report(signed_in().id, None)), "school-items.csv")


@blueprint.get("/export/school.csv")
@role_required("admin")
def export_school() -> ResponseReturnValue:
    return _csv(service(current_app).school_csv(signed_in().id, now=now()), "school-mastery.csv")


def _csv(body: str, filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
