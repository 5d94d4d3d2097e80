"""Progress and readiness."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from webui import service
from webui.charts import forecast_chart
from webui.users import now, signed_in

blueprint = Blueprint("progress", __name__)


@blueprint.get("/progress")
@login_required  # type: ignore[misc]
def index() -> ResponseReturnValue:
    report = service(current_app).progress(signed_in().id, now=now())
    charts = {
        estimate.test_code: forecast_chart(
            report.forecast, estimate.test_code, estimate.test_name, report.cut_score
        )
        for estimate in report.readiness
    }
    return render_template("progress/index.html", report=report, charts=charts)
