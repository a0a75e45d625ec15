"""The model report page (`GET /report`): training curves, per-class accuracy, the confusion matrix and
the test digits worth a look. The page only renders what `GET /api/report` and `GET /api/model` send."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("report_page", __name__)


@bp.get("/report")
def report():
    return render_template("report.html")
