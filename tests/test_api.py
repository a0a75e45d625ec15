"""The JSON API's happy paths (app/api.py), with schema and shape checks on every answer.

Numbers are checked two ways where the API allows it: routing coefficients sum to 1 per primary
capsule, the decoder endpoint reproduces the analysis' reconstruction, a sample id and its pixels
give the same analysis."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.encoding import decode

# conftest's random_weights serves a copy of this gallery
GALLERY = Path(__file__).resolve().parent.parent / "weights" / "mnist" / "gallery.json"
SAMPLES = json.loads(GALLERY.read_text())["samples"]
SAMPLE = SAMPLES[0]["id"]
STEPS = [-0.25, -0.2, -0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25]


def gallery_pixels(index: int = 0) -> np.ndarray:
    """(28, 28) float32 in [0, 1]: a real MNIST test digit from the gallery."""
    raw = base64.b64decode(SAMPLES[index]["pixels"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(28, 28).astype(np.float32) / 255


def digit_png(index: int = 0, size: int = 140, dark_on_light: bool = True) -> bytes:
    """A gallery digit as a user would upload it: bigger, dark ink on white paper, PNG."""
    a = (gallery_pixels(index) * 255).astype(np.uint8)
    img = Image.fromarray(255 - a if dark_on_light else a, mode="L").resize((size, size), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def tensor(obj: dict, shape: tuple, dtype: str | None = None) -> np.ndarray:
    """Decodes an encoded tensor after checking its envelope."""
    assert set(obj) == {"shape", "dtype", "data", "scale"}
    assert obj["shape"] == list(shape)
    if dtype:
        assert obj["dtype"] == dtype
    assert obj["scale"] > 0
    a = decode(obj)
    assert np.all(np.isfinite(a))
    return a


def check_analysis(body: dict, iterations: int = 3) -> None:
    """The full schema of a POST /api/analyze answer."""
    layers = body["layers"]
    assert {"conv1", "primary_caps", "routing", "digit_caps", "reconstruction"} <= set(layers)

    maps = tensor(layers["conv1"]["maps"], (256, 20, 20), "uint8")
    assert maps.min() >= 0  # after ReLU

    primary = layers["primary_caps"]
    p_lengths = tensor(primary["lengths"], (32, 6, 6))
    assert p_lengths.min() >= 0 and p_lengths.max() < 1
    p_vectors = tensor(primary["vectors"], (32, 6, 6, 8))
    p_scale = primary["vectors"]["scale"]
    # the lengths are the norms of the vectors (vectors quantised: 8 components each off by <= scale/2)
    np.testing.assert_allclose(np.linalg.norm(p_vectors, axis=-1), p_lengths, atol=np.sqrt(8) * p_scale / 2 + 2e-3)

    steps = layers["routing"]["iterations"]
    assert body["iterations"] == iterations and len(steps) == iterations
    for step in steps:
        assert {"c", "agreement", "mass", "lengths"} <= set(step)
        c = tensor(step["c"], (10, 32, 6, 6), "uint8")
        tolerance = 10 * step["c"]["scale"] / 2 + 1e-5
        np.testing.assert_allclose(c.sum(axis=0), 1.0, atol=tolerance)
        tensor(step["agreement"], (10, 32, 6, 6), "int8")
        assert len(step["mass"]) == 10 and all(m >= 0 for m in step["mass"])
        assert sum(step["mass"]) == pytest.approx(1.0, abs=1e-4)
        assert len(step["lengths"]) == 10 and all(0 <= x < 1 for x in step["lengths"])

    caps = layers["digit_caps"]
    vectors = tensor(caps["vectors"], (10, 16), "float32")
    lengths = np.array(caps["lengths"])
    assert lengths.shape == (10,) and lengths.min() >= 0 and lengths.max() < 1
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-1), lengths, atol=1e-6)
    assert body["lengths"] == caps["lengths"] == steps[-1]["lengths"]
    assert body["prediction"] == int(np.argmax(lengths))

    rec = layers["reconstruction"]
    assert rec["digit"] == body["prediction"]  # at test time the decoder sees the longest capsule
    image = tensor(rec["image"], (28, 28))
    assert image.min() >= 0 and image.max() <= 1

    x = tensor(body["input"], (28, 28))
    assert x.min() >= 0 and x.max() <= 1 and x.max() > 0
    assert body["uniform_routing"] in (True, False) and body["untrained"] is False
    assert set(body["timing_ms"]) == {"input", "forward", "serialize", "total"}


def analyze(client, **body) -> dict:
    r = client.post("/api/analyze", json=body)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    return r.get_json()


def test_analyze_sample(client):
    body = analyze(client, sample=SAMPLE)
    check_analysis(body)
    assert body["source"] == "sample" and body["sample"] == SAMPLE and body["preprocessing"] is None
    # a gallery sample is the MNIST digit itself, unchanged
    np.testing.assert_allclose(decode(body["input"]), gallery_pixels(0), atol=1e-3)


def test_analyze_pixels_matches_sample(client):
    by_pixels = analyze(client, pixels=gallery_pixels(0).tolist())
    check_analysis(by_pixels)
    assert by_pixels["source"] == "pixels" and by_pixels["sample"] is None
    by_sample = analyze(client, sample=SAMPLE)
    assert by_pixels["prediction"] == by_sample["prediction"]
    np.testing.assert_allclose(decode(by_pixels["layers"]["digit_caps"]["vectors"]),
                               decode(by_sample["layers"]["digit_caps"]["vectors"]), rtol=1e-5, atol=1e-8)


def test_analyze_image_data_url(client):
    body = analyze(client, image=data_url(digit_png(1)))
    check_analysis(body)
    assert body["source"] == "image"
    pre = body["preprocessing"]
    assert pre["inverted"] is True and pre["source_size"] == [140, 140]
    # the preprocessed digit fits a 20x20 box centred in 28x28, like MNIST
    x = decode(body["input"])
    ys, xs = np.nonzero(x > 0.05)
    assert ys.max() - ys.min() < 22 and xs.max() - xs.min() < 22


def test_analyze_image_raw_base64(client):
    png = digit_png(2, dark_on_light=False)
    body = analyze(client, image=base64.b64encode(png).decode("ascii"))
    check_analysis(body)
    assert body["source"] == "image" and body["preprocessing"]["inverted"] is False
    # the same bytes as a data URL give the same answer
    again = analyze(client, image=data_url(png))
    assert again["lengths"] == body["lengths"]


def test_analyze_multipart_upload(client):
    r = client.post("/api/analyze", content_type="multipart/form-data",
                    data={"image": (io.BytesIO(digit_png(3)), "digit.png"), "iterations": "2",
                          "uniform_routing": "false"})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    check_analysis(body, iterations=2)
    assert body["source"] == "upload" and body["uniform_routing"] is False


@pytest.mark.parametrize("iterations", [1, 2, 5, 10])
def test_analyze_iterations(client, iterations):
    body = analyze(client, sample=SAMPLE, iterations=iterations)
    check_analysis(body, iterations)


def test_iterations_default_is_the_papers_three(client):
    assert analyze(client, sample=SAMPLE)["iterations"] == 3


def test_first_iteration_starts_from_uniform_coupling(client):
    # b = 0 before the first iteration, so c = softmax(0) = 1/10 (random weights barely move it later)
    steps = analyze(client, sample=SAMPLE, iterations=3)["layers"]["routing"]["iterations"]
    np.testing.assert_allclose(decode(steps[0]["c"]), 0.1, atol=steps[0]["c"]["scale"] / 2 + 1e-6)


def test_uniform_routing(client):
    body = analyze(client, sample=SAMPLE, iterations=5, uniform_routing=True)
    assert body["uniform_routing"] is True
    check_analysis(body, iterations=1)  # no routing: one step with c = 1/10
    c = body["layers"]["routing"]["iterations"][0]["c"]
    np.testing.assert_allclose(decode(c), 0.1, atol=c["scale"] / 2 + 1e-6)


def test_reconstruct_reproduces_the_analysis(client):
    body = analyze(client, sample=SAMPLE)
    digit = body["prediction"]
    vector = decode(body["layers"]["digit_caps"]["vectors"])[digit]
    r = client.post("/api/reconstruct", json={"digit": digit, "vector": vector.tolist()})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    out = r.get_json()
    assert out["digit"] == digit
    image = tensor(out["image"], (28, 28))
    np.testing.assert_allclose(image, decode(body["layers"]["reconstruction"]["image"]), atol=2e-3)


def test_reconstruction_follows_the_vector(client):
    vector = [0.1] * 16

    def image(v, digit=4):
        r = client.post("/api/reconstruct", json={"digit": digit, "vector": v})
        assert r.status_code == 200
        return tensor(r.get_json()["image"], (28, 28))

    base = image(vector)
    assert base.min() >= 0 and base.max() <= 1
    np.testing.assert_array_equal(image(vector), base)  # deterministic
    changed = image(vector[:5] + [0.35] + vector[6:])
    assert np.abs(changed - base).max() > 1e-3
    assert np.abs(image(vector, digit=7) - base).max() > 1e-3  # the same vector in another capsule
    assert image([2.0] * 8 + [-2.0] * 8).shape == (28, 28)  # the limits are allowed


def test_perturbations(client):
    body = analyze(client, sample=SAMPLE)
    digit = body["prediction"]
    vector = decode(body["layers"]["digit_caps"]["vectors"])[digit]
    r = client.post("/api/perturbations", json={"digit": digit, "vector": vector.tolist()})
    assert r.status_code == 200
    out = r.get_json()
    assert out["digit"] == digit
    assert out["steps"] == pytest.approx(STEPS)
    grid = tensor(out["images"], (16, 11, 28, 28), "uint8")
    assert grid.min() >= 0 and grid.max() <= 1
    # the middle column (step 0) is the unperturbed reconstruction in every row
    rec = decode(body["layers"]["reconstruction"]["image"])
    tolerance = out["images"]["scale"] / 2 + 2e-3
    for row in range(16):
        np.testing.assert_allclose(grid[row, 5], rec, atol=tolerance)
    # and the steps change the picture
    assert np.abs(grid[:, 0] - grid[:, 10]).max() > out["images"]["scale"]


def test_samples(client):
    r = client.get("/api/samples")
    assert r.status_code == 200
    samples = r.get_json()["samples"]
    assert len(samples) == len(SAMPLES) > 0
    ids = [s["id"] for s in samples]
    assert len(set(ids)) == len(ids) and SAMPLE in ids
    for s, entry in zip(samples, SAMPLES):
        assert s["id"] == entry["id"] and s["label"] == entry["label"] and 0 <= s["label"] <= 9
        assert "pixels" not in s
        image = tensor(s["image"], (28, 28), "uint8")
        assert image.min() >= 0 and image.max() <= 1
    first = decode(samples[0]["image"])
    np.testing.assert_allclose(first, gallery_pixels(0), atol=samples[0]["image"]["scale"] / 2 + 1e-6)


def test_model_info(client):
    r = client.get("/api/model")
    assert r.status_code == 200
    info = r.get_json()
    assert info["parameters"]["total"] == 8215568
    assert set(info["parameters"]) == {"conv1", "primary_caps", "digit_caps", "decoder", "total"}
    assert info["config"]["routing_iterations"] == info["routing_iterations_default"] == 3
    assert info["routing_iterations_max"] == 10
    assert info["primary_capsules"] == 1152
    assert info["untrained"] is False and info["device"] == "cpu"
    assert info["manifest"]["note"] == "random test weights"


def test_kernels_and_etag(client, app):
    r = client.get("/api/kernels")
    assert r.status_code == 200 and r.mimetype == "application/json"
    etag = r.headers["ETag"]
    assert etag.startswith('"') and "max-age" in r.headers["Cache-Control"]
    body = r.get_json()
    kernels = tensor(body["kernels"], (256, 9, 9), "float32")
    tensor(body["bias"], (256,), "float32")
    model = app.extensions["capsnet"].model
    np.testing.assert_array_equal(kernels, model.conv1.weight.detach()[:, 0].numpy())

    again = client.get("/api/kernels", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get("/api/kernels", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.get_json() == body


def test_security_headers(client):
    for r in (client.get("/"), client.get("/api/model"), client.post("/api/analyze", json={"sample": SAMPLE})):
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
    r = client.post("/api/analyze", json={"sample": SAMPLE})
    assert r.headers["Cache-Control"] == "no-store"
    assert client.get("/api/samples").headers["Cache-Control"] == "no-store"


def test_index_page(client):
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert b"<html" in r.data.lower() or b"<!doctype html" in r.data.lower()


def test_no_debug_mode(app):
    assert not app.debug
