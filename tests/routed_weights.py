"""A test checkpoint in which routing matters. The tiny random checkpoint's votes u_hat are so small that
routing moves c_ij by about 1e-7, below what a test can tell from float32 noise; with W scaled by 100
the same network's coupling moves by up to 0.2 per step and on test-00003 the prediction changes at the
third iteration (4 without routing, 6 after 3), so the ablation tests compare real differences."""
from __future__ import annotations

import shutil
from pathlib import Path

import torch

from model.weights import load_weights, save_weights

W_SCALE = 100.0


def write_routed_weights(random_weights: Path, folder: Path) -> Path:
    """The random checkpoint with W x W_SCALE, and its manifest and gallery, written into `folder`."""
    model = load_weights(random_weights, "cpu")
    with torch.no_grad():
        model.W.mul_(W_SCALE)
    path = folder / random_weights.name
    save_weights(model, path)
    for name in ("manifest.json", "gallery.json"):
        shutil.copy(random_weights.with_name(name), folder / name)
    return path
