"""The JSON API (README.md, "API", documents every endpoint). Views parse, call, return a dict."""
from __future__ import annotations

import time

import numpy as np
from flask import Blueprint, Response, jsonify, request

from model import inference

from . import resources
from .encoding import encode_float, encode_unsigned
from .serialize import image_to_json, trace_to_json
from .validation import ApiError, analyze_input, integer, json_body, vector

bp = Blueprint("api", __name__, url_prefix="/api")

# Capsule vectors have length < 1, so every component lies in (-1, 1); sliders may push a little past.
VECTOR_LIMIT = 2.0


@bp.get("/model")
def model_info():
    return jsonify(resources.get().model_info)


@bp.get("/kernels")
def kernels():
    r = resources.get()
    headers = {"ETag": f'"{r.kernels_etag}"', "Cache-Control": "public, max-age=3600"}
    if request.if_none_match.contains(r.kernels_etag):
        return Response(status=304, headers=headers)
    return Response(r.kernels_json, mimetype="application/json", headers=headers)


@bp.get("/samples")
def samples():
    g = resources.get().gallery
    return jsonify(samples=[{**e, "image": encode_unsigned(g.image(e["id"]))} for e in g.entries])


@bp.post("/analyze")
def analyze():
    t0 = time.perf_counter()
    r = resources.get()
    given = analyze_input(request, r.gallery, r.model.config.routing_iterations)
    t1 = time.perf_counter()
    _, trace = inference.analyze(r.model, given.image, given.iterations, given.uniform_routing)
    t2 = time.perf_counter()
    body = trace_to_json(trace, r.model.config)
    body["input"] = image_to_json(given.image)
    body["source"] = given.source
    body["sample"] = given.sample
    body["preprocessing"] = given.preprocessing
    body["uniform_routing"] = given.uniform_routing
    body["untrained"] = r.untrained
    t3 = time.perf_counter()
    body["timing_ms"] = {"input": _ms(t1 - t0), "forward": _ms(t2 - t1), "serialize": _ms(t3 - t2),
                         "total": _ms(t3 - t0)}
    return jsonify(body)


def _decoder_args() -> tuple[int, np.ndarray]:
    body = json_body(request)
    r = resources.get()
    cfg = r.model.config
    unknown = set(body) - {"digit", "vector"}
    if unknown:
        raise ApiError(f"unknown field(s): {', '.join(sorted(unknown))}")
    digit = integer(body, "digit", 0, cfg.digit_count - 1)
    return digit, vector(body, "vector", cfg.digit_dim, VECTOR_LIMIT)


@bp.post("/reconstruct")
def reconstruct():
    digit, v = _decoder_args()
    image = inference.reconstruct(resources.get().model, digit, v)
    return jsonify(digit=digit, image=encode_float(image, "float16"))


@bp.post("/perturbations")
def perturbations():
    digit, v = _decoder_args()
    grid = inference.perturbation_grid(resources.get().model, digit, v)
    return jsonify(digit=digit, steps=list(inference.PERTURBATION_STEPS), images=encode_unsigned(grid))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
