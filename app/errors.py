"""Every error as JSON `{"error": "..."}` for /api/ routes; no stack trace ever reaches a client."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .validation import ApiError

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(e: ApiError):
        return jsonify(error=e.message), e.status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if e.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            return jsonify(error=f"the request is larger than the {limit // 1_000_000} MB limit"), 413
        if request.path.startswith("/api/"):
            messages = {404: f"no API endpoint {request.path}",
                        405: f"{request.method} is not allowed on {request.path}"}
            return jsonify(error=messages.get(e.code, e.description)), e.code
        return e

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(error="internal error; the server log has the details"), 500
