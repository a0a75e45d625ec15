"""CapsNet Visualizer web application: `create_app(config)` builds it; run_visualization.py serves it."""
from __future__ import annotations

from pathlib import Path

import plotly
from flask import Flask, render_template, send_file

from model.weights import DEFAULT_WEIGHTS

from . import errors, resources, security
from .api import bp as api_bp
from .overlap_api import bp as overlap_bp
from .report_page import bp as report_bp
from .routing_api import bp as routing_bp

# The chart library ships inside the installed plotly package; serving it from there keeps the page
# offline-capable without copying 4.8 MB into the repository.
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

DEFAULTS = {
    "WEIGHTS": str(DEFAULT_WEIGHTS),
    "GALLERY": str(DEFAULT_WEIGHTS.with_name("gallery.json")),
    "DEVICE": "auto",
    "ALLOW_UNTRAINED": False,  # development only: serve a randomly initialised model
    # Room for a large phone photo as a data URL; anything bigger is refused with 413 before parsing.
    "MAX_CONTENT_LENGTH": 16 * 1000 * 1000,
    "JSON_SORT_KEYS": False,
}


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder="../static", template_folder="../templates")
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    app.json.sort_keys = False
    resources.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(overlap_bp)
    app.register_blueprint(report_bp)
    app.register_blueprint(routing_bp)

    @app.get("/")
    def index():
        return render_template("index.html")

    @app.get("/vendor/plotly.min.js")
    def plotly_js():
        return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=86400, conditional=True)

    return app
