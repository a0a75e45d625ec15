"""The MultiMNIST weights in weights/multimnist/: loadable without running code, the file its manifest
describes, stored as float16 and upcast on load, and as accurate as the manifest says on a fixed subset
of the test pairs. Fails (never skips) when the files are missing."""
from __future__ import annotations

import json

import pytest
import torch

from model import mnist, multimnist
from model.evaluate import predict
from model.train import DEFAULT_MULTIMNIST_WEIGHTS as WEIGHTS
from model.weights import load_weights, sha256

pytestmark = pytest.mark.shipped
SUBSET = 400  # the first 400 of the 10,000 fixed test pairs: seconds on a 2-core CPU


def manifest() -> dict:
    assert WEIGHTS.is_file(), f"{WEIGHTS} is missing"
    return json.loads(WEIGHTS.with_name("manifest.json").read_text())


def test_file_is_the_manifests_and_fp16_on_disk():
    m = manifest()
    assert m["sha256"] == sha256(WEIGHTS) and m["dataset"] == "multimnist" and m["test_n"] == 10_000
    blob = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert all(t.dtype == torch.float16 for t in blob["state_dict"].values())
    model = load_weights(WEIGHTS)
    assert model.config.image_size == multimnist.CANVAS and model.config.primary_count == 3200
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_both_right_rate_on_a_subset_matches_the_manifest():
    m = manifest()
    test = mnist.load(mnist.TEST_DATA_DIR, "test")
    pairs = multimnist.test_pairs(test.images, test.labels)
    torch.set_num_threads(2)
    _, lengths = predict(load_weights(WEIGHTS), pairs.images[:SUBSET])
    rate = multimnist.both_right(lengths, pairs.labels[:SUBSET]).float().mean().item()
    wrong = set(m["misclassified"])
    expect = sum(i not in wrong for i in range(SUBSET)) / SUBSET
    assert rate == pytest.approx(expect, abs=1 / SUBSET)  # the same pairs right as the manifest lists


def test_shipped_gallery_holds_the_fixed_test_pairs_and_the_mnist_gallerys_digits():
    """weights/multimnist/gallery.json (python -m model.gallery): its pairs are the fixed test pairs,
    pixel for pixel, and its single digits are the MNIST gallery's (same ids, same test digits)."""
    import base64

    entries = json.loads(WEIGHTS.with_name("gallery.json").read_text())["samples"]
    pairs_listed = [e for e in entries if "labels" in e]
    singles = [e for e in entries if "labels" not in e]
    test = mnist.load(mnist.TEST_DATA_DIR, "test")
    pairs = multimnist.test_pairs(test.images, test.labels)
    assert len(pairs_listed) == 30
    for e in pairs_listed:
        i = e["index"]
        assert e["id"] == f"pair-{i:05d}" and e["labels"] == pairs.labels[i].tolist()
        assert base64.b64decode(e["pixels"]) == pairs.images[i].numpy().tobytes()
        assert (e.get("note") == "misclassified") == (sorted(e["predicted"]) != sorted(e["labels"]))
    mnist_gallery = json.loads(WEIGHTS.parent.parent.joinpath("mnist", "gallery.json").read_text())["samples"]
    assert [(e["id"], e["index"], e["label"]) for e in singles] == \
        [(e["id"], e["index"], e["label"]) for e in mnist_gallery]
    report = json.loads(WEIGHTS.with_name("report.json").read_text())
    assert report["dataset"] == "multimnist" and report["n"] == 10_000
    assert report["accuracy"] == pytest.approx(manifest()["test_accuracy"], abs=1e-6)
