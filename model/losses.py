"""The paper's losses: margin loss on capsule lengths plus a down-weighted reconstruction loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F

M_PLUS, M_MINUS, LAMBDA = 0.9, 0.1, 0.5
RECONSTRUCTION_WEIGHT = 0.0005


def margin_loss(lengths: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """sum_k T_k max(0, m+ - |v_k|)^2 + lambda (1 - T_k) max(0, |v_k| - m-)^2, averaged over the batch.
    lengths (B, 10), target (B,) class indices, or (B, K) for K digits present at once (MultiMNIST:
    T_k = 1 for both digits of a pair)."""
    t = F.one_hot(target, lengths.shape[1]).to(lengths.dtype)
    if t.dim() == 3:
        t = t.amax(dim=1)  # (B, K, 10) -> (B, 10)
    present = t * F.relu(M_PLUS - lengths) ** 2
    absent = LAMBDA * (1 - t) * F.relu(lengths - M_MINUS) ** 2
    return (present + absent).sum(dim=1).mean()


def reconstruction_loss(reconstruction: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """0.0005 x the sum of squared pixel errors per image, averaged over the batch. With (B, K, H, W)
    (one reconstruction per digit of a pair, each against that digit alone) the K losses are summed."""
    diff = reconstruction.flatten(1).float() - images.flatten(1).float()
    return RECONSTRUCTION_WEIGHT * (diff * diff).sum(dim=1).mean()


def capsule_loss(lengths, reconstruction, images, target) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, margin, reconstruction)."""
    m = margin_loss(lengths, target)
    r = reconstruction_loss(reconstruction, images)
    return m + r, m, r
