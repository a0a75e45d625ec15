"""POST /api/overlap: two digits overlaid the MultiMNIST way, the two longest capsules and each one's
reconstruction (README.md, "Transforms, sweeps, votes, evidence and overlap"). Parse, call model/overlap.py, return."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from model import overlap
from model.limits import OVERLAP_SHIFT_LIMIT

from . import resources
from .encoding import encode_float
from .transport import read_body
from .validation import ApiError, integers, iterations, sample_or_pixels

bp = Blueprint("overlap", __name__, url_prefix="/api")


@bp.post("/overlap")
def overlap_pair():
    body = read_body(request, ("first", "second", "shift", "iterations"), False, "/api/overlap")
    r = resources.get(body)
    size = r.model.config.image_size
    first, first_id = sample_or_pixels(body, "first", r.gallery, size)
    second, second_id = sample_or_pixels(body, "second", r.gallery, size)
    if first_id is not None and first_id == second_id:
        raise ApiError(f"'first' and 'second' are the same sample ({first_id}); overlay two different digits")
    shift = integers(body, "shift", 2, -OVERLAP_SHIFT_LIMIT, OVERLAP_SHIFT_LIMIT)
    n = iterations(body, r.model.config.routing_iterations)
    result = overlap.analyze_pair(r.model, first, second, tuple(shift), n)
    labels = {e["id"]: e.get("label") for e in r.gallery.entries}  # a pair entry has "labels", no one label
    return jsonify(
        input=encode_float(result.composite, "float16"),
        parts=encode_float(result.parts, "float16"),
        shift=shift,
        iterations=n,
        lengths=[round(float(x), 6) for x in result.lengths],
        top2=[{"digit": int(d), "length": round(float(result.lengths[d]), 6)} for d in result.digits],
        reconstructions=encode_float(result.reconstructions, "float16"),
        samples=[first_id, second_id],
        labels=[labels.get(first_id), labels.get(second_id)],
        model=r.name,
        dataset=r.dataset,
        untrained=r.untrained,
    )
