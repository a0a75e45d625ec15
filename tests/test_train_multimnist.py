"""`model.train --dataset multimnist` as a user runs it (subprocesses on synthetic digits), and the
argument checks shared with MNIST training: --resume refuses another configuration, --routing-iterations
is honoured with --init-weights, --precision auto is recorded."""
from __future__ import annotations

import json

import torch

from model.weights import load_weights
from test_train import run


def train_multi(tmp, *extra):
    return run("-m", "model.train", "--dataset", "multimnist", "--synthetic", "64", "--dry-run", "--batch-size", "8",
               "--threads", "1", "--epochs", "2", "--out", str(tmp / "w.pt"), "--checkpoint-dir", str(tmp / "ck"), *extra)


def test_multimnist_dry_run_writes_a_36x36_model_scored_on_pairs(tmp_path):
    r = train_multi(tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    model = load_weights(tmp_path / "w.pt")
    assert model.config.image_size == 36 and model.config.primary_count == 3200
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["dataset"] == "multimnist"
    assert manifest["test_n"] == 500 and 0 <= manifest["test_accuracy"] <= 1
    assert "both digits right" in manifest["test_metric"]
    assert manifest["parameters"]["digit_caps"] == 3200 * 10 * 16 * 8
    assert manifest["precision"] in ("fp32", "bf16")  # what auto chose, never "auto"
    assert "precision auto:" in r.stderr
    # --resume with the same arguments continues; with another dataset it is refused, naming the field
    r = train_multi(tmp_path, "--resume")
    assert r.returncode == 0 and "at epoch 1" in r.stderr, r.stderr[-2000:]
    r = run("-m", "model.train", "--synthetic", "64", "--dry-run", "--batch-size", "8", "--threads", "1",
            "--epochs", "3", "--out", str(tmp_path / "w2.pt"), "--checkpoint-dir", str(tmp_path / "ck"), "--resume")
    assert r.returncode == 2
    assert "image_size=36" in r.stderr and "Traceback" not in r.stderr


def test_resume_refuses_another_batch_size(tmp_path):
    assert train_multi(tmp_path).returncode == 0
    r = train_multi(tmp_path, "--resume", "--batch-size", "4")
    assert r.returncode == 2 and "--batch-size 8" in r.stderr, r.stderr[-2000:]


def test_init_from_mnist_weights_with_other_routing_iterations(tmp_path, random_weights):
    r = train_multi(tmp_path, "--init-weights", str(random_weights), "--routing-iterations", "5")
    assert r.returncode == 0, r.stderr[-3000:]
    model = load_weights(tmp_path / "w.pt")
    assert model.config.routing_iterations == 5 and model.config.image_size == 36
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "resampled from the 6x6 grid to 10x10" in manifest["initialized_from"]["how"]
    src = load_weights(random_weights)
    # One small step from the copied convolutions: still close to them
    assert (model.conv1.weight - src.conv1.weight).abs().max() < 0.01
    assert torch.load(tmp_path / "ck" / "last.pt", weights_only=True)["config"]["routing_iterations"] == 5


def test_evaluate_reports_both_right_for_a_multimnist_model(tmp_path):
    from model.capsnet import CapsNet, CapsNetConfig
    from model.weights import save_weights

    torch.manual_seed(0)
    save_weights(CapsNet(CapsNetConfig(image_size=36)), tmp_path / "m.pt")
    r = run("-m", "model.evaluate", "--weights", str(tmp_path / "m.pt"), "--limit", "40", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["dataset"] == "multimnist" and out["n"] == 40
    assert out["both_right"] == out["accuracy"] == (40 - len(out["wrong"])) / 40
