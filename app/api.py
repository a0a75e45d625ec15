"""The JSON API (README.md, "API", documents every endpoint). Views parse, call, return a dict."""
from __future__ import annotations

import time

import numpy as np
from flask import Blueprint, Response, jsonify, request

from model import ablation, evidence, inference, limits, transforms

from . import resources, validation
from .encoding import encode_float, encode_unsigned
from .serialize import (ablation_to_json, analysis_evidence, evidence_to_json, image_to_json, trace_to_json,
                        votes_to_json)
from .transport import read_body
from .validation import (ANALYZE_OPTIONS, INPUT_FIELDS, ApiError, analyze_input, distinct_digits, integer,
                         refuse_fields, vector)

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/models")
def models():
    """Every served model, in order (the first is the default): what the page's model picker lists."""
    served = resources.models()
    return jsonify(models=[r.summary() for r in served], default=served.default.name)


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


# The fields each endpoint takes (README.md, "API"), and whether it takes a multipart upload too.
ANALYZE_FIELDS = (*INPUT_FIELDS, *ANALYZE_OPTIONS)
SWEEP_FIELDS = (*ANALYZE_FIELDS, "parameter")
ABLATION_FIELDS = (*ANALYZE_FIELDS, "digit")
EVIDENCE_FIELDS = (*ANALYZE_FIELDS, "digits", "top")
DECODER_FIELDS = ("digit", "vector")


@bp.post("/analyze")
def analyze():
    t0 = time.perf_counter()
    body = read_body(request, ANALYZE_FIELDS, True, "/api/analyze")
    r = resources.get(body)
    given = _analyze_input(r, body)
    image = transforms.apply_one(given.image, given.transform)
    t1 = time.perf_counter()
    _, trace = inference.analyze(r.model, image, given.iterations, given.uniform_routing)
    t2 = time.perf_counter()
    body = trace_to_json(trace, r.model.config)
    body["input"] = image_to_json(image)
    body["transform"] = given.transform.to_dict()
    body["evidence"] = analysis_evidence(trace, r.model.config, limits.EVIDENCE_TOP_DEFAULT)
    if given.votes_for is not None:
        body["votes"] = votes_to_json(trace, given.votes_for)
    body["source"] = given.source
    body["sample"] = given.sample
    body["preprocessing"] = given.preprocessing
    body["uniform_routing"] = given.uniform_routing
    body["untrained"] = r.untrained
    t3 = time.perf_counter()
    body["timing_ms"] = {"input": _ms(t1 - t0), "forward": _ms(t2 - t1), "serialize": _ms(t3 - t2),
                         "total": _ms(t3 - t0)}
    return jsonify(body)


@bp.post("/sweep")
def sweep():
    """One transform parameter across its range: how the capsules respond (equivariance section)."""
    body = read_body(request, SWEEP_FIELDS, True, "/api/sweep")
    r = resources.get(body)
    refuse_fields(body, ("uniform_routing", "transform", "votes_for"), "/api/sweep",
                  "it sweeps one parameter from the untransformed input, with routing as trained")
    name = validation.name(body, "parameter", transforms.RANGES)
    given = _analyze_input(r, body)
    values = transforms.sweep_values(name)
    result = inference.sweep(r.model, given.image, name, values, given.iterations)
    return jsonify(parameter=name, values=values, iterations=given.iterations,
                   images=encode_unsigned(result.images), lengths=encode_float(result.lengths),
                   vectors=encode_float(result.digit_caps))


@bp.post("/ablation")
def routing_ablation():
    """Does routing matter? Lengths after 1..10 iterations and with uniform coupling, and how c moves."""
    body = read_body(request, ABLATION_FIELDS, True, "/api/ablation")
    r = resources.get(body)
    refuse_fields(body, ANALYZE_OPTIONS, "/api/ablation", "it always compares uniform coupling with "
                  f"1..{ablation.MAX_ITERATIONS} iterations on the untransformed input")
    cfg = r.model.config
    digit = body.get("digit")
    if digit is not None:
        digit = integer(body, "digit", 0, cfg.digit_count - 1)
    given = _analyze_input(r, body)
    result = ablation.ablate(r.model, given.image)
    if digit is None:
        digit = result.prediction_at(cfg.routing_iterations)
    return jsonify({**ablation_to_json(result, digit, cfg), "source": given.source, "sample": given.sample,
                    "untrained": r.untrained})


@bp.post("/evidence")
def evidence_view():
    """Where the evidence for one or two digits came from: c_ij |u_i| spread over each capsule's receptive
    field, the top capsules, and each listed capsule's vector and votes (as /api/analyze's votes_for)."""
    body = read_body(request, EVIDENCE_FIELDS, False, "/api/evidence")
    r = resources.get(body)
    cfg = r.model.config
    top = integer(body, "top", 1, limits.EVIDENCE_TOP_MAX, default=limits.EVIDENCE_TOP_DEFAULT)
    digits = body.get("digits")
    if digits is not None:
        digits = distinct_digits(digits, "digits", cfg.digit_count, limits.EVIDENCE_DIGITS_MAX)
    given = _analyze_input(r, body)
    image = transforms.apply_one(given.image, given.transform)
    _, trace = inference.analyze(r.model, image, given.iterations, given.uniform_routing)
    lengths = trace.lengths[0]
    prediction = int(lengths.argmax())
    found = evidence.evidence(trace, cfg, digits or [prediction], top)
    listed = sorted({t.capsule for e in found for t in e.top} | ({given.votes_for} - {None}))
    return jsonify(prediction=prediction, lengths=[round(float(x), 6) for x in lengths],
                   iterations=given.iterations, uniform_routing=given.uniform_routing,
                   receptive_field=evidence.receptive_field(cfg)._asdict(), digits=evidence_to_json(found),
                   capsules=[votes_to_json(trace, i) for i in listed])


@bp.get("/report")
def report():
    r = resources.get()
    if r.report is None:
        raise ApiError("no model report shipped with these weights (python -m model.evaluate --report)", 404)
    return jsonify(r.report)


@bp.get("/capsule_stats")
def capsule_stats():
    r = resources.get()
    if r.capsule_stats is None:
        raise ApiError("no capsule statistics shipped with these weights (python -m model.capsule_stats)", 404)
    return jsonify(r.capsule_stats)


def _analyze_input(r, body: dict):
    cfg = r.model.config
    return analyze_input(body, r.gallery, cfg.routing_iterations, cfg.primary_count, cfg.image_size)


def _decoder_args(endpoint: str):
    body = read_body(request, DECODER_FIELDS, False, endpoint)
    r = resources.get(body)
    cfg = r.model.config
    digit = integer(body, "digit", 0, cfg.digit_count - 1)
    return r.model, digit, vector(body, "vector", cfg.digit_dim, limits.VECTOR_LIMIT)


@bp.post("/reconstruct")
def reconstruct():
    model, digit, v = _decoder_args("/api/reconstruct")
    image = inference.reconstruct(model, digit, v)
    return jsonify(digit=digit, image=encode_float(image, "float16"))


@bp.post("/perturbations")
def perturbations():
    model, digit, v = _decoder_args("/api/perturbations")
    grid = inference.perturbation_grid(model, digit, v)
    return jsonify(digit=digit, steps=list(inference.PERTURBATION_STEPS), images=encode_unsigned(grid))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
