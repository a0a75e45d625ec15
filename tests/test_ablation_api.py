"""The routing ablation: model/ablation.py checked against separate forward passes and a slow reference
of Procedure 1, and POST /api/ablation checked against /api/analyze, plus its answers to bad input.
Runs on a random checkpoint whose routing moves c_ij visibly (tests/routed_weights.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from app import create_app
from app.encoding import decode
from app.samples import Gallery
from model.ablation import ablate
from model.inference import analyze as analyze_image
from model.weights import load_weights
from routed_weights import write_routed_weights

SAMPLE = "test-00003"


@pytest.fixture(scope="module")
def weights(random_weights, tmp_path_factory):
    return write_routed_weights(random_weights, tmp_path_factory.mktemp("routed"))


@pytest.fixture(scope="module")
def model(weights):
    return load_weights(weights, "cpu")


@pytest.fixture(scope="module")
def client(weights):
    app = create_app({"WEIGHTS": str(weights), "GALLERY": str(weights.with_name("gallery.json")),
                      "DEVICE": "cpu", "TESTING": True})
    return app.test_client()


@pytest.fixture(scope="module")
def image(weights):
    return Gallery(weights.with_name("gallery.json")).image(SAMPLE)


def reference_routing(u_hat: np.ndarray, iterations: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Procedure 1 of the paper written out slowly in float64, one capsule pair at a time where it is
    cheap to: u_hat (1152, 10, 16) -> per iteration (c (1152, 10), |v| (10,))."""
    n, J, _ = u_hat.shape
    b = np.zeros((n, J))
    out = []
    for _ in range(iterations):
        c = np.exp(b) / np.exp(b).sum(axis=1, keepdims=True)
        v = []
        for j in range(J):
            s = sum(c[i, j] * u_hat[i, j] for i in range(n))
            norm2 = float(s @ s)
            v.append(norm2 / (1 + norm2) * s / np.sqrt(norm2))
        out.append((c, np.array([np.linalg.norm(vj) for vj in v])))
        for j in range(J):
            b[:, j] += u_hat[:, j] @ v[j]
    return out


# ---- model/ablation.py -----------------------------------------------------------------------------------

def test_each_iteration_count_equals_its_own_forward_pass(model, image):
    a = ablate(model, image)
    assert a.lengths.shape == (10, 10)
    for r in range(1, 11):
        out, trace = analyze_image(model, image, r)
        assert len(trace.routing) == r
        assert torch.equal(a.lengths[r - 1], out.lengths[0]), f"iterations={r}"
        assert a.predictions[r - 1] == int(out.lengths[0].argmax()) == a.prediction_at(r)


def test_uniform_coupling_is_exactly_one_iteration(model, image):
    a = ablate(model, image)
    assert a.uniform_prediction != a.prediction_at(3), "these weights should make routing change the answer"
    out, trace = analyze_image(model, image, 7, uniform_routing=True)
    assert len(trace.routing) == 1 and torch.all(trace.routing[0].c == 0.1)
    assert torch.equal(a.uniform_lengths, out.lengths[0])
    assert torch.equal(a.uniform_lengths, a.lengths[0])
    assert a.uniform_prediction == a.predictions[0]


def test_lengths_and_coupling_changes_match_a_slow_reference(model, image):
    a = ablate(model, image)
    _, trace = analyze_image(model, image, 10)
    ref = reference_routing(trace.u_hat[0].double().numpy(), 10)
    np.testing.assert_allclose(a.lengths.numpy(), [lengths for _, lengths in ref], rtol=1e-5, atol=1e-7)
    ref_delta = np.stack([ref[r][0] - ref[r - 1][0] for r in range(1, 10)])  # (9, 1152, 10)
    assert a.delta_c.shape == (9, 1152, 10)
    np.testing.assert_allclose(a.delta_c.numpy(), ref_delta, atol=1e-6)
    # c sums to 1 over digits in every iteration, so each capsule's change sums to 0.
    np.testing.assert_allclose(a.delta_c.sum(dim=2).numpy(), 0, atol=1e-6)
    assert a.delta_c.abs().max() > 0.05, "routing hardly moved c: the comparison above would say little"
    np.testing.assert_allclose(a.mean_abs_change().numpy(), np.abs(ref_delta).mean(axis=1), rtol=1e-4, atol=1e-9)


