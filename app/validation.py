"""Turning a request's fields into checked arguments, or an ApiError that says what was wrong (always 4xx).

One parser per kind of value (integer, boolean, number, name, vector, transform, pixels, image, sample),
used for every field of every endpoint: `app/transport.py` turns a JSON body or a multipart form into the
same dict of JSON-shaped values first, so both transports meet the same checks. Messages quote at most
QUOTE characters of what was sent. Nothing here touches the model: it parses and checks, and the views
pass the results on."""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

import numpy as np

from model.limits import ROUTING_ITERATIONS_MAX, ROUTING_ITERATIONS_MIN
from model.preprocess import NoDigitFound, PreprocessError, preprocess_bytes, validate_pixels
from model.transforms import RANGES, Transform

DATA_URL = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,", re.ASCII)
QUOTE = 40  # characters of a sent value an error message may repeat


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def quote(value) -> str:
    """repr(value), cut to QUOTE characters: enough to recognise, never a dump of the input."""
    text = repr(value)
    return text if len(text) <= QUOTE else text[: QUOTE - 1] + "…"


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _within(x, lo: float, hi: float) -> bool:
    """lo <= x <= hi for a JSON number, NaN and Infinity false; exact for integers of any size (no
    float conversion, which overflows past 1e308)."""
    return lo <= x <= hi if isinstance(x, int) else (x == x and lo <= x <= hi)


def no_unknown_fields(body: dict, allowed) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        shown = ", ".join(k[:QUOTE] for k in unknown[:5]) + more
        raise ApiError(f"unknown field(s): {shown}; allowed: {', '.join(sorted(allowed))}")


def refuse_fields(body: dict, fields, endpoint: str, why: str) -> None:
    given = [k for k in fields if k in body]
    if given:
        raise ApiError(f"{', '.join(repr(k) for k in given)} not used by {endpoint}: {why}")


def integer(body: dict, key: str, lo: int, hi: int, default: int | None = None) -> int:
    value = body.get(key, default)
    if value is None:
        raise ApiError(f"'{key}' is required (an integer in {lo}..{hi})")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(f"'{key}' must be an integer in {lo}..{hi}, got {quote(value)}")
    if not lo <= value <= hi:
        raise ApiError(f"'{key}' must be in {lo}..{hi}, got {quote(value)}")
    return value


def iterations(body: dict, default: int) -> int:
    return integer(body, "iterations", ROUTING_ITERATIONS_MIN, ROUTING_ITERATIONS_MAX, default=default)


def boolean(body: dict, key: str, default: bool = False) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise ApiError(f"'{key}' must be true or false, got {quote(value)}")
    return value


def name(body: dict, key: str, allowed) -> str:
    """A string from `allowed` (anything else, lists and objects included, is a 400)."""
    value = body.get(key)
    if not isinstance(value, str) or value not in allowed:
        raise ApiError(f"'{key}' must be one of: {', '.join(allowed)}; got {quote(value)}")
    return value


def number(value, key: str, lo: float, hi: float) -> float:
    if not _is_number(value):
        raise ApiError(f"'{key}' must be a number in [{lo}, {hi}], got {quote(value)}")
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise ApiError(f"'{key}' is NaN or Infinity")
    if not _within(value, lo, hi):
        raise ApiError(f"'{key}' must be in [{lo}, {hi}], got {quote(value)}")
    return float(value)


def vector(body: dict, key: str, length: int, limit: float) -> np.ndarray:
    """A list of `length` finite numbers, each within [-limit, limit]."""
    value = body.get(key)
    if not isinstance(value, list) or len(value) != length:
        raise ApiError(f"'{key}' must be a list of {length} numbers")
    if not all(_is_number(x) for x in value):
        raise ApiError(f"'{key}' must contain only numbers")
    if any(isinstance(x, float) and (x != x or abs(x) == float("inf")) for x in value):
        raise ApiError(f"'{key}' contains NaN or Infinity")
    if not all(_within(x, -limit, limit) for x in value):
        raise ApiError(f"'{key}' values must be within [-{limit}, {limit}]")
    return np.asarray(value, dtype=np.float32)


def integers(body: dict, key: str, length: int, lo: int, hi: int) -> list[int]:
    """A list of `length` integers, each in lo..hi."""
    value = body.get(key)
    if not isinstance(value, list) or len(value) != length:
        raise ApiError(f"'{key}' must be a list of {length} integers in {lo}..{hi}")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        raise ApiError(f"'{key}' must contain only integers (in {lo}..{hi}), got {quote(value)}")
    if not all(lo <= x <= hi for x in value):
        raise ApiError(f"'{key}' values must be in {lo}..{hi}, got {quote(value)}")
    return value


def distinct_digits(value, key: str, count: int, most: int) -> list[int]:
    """A list of 1..`most` distinct integers in 0..count-1."""
    if not isinstance(value, list) or not 1 <= len(value) <= most:
        raise ApiError(f"'{key}' must be a list of 1 to {most} digits in 0..{count - 1}")
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < count for d in value):
        raise ApiError(f"'{key}' must contain only integers in 0..{count - 1}, got {quote(value)}")
    if len(set(value)) != len(value):
        raise ApiError(f"'{key}' must not repeat a digit, got {quote(value)}")
    return value


def transform(value) -> Transform:
    """{"rotate": deg, "shift_x": px, "shift_y": px, "scale": f, "shear": f, "thickness": px}, any subset."""
    if value is None:
        return Transform()
    if not isinstance(value, dict):
        raise ApiError("'transform' must be an object with any of: " + ", ".join(RANGES))
    no_unknown_fields(value, RANGES)
    return Transform(**{k: number(v, f"transform.{k}", *RANGES[k][:2]) for k, v in value.items()})


