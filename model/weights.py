"""Saving and loading weights: a state_dict next to the config that rebuilds the model, read with
weights_only=True so a weights file can never run code."""
from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import torch

from .capsnet import CapsNet, CapsNetConfig

# A folder of model folders (run_visualization.py --weights); each holds one *.pt and what ships beside it.
MODELS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_WEIGHTS = MODELS_DIR / "mnist" / "capsnet_mnist.pt"


class WeightsError(Exception):
    """Weights missing or unusable; the message names the file and what to do."""


def sha256(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_weights(model: CapsNet, path: Path | str) -> None:
    """fp32 state_dict + config, written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"config": model.config.to_dict(), "state_dict": state}, tmp)
    tmp.replace(path)


def load_weights(path: Path | str, device: str | torch.device = "cpu") -> CapsNet:
    """Rebuilds the model from a weights file; raises WeightsError with a one-line reason."""
    path = Path(path)
    hint = "train weights with `python -m model.train` or restore the shipped file with `git checkout -- weights/`"
    if not path.is_file():
        raise WeightsError(f"weights file {path} not found; {hint}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        config = CapsNetConfig.from_dict(blob["config"])
        model = CapsNet(config)
        model.load_state_dict(blob["state_dict"])
    except pickle.UnpicklingError:
        # torch's own message goes on to suggest weights_only=False, i.e. running whatever code the file holds:
        # advice this tool must not pass on.
        raise WeightsError(f"weights file {path} is corrupt or not CapsNet weights (the safe loader, which reads "
                           f"only tensors and plain data, refuses it); {hint}") from None
    except Exception as e:  # any unreadable file is the same user-facing problem
        raise WeightsError(f"weights file {path} is corrupt or not CapsNet weights ({type(e).__name__}: {' '.join(str(e).split())[:200]}); {hint}") from None
    return model.to(device).eval()


def read_manifest(weights_path: Path | str) -> dict | None:
    """The manifest.json next to a weights file, or None."""
    p = Path(weights_path).with_name("manifest.json")
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None

