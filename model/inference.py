"""Single-image inference for the visualizer: one traced forward pass, the decoder on a chosen vector,
and the paper's Fig. 4 perturbation grid. Plain torch; the callers own threading and I/O."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from . import transforms
from .capsnet import CapsNet, CapsOutput, Trace

# Paper Fig. 4: each dimension tweaked by steps of 0.05 in [-0.25, 0.25].
PERTURBATION_STEPS = tuple(round(-0.25 + 0.05 * k, 2) for k in range(11))


def _device(model: CapsNet) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def analyze(model: CapsNet, image: np.ndarray, iterations: int, uniform_routing: bool = False) -> tuple[CapsOutput, Trace]:
    """image (28, 28) float in [0, 1] -> output and full trace for a batch of one."""
    x = torch.as_tensor(image, dtype=torch.float32, device=_device(model)).view(1, 1, *image.shape)
    out, trace = model(x, iterations=iterations, trace=True, uniform_routing=uniform_routing)
    return out, trace


@torch.inference_mode()
def reconstruct(model: CapsNet, digit: int, vector: np.ndarray) -> np.ndarray:
    """The decoder's (28, 28) image from a 16-D vector placed in capsule `digit`."""
    device = _device(model)
    v = torch.as_tensor(vector, dtype=torch.float32, device=device).view(1, -1)
    d = torch.tensor([digit], device=device)
    return model.decode_vector(d, v)[0].cpu().numpy()


@torch.inference_mode()
def perturbation_grid(model: CapsNet, digit: int, vector: np.ndarray, steps=PERTURBATION_STEPS) -> np.ndarray:
    """(16, len(steps), 28, 28): row k is the decoder's image with dimension k shifted by each step,
    all other dimensions kept; one batched decoder call."""
    device = _device(model)
    base = torch.as_tensor(vector, dtype=torch.float32, device=device)
    dims, n = base.numel(), len(steps)
    delta = torch.tensor(steps, dtype=torch.float32, device=device)
    vectors = base.repeat(dims, n, 1)  # (16, n, 16)
    vectors[torch.arange(dims), :, torch.arange(dims)] += delta  # row k: dimension k perturbed
    digits = torch.full((dims * n,), digit, device=device)
    images = model.decode_vector(digits, vectors.view(dims * n, dims))
    return images.view(dims, n, *images.shape[1:]).cpu().numpy()


class Sweep(NamedTuple):
    values: list[float]
    images: np.ndarray  # (n, 28, 28) the transformed inputs
    lengths: np.ndarray  # (n, 10)
    digit_caps: np.ndarray  # (n, 10, 16)


@torch.inference_mode()
def sweep(model: CapsNet, image: np.ndarray, name: str, values: list[float], iterations: int) -> Sweep:
    """One transform parameter `name` taken through `values`, all other parameters at identity:
    the transformed images and what the capsules make of them, in one batched forward pass."""
    x = torch.as_tensor(image, dtype=torch.float32, device=_device(model)).view(1, 1, *image.shape)
    batch = transforms.apply(x, [transforms.Transform(**{name: v}) for v in values])
    out, _ = model(batch, iterations=iterations)
    return Sweep(list(values), batch[:, 0].cpu().numpy(), out.lengths.cpu().numpy(), out.digit_caps.cpu().numpy())
