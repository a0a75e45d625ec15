"""POST /api/routing/vote_cloud, /capsule and /loss: the decoded answers equal the model functions on the same
trace, the defaults (prediction and runner-up, the prediction as digit and label), and bad input (400s)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from app.encoding import decode
from model import agreement, inference
from model.capsule_steps import capsule_steps
from model.input_loss import input_loss

SAMPLE = "test-00003"


@pytest.fixture(scope="module")
def reference(app):
    """The same forward pass the endpoints make, for the test-00003 sample."""
    from app import resources
    with app.app_context():
        r = resources.get()
        image = r.gallery.image(SAMPLE)
        _, trace = inference.analyze(r.model, image, 3)
        return r.model, image, trace


def test_cloud_defaults_to_prediction_and_runner_up(client, reference):
    model, _, trace = reference
    r = client.post("/api/routing/vote_cloud", json={"sample": SAMPLE})
    assert r.status_code == 200
    body = r.get_json()
    assert [d["digit"] for d in body["digits"]] == agreement.top_two(trace.lengths[0])
    assert body["prediction"] == body["digits"][0]["digit"] and body["iterations"] == 3
    n = model.config.primary_count
    np.testing.assert_allclose(decode(body["primary_lengths"]), trace.primary_lengths[0].numpy(), atol=1e-3)
    for d in body["digits"]:
        cloud = agreement.vote_cloud(trace, d["digit"])
        coords = decode(d["coords"])
        assert coords.shape == (n, 2) and decode(d["c"]).shape == (3, n) and decode(d["agreement"]).shape == (3, n)
        scale = float(cloud.coords.abs().max())
        np.testing.assert_allclose(coords, cloud.coords.numpy(), atol=scale * 1e-3)  # float16
        np.testing.assert_allclose(decode(d["c"]), cloud.c.numpy(), atol=1e-3)
        np.testing.assert_allclose(decode(d["projection"]["axes"]), cloud.projection.axes.numpy(), atol=1e-6)
        np.testing.assert_allclose(d["v"], cloud.v.numpy(), atol=1e-6)
        np.testing.assert_allclose(d["mean"], cloud.mean.numpy(), atol=1e-6)
        assert d["projection"]["variance_kept"] == pytest.approx(cloud.projection.variance_kept, abs=1e-6)


def test_cloud_takes_chosen_digits_and_iterations(client):
    body = client.post("/api/routing/vote_cloud", json={"sample": SAMPLE, "digits": [7], "iterations": 5}).get_json()
    assert [d["digit"] for d in body["digits"]] == [7]
    assert len(body["digits"][0]["lengths"]) == 5 and decode(body["digits"][0]["c"]).shape[0] == 5
    uniform = client.post("/api/routing/vote_cloud", json={"sample": SAMPLE, "uniform_routing": True}).get_json()
    assert uniform["iterations"] == 1
    assert np.all(decode(uniform["digits"][0]["c"]) == np.float32(np.float16(0.1)))


def test_capsule_steps_equal_the_trace(client, reference):
    model, _, trace = reference
    body = client.post("/api/routing/capsule_steps", json={"sample": SAMPLE, "capsule": 175, "digit": 4}).get_json()
    st = capsule_steps(model, trace, 175, 4)
    assert (body["capsule"], body["digit"], body["type"], body["row"], body["col"]) == (175, 4, 4, 5, 1)
    for key in ("u_raw", "u", "W", "u_hat", "contribution", "s", "v"):
        np.testing.assert_allclose(decode(body[key]), getattr(st, key).numpy(), atol=1e-5, err_msg=key)
    np.testing.assert_allclose(body["c"], st.c.numpy(), atol=1e-7)
    np.testing.assert_allclose(body["s_lengths"], st.s.norm(dim=-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(body["v_lengths"], st.v.norm(dim=-1).numpy(), atol=1e-5)
    assert body["u_length"] == pytest.approx(float(trace.primary_lengths[0, 175]), abs=1e-6)
    curve = body["squash_curve"]
    assert curve["length_in"][-1] > max(body["s_lengths"] + [body["u_raw_length"]])
    default = client.post("/api/routing/capsule_steps", json={"sample": SAMPLE, "capsule": 0}).get_json()
    assert default["digit"] == default["prediction"]


def test_loss_equals_the_model_function(client, reference):
    model, image, trace = reference
    for label in (None, 2):
        sent = {"sample": SAMPLE} | ({} if label is None else {"label": label})
        body = client.post("/api/routing/loss", json=sent).get_json()
        k = body["prediction"] if label is None else label
        found = input_loss(model, trace, torch.as_tensor(image), k)
        assert body["label"] == k and body["reconstruction"]["digit"] == k
        np.testing.assert_allclose(body["margin"]["present"], found.present.numpy(), atol=1e-7)
        np.testing.assert_allclose(body["margin"]["absent"], found.absent.numpy(), atol=1e-7)
        assert body["total"] == pytest.approx(found.total, abs=1e-7)
        assert body["total"] == pytest.approx(body["margin"]["total"] + body["reconstruction"]["loss"], abs=1e-7)
        np.testing.assert_allclose(decode(body["reconstruction"]["difference"]), found.difference.numpy(), atol=1e-3)


@pytest.mark.parametrize("path, extra, words", [
    ("vote_cloud", {"bogus": 1}, "unknown field(s): bogus"),
    ("vote_cloud", {"digits": [3, 3]}, "must not repeat"),
    ("vote_cloud", {"digits": [1, 2, 3]}, "1 to 2 digits"),
    ("vote_cloud", {"digits": [10]}, "only integers in 0..9"),
    ("vote_cloud", {"digits": "3"}, "list of 1 to 2"),
    ("vote_cloud", {"votes_for": 3}, "'votes_for' not used by /api/routing/vote_cloud"),
    ("vote_cloud", {"iterations": 0}, "'iterations' must be in 1..10"),
    ("capsule_steps", {}, "'capsule' is required"),
    ("capsule_steps", {"capsule": 1152}, "'capsule' must be in 0..1151"),
    ("capsule_steps", {"capsule": "1"}, "'capsule' must be an integer"),
    ("capsule_steps", {"capsule": 1, "digit": -1}, "'digit' must be in 0..9"),
    ("capsule_steps", {"capsule": 1, "label": 1}, "unknown field(s): label"),
    ("loss", {"label": 10}, "'label' must be in 0..9"),
    ("loss", {"label": True}, "'label' must be an integer"),
    ("loss", {"digits": [1]}, "unknown field(s): digits"),
])
def test_bad_input_is_a_400_that_says_why(client, path, extra, words):
    r = client.post(f"/api/routing/{path}", json={"sample": SAMPLE, **extra})
    assert r.status_code == 400 and words in r.get_json()["error"]


@pytest.mark.parametrize("path", ["vote_cloud", "capsule_steps", "loss"])
def test_bad_transport(client, path):
    assert client.post(f"/api/routing/{path}", data="x", content_type="text/plain").status_code == 415
    assert client.post(f"/api/routing/{path}", json={"sample": "nope"}).status_code == 404
    assert client.post(f"/api/routing/{path}", json={}).status_code == 400
    assert client.get(f"/api/routing/{path}").status_code == 405
