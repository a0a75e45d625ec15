"""The trained weights in weights/: loadable without running code, the file the manifest describes, and
as accurate as the manifest says. These fail (never skip) when the weights are missing: shipping
without them is a broken release. Run alone with `pytest -m shipped`."""
from __future__ import annotations

import functools
import json

import pytest
import torch

from model import mnist
from model.capsnet import CapsNetConfig, parameter_counts
from model.evaluate import metrics, predict
from model.weights import DEFAULT_WEIGHTS, load_weights, sha256

pytestmark = pytest.mark.shipped

MANIFEST = DEFAULT_WEIGHTS.with_name("manifest.json")
SUBSET = 2000  # the first 2000 test digits: a fixed subset, well under a minute on a 2-core CPU


def shipped_manifest() -> dict:
    """The manifest; a test failure (not an error or a skip) when the weights or manifest are missing."""
    assert DEFAULT_WEIGHTS.is_file(), f"{DEFAULT_WEIGHTS} is missing: train with `python -m model.train`"
    assert MANIFEST.is_file(), f"{MANIFEST} is missing: `python -m model.train` writes it beside the weights"
    return json.loads(MANIFEST.read_text())


@functools.cache
def shipped_model():
    return load_weights(DEFAULT_WEIGHTS)


def test_loads_with_weights_only():
    manifest = shipped_manifest()
    blob = torch.load(DEFAULT_WEIGHTS, map_location="cpu", weights_only=True)
    assert set(blob) == {"config", "state_dict"}
    assert all(t.dtype == torch.float32 for t in blob["state_dict"].values())
    # compared as configs: a checkpoint keeps tuples, JSON has lists
    assert CapsNetConfig.from_dict(blob["config"]) == CapsNetConfig.from_dict(manifest["config"])


def test_checksum_matches_manifest():
    manifest = shipped_manifest()
    assert manifest["weights_file"] == DEFAULT_WEIGHTS.name
    assert sha256(DEFAULT_WEIGHTS) == manifest["sha256"]


def test_manifest_describes_the_model():
    manifest = shipped_manifest()
    assert manifest["parameters"] == parameter_counts(shipped_model())
    assert manifest["test_n"] == 10000
    assert manifest["data"] == {name: md5 for name, md5, _ in mnist.FILES.values()}


def test_accuracy_on_a_fixed_subset():
    manifest = shipped_manifest()
    test = mnist.load(mnist.TEST_DATA_DIR, "test")
    preds, _ = predict(shipped_model(), test.images[:SUBSET], batch_size=250)
    result = metrics(preds, test.labels[:SUBSET])
    assert result["accuracy"] >= manifest["test_accuracy"] - 0.005
    # The manifest's list of misclassified test digits, restricted to the subset, is what we see here
    # (give or take a borderline digit whose top two lengths are within float noise).
    listed = {i for i in manifest["misclassified"] if i < SUBSET}
    assert len(listed ^ set(result["misclassified"])) <= 2
