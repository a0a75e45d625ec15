"""Every error as JSON `{"error": "..."}` for /api and everything under it (and a 413 anywhere); no
stack trace ever reaches a client."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .form_limits import which_limit
from .security import is_api
from .validation import ApiError

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(e: ApiError):
        return jsonify(error=e.message), e.status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if e.code == 413:
            return jsonify(error=which_limit(app, request)), 413
        if is_api(request.path):
            messages = {404: f"no API endpoint {request.path[:60]}",
                        405: f"{request.method} is not allowed on {request.path[:60]}"}
            return jsonify(error=messages.get(e.code, e.description)), e.code
        return e

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(error="internal error; the server log has the details"), 500
