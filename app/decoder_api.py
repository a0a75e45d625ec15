"""GET /api/decoder: the decoder's weights, once, for the page to run the decoder itself while a slider
moves (static/js/decoder.js; README.md, "API"). Built once per model and kept: 1.4 M float32 values, about
7.5 MB of JSON before compression, answered 304 to a browser that already holds them (strong ETag of the
body; no-cache, so a restarted server with other weights is never shadowed by a cached copy)."""
from __future__ import annotations

import hashlib
import json
import threading
import weakref

from flask import Blueprint, Response, request

from model.decoder_layers import decoder_layers

from . import resources
from .encoding import encode_float
from .static_files import REVALIDATE
from .validation import ApiError

bp = Blueprint("decoder", __name__, url_prefix="/api")

_bodies: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # model -> (json bytes, etag)
_lock = threading.Lock()


def decoder_json(model) -> tuple[bytes, str]:
    """The encoded decoder of `model` and its ETag, computed on first use (parallel first requests wait)."""
    with _lock:
        if model not in _bodies:
            cfg = model.config
            body = {
                "digit_count": cfg.digit_count,
                "digit_dim": cfg.digit_dim,
                "image_size": cfg.image_size,
                "layers": [{"weight": encode_float(w), "bias": encode_float(b), "activation": a}
                           for w, b, a in decoder_layers(model)],
            }
            data = json.dumps(body, separators=(",", ":")).encode()
            _bodies[model] = (data, hashlib.sha256(data).hexdigest()[:32])
        return _bodies[model]


@bp.get("/decoder")
def decoder():
    unknown = sorted(set(request.args) - {"model"})
    if unknown:
        raise ApiError(f"/api/decoder takes no query parameters but model, got {', '.join(repr(k[:40]) for k in unknown[:5])}")
    body, etag = decoder_json(resources.get().model)
    headers = {"ETag": f'"{etag}"', "Cache-Control": REVALIDATE}
    if request.if_none_match.contains_weak(etag):  # a compressed copy carries the weak form of the tag
        return Response(status=304, headers=headers)
    return Response(body, mimetype="application/json", headers=headers)
