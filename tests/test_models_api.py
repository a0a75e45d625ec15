"""Several models behind one server (app/resources.py): GET /api/models, the optional `model` of every
endpoint (JSON and form bodies, ?model= on GETs) and its bad values, and each model's own sizes: the
models_folder fixture serves a random 28x28 MNIST model and a random 36x36 MultiMNIST one."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from conftest import PAIR_IDS

from app.resources import discover
from model.capsnet import CapsNet
from model.weights import WeightsError, save_weights

SAMPLE = "test-00003"
POSTS = {  # endpoint -> a good body without `model`
    "/api/analyze": {"sample": SAMPLE},
    "/api/sweep": {"sample": SAMPLE, "parameter": "rotate"},
    "/api/ablation": {"sample": SAMPLE},
    "/api/evidence": {"sample": SAMPLE},
    "/api/reconstruct": {"digit": 3, "vector": [0.1] * 16},
    "/api/perturbations": {"digit": 3, "vector": [0.1] * 16},
    "/api/overlap": {"first": SAMPLE, "second": "test-00090", "shift": [0, -4]},
    "/api/routing/vote_cloud": {"sample": SAMPLE},
    "/api/routing/capsule_steps": {"sample": SAMPLE, "capsule": 5},
    "/api/routing/loss": {"sample": SAMPLE},
}
GETS = ["/api/model", "/api/samples", "/api/kernels", "/api/decoder"]
BAD = [(None, 400), (3, 400), (2.5, 400), (True, 400), (["mnist"], 400), ({"name": "mnist"}, 400), ("", 400),
       ("x" * 10_000, 400), ("nope", 404), ("MNIST", 404), ("../mnist", 404)]


@pytest.fixture(scope="module")
def client(models_app):
    return models_app.test_client()


def test_models_lists_both_in_order_with_their_sizes(client):
    body = client.get("/api/models").get_json()
    assert body["default"] == "mnist"
    assert [m["name"] for m in body["models"]] == ["mnist", "multimnist"]
    mnist, multi = body["models"]
    assert mnist == {"name": "mnist", "dataset": "mnist", "input_size": 28, "capsule_grid": [6, 6],
                     "primary_capsules": 1152, "accuracy": 0.1,
                     "accuracy_metric": "accuracy on the 10,000 MNIST test digits"}
    assert multi["dataset"] == "multimnist" and multi["input_size"] == 36 and multi["capsule_grid"] == [10, 10]
    assert multi["primary_capsules"] == 3200 and multi["accuracy"] == 0.02
    assert multi["accuracy_metric"] == "both digits right (random test weights)"


@pytest.mark.parametrize("query, size, count", [("", 28, 1152), ("?model=mnist", 28, 1152),
                                                 ("?model=multimnist", 36, 3200)])
def test_model_info_is_the_named_models(client, query, size, count):
    info = client.get("/api/model" + query).get_json()
    assert info["config"]["image_size"] == size and info["primary_capsules"] == count
    assert info["model"] == (query.partition("=")[2] or "mnist")


def test_samples_of_the_multimnist_model_are_36x36_pairs_and_fitted_digits(client):
    samples = client.get("/api/samples?model=multimnist").get_json()["samples"]
    assert [s["id"] for s in samples[:3]] == list(PAIR_IDS)
    assert all(s["image"]["shape"] == [36, 36] for s in samples)
    assert samples[0]["labels"] and "label" not in samples[0]
    single = next(s for s in samples if s["id"] == SAMPLE)
    assert single["label"] == 0
    mnist = client.get("/api/samples").get_json()["samples"]
    assert all(s["image"]["shape"] == [28, 28] for s in mnist) and SAMPLE in {s["id"] for s in mnist}


def test_decoder_is_the_named_models(client):
    """The page's in-page decoder draws the chosen model's image: 36x36 = 1,296 outputs for MultiMNIST."""
    a, b = client.get("/api/decoder"), client.get("/api/decoder?model=multimnist")
    assert a.status_code == b.status_code == 200 and a.headers["ETag"] != b.headers["ETag"]
    assert a.get_json()["layers"][-1]["weight"]["shape"][0] == 28 * 28
    assert b.get_json()["layers"][-1]["weight"]["shape"][0] == 36 * 36


def test_kernels_differ_per_model(client):
    a, b = client.get("/api/kernels"), client.get("/api/kernels?model=multimnist")
    assert a.status_code == b.status_code == 200 and a.headers["ETag"] != b.headers["ETag"]


@pytest.mark.parametrize("endpoint", POSTS)
def test_every_post_takes_the_model_field(client, endpoint):
    answers = {}
    for name in ("mnist", "multimnist", None):
        r = client.post(endpoint, json={**POSTS[endpoint], **({"model": name} if name else {})})
        assert r.status_code == 200, (endpoint, name, r.get_json())
        answers[name] = {k: v for k, v in r.get_json().items() if k != "timing_ms"}  # /api/analyze's own timings
    assert json.dumps(answers[None], sort_keys=True) == json.dumps(answers["mnist"], sort_keys=True)
    assert json.dumps(answers["multimnist"], sort_keys=True) != json.dumps(answers["mnist"], sort_keys=True)


def test_analyze_on_the_multimnist_model_has_its_sizes(client):
    body = client.post("/api/analyze", json={"sample": PAIR_IDS[0], "model": "multimnist"}).get_json()
    assert body["input"]["shape"] == [36, 36]
    assert body["layers"]["primary_caps"]["lengths"]["shape"] == [32, 10, 10]
    assert body["layers"]["reconstruction"]["image"]["shape"] == [36, 36]


def test_overlap_builds_pairs_at_the_models_canvas_and_labels_pair_entries_as_none(client):
    multi = client.post("/api/overlap", json={**POSTS["/api/overlap"], "model": "multimnist"}).get_json()
    assert multi["input"]["shape"] == [36, 36] and multi["parts"]["shape"] == [2, 36, 36]
    assert multi["labels"] == [0, 3] and multi["model"] == "multimnist" and multi["dataset"] == "multimnist"
    single = client.post("/api/overlap", json=POSTS["/api/overlap"]).get_json()
    assert single["input"]["shape"] == [28, 28] and single["model"] == "mnist"
    pair = client.post("/api/overlap", json={"first": PAIR_IDS[0], "second": SAMPLE, "shift": [0, 0],
                                             "model": "multimnist"}).get_json()
    assert pair["labels"] == [None, 0]


def test_pixels_must_have_the_models_size(client):
    r = client.post("/api/analyze", json={"pixels": [[0.5] * 28] * 28, "model": "multimnist"})
    assert r.status_code == 400 and "36x36" in r.get_json()["error"]
    assert client.post("/api/analyze", json={"pixels": [[0.5] * 36] * 36, "model": "multimnist"}).status_code == 200
    r = client.post("/api/analyze", json={"pixels": [[0.5] * 36] * 36})
    assert r.status_code == 400 and "28x28" in r.get_json()["error"]


def test_an_upload_becomes_the_models_input_size(client):
    from PIL import Image

    digit = np.zeros((60, 40), np.uint8)
    digit[10:50, 15:25] = 255
    buf = io.BytesIO()
    Image.fromarray(digit).save(buf, "PNG")
    r = client.post("/api/analyze", data={"image": (io.BytesIO(buf.getvalue()), "d.png"), "model": "multimnist"},
                    content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["input"]["shape"] == [36, 36]


@pytest.mark.parametrize("value, status", BAD, ids=[repr(v)[:20] for v, _ in BAD])
@pytest.mark.parametrize("endpoint", ["/api/analyze", "/api/reconstruct", "/api/overlap", "/api/routing/loss"])
def test_bad_model_values_in_json(client, endpoint, value, status):
    r = client.post(endpoint, json={**POSTS[endpoint], "model": value})
    assert r.status_code == status and r.mimetype == "application/json", r.get_data(as_text=True)[:200]
    error = r.get_json()["error"]
    assert "mnist, multimnist" in error and len(error) < 300


@pytest.mark.parametrize("value, status", [("nope", 404), ("", 400), ("x" * 500, 400)])
def test_bad_model_values_in_a_form(client, value, status):
    r = client.post("/api/analyze", data={"sample": SAMPLE, "model": value, "image": (io.BytesIO(b"x"), "x")},
                    content_type="multipart/form-data")
    assert r.status_code == status and "mnist, multimnist" in r.get_json()["error"]


@pytest.mark.parametrize("path", [*GETS, "/api/report", "/api/capsule_stats"])
@pytest.mark.parametrize("query, status", [("?model=nope", 404), ("?model=", 400), ("?model=" + "x" * 500, 400),
                                           ("?model=mnist&model=multimnist", 400)])
def test_bad_model_values_in_the_query(client, path, query, status):
    r = client.get(path + query)
    assert r.status_code == status and r.mimetype == "application/json"
    assert "model" in r.get_json()["error"]


@pytest.mark.parametrize("path", ["/api/report", "/api/capsule_stats"])
def test_a_model_without_a_report_answers_404_for_that_model(client, path):
    r = client.get(path + "?model=multimnist")
    assert r.status_code == 404 and "shipped" in r.get_json()["error"]


def test_report_page_takes_the_model_query(client):
    assert client.get("/report?model=multimnist").status_code == 200


# ---- discover(): what --weights may name ----

def test_discover_a_file_a_model_folder_and_a_folder_of_folders(models_folder):
    assert [n for n, _ in discover(models_folder)] == ["mnist", "multimnist"]
    multi = models_folder / "multimnist"
    assert discover(multi) == [("multimnist", multi / "capsnet_multimnist.pt")]
    pt = models_folder / "mnist" / "capsnet_mnist.pt"
    assert discover(pt) == [("mnist", pt)]


def test_discover_refuses_what_it_cannot_serve(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        discover(tmp_path / "none")
    with pytest.raises(WeightsError, match="holds no model folder"):
        discover(tmp_path)
    (tmp_path / "a").mkdir()
    save_weights(CapsNet(), tmp_path / "a" / "one.pt")
    (tmp_path / "a" / "two.pt").write_bytes((tmp_path / "a" / "one.pt").read_bytes())
    with pytest.raises(WeightsError, match="holds 2 weights files"):
        discover(tmp_path)
    (tmp_path / "a" / "two.pt").unlink()
    (tmp_path / "a" / "one.pt").rename(tmp_path / "a" / "x")
    (tmp_path / "bad name").mkdir()
    torch.save({}, tmp_path / "bad name" / "w.pt")
    with pytest.raises(WeightsError, match="not a model name"):
        discover(tmp_path)


def test_a_lone_model_in_a_folder_with_an_odd_name_is_called_model(tmp_path):
    folder = tmp_path / "my weights (old)"
    folder.mkdir()
    (folder / "w.pt").write_bytes(b"")
    assert discover(folder / "w.pt") == [("model", folder / "w.pt")]
    assert discover(folder) == [("model", folder / "w.pt")]
