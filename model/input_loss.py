"""The loss for one input and a chosen label: what training would push on this digit.

Per digit k the margin loss's two terms, T_k max(0, m+ - |v_k|)^2 and lambda (1 - T_k) max(0, |v_k| - m-)^2,
and the reconstruction loss 0.0005 sum (x - x_hat)^2 with the decoder run on the label's capsule (as in
training: the true class's capsule, all others masked). Constants from model/losses.py, the one source;
the sums equal losses.capsule_loss for a batch of one (tests/test_agreement.py checks it).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from .capsnet import CapsNet, Trace
from .losses import LAMBDA, M_MINUS, M_PLUS, RECONSTRUCTION_WEIGHT


class InputLoss(NamedTuple):
    label: int
    present: torch.Tensor  # (J,) T_k max(0, m+ - |v_k|)^2, zero but for the label
    absent: torch.Tensor  # (J,) lambda (1 - T_k) max(0, |v_k| - m-)^2, zero at the label
    reconstruction: torch.Tensor  # (H, W) the decoder's image from the label's capsule
    difference: torch.Tensor  # (H, W) x - x_hat
    squared_error: float  # sum (x - x_hat)^2

    @property
    def margin(self) -> float:
        return float(self.present.sum() + self.absent.sum())

    @property
    def reconstruction_loss(self) -> float:
        return RECONSTRUCTION_WEIGHT * self.squared_error

    @property
    def total(self) -> float:
        return self.margin + self.reconstruction_loss


@torch.inference_mode()
def input_loss(model: CapsNet, trace: Trace, image: torch.Tensor, label: int, index: int = 0) -> InputLoss:
    """image (H, W) the input the trace was computed from; label in 0..J-1."""
    lengths = trace.lengths[index]  # (J,)
    t = F.one_hot(torch.tensor(label, device=lengths.device), lengths.shape[0]).to(lengths.dtype)
    present = t * F.relu(M_PLUS - lengths) ** 2
    absent = LAMBDA * (1 - t) * F.relu(lengths - M_MINUS) ** 2
    target = torch.tensor([label], device=lengths.device)
    x_hat = model.decode(trace.digit_caps[index : index + 1], target)[0]
    diff = image.to(x_hat) - x_hat
    return InputLoss(label, present, absent, x_hat, diff, float((diff.double() ** 2).sum()))
