"""A request body -> a dict of JSON-shaped fields, the same dict whichever transport carried it.

JSON bodies are taken as they are. A multipart form (accepted only where README.md says so) becomes the
same dict: the file in `image` as bytes, and each text field decoded by its field's kind in FORM_KINDS:
integers are ASCII digits, booleans exactly true/false/1/0, names plain text, and structured values
(pixels, transform) JSON text. A text that does not decode is passed on as the string itself, so the
parsers of app/validation.py refuse it with the same message JSON would get. Unknown fields, repeated
fields and files other than `image` are refused here."""
from __future__ import annotations

import json
import re

from flask import Request

from .validation import QUOTE, ApiError, no_unknown_fields

_INTEGER = re.compile(r"-?[0-9]{1,400}", re.ASCII)  # no "1_0", no "٣", no "+3", no " 3"
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def _form_integer(text: str):
    return int(text) if _INTEGER.fullmatch(text) else text


def _form_boolean(text: str):
    return _BOOLEANS.get(text, text)


def _form_json(text: str):
    try:
        return json.loads(text)  # NaN and Infinity parse as in a JSON body, and are refused the same way
    except (ValueError, RecursionError):
        return text


# How each field that may arrive in a form is written there (every other field is JSON only).
FORM_KINDS = {
    "iterations": _form_integer, "votes_for": _form_integer, "digit": _form_integer, "top": _form_integer,
    "uniform_routing": _form_boolean,
    "sample": str, "parameter": str, "model": str,
    "pixels": _form_json, "transform": _form_json,
}


def json_body(request: Request, multipart_too: bool = False) -> dict:
    if not request.is_json:
        alternative = " or a multipart/form-data upload" if multipart_too else ""
        raise ApiError(f"send JSON with Content-Type: application/json{alternative}", 415)
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # json raises this, not ValueError, for arrays nested thousands deep
        body = None
    if body is None:
        raise ApiError("the request body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError("the JSON body must be an object")
    return body


def form_body(request: Request, allowed) -> dict:
    """A multipart form as the dict its JSON twin would be."""
    body = {}
    for key, values in list(request.form.lists()) + list(request.files.lists()):
        if len(values) != 1 or key in body:
            raise ApiError(f"'{key[:QUOTE]}' is given more than once")
        value = values[0]
        if not isinstance(value, str):
            if key != "image":
                raise ApiError(f"'{key[:QUOTE]}' is a file; the only file field is 'image'")
            value = value.read()
        body[key] = value
    no_unknown_fields(body, allowed)
    return {k: (v if isinstance(v, bytes) else FORM_KINDS.get(k, str)(v)) for k, v in body.items()}


# Every endpoint takes the optional `model` (app/resources.py reads it), whatever else it takes.
COMMON_FIELDS = ("model",)


def read_body(request: Request, allowed, multipart: bool, endpoint: str) -> dict:
    """The request's fields, checked against `allowed` and COMMON_FIELDS. `multipart`: the endpoint takes a
    form upload too; if not, a form gets a 415 saying so."""
    allowed = (*allowed, *COMMON_FIELDS)
    if request.mimetype == "multipart/form-data":
        if not multipart:
            raise ApiError(f"{endpoint} takes JSON only (Content-Type: application/json), not multipart", 415)
        if "image" not in request.files:
            raise ApiError("multipart upload needs a file field named 'image'")
        return form_body(request, allowed)
    body = json_body(request, multipart_too=multipart)
    no_unknown_fields(body, allowed)
    return body
