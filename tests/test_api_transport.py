"""One way to read a request (issue 10): every field of every endpoint meets the same parser whichever
transport carries it (JSON or multipart), huge numbers and wrong types get a 400 that quotes little of
what was sent, endpoints without multipart say so with a 415, form limits name themselves in their 413,
and only loopback Host names are answered."""
from __future__ import annotations

import io
import json

import pytest
from test_api_errors import DIGIT_PNG, PIXELS, SAMPLE, WHITE_PNG, assert_error, raw_json

from app.encoding import decode
from app.validation import QUOTE

HUGE = 10**400
POST_ENDPOINTS = ["/api/analyze", "/api/sweep", "/api/ablation", "/api/evidence", "/api/reconstruct",
                  "/api/perturbations", "/api/overlap"]
MULTIPART = {"/api/analyze", "/api/sweep", "/api/ablation"}


def form(**fields) -> dict:
    fields.setdefault("image", (io.BytesIO(DIGIT_PNG), "d.png"))
    return {"data": fields, "content_type": "multipart/form-data"}


@pytest.mark.parametrize("path, body, words", [
    ("/api/analyze", {"sample": SAMPLE, "iterations": HUGE}, "1..10"),
    ("/api/analyze", {"sample": SAMPLE, "votes_for": -HUGE}, "0..1151"),
    ("/api/analyze", {"sample": SAMPLE, "transform": {"rotate": HUGE}}, "transform.rotate"),
    ("/api/analyze", {"sample": SAMPLE, "transform": {"scale": True}}, "transform.scale"),
    ("/api/analyze", {"sample": SAMPLE, "transform": {"shear": -HUGE}}, "transform.shear"),
    ("/api/analyze", {"pixels": [[HUGE] * 28] * 28}, "[0, 1]"),
    ("/api/analyze", {"pixels": [[0.5] * 28] * 27 + [[HUGE] + [0] * 27]}, "[0, 1]"),
    ("/api/analyze", {"pixels": [HUGE] * 784}, "28x28"),
    ("/api/reconstruct", {"digit": 3, "vector": [HUGE] + [0] * 15}, "within [-2.0, 2.0]"),
    ("/api/reconstruct", {"digit": HUGE, "vector": [0] * 16}, "0..9"),
    ("/api/perturbations", {"digit": 3, "vector": [-HUGE] * 16}, "within"),
    ("/api/overlap", {"first": SAMPLE, "second": PIXELS, "shift": [HUGE, 0]}, "-4..4"),
    ("/api/overlap", {"first": SAMPLE, "second": [[HUGE] * 28] * 28, "shift": [0, 0]}, "'second'"),
    ("/api/evidence", {"sample": SAMPLE, "top": HUGE}, "1..50"),
    ("/api/evidence", {"sample": SAMPLE, "digits": [HUGE]}, "'digits'"),
    ("/api/ablation", {"sample": SAMPLE, "digit": HUGE}, "0..9"),
    ("/api/sweep", {"sample": SAMPLE, "parameter": ["rotate"]}, "'parameter' must be one of"),
    ("/api/sweep", {"sample": SAMPLE, "parameter": {"rotate": 1}}, "'parameter' must be one of"),
    ("/api/sweep", {"sample": SAMPLE, "parameter": 3}, "'parameter' must be one of"),
    ("/api/sweep", {"sample": SAMPLE, "parameter": "rotate", "uniform_routing": True}, "not used by /api/sweep"),
    ("/api/sweep", {"sample": SAMPLE, "parameter": "rotate", "votes_for": 3}, "not used by /api/sweep"),
    ("/api/sweep", {"sample": SAMPLE, "parameter": "rotate", "transform": {}}, "not used by /api/sweep"),
    ("/api/analyze", {"sample": SAMPLE, "transform": []}, "'transform' must be an object"),
    ("/api/analyze", {"sample": ["a"]}, "unknown sample id"),
])
def test_huge_numbers_and_wrong_types_are_400(client, path, body, words):
    message = assert_error(client.post(path, json=body), 404 if "sample id" in words else 400, words)
    assert "0000000000" * 5 not in message  # the 400-digit number is not echoed


@pytest.mark.parametrize("path", POST_ENDPOINTS)
def test_nan_and_infinity_are_400_everywhere(client, path):
    bodies = {"/api/reconstruct": {"digit": 3, "vector": [float("nan")] * 16},
              "/api/perturbations": {"digit": 3, "vector": [float("inf")] * 16},
              "/api/overlap": {"first": SAMPLE, "second": PIXELS, "shift": [float("nan"), 0]}}
    body = bodies.get(path, {"sample": SAMPLE, "iterations": float("nan")})
    assert_error(client.post(path, **raw_json(body)), 400, "")


