"""Where the evidence came from (model/evidence.py and POST /api/evidence): the receptive field geometry
against hand-computed numbers and against the real convolutions' gradients, the maps and top capsules
against slow loops over the 1152 capsules, the final iteration's c, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from app.encoding import decode
from model import evidence, inference
from model.capsnet import CapsNet, CapsNetConfig

SAMPLE = "test-00003"


# ---- receptive fields ---------------------------------------------------------------------------------

def test_receptive_field_of_the_paper_config_by_hand():
    # Conv1 9x9 stride 1 then 9x9 stride 2: 1 + 8 + 8 * 1 = 17 pixels, positions 2 apart.
    rf = evidence.receptive_field(CapsNetConfig())
    assert (rf.size, rf.stride) == (17, 2)
    assert rf.box(0, 0) == (0, 0, 17, 17)
    assert rf.box(5, 5) == (10, 10, 27, 27)  # row and column 27 are seen by no capsule
    assert rf.box(2, 4) == (4, 8, 21, 25)


def test_receptive_field_follows_the_config():
    rf = evidence.receptive_field(CapsNetConfig(kernel_size=5, primary_stride=3))
    assert (rf.size, rf.stride) == (9, 3)  # 1 + 4 + 4 * 1, jump 3


@pytest.mark.parametrize("row, col", [(0, 0), (2, 4), (5, 5), (3, 0)])
def test_receptive_field_is_where_the_convolutions_look(row, col):
    """The input pixels with a nonzero gradient for one PrimaryCaps output position are exactly its box
    (the convolutions without the ReLU, which could hide pixels behind dead units)."""
    torch.manual_seed(1)
    model = CapsNet().double()
    x = torch.rand(1, 1, 28, 28, dtype=torch.double, requires_grad=True)
    model.primary(model.conv1(x))[0, :, row, col].sum().backward()
    seen = (x.grad[0, 0].abs() > 0).numpy()
    top, left, bottom, right = evidence.receptive_field(model.config).box(row, col)
    expected = np.zeros((28, 28), bool)
    expected[top:bottom, left:right] = True
    assert np.array_equal(seen, expected)


# ---- the maps and the top capsules against slow loops --------------------------------------------------

@pytest.fixture(scope="module")
def traced():
    torch.manual_seed(2)
    model = CapsNet().eval()
    with torch.no_grad():
        model.W.mul_(50)  # votes long enough for routing to move c well away from uniform
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    _, trace = inference.analyze(model, image, iterations=3)
    return model.config, trace


def loop_map(w_j):
    """sum_i w_ij RF_i, one capsule and one pixel at a time (the paper's 32 x 6 x 6 capsules, 17x17 fields)."""
    out = np.zeros((28, 28))
    for i in range(1152):
        _, row, col = i // 36, (i % 36) // 6, i % 6
        for y in range(2 * row, 2 * row + 17):
            for x in range(2 * col, 2 * col + 17):
                out[y, x] += w_j[i]
    return out


def test_weights_use_the_last_iterations_c(traced):
    cfg, trace = traced
    w = evidence.weights(trace).numpy()
    c_last = trace.routing[-1].c[0].numpy()
    lengths = trace.primary_caps[0].norm(dim=-1).numpy()
    for i in (0, 100, 1151):
        for j in (0, 7):
            assert w[i, j] == pytest.approx(c_last[i, j] * lengths[i], rel=1e-5)
    # Each iteration's c differs from the next: the test would notice the wrong one.
    assert np.abs(trace.routing[1].c[0].numpy() - c_last).max() > 1e-2


def test_maps_and_top_match_loops(traced):
    cfg, trace = traced
    w = evidence.weights(trace).double().numpy()
    found = evidence.evidence(trace, cfg, [3, 8], k=7)
    for e in found:
        j = e.digit
        np.testing.assert_allclose(e.map.numpy(), loop_map(w[:, j]), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(e.routed.numpy(), loop_map(w[:, j] - w.sum(1) / 10), rtol=1e-4, atol=1e-5)
        assert e.total == pytest.approx(w[:, j].sum(), rel=1e-5)
        assert e.map.sum().item() == pytest.approx(17 * 17 * w[:, j].sum(), rel=1e-5)
        ranked = sorted(range(cfg.primary_count), key=lambda i: (-w[i, j], i))[:7]
        assert [t.capsule for t in e.top] == ranked
        for t in e.top:
            assert (t.type, t.row, t.col) == (t.capsule // 36, (t.capsule % 36) // 6, t.capsule % 6)
            assert t.weight == pytest.approx(t.c * t.length, rel=1e-5)


def test_routed_is_zero_without_routing():
    torch.manual_seed(3)
    model = CapsNet().eval()
    image = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    _, trace = inference.analyze(model, image, iterations=3, uniform_routing=True)
    e = evidence.evidence(trace, model.config, [5], k=3)[0]
    assert e.routed.abs().max().item() < 1e-5 and e.map.max().item() > 0


# ---- the endpoint -------------------------------------------------------------------------------------

def post(client, **body):
    r = client.post("/api/evidence", json={"sample": SAMPLE, **body})
    assert r.status_code == 200, r.json
    return r.json


def test_endpoint_matches_analyze(client):
    analysis = client.post("/api/analyze", json={"sample": SAMPLE, "iterations": 2}).json
    body = post(client, digits=[4, 1], top=5, iterations=2)
    assert body["prediction"] == analysis["prediction"] and body["lengths"] == analysis["lengths"]
    assert body["receptive_field"] == {"size": 17, "stride": 2}
    assert [d["digit"] for d in body["digits"]] == [4, 1]
    c_last = decode(analysis["layers"]["routing"]["iterations"][-1]["c"])  # (10, 32, 6, 6), uint8
    lengths = decode(analysis["layers"]["primary_caps"]["lengths"])  # (32, 6, 6), float16
    for d in body["digits"]:
        j = d["digit"]
        w = (c_last[j] * lengths).reshape(-1)  # quantised copies, so only roughly
        assert decode(d["map"]).shape == (28, 28) and decode(d["routed"]).shape == (28, 28)
        np.testing.assert_allclose(decode(d["map"]), loop_map(w), rtol=0.02, atol=d["map"]["scale"])
        assert d["total"] == pytest.approx(w.sum(), rel=0.02)
        assert len(d["top"]) == 5
        weights = [t["weight"] for t in d["top"]]
        assert weights == sorted(weights, reverse=True)
        for t in d["top"]:
            i = t["capsule"]
            assert t["c"] == pytest.approx(c_last[j].reshape(-1)[i], abs=float(c_last.max()) / 255)
            assert t["length"] == pytest.approx(lengths.reshape(-1)[i], abs=2e-3)
    listed = {t["capsule"] for d in body["digits"] for t in d["top"]}
    assert [v["capsule"] for v in body["capsules"]] == sorted(listed)


def test_default_digit_is_the_prediction_and_top_is_ten(client):
    body = post(client)
    assert [d["digit"] for d in body["digits"]] == [body["prediction"]]
    assert len(body["digits"][0]["top"]) == 10


def test_capsule_details_are_analyzes_votes(client):
    body = post(client, digits=[2], top=3, votes_for=1000)
    by_index = {v["capsule"]: v for v in body["capsules"]}
    assert 1000 in by_index  # votes_for adds a capsule to the listed ones
    for i in [t["capsule"] for t in body["digits"][0]["top"]] + [1000]:
        votes = client.post("/api/analyze", json={"sample": SAMPLE, "votes_for": i}).json["votes"]
        assert by_index[i] == votes
        u_hat = decode(votes["u_hat"])
        np.testing.assert_allclose(votes["u_hat_lengths"], np.linalg.norm(u_hat, axis=1), atol=1e-5)
        assert votes["c"][-1][2] == pytest.approx(
            next((t["c"] for t in body["digits"][0]["top"] if t["capsule"] == i), votes["c"][-1][2]), abs=1e-6)


def test_uniform_routing_and_pixels(client):
    pixels = decode(client.post("/api/analyze", json={"sample": SAMPLE}).json["input"]).clip(0, 1).tolist()
    body = client.post("/api/evidence", json={"pixels": pixels, "uniform_routing": True, "digits": [0]}).json
    assert body["uniform_routing"] is True
    assert all(t["c"] == pytest.approx(0.1) for t in body["digits"][0]["top"])
    assert np.abs(decode(body["digits"][0]["routed"])).max() < 1e-4


@pytest.mark.parametrize("body, words", [
    ({"digits": []}, "'digits' must be a list of 1 to 2"),
    ({"digits": [1, 2, 3]}, "'digits' must be a list of 1 to 2"),
    ({"digits": 3}, "'digits' must be a list"),
    ({"digits": [3, 3]}, "must not repeat"),
    ({"digits": [10]}, "integers in 0..9"),
    ({"digits": [-1]}, "integers in 0..9"),
    ({"digits": ["3"]}, "integers in 0..9"),
    ({"digits": [True]}, "integers in 0..9"),
    ({"digits": [2.0]}, "integers in 0..9"),
    ({"top": 0}, "'top' must be in 1..50"),
    ({"top": 51}, "'top' must be in 1..50"),
    ({"top": "5"}, "'top' must be an integer"),
    ({"top": None}, "'top' is required"),
    ({"votes_for": 1152}, "'votes_for' must be in 0..1151"),
    ({"iterations": 0}, "'iterations' must be in 1..10"),
    ({"colour": "red"}, "unknown field(s): colour"),
    ({"transform": {"rotate": 90}}, "transform.rotate"),
])
def test_bad_input(client, body, words):
    r = client.post("/api/evidence", json={"sample": SAMPLE, **body})
    assert r.status_code == 400 and words in r.json["error"], r.json


def test_bad_input_source(client):
    r = client.post("/api/evidence", json={"digits": [1]})
    assert r.status_code == 400 and "exactly one of" in r.json["error"]
    r = client.post("/api/evidence", json={"sample": "no-such-sample"})
    assert r.status_code == 404 and "unknown sample" in r.json["error"]
    r = client.post("/api/evidence", json={"pixels": [[0.5] * 28] * 27})
    assert r.status_code == 400 and "error" in r.json
    r = client.post("/api/evidence", data='{"sample": "test-00003", "digits": [NaN]}', content_type="application/json")
    assert r.status_code == 400 and "'digits'" in r.json["error"]
    r = client.post("/api/evidence", data="not json", content_type="application/json")
    assert r.status_code == 400 and "not valid JSON" in r.json["error"]
    r = client.post("/api/evidence", data="{}", content_type="text/plain")
    assert r.status_code == 415
    assert client.get("/api/evidence").status_code == 405


# ---- the analysis carries the evidence for its prediction and runner-up (issue 11 item 2) --------------

@pytest.mark.parametrize("options", [{}, {"iterations": 1}, {"uniform_routing": True},
                                     {"transform": {"rotate": 20}}])
def test_analysis_evidence_equals_the_endpoints(client, options):
    """Same trace, same numbers: /api/analyze's "evidence" is /api/evidence's "digits" for the prediction
    and the runner-up, with the same options."""
    analysis = client.post("/api/analyze", json={"sample": SAMPLE, **options}).json
    lengths = np.array(analysis["lengths"])
    order = sorted(range(10), key=lambda j: -lengths[j])  # stable: the first of equals first
    assert [d["digit"] for d in analysis["evidence"]["digits"]] == order[:2]
    assert analysis["evidence"]["digits"][0]["digit"] == analysis["prediction"]
    body = post(client, digits=order[:2], **options)
    assert analysis["evidence"]["digits"] == body["digits"]
    assert analysis["evidence"]["capsules"] == body["capsules"]  # the capsule details too
    assert all(len(d["top"]) == 10 for d in analysis["evidence"]["digits"])


def test_runner_up_is_the_first_of_equal_lengths():
    from app.serialize import prediction_and_runner_up

    assert prediction_and_runner_up(torch.tensor([0.1, 0.5, 0.3, 0.5])) == [1, 3]
    assert prediction_and_runner_up(torch.tensor([0.2, 0.2, 0.2])) == [0, 1]
    assert prediction_and_runner_up(torch.tensor([0.1, 0.2, 0.9])) == [2, 1]


def test_analysis_with_evidence_stays_under_300_kb(client):
    """The design's budget for one analysis response, measured on the uncompressed JSON with votes."""
    r = client.post("/api/analyze", json={"sample": SAMPLE, "votes_for": 1151})
    assert r.status_code == 200
    assert len(r.data) <= 300_000