def test_ablation_needs_two_iteration_counts(model, image):
    with pytest.raises(ValueError):
        ablate(model, image, iterations=1)


# ---- POST /api/ablation ----------------------------------------------------------------------------------

def ablation(client, **body):
    r = client.post("/api/ablation", json={"sample": SAMPLE, **body})
    assert r.status_code == 200, r.json
    return r.json


def test_response_matches_analyze_at_every_iteration_count(client):
    body = ablation(client)
    assert body["iterations"] == 10 and body["default_iterations"] == 3
    lengths = decode(body["lengths"])
    assert lengths.shape == (10, 10)
    assert body["predictions"] == lengths.argmax(axis=1).tolist()
    for r in (1, 2, 3, 10):
        analysis = client.post("/api/analyze", json={"sample": SAMPLE, "iterations": r}).json
        np.testing.assert_allclose(lengths[r - 1], analysis["lengths"], atol=5e-7)  # analyze rounds to 6 places
        assert body["predictions"][r - 1] == analysis["prediction"]
    uniform = client.post("/api/analyze", json={"sample": SAMPLE, "uniform_routing": True}).json
    np.testing.assert_allclose(decode(body["uniform"]["lengths"]), uniform["lengths"], atol=5e-7)
    assert body["uniform"]["prediction"] == uniform["prediction"]
    assert body["uniform"]["equals_iterations_1"] is True
    np.testing.assert_array_equal(decode(body["uniform"]["lengths"]), lengths[0])
    assert body["source"] == "sample" and body["sample"] == SAMPLE and body["untrained"] is False


def test_default_digit_is_the_prediction_at_the_default_iterations(client):
    body = ablation(client)
    assert body["digit"] == client.post("/api/analyze", json={"sample": SAMPLE}).json["prediction"]
    assert ablation(client, digit=None)["digit"] == body["digit"]


def test_delta_c_maps_match_the_model_and_sum_to_zero_over_digits(client, model, image):
    a = ablate(model, image)
    total = np.zeros((9, 32, 6, 6))
    tolerance = np.zeros(9)
    for j in range(10):
        body = ablation(client, digit=j)
        assert body["digit"] == j
        assert [d["step"] for d in body["delta_c"]] == list(range(2, 11))
        for k, d in enumerate(body["delta_c"]):
            m = decode(d["map"])
            assert m.shape == (32, 6, 6) and d["map"]["dtype"] == "int8"
            exact = a.delta_c[k, :, j].numpy().reshape(32, 6, 6)
            # Each map is quantised on its own: the largest |Δc| is exact to float32, the rest within half a step.
            np.testing.assert_allclose(m, exact, atol=d["map"]["scale"] / 2 + 1e-9)
            assert np.abs(m).max() == pytest.approx(np.abs(exact).max(), rel=1e-5)
            total[k] += m
            tolerance[k] += d["map"]["scale"] / 2
        mean_abs = decode(body["delta_c_mean_abs"])
        assert mean_abs.shape == (9, 10)
        np.testing.assert_allclose(mean_abs, a.mean_abs_change().numpy(), rtol=1e-6)
    for k in range(9):
        assert np.abs(total[k]).max() <= tolerance[k] + 1e-9, f"step {k + 2}: Δc does not sum to 0 over digits"


def test_pixels_input(client, image):
    body = client.post("/api/ablation", json={"pixels": image.tolist()}).json
    np.testing.assert_allclose(decode(body["lengths"]), decode(ablation(client)["lengths"]), atol=1e-6)
    assert body["source"] == "pixels" and body["sample"] is None


