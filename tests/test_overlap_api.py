"""POST /api/overlap: the composite the model saw, one forward pass (the same lengths as /api/analyze on
that composite), the two longest capsules and their reconstructions (the same images as /api/reconstruct
on each capsule), and every kind of bad input answered with a 4xx that says what was wrong."""
import json

import numpy as np
import pytest

from app.encoding import decode
from app.samples import Gallery
from conftest import GALLERY

FIRST, SECOND = "test-00003", "test-00090"  # a 0 and a 3


@pytest.fixture(scope="module")
def gallery():
    return Gallery(GALLERY)


def post(client, **body):
    return client.post("/api/overlap", json={"first": FIRST, "second": SECOND, "shift": [0, 0], **body})


def ok(client, **body):
    r = post(client, **body)
    assert r.status_code == 200, r.json
    return r.json


def slow_composite(a, b, dx, dy):
    out = a.astype(np.float64).copy()
    for y in range(28):
        for x in range(28):
            if 0 <= y - dy < 28 and 0 <= x - dx < 28:
                out[y, x] = min(1.0, out[y, x] + b[y - dy, x - dx])
    return out


@pytest.mark.parametrize("shift", [[0, 0], [4, -4], [-3, 2]])
def test_composite_is_the_clipped_sum_of_first_and_shifted_second(client, gallery, shift):
    body = ok(client, shift=shift)
    a, b = gallery.image(FIRST), gallery.image(SECOND)
    expected = slow_composite(a, b, *shift)
    composite, parts = decode(body["input"]), decode(body["parts"])
    np.testing.assert_allclose(composite, expected, atol=1e-3)  # float16
    np.testing.assert_allclose(parts[0], a, atol=1e-3)
    np.testing.assert_allclose(parts[1], slow_composite(np.zeros((28, 28)), b, *shift), atol=1e-3)
    assert body["shift"] == shift
    assert body["samples"] == [FIRST, SECOND] and body["labels"] == [0, 3]
    assert body["untrained"] is False


def test_top2_and_reconstructions_match_analyze_and_reconstruct(client, gallery):
    body = ok(client, shift=[2, -1], iterations=4)
    assert body["iterations"] == 4
    pixels = slow_composite(gallery.image(FIRST), gallery.image(SECOND), 2, -1)
    walk = client.post("/api/analyze", json={"pixels": pixels.tolist(), "iterations": 4}).json
    np.testing.assert_allclose(body["lengths"], walk["lengths"], atol=1e-5)
    order = np.argsort(-np.array(body["lengths"]))
    assert [t["digit"] for t in body["top2"]] == order[:2].tolist()
    assert [t["length"] for t in body["top2"]] == [body["lengths"][d] for d in order[:2]]
    vectors = decode(walk["layers"]["digit_caps"]["vectors"])
    images = decode(body["reconstructions"])
    assert images.shape == (2, 28, 28)
    for k, top in enumerate(body["top2"]):
        alone = client.post("/api/reconstruct", json={"digit": top["digit"], "vector": vectors[top["digit"]].tolist()})
        np.testing.assert_allclose(images[k], decode(alone.json["image"]), atol=2e-3)
    # the longest capsule's reconstruction is also the one /api/analyze sends
    np.testing.assert_allclose(images[0], decode(walk["layers"]["reconstruction"]["image"]), atol=2e-3)


def test_pixels_work_like_the_same_sample(client, gallery):
    by_id = ok(client, shift=[1, 1])
    by_pixels = ok(client, first=gallery.image(FIRST).tolist(), shift=[1, 1])
    np.testing.assert_allclose(by_pixels["lengths"], by_id["lengths"], atol=1e-6)
    assert by_pixels["samples"] == [None, SECOND] and by_pixels["labels"] == [None, 3]


def test_default_iterations_and_swapped_order(client):
    body = client.post("/api/overlap", json={"first": SECOND, "second": FIRST, "shift": [0, 0]}).json
    assert body["iterations"] == 3
    np.testing.assert_allclose(body["lengths"], ok(client)["lengths"], atol=1e-6)  # a sum is symmetric


