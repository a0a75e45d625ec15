"""model/inference.py and model/weights.py on a tiny random checkpoint: the traced single-image pass,
the decoder on a chosen vector and the paper's Fig. 4 perturbation grid (checked against one decoder
call per cell)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model.capsnet import CapsNet
from model.inference import PERTURBATION_STEPS, analyze, perturbation_grid, reconstruct
from model.weights import WeightsError, load_weights, read_manifest, save_weights, sha256


@pytest.fixture(scope="module")
def model(random_weights) -> CapsNet:
    return load_weights(random_weights)


@pytest.fixture(scope="module")
def vector() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 0.2, 16).astype(np.float32)


def test_weights_round_trip(random_weights, model, tmp_path):
    torch.manual_seed(0)
    assert not model.training
    blob = torch.load(random_weights, weights_only=True)
    assert set(blob) == {"config", "state_dict"}
    for k, v in model.state_dict().items():
        assert torch.equal(v, blob["state_dict"][k]), k
    again = tmp_path / "again.pt"
    save_weights(model, again)
    assert torch.load(again, weights_only=True)["config"] == blob["config"]
    assert read_manifest(random_weights)["note"] == "random test weights"
    assert read_manifest(again) is None
    assert len(sha256(again)) == 64


def test_load_weights_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.pt"
    with pytest.raises(WeightsError, match="not found") as e:
        load_weights(missing)
    assert str(missing) in str(e.value)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="corrupt") as e:
        load_weights(junk)
    assert str(junk) in str(e.value) and "\n" not in str(e.value)


class Pickled:
    """Not a tensor: torch.save pickles it, and weights_only=True must refuse to unpickle it."""


def test_pickled_objects_are_refused_without_unsafe_advice(tmp_path):
    import torch

    unsafe = tmp_path / "unsafe.pt"
    torch.save({"state_dict": Pickled(), "config": {}}, unsafe)
    with pytest.raises(WeightsError, match="corrupt") as e:
        load_weights(unsafe)
    message = str(e.value)
    assert str(unsafe) in message and "safe loader" in message and "\n" not in message
    assert "weights_only" not in message, "torch's advice to turn the safe loader off must not reach the user"


def test_analyze_is_the_model_on_a_batch_of_one(model):
    image = np.random.default_rng(1).random((28, 28), dtype=np.float32)
    out, trace = analyze(model, image, iterations=2)
    assert len(trace.routing) == 2 and trace.conv1.shape == (1, 256, 20, 20)
    with torch.no_grad():
        again, _ = model(torch.from_numpy(image).view(1, 1, 28, 28), iterations=2)
    assert torch.allclose(out.lengths, again.lengths, atol=1e-6)
    _, uniform = analyze(model, image, iterations=3, uniform_routing=True)
    assert len(uniform.routing) == 1


def test_reconstruct_is_the_decoder_on_a_masked_capsule(model, vector):
    image = reconstruct(model, 4, vector)
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1
    # Second way: build the masked (1, 10, 16) capsules by hand and run the decoder layers.
    caps = torch.zeros(1, 10, 16)
    caps[0, 4] = torch.from_numpy(vector)
    with torch.no_grad():
        expected = model.decoder(caps.flatten(1)).view(28, 28).numpy()
    assert np.allclose(image, expected, atol=1e-6)


def test_reconstruct_changes_with_each_component_and_digit(model, vector):
    base = reconstruct(model, 4, vector)
    for k in (0, 7, 15):
        changed = vector.copy()
        changed[k] += 0.25
        assert np.abs(reconstruct(model, 4, changed) - base).max() > 1e-4, k
    assert np.abs(reconstruct(model, 5, vector) - base).max() > 1e-4  # another capsule, another image
    assert np.array_equal(reconstruct(model, 4, vector), base)  # deterministic


def test_perturbation_steps_are_the_papers():
    assert len(PERTURBATION_STEPS) == 11 and PERTURBATION_STEPS[5] == 0.0
    assert np.allclose(PERTURBATION_STEPS, np.arange(-0.25, 0.2501, 0.05))


def test_perturbation_grid_matches_single_reconstructions(model, vector):
    grid = perturbation_grid(model, 3, vector)
    assert grid.shape == (16, 11, 28, 28)
    base = reconstruct(model, 3, vector)
    for k in range(16):
        assert np.allclose(grid[k, 5], base, atol=1e-6), f"row {k}: step 0 is the vector itself"
        for n, step in enumerate(PERTURBATION_STEPS):
            changed = vector.copy()
            changed[k] += step  # row k only moves dimension k
            assert np.allclose(grid[k, n], reconstruct(model, 3, changed), atol=1e-5), (k, n)
    # The rows really differ from each other (dimension k, not always the same one, was moved).
    assert np.abs(grid[0, 0] - grid[1, 0]).max() > 1e-5


def test_perturbation_grid_custom_steps(model, vector):
    grid = perturbation_grid(model, 0, vector, steps=(-0.1, 0.0, 0.1))
    assert grid.shape == (16, 3, 28, 28)
    assert np.allclose(grid[:, 1], reconstruct(model, 0, vector)[None], atol=1e-6)