def test_multipart_upload(client):
    import io

    from PIL import Image

    canvas = Image.new("L", (100, 100), 0)
    canvas.paste(255, (40, 10, 60, 90))
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    r = client.post("/api/ablation", data={"image": (io.BytesIO(buffer.getvalue()), "one.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.json
    assert r.json["source"] == "upload" and len(r.json["delta_c"]) == 9
    r = client.post("/api/ablation", data={"image": (io.BytesIO(buffer.getvalue()), "one.png"), "iterations": "3"},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and "'iterations' not used by /api/ablation" in r.json["error"]


@pytest.mark.parametrize("body, status, words", [
    ({"sample": SAMPLE, "digit": 10}, 400, "'digit' must be in 0..9"),
    ({"sample": SAMPLE, "digit": -1}, 400, "'digit' must be in 0..9"),
    ({"sample": SAMPLE, "digit": "3"}, 400, "'digit' must be an integer"),
    ({"sample": SAMPLE, "digit": 3.0}, 400, "'digit' must be an integer"),
    ({"sample": SAMPLE, "digit": True}, 400, "'digit' must be an integer"),
    ({"sample": SAMPLE, "digit": [3]}, 400, "'digit' must be an integer"),
    ({"sample": SAMPLE, "iterations": 3}, 400, "'iterations' not used by /api/ablation"),
    ({"sample": SAMPLE, "uniform_routing": True}, 400, "'uniform_routing' not used"),
    ({"sample": SAMPLE, "transform": {"rotate": 5}}, 400, "'transform' not used"),
    ({"sample": SAMPLE, "votes_for": 3}, 400, "'votes_for' not used"),
    ({"sample": SAMPLE, "colour": 1}, 400, "unknown field(s): colour"),
    ({}, 400, "give exactly one of"),
    ({"sample": SAMPLE, "pixels": [[0] * 28] * 28}, 400, "give exactly one of"),
    ({"sample": "test-99999"}, 404, "unknown sample id"),
    ({"sample": 3}, 404, "unknown sample id"),
    ({"pixels": [[0.5] * 27] * 28}, 400, "28x28"),
    ({"pixels": [[2.0] * 28] * 28}, 400, "[0, 1]"),
    ({"image": "not base64!"}, 400, "not valid base64"),
])
def test_bad_input(client, body, status, words):
    r = client.post("/api/ablation", json=body)
    assert r.status_code == status, r.json
    assert words in r.json["error"], r.json


@pytest.mark.parametrize("raw", [
    '{"sample": "test-00003", "digit": NaN}',
    '{"pixels": [[NaN' + ', 0' * 27 + ']' + (', [' + ', '.join(['0'] * 28) + ']') * 27 + ']}',
])
def test_nan_is_refused(client, raw):
    r = client.post("/api/ablation", data=raw, content_type="application/json")
    assert r.status_code == 400 and "error" in r.json, r.json


def test_not_json_and_wrong_method(client):
    r = client.post("/api/ablation", data="sample=test-00003", content_type="text/plain")
    assert r.status_code == 415 and "Content-Type: application/json" in r.json["error"]
    r = client.post("/api/ablation", data="[1, 2]", content_type="application/json")
    assert r.status_code == 400 and "must be an object" in r.json["error"]
    r = client.post("/api/ablation", data="{not json", content_type="application/json")
    assert r.status_code == 400 and "not valid JSON" in r.json["error"]
    r = client.get("/api/ablation")
    assert r.status_code == 405 and "error" in r.json


def test_gallery_stats_agree_with_single_ablations(model, weights, capsys):
    from model.ablation import gallery_stats, main
    from model.gallery import read

    images, labels, _ = read(weights.with_name("gallery.json"))
    images, labels = images[:12], labels[:12]
    stats = gallery_stats(model, images, labels)
    runs = [ablate(model, im) for im in images]
    predicted = np.array([a.prediction_at(3) for a in runs])
    uniform = np.array([a.uniform_prediction for a in runs])
    right = predicted == labels
    assert stats["digits"] == 12 and stats["right"] + stats["wrong"] == 12 and stats["right"] == right.sum()
    assert stats["right_changed_by_routing"] == ((uniform != predicted) & right).sum()
    assert stats["wrong_changed_by_routing"] == ((uniform != predicted) & ~right).sum()
    assert stats["wrong_right_without_routing"] == ((uniform == labels) & ~right).sum()
    if right.any():
        lengths = [float(a.lengths[2, p]) for a, p, r in zip(runs, predicted, right) if r]
        assert stats["median_length_3_iterations_right"] == round(float(np.median(lengths)), 3)
    lo, hi = stats["mean_abs_delta_c_range"]
    assert 0 <= lo <= hi and hi > 1e-3  # W x 100: routing moves c visibly
    # The CLI prints the same for the whole gallery, as one JSON line.
    assert main(["--weights", str(weights)]) == 0
    assert json.loads(capsys.readouterr().out)["digits"] == len(read(weights.with_name("gallery.json"))[1])
