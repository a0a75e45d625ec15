"""CapsNet Visualizer web application: `create_app(config)` builds it; run_visualization.py serves it."""
from __future__ import annotations

from flask import Flask, render_template

from model.weights import MODELS_DIR

from . import errors, resources, security, static_files
from .api import bp as api_bp
from .decoder_api import bp as decoder_bp
from .form_limits import CountingRequest
from .overlap_api import bp as overlap_bp
from .report_page import bp as report_bp
from .routing_api import bp as routing_bp

DEFAULTS = {
    # A weights file, a model folder or a folder of model folders (app/resources.py): every model shipped.
    "WEIGHTS": str(MODELS_DIR),
    # None: each model's gallery.json beside its weights (the shipped MNIST one when it has none).
    "GALLERY": None,
    "DEVICE": "auto",
    "ALLOW_UNTRAINED": False,  # development only: serve a randomly initialised model
    # Room for a large phone photo as a data URL; anything bigger is refused with 413 before parsing.
    "MAX_CONTENT_LENGTH": 16 * 1000 * 1000,
    # Flask's own defaults, spelled out because 413 answers name them: one text field of a form at most
    # this many bytes (a file is bounded by MAX_CONTENT_LENGTH alone), and at most this many parts.
    "MAX_FORM_MEMORY_SIZE": 500_000,
    "MAX_FORM_PARTS": 1000,
    # Host names answered besides localhost, 127.0.0.1 and [::1] (run_visualization.py --allowed-host).
    "ALLOWED_HOSTS": (),
    "JSON_SORT_KEYS": False,
}


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder="../static", template_folder="../templates")
    app.request_class = CountingRequest
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    app.json.sort_keys = False
    resources.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    static_files.init_app(app)  # versioned, compressed static files; compressed responses
    app.register_blueprint(api_bp)
    app.register_blueprint(decoder_bp)
    app.register_blueprint(overlap_bp)
    app.register_blueprint(report_bp)
    app.register_blueprint(routing_bp)

    @app.get("/")
    def index():
        return render_template("index.html")

    return app