@pytest.mark.parametrize("field, value, words", [
    ("iterations", "1_0", "'iterations' must be an integer"),
    ("iterations", "٣", "'iterations' must be an integer"),
    ("iterations", "+3", "'iterations' must be an integer"),
    ("iterations", " 3", "'iterations' must be an integer"),
    ("iterations", "3.0", "'iterations' must be an integer"),
    ("iterations", "9" * 400, "1..10"),
    ("uniform_routing", "yes", "'uniform_routing' must be true or false"),
    ("uniform_routing", "True", "'uniform_routing' must be true or false"),
    ("uniform_routing", "", "'uniform_routing' must be true or false"),
    ("votes_for", "1152", "0..1151"),
    ("transform", '{"rotate": 1e999}', "NaN or Infinity"),
    ("transform", '{"rotate": NaN}', "NaN or Infinity"),
    ("transform", "rotate=5", "'transform' must be an object"),
    ("transform", '{"spin": 5}', "unknown field(s): spin"),
    ("colour", "red", "unknown field(s): colour"),
    ("sample", SAMPLE, "exactly one of"),
])
def test_multipart_values_are_strict(client, field, value, words):
    message = assert_error(client.post("/api/analyze", **form(**{field: value})), 400, words)
    assert len(message) < 300


def test_multipart_repeated_field_and_extra_file(client):
    r = client.post("/api/analyze", data={"image": (io.BytesIO(DIGIT_PNG), "d.png"), "iterations": ["3", "4"]},
                    content_type="multipart/form-data")
    assert_error(r, 400, "'iterations' is given more than once")
    assert_error(client.post("/api/analyze", **form(extra=(io.BytesIO(b"x"), "x.png"))), 400,
                 "the only file field is 'image'")
    two = {"image": [(io.BytesIO(DIGIT_PNG), "a.png"), (io.BytesIO(DIGIT_PNG), "b.png")]}
    assert_error(client.post("/api/analyze", data=two, content_type="multipart/form-data"), 400, "more than once")


def test_multipart_reads_every_field_as_json_does(client):
    """The same options over both transports give the same answer (they were dropped before)."""
    b64 = "data:image/png;base64," + __import__("base64").b64encode(DIGIT_PNG).decode()
    options = {"iterations": 2, "uniform_routing": True, "transform": {"rotate": 10}, "votes_for": 7}
    by_json = client.post("/api/analyze", json={"image": b64, **options}).get_json()
    by_form = client.post("/api/analyze", **form(iterations="2", uniform_routing="1", votes_for="7",
                                                 transform=json.dumps({"rotate": 10}))).get_json()
    assert by_form["source"] == "upload" and by_json["source"] == "image"
    for key in ("lengths", "iterations", "uniform_routing", "transform", "votes", "prediction"):
        assert by_form[key] == by_json[key], key
    # /api/ablation's digit and /api/sweep's parameter arrive too.
    ab = client.post("/api/ablation", **form(digit="5")).get_json()
    assert ab["digit"] == 5
    sw = client.post("/api/sweep", **form(parameter="shear", iterations="2")).get_json()
    assert sw["parameter"] == "shear" and sw["iterations"] == 2 and decode(sw["lengths"]).shape == (11, 10)
    assert_error(client.post("/api/sweep", **form(parameter="spin")), 400, "'parameter' must be one of")
    assert_error(client.post("/api/sweep", **form(parameter="rotate", uniform_routing="false")), 400,
                 "not used by /api/sweep")
    assert_error(client.post("/api/analyze", **form(image=(io.BytesIO(WHITE_PNG), "w.png"))), 422, "no digit")


@pytest.mark.parametrize("path", sorted(set(POST_ENDPOINTS) - MULTIPART))
def test_json_only_endpoints_refuse_multipart_with_415(client, path):
    message = assert_error(client.post(path, **form()), 415, "takes JSON only")
    assert path in message


def test_no_digit_is_422_by_type(client):
    assert_error(client.post("/api/analyze", json={"pixels": [[0] * 28] * 28}), 422, "no digit found")
    assert_error(client.post("/api/overlap", json={"first": [[0] * 28] * 28, "second": SAMPLE, "shift": [0, 0]}),
                 422, "'first': no digit found")