def _preprocess_error(e: PreprocessError, prefix: str = "") -> ApiError:
    # An image with no ink is well-formed and unprocessable (422); anything else is a bad request (400).
    return ApiError(prefix + str(e), 422 if isinstance(e, NoDigitFound) else 400)


def pixels(value, size: int) -> np.ndarray:
    """size x size numbers in [0, 1] (size: the model's input side)."""
    # numpy would quietly turn "0.5" and true into numbers; JSON pixels must be numbers.
    if isinstance(value, list) and all(isinstance(row, list) for row in value):
        if not all(_is_number(x) for row in value for x in row):
            raise ApiError(f"pixels must be a {size}x{size} array of numbers")
        if any(isinstance(x, int) and not 0 <= x <= 1 for row in value for x in row):
            raise ApiError("pixels must be in [0, 1]")  # before numpy, which overflows on huge integers
    try:
        return validate_pixels(value, size)
    except PreprocessError as e:
        raise _preprocess_error(e) from None


def image_bytes(value) -> bytes:
    """A JSON `image` (a data URL or base64 text) or a multipart file's bytes."""
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise ApiError("'image' must be a string: a data URL or base64 image bytes")
    payload = DATA_URL.sub("", value, count=1)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("'image' is not valid base64") from None


def image(data: bytes, size: int) -> tuple[np.ndarray, dict]:
    try:
        p = preprocess_bytes(data, size)
    except PreprocessError as e:
        raise _preprocess_error(e) from None
    return p.image, p.describe()


def sample(value, samples, key: str = "sample") -> np.ndarray:
    if not isinstance(value, str) or value not in samples:
        raise ApiError(f"unknown sample id {quote(value)} in '{key}'; GET /api/samples lists them", 404)
    return samples.image(value)


MODEL_NAME_MAX = 64  # characters; model names are folder names, and none is longer


def model_name(value, names) -> str:
    """The `model` field (JSON, form or ?model=): the name of a served model (GET /api/models lists
    them). Not a string, or too long, is a 400; a well-formed name nobody serves is a 404."""
    listed = ", ".join(names)
    if not isinstance(value, str):
        raise ApiError(f"'model' must be a model name (one of: {listed}), got {quote(value)}")
    if not 1 <= len(value) <= MODEL_NAME_MAX:
        raise ApiError(f"'model' must be a name of 1 to {MODEL_NAME_MAX} characters (one of: {listed})")
    if value not in names:
        raise ApiError(f"unknown model {quote(value)}; served models: {listed} (GET /api/models)", 404)
    return value


# ---- the input image of /api/analyze, /api/sweep, /api/ablation, /api/evidence ----

INPUT_FIELDS = ("image", "pixels", "sample")
# The options /api/analyze takes beside the input; other endpoints take some of them, or refuse them.
ANALYZE_OPTIONS = ("iterations", "uniform_routing", "transform", "votes_for")


@dataclass(frozen=True)
class AnalyzeInput:
    image: np.ndarray  # (size, size) float32 in [0, 1], the model's input side
    source: str  # "upload", "image", "pixels" or "sample"
    preprocessing: dict | None  # what preprocessing did, for images
    sample: str | None
    iterations: int
    uniform_routing: bool
    transform: Transform
    votes_for: int | None  # a primary capsule whose votes u_hat_j|i to send back


def analyze_input(body: dict, samples, default_iterations: int, primary_count: int, size: int) -> AnalyzeInput:
    """Exactly one of image / pixels / sample (a multipart file arrives as `image` bytes), and the
    options of ANALYZE_OPTIONS with their defaults. size: the model's input side."""
    given = [k for k in INPUT_FIELDS if k in body]
    if len(given) != 1:
        raise ApiError(f"give exactly one of 'image' (data URL or base64), 'pixels' ({size}x{size} in [0, 1]) "
                       f"or 'sample' (a gallery id); got {given or 'none'}")
    source, sample_id, info = given[0], None, None
    if source == "image":
        if isinstance(body["image"], bytes):
            source = "upload"
        img, info = image(image_bytes(body["image"]), size)
    elif source == "pixels":
        img = pixels(body["pixels"], size)
    else:
        img = sample(body["sample"], samples)
        sample_id = body["sample"]
    votes_for = body.get("votes_for")
    return AnalyzeInput(
        image=img,
        source=source,
        preprocessing=info,
        sample=sample_id,
        iterations=iterations(body, default_iterations),
        uniform_routing=boolean(body, "uniform_routing"),
        transform=transform(body.get("transform")),
        votes_for=None if votes_for is None else integer(body, "votes_for", 0, primary_count - 1),
    )


def sample_or_pixels(body: dict, key: str, samples, size: int) -> tuple[np.ndarray, str | None]:
    """body[key] as a gallery sample id (a string) or size x size pixels in [0, 1] (nested lists) ->
    (the image, the sample id or None). For /api/overlap."""
    value = body.get(key)
    if value is None:
        raise ApiError(f"'{key}' is required: a gallery sample id or {size}x{size} pixels in [0, 1]")
    if isinstance(value, str):
        return sample(value, samples, key), value
    if not isinstance(value, list):
        raise ApiError(f"'{key}' must be a gallery sample id or {size}x{size} pixels in [0, 1]")
    try:
        return pixels(value, size), None
    except ApiError as e:
        raise ApiError(f"'{key}': {e.message}", e.status) from None
