"""Turning a request into checked arguments, or an ApiError that says what was wrong (always 4xx).

Nothing here touches the model: it parses and checks, and the views pass the results on."""
from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass

import numpy as np
from flask import Request

from model.preprocess import PreprocessError, preprocess_bytes, validate_pixels
from model.transforms import RANGES, Transform

MAX_ITERATIONS = 10
DATA_URL = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,", re.ASCII)


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class AnalyzeInput:
    image: np.ndarray  # (28, 28) float32 in [0, 1]
    source: str  # "upload", "image", "pixels" or "sample"
    preprocessing: dict | None  # what preprocessing did, for images
    sample: str | None
    iterations: int
    uniform_routing: bool
    transform: Transform
    votes_for: int | None  # a primary capsule whose votes u_hat_j|i to send back


def json_body(request: Request) -> dict:
    if not request.is_json:
        raise ApiError("send JSON with Content-Type: application/json", 415)
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # json raises this, not ValueError, for arrays nested thousands deep
        body = None
    if body is None:
        raise ApiError("the request body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError("the JSON body must be an object")
    return body


def integer(body: dict, key: str, lo: int, hi: int, default: int | None = None) -> int:
    value = body.get(key, default)
    if value is None:
        raise ApiError(f"'{key}' is required (an integer in {lo}..{hi})")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(f"'{key}' must be an integer in {lo}..{hi}, got {value!r:.40}")
    if not lo <= value <= hi:
        raise ApiError(f"'{key}' must be in {lo}..{hi}, got {value}")
    return value


def boolean(body: dict, key: str, default: bool = False) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise ApiError(f"'{key}' must be true or false")
    return value


def vector(body: dict, key: str, length: int, limit: float) -> np.ndarray:
    """A list of `length` finite numbers, each within [-limit, limit]."""
    value = body.get(key)
    if not isinstance(value, list) or len(value) != length:
        raise ApiError(f"'{key}' must be a list of {length} numbers")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        raise ApiError(f"'{key}' must contain only numbers")
    if not all(math.isfinite(x) for x in value):
        raise ApiError(f"'{key}' contains NaN or Infinity")
    if any(abs(x) > limit for x in value):
        raise ApiError(f"'{key}' values must be within [-{limit}, {limit}]")
    return np.asarray(value, dtype=np.float32)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _pixels(value) -> np.ndarray:
    # numpy would quietly turn "0.5" and true into numbers; JSON pixels must be numbers.
    if isinstance(value, list) and all(isinstance(row, list) for row in value):
        if not all(_is_number(x) for row in value for x in row):
            raise ApiError("pixels must be a 28x28 array of numbers")
    try:
        return validate_pixels(value)
    except PreprocessError as e:
        raise ApiError(str(e), 422 if str(e).startswith("no digit") else 400) from None


def no_unknown_fields(body: dict, allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise ApiError(f"unknown field(s): {', '.join(sorted(unknown))}")


def number(value, name: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(f"'{name}' must be a number in [{lo}, {hi}]")
    if not math.isfinite(value):
        raise ApiError(f"'{name}' is NaN or Infinity")
    if not lo <= value <= hi:
        raise ApiError(f"'{name}' must be in [{lo}, {hi}], got {value}")
    return float(value)


def transform(value) -> Transform:
    """{"rotate": deg, "shift_x": px, "shift_y": px, "scale": f, "shear": f, "thickness": px}, any subset."""
    if value is None:
        return Transform()
    if not isinstance(value, dict):
        raise ApiError("'transform' must be an object with any of: " + ", ".join(RANGES))
    no_unknown_fields(value, set(RANGES))
    return Transform(**{k: number(v, f"transform.{k}", *RANGES[k][:2]) for k, v in value.items()})


def _decode_image_field(value) -> bytes:
    if not isinstance(value, str):
        raise ApiError("'image' must be a string: a data URL or base64 image bytes")
    payload = DATA_URL.sub("", value, count=1)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("'image' is not valid base64") from None


def _from_image_bytes(data: bytes) -> tuple[np.ndarray, dict]:
    try:
        p = preprocess_bytes(data)
    except PreprocessError as e:
        raise ApiError(str(e), 422 if str(e).startswith("no digit") else 400) from None
    return p.image, p.describe()


def analyze_input(request: Request, samples, default_iterations: int, primary_count: int,
                  extra_fields: tuple[str, ...] = ()) -> tuple[AnalyzeInput, dict]:
    """multipart (field `image`) or JSON with exactly one of image / pixels / sample. Returns the
    checked input and the raw body, for endpoints that take `extra_fields` of their own."""
    if request.mimetype == "multipart/form-data":
        file = request.files.get("image")
        if file is None:
            raise ApiError("multipart upload needs a file field named 'image'")
        options = request.form.to_dict()
        try:
            body = {k: (int(v) if k == "iterations" else v == "true") for k, v in options.items()
                    if k in ("iterations", "uniform_routing")}
        except ValueError:
            raise ApiError("'iterations' must be an integer") from None
        image, info = _from_image_bytes(file.read())
        source, sample = "upload", None
    else:
        body = json_body(request)
        given = [k for k in ("image", "pixels", "sample") if k in body]
        if len(given) != 1:
            raise ApiError("give exactly one of 'image' (data URL or base64), 'pixels' (28x28 in [0, 1]) "
                           f"or 'sample' (a gallery id); got {given or 'none'}")
        source, sample, info = given[0], None, None
        if source == "image":
            image, info = _from_image_bytes(_decode_image_field(body["image"]))
        elif source == "pixels":
            image = _pixels(body["pixels"])
        else:
            sample = body["sample"]
            if not isinstance(sample, str) or sample not in samples:
                raise ApiError(f"unknown sample id {sample!r:.40}; GET /api/samples lists them", 404)
            image = samples.image(sample)
    no_unknown_fields(body, {"image", "pixels", "sample", "iterations", "uniform_routing", "transform",
                             "votes_for", *extra_fields})
    votes_for = body.get("votes_for")
    return AnalyzeInput(
        image=image,
        source=source,
        preprocessing=info,
        sample=sample,
        iterations=integer(body, "iterations", 1, MAX_ITERATIONS, default=default_iterations),
        uniform_routing=boolean(body, "uniform_routing"),
        transform=transform(body.get("transform")),
        votes_for=None if votes_for is None else integer(body, "votes_for", 0, primary_count - 1),
    ), body


# ---- overlapping digits (POST /api/overlap) ----

def sample_or_pixels(body: dict, key: str, samples) -> tuple[np.ndarray, str | None]:
    """body[key] as a gallery sample id (a string) or 28x28 pixels in [0, 1] (nested lists) ->
    (the image, the sample id or None)."""
    value = body.get(key)
    if value is None:
        raise ApiError(f"'{key}' is required: a gallery sample id or 28x28 pixels in [0, 1]")
    if isinstance(value, str):
        if value not in samples:
            raise ApiError(f"unknown sample id {value!r:.40} in '{key}'; GET /api/samples lists them", 404)
        return samples.image(value), value
    if not isinstance(value, list):
        raise ApiError(f"'{key}' must be a gallery sample id or 28x28 pixels in [0, 1]")
    try:
        return _pixels(value), None
    except ApiError as e:
        raise ApiError(f"'{key}': {e.message}", e.status) from None


def integers(body: dict, key: str, length: int, lo: int, hi: int) -> list[int]:
    """A list of `length` integers, each in lo..hi."""
    value = body.get(key)
    if not isinstance(value, list) or len(value) != length:
        raise ApiError(f"'{key}' must be a list of {length} integers in {lo}..{hi}")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        raise ApiError(f"'{key}' must contain only integers (in {lo}..{hi}), got {value!r:.60}")
    if not all(lo <= x <= hi for x in value):
        raise ApiError(f"'{key}' values must be in {lo}..{hi}, got {value}")
    return value


def distinct_digits(value, name: str, count: int, most: int) -> list[int]:
    """A list of 1..`most` distinct integers in 0..count-1."""
    if not isinstance(value, list) or not 1 <= len(value) <= most:
        raise ApiError(f"'{name}' must be a list of 1 to {most} digits in 0..{count - 1}")
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < count for d in value):
        raise ApiError(f"'{name}' must contain only integers in 0..{count - 1}, got {value!r:.60}")
    if len(set(value)) != len(value):
        raise ApiError(f"'{name}' must not repeat a digit, got {value}")
    return value