def test_messages_quote_at_most_40_characters(client):
    sent = "q" * 5000
    for path, body in [("/api/analyze", {"sample": sent}), ("/api/analyze", {"sample": SAMPLE, "iterations": sent}),
                       ("/api/analyze", {"sample": SAMPLE, sent: 1}),
                       ("/api/sweep", {"sample": SAMPLE, "parameter": sent}),
                       ("/api/evidence", {"sample": SAMPLE, "digits": [sent]}),
                       ("/api/overlap", {"first": SAMPLE, "second": PIXELS, "shift": [sent, 0]})]:
        message = client.post(path, json=body).get_json()["error"]
        assert "q" * (QUOTE + 1) not in message, (path, message)


# --- limits and routes ---

def multipart_raw(parts: list[tuple[str, bytes]]) -> dict:
    body = b"".join(b'--bb\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (n.encode(), v)
                    for n, v in parts) + b"--bb--\r\n"
    return {"data": body, "content_type": "multipart/form-data; boundary=bb"}


def test_form_limits_name_themselves(client, app):
    message = assert_error(client.post("/api/analyze", **multipart_raw([("sample", b"x" * 600_000)])), 413,
                           "MAX_FORM_MEMORY_SIZE")
    assert f"{app.config['MAX_FORM_MEMORY_SIZE']:,}" in message
    parts = [(f"f{i}", b"1") for i in range(1100)]
    message = assert_error(client.post("/api/analyze", **multipart_raw(parts)), 413, "MAX_FORM_PARTS")
    assert "1,000" in message
    # Exactly at the limit is fine (here refused for what the parts hold, not for their number).
    assert_error(client.post("/api/analyze", **multipart_raw(parts[:999])), 400, "field named 'image'")


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/x/y", "/api//model", "/api/model/"])
def test_everything_under_api_is_json(client, path):
    assert_error(client.get(path), 404, "no api endpoint")


def test_model_serves_every_limit(client):
    limits = client.get("/api/model").get_json()["limits"]
    assert limits["routing_iterations"] == {"min": 1, "max": 10}
    assert limits["vector"] == 2.0 and limits["overlap_shift"] == 4 and limits["evidence_digits"] == 2
    assert limits["evidence_top"] == {"min": 1, "max": 50, "default": 10}
    assert limits["transform"]["rotate"] == {"min": -45.0, "max": 45.0, "steps": 19}
    assert limits["request_bytes"] == 16_000_000 and limits["image_pixels"] == 40_000_000
    assert len(limits["perturbation_steps"]) == 11
    # And the API holds to them: one past each bound is refused.
    top = limits["routing_iterations"]["max"]
    assert client.post("/api/analyze", json={"sample": SAMPLE, "iterations": top + 1}).status_code == 400
    assert client.post("/api/analyze", json={"sample": SAMPLE, "iterations": top}).status_code == 200
    bound = limits["vector"]
    assert client.post("/api/reconstruct", json={"digit": 0, "vector": [bound + 0.01] * 16}).status_code == 400
    assert client.post("/api/reconstruct", json={"digit": 0, "vector": [limits["vector"]] * 16}).status_code == 200


# --- the Host check (also over a real socket in test_server.py) ---

@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1:8080", "[::1]:5000", "[::1]"])
def test_loopback_hosts_are_served(client, host):
    assert client.get("/api/model", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5000", "127.0.0.1.nip.io", "localhost:x",
                                  "[::1]x", "a" * 300, "192.168.1.2"])
@pytest.mark.parametrize("path", ["/", "/api/model", "/static//x", "/nothing"])
def test_other_hosts_are_refused(client, host, path):
    r = client.get(path, headers={"Host": host})
    message = assert_error(r, 421, "--allowed-host")
    assert "Location" not in r.headers and "a" * 41 not in message


def test_allowed_hosts_config_adds_names(random_weights):
    from app import create_app

    app = create_app({"WEIGHTS": str(random_weights), "GALLERY": str(random_weights.with_name("gallery.json")),
                      "DEVICE": "cpu", "TESTING": True, "ALLOWED_HOSTS": ("capsnet.lan",)})
    c = app.test_client()
    assert c.get("/api/model", headers={"Host": "CapsNet.lan:5000"}).status_code == 200
    assert c.get("/api/model", headers={"Host": "evil.lan"}).status_code == 421
    assert c.get("/api/model", headers={"Host": "localhost"}).status_code == 200
