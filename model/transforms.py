"""Transforms of the 28x28 model input for the equivariance section: rotate, shift, scale, shear and
stroke thickness, batched, so one sweep is one forward pass over all its steps.

Capsules claim their lengths stay nearly the same under such changes while their 16 dimensions change
smoothly with them; these transforms let the page test that on the user's own digit.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Transform:
    rotate: float = 0.0  # degrees, clockwise on screen (y points down)
    shift_x: float = 0.0  # pixels, right
    shift_y: float = 0.0  # pixels, down
    scale: float = 1.0
    shear: float = 0.0  # horizontal shear factor
    thickness: float = 0.0  # <0 thins the strokes (grey erosion), >0 thickens them (grey dilation); 1 = 1 px

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def is_identity(self) -> bool:
        return self == Transform()


# Each parameter's range (what the sliders and sweeps cover) and number of sweep steps.
RANGES = {
    "rotate": (-45.0, 45.0, 19),
    "shift_x": (-6.0, 6.0, 13),
    "shift_y": (-6.0, 6.0, 13),
    "scale": (0.7, 1.3, 13),
    "shear": (-0.5, 0.5, 11),
    "thickness": (-1.0, 1.0, 11),
}
assert set(RANGES) == {f.name for f in fields(Transform)}


def sweep_values(name: str) -> list[float]:
    lo, hi, n = RANGES[name]
    return [round(lo + (hi - lo) * k / (n - 1), 4) for k in range(n)]


def _affine(t: Transform, size: int) -> torch.Tensor:
    """The 2x3 matrix mapping output to input coordinates in affine_grid's [-1, 1] space."""
    a = math.radians(t.rotate)
    # forward map: shear, then rotate, then scale; the grid needs its inverse
    forward = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64)
    forward = t.scale * forward @ torch.tensor([[1.0, t.shear], [0.0, 1.0]], dtype=torch.float64)
    inverse = torch.linalg.inv(forward)
    shift = torch.tensor([t.shift_x, t.shift_y], dtype=torch.float64) * 2 / size
    return torch.cat([inverse, (-inverse @ shift).unsqueeze(1)], dim=1).float()


def _thicken(x: torch.Tensor, amount: float) -> torch.Tensor:
    if amount == 0:
        return x
    grow = amount > 0
    y = x
    whole, frac = int(abs(amount)), abs(amount) % 1
    for _ in range(whole + (1 if frac else 0)):
        prev = y
        y = F.max_pool2d(y, 3, 1, 1) if grow else -F.max_pool2d(-y, 3, 1, 1)
    if frac:
        y = prev + frac * (y - prev)
    return y


def apply(images: torch.Tensor, transforms: list[Transform]) -> torch.Tensor:
    """images (B, 1, H, W) or (1, 1, H, W) broadcast to len(transforms) -> (len(transforms), 1, H, W)."""
    n, size = len(transforms), images.shape[-1]
    x = images.expand(n, *images.shape[1:]) if images.shape[0] == 1 else images
    theta = torch.stack([_affine(t, size) for t in transforms]).to(x.device)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    x = torch.cat([_thicken(x[i : i + 1], t.thickness) for i, t in enumerate(transforms)])
    return x.clamp(0, 1)


def apply_one(image, t: Transform):
    """(28, 28) numpy image -> the transformed (28, 28) numpy image."""
    if t.is_identity:
        return image
    x = torch.as_tensor(image, dtype=torch.float32).view(1, 1, *image.shape)
    return apply(x, [t])[0, 0].numpy()
