"""the equivariance endpoints and options: transforms, sweeps, one capsule's votes, report, capsule stats."""
import base64
import shutil

import numpy as np
import pytest
import torch

from app import create_app
from app.encoding import decode
from model import capsule_stats, evaluate

SAMPLE = "test-00003"


def analyze(client, **body):
    r = client.post("/api/analyze", json={"sample": SAMPLE, **body})
    assert r.status_code == 200, r.json
    return r.json


def test_identity_transform_changes_nothing(client):
    plain, same = analyze(client), analyze(client, transform={"rotate": 0, "scale": 1})
    assert plain["lengths"] == same["lengths"]
    assert same["transform"] == {"rotate": 0.0, "shift_x": 0.0, "shift_y": 0.0, "scale": 1.0, "shear": 0.0,
                                 "thickness": 0.0}


def test_transform_is_applied_to_the_input_the_model_sees(client):
    plain = decode(analyze(client)["input"])
    shifted = analyze(client, transform={"shift_x": 3})
    moved = decode(shifted["input"])
    np.testing.assert_allclose(moved[:, 3:], plain[:, :-3], atol=2e-3)
    assert shifted["lengths"] != analyze(client)["lengths"]


def test_votes_of_one_capsule_match_the_routing_maps(client):
    body = analyze(client, votes_for=100, iterations=2)
    votes = body["votes"]
    assert votes["capsule"] == 100
    assert decode(votes["u_hat"]).shape == (10, 16)
    assert decode(votes["vector"]).shape == (8,)
    t, r, c = 100 // 36, (100 % 36) // 6, 100 % 6
    for it, cs in zip(body["layers"]["routing"]["iterations"], votes["c"]):
        c_map = decode(it["c"])[:, t, r, c]
        np.testing.assert_allclose(cs, c_map, atol=it["c"]["scale"] / 2 + 1e-6)
        assert sum(cs) == pytest.approx(1, abs=1e-5)


def test_sweep_shapes_and_identity_step_equals_analyze(client):
    r = client.post("/api/sweep", json={"sample": SAMPLE, "parameter": "rotate"})
    assert r.status_code == 200, r.json
    body = r.json
    n = len(body["values"])
    assert n == 19 and body["values"][0] == -45 and body["values"][-1] == 45
    assert decode(body["images"]).shape == (n, 28, 28)
    lengths, vectors = decode(body["lengths"]), decode(body["vectors"])
    assert lengths.shape == (n, 10) and vectors.shape == (n, 10, 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-1), lengths, atol=1e-5)
    identity = body["values"].index(0)
    np.testing.assert_allclose(lengths[identity], analyze(client)["lengths"], atol=1e-5)


@pytest.mark.parametrize("body, words", [
    ({"sample": SAMPLE}, "'parameter' must be one of"),
    ({"sample": SAMPLE, "parameter": "colour"}, "'parameter' must be one of"),
    ({"sample": SAMPLE, "parameter": "rotate", "transform": {"rotate": 5}}, "not used by /api/sweep"),
    ({"sample": SAMPLE, "parameter": "rotate", "extra": 1}, "unknown field"),
])
def test_sweep_bad_input(client, body, words):
    r = client.post("/api/sweep", json=body)
    assert r.status_code == 400 and words in r.json["error"]


@pytest.mark.parametrize("body, words", [
    ({"transform": {"rotate": 46}}, "transform.rotate"),
    ({"transform": {"scale": 0.5}}, "transform.scale"),
    ({"transform": {"shear": "a lot"}}, "transform.shear"),
    ({"transform": {"thickness": True}}, "transform.thickness"),
    ({"transform": {"spin": 1}}, "unknown field"),
    ({"transform": [1, 2]}, "'transform' must be an object"),
    ({"votes_for": 1152}, "'votes_for' must be in 0..1151"),
    ({"votes_for": -1}, "'votes_for'"),
    ({"votes_for": "7"}, "'votes_for' must be an integer"),
])
def test_analyze_bad_equivariance_options(client, body, words):
    r = client.post("/api/analyze", json={"sample": SAMPLE, **body})
    assert r.status_code == 400 and words in r.json["error"], r.json


def test_nan_in_transform_is_refused(client):
    r = client.post("/api/analyze", data='{"sample": "test-00003", "transform": {"rotate": NaN}}',
                    content_type="application/json")
    assert r.status_code == 400 and "error" in r.json


def test_report_and_stats_404_when_not_shipped(client):
    for path in ("/api/report", "/api/capsule_stats"):
        r = client.get(path)
        assert r.status_code == 404 and "error" in r.json


@pytest.fixture
def shipped_app(random_weights, fake_mnist, tmp_path):
    """The random weights with a report and capsule statistics written by the real CLIs: the report over the
    bundled test set (the CLI's default), the statistics over a generated training set in the real format."""
    for f in random_weights.parent.iterdir():
        shutil.copy(f, tmp_path / f.name)
    weights = tmp_path / random_weights.name
    assert evaluate.main(["--weights", str(weights), "--limit", "100", "--report", str(tmp_path / "report.json"),
                          "--json"]) == 0
    assert capsule_stats.main(["--weights", str(weights), "--limit", "300", "--data-dir", str(fake_mnist.dir),
                               "--out", str(tmp_path / "capsule_stats.json")]) == 0
    return create_app({"WEIGHTS": str(weights), "GALLERY": str(tmp_path / "gallery.json"), "DEVICE": "cpu"})


def test_report_and_stats_served_when_shipped(shipped_app, capsys):
    client = shipped_app.test_client()
    report = client.get("/api/report").json
    assert report["n"] == 100 and len(report["confusion"]) == 10
    assert sum(map(sum, report["confusion"])) == 100
    wrong = report["misclassified"]
    assert len(wrong) == round(100 * (1 - report["accuracy"]))
    for d in wrong:
        assert d["label"] != d["predicted"] and d["predicted"] == d["top2"][0][0]
        pixels = np.frombuffer(base64.b64decode(d["pixels"]), dtype=np.uint8)
        assert pixels.shape == (784,)
    margins = [d["top2"][0][1] - d["top2"][1][1] for d in report["lowest_margin"]]
    assert all(b >= a - 2e-4 for a, b in zip(margins, margins[1:]))  # top2 is rounded to 4 digits
    stats = client.get("/api/capsule_stats").json
    assert len(stats["classes"]) == 10
    first = stats["classes"][0]
    assert len(first["dims"]) == 16 and len(first["dims"][0]["hist"]) == stats["bins"]
    assert sum(c["n"] for c in stats["classes"]) == 300


def test_capsule_stats_match_numpy():
    rng = np.random.default_rng(0)
    vectors = rng.normal(0.1, 0.05, size=(400, 16)).astype(np.float32)
    labels = np.repeat(np.arange(10), 40)
    result = capsule_stats.stats(torch.from_numpy(vectors), torch.from_numpy(labels))
    for d, cls in enumerate(result["classes"]):
        v = vectors[labels == d]
        assert cls["n"] == 40
        np.testing.assert_allclose([x["mean"] for x in cls["dims"]], v.mean(0), atol=1e-5)
        np.testing.assert_allclose([x["std"] for x in cls["dims"]], v.std(0, ddof=1), atol=1e-5)
        assert all(sum(x["hist"]) == 40 for x in cls["dims"])  # normal data: nothing beyond 4 sigma here
