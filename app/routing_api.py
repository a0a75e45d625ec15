"""POST /api/routing/vote_cloud, /api/routing/capsule_steps and /api/routing/loss: routing by agreement made
visible (README.md, "Routing by agreement, made visible"). Parse, call model/, encode, return.

Input fields are /api/analyze's (image | pixels | sample, iterations, uniform_routing, transform);
`votes_for` is refused here (the capsule endpoint names its capsule itself).
"""
from __future__ import annotations

import torch
from flask import Blueprint, jsonify, request

from model import agreement, inference, transforms
from model.capsule_steps import capsule_steps, squash_curve
from model.evidence import capsule_position, receptive_field
from model.input_loss import input_loss
from model.losses import LAMBDA, M_MINUS, M_PLUS, RECONSTRUCTION_WEIGHT

from . import resources
from .encoding import encode_float
from .transport import read_body
from .validation import ANALYZE_OPTIONS, INPUT_FIELDS, analyze_input, distinct_digits, integer, refuse_fields

bp = Blueprint("routing", __name__, url_prefix="/api/routing")

CLOUD_DIGITS = 2  # the prediction's cloud and the runner-up's, side by side


def _rounded(x, digits: int = 6) -> list:
    return [round(float(v), digits) for v in torch.as_tensor(x).flatten().tolist()]


def _points(x: torch.Tensor) -> list:
    """(R, 2) -> [[x, y], ...]."""
    return [_rounded(row) for row in x]


def _traced(endpoint: str, extra_fields: tuple[str, ...]):
    """The request read by the API's one set of parsers (JSON only), then one traced forward pass."""
    body = read_body(request, (*INPUT_FIELDS, *ANALYZE_OPTIONS, *extra_fields), False, f"/api/routing/{endpoint}")
    r = resources.get(body)
    cfg = r.model.config
    refuse_fields(body, ("votes_for",), f"/api/routing/{endpoint}", "it names its capsules itself")
    given = analyze_input(body, r.gallery, cfg.routing_iterations, cfg.primary_count, cfg.image_size)
    image = transforms.apply_one(given.image, given.transform)
    _, trace = inference.analyze(r.model, image, given.iterations, given.uniform_routing)
    head = {"prediction": int(trace.lengths[0].argmax()), "lengths": _rounded(trace.lengths[0]),
            "iterations": len(trace.routing), "uniform_routing": given.uniform_routing}
    return r, cfg, image, trace, body, head


@bp.post("/vote_cloud")
def vote_cloud():
    """Each chosen digit's votes u_hat_j|i projected to 2-D, with c_ij and u_hat . v_j per iteration."""
    r, cfg, _, trace, body, head = _traced("vote_cloud", ("digits",))
    digits = body.get("digits")
    digits = (agreement.top_two(trace.lengths[0]) if digits is None
              else distinct_digits(digits, "digits", cfg.digit_count, CLOUD_DIGITS))
    out = []
    for j in digits:
        cl = agreement.vote_cloud(trace, j)
        p = cl.projection
        out.append({
            "digit": j,
            "projection": {"axes": encode_float(p.axes), "variance": _rounded(p.variance),
                           "variance_total": round(p.variance_total, 8),
                           "variance_kept": round(p.variance_kept, 6), "axis1_from_v": p.axis1_from_v},
            "coords": encode_float(cl.coords, "float16"),  # (N, 2)
            "c": encode_float(cl.c, "float16"),  # (R, N)
            "agreement": encode_float(cl.agreement, "float16"),  # (R, N)
            "mean": _points(cl.mean), "s": _points(cl.s), "v": _points(cl.v),
            "lengths": _rounded(cl.lengths),
            "weighted_agreement": _rounded(cl.weighted_agreement, 8),
            "weighted_median": _rounded(cl.weighted_median, 8),
        })
    return jsonify({**head, "receptive_field": receptive_field(cfg)._asdict(),
                    "primary_lengths": encode_float(trace.primary_lengths[0], "float16"), "digits": out})


@bp.post("/capsule_steps")
def capsule_steps_view():
    """Primary capsule `capsule`'s path into digit `digit` (default the prediction): the four steps."""
    r, cfg, _, trace, body, head = _traced("capsule_steps", ("capsule", "digit"))
    i = integer(body, "capsule", 0, cfg.primary_count - 1)
    j = integer(body, "digit", 0, cfg.digit_count - 1, default=head["prediction"])
    st = capsule_steps(r.model, trace, i, j)
    s_len, v_len = st.s.norm(dim=-1), st.v.norm(dim=-1)
    longest = max(1.0, float(st.u_raw.norm()), float(s_len.max())) * 1.1
    curve_in, curve_out = squash_curve(longest)
    kind, row, col = capsule_position(cfg, i)
    return jsonify({
        **head, "capsule": i, "type": kind, "row": row, "col": col, "digit": j,
        "u_raw": encode_float(st.u_raw), "u_raw_length": round(float(st.u_raw.norm()), 6),
        "u": encode_float(st.u), "u_length": round(float(st.u.norm()), 6),
        "W": encode_float(st.W), "u_hat": encode_float(st.u_hat), "u_hat_length": round(float(st.u_hat.norm()), 6),
        "c": _rounded(st.c, 8), "contribution": encode_float(st.contribution),
        "s": encode_float(st.s), "v": encode_float(st.v), "s_lengths": _rounded(s_len), "v_lengths": _rounded(v_len),
        "squash_curve": {"length_in": _rounded(curve_in, 5), "length_out": _rounded(curve_out, 5)},
    })


@bp.post("/loss")
def loss():
    """The margin loss per digit (both terms) and the reconstruction loss for label `label` (default the
    prediction): what training would push on this input."""
    r, cfg, image, trace, body, head = _traced("loss", ("label",))
    label = integer(body, "label", 0, cfg.digit_count - 1, default=head["prediction"])
    x = torch.as_tensor(image, dtype=torch.float32, device=trace.lengths.device)
    found = input_loss(r.model, trace, x, label)
    return jsonify({
        **head, "label": label,
        "constants": {"m_plus": M_PLUS, "m_minus": M_MINUS, "lambda": LAMBDA,
                      "reconstruction_weight": RECONSTRUCTION_WEIGHT},
        "margin": {"present": _rounded(found.present, 8), "absent": _rounded(found.absent, 8),
                   "total": round(found.margin, 8)},
        "reconstruction": {"digit": label, "image": encode_float(found.reconstruction, "float16"),
                           "difference": encode_float(found.difference, "float16"),
                           "squared_error": round(found.squared_error, 6),
                           "loss": round(found.reconstruction_loss, 8)},
        "total": round(found.total, 8),
    })