NAN_PIXELS = "[" + ",".join(["[" + ",".join(["NaN"] + ["0.5"] * 27) + "]"] + ["[" + ",".join(["0.5"] * 28) + "]"] * 27) + "]"


@pytest.mark.parametrize("body, status, words", [
    ({"second": SECOND, "shift": [0, 0]}, 400, "'first' is required"),
    ({"first": FIRST, "shift": [0, 0]}, 400, "'second' is required"),
    ({"first": FIRST, "second": SECOND}, 400, "'shift' must be a list of 2 integers"),
    ({"first": FIRST, "second": FIRST, "shift": [1, 1]}, 400, "same sample"),
    ({"first": "test-99999", "second": SECOND, "shift": [0, 0]}, 404, "unknown sample id 'test-99999' in 'first'"),
    ({"first": FIRST, "second": "nope", "shift": [0, 0]}, 404, "in 'second'"),
    ({"first": 3, "second": SECOND, "shift": [0, 0]}, 400, "'first' must be a gallery sample id or 28x28 pixels"),
    ({"first": FIRST, "second": {"sample": SECOND}, "shift": [0, 0]}, 400, "'second' must be"),
    ({"first": FIRST, "second": SECOND, "shift": [5, 0]}, 400, "'shift' values must be in -4..4, got [5, 0]"),
    ({"first": FIRST, "second": SECOND, "shift": [0, -5]}, 400, "in -4..4"),
    ({"first": FIRST, "second": SECOND, "shift": [1.5, 0]}, 400, "only integers"),
    ({"first": FIRST, "second": SECOND, "shift": ["1", 0]}, 400, "only integers"),
    ({"first": FIRST, "second": SECOND, "shift": [True, 0]}, 400, "only integers"),
    ({"first": FIRST, "second": SECOND, "shift": [1, 2, 3]}, 400, "list of 2"),
    ({"first": FIRST, "second": SECOND, "shift": 2}, 400, "list of 2"),
    ({"first": FIRST, "second": SECOND, "shift": [0, 0], "iterations": 0}, 400, "'iterations' must be in 1..10"),
    ({"first": FIRST, "second": SECOND, "shift": [0, 0], "iterations": "3"}, 400, "'iterations' must be an integer"),
    ({"first": FIRST, "second": SECOND, "shift": [0, 0], "colour": "red"}, 400, "unknown field(s): colour"),
    ({"first": [[0.5] * 28] * 27, "second": SECOND, "shift": [0, 0]}, 400, "'first': pixels must be 28x28"),
    ({"first": [[2.0] * 28] * 28, "second": SECOND, "shift": [0, 0]}, 400, "'first': pixels must be in [0, 1]"),
    ({"first": [["0.5"] * 28] * 28, "second": SECOND, "shift": [0, 0]}, 400, "array of numbers"),
    ({"first": FIRST, "second": [[0] * 28] * 28, "shift": [0, 0]}, 422, "'second': no digit found"),
])
def test_bad_input(client, body, status, words):
    r = client.post("/api/overlap", json=body)
    assert r.status_code == status and words in r.json["error"], (r.status_code, r.json)


def test_nan_pixels_and_nan_shift(client):
    body = '{"first": %s, "second": "%s", "shift": [0, 0]}' % (NAN_PIXELS, SECOND)
    r = client.post("/api/overlap", data=body, content_type="application/json")
    assert r.status_code == 400 and "NaN" in r.json["error"], r.json
    r = client.post("/api/overlap", data='{"first": "%s", "second": "%s", "shift": [NaN, 0]}' % (FIRST, SECOND),
                    content_type="application/json")
    assert r.status_code == 400 and "only integers" in r.json["error"], r.json


def test_not_json_and_not_an_object(client):
    r = client.post("/api/overlap", data="first=test-00003", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415 and "application/json" in r.json["error"]
    r = client.post("/api/overlap", data=json.dumps([FIRST, SECOND]), content_type="application/json")
    assert r.status_code == 400 and "object" in r.json["error"]
    r = client.get("/api/overlap")
    assert r.status_code == 405 and "error" in r.json
