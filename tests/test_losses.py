"""model/losses.py: the margin and reconstruction losses on inputs worked out by hand."""
from __future__ import annotations

import pytest
import torch

from model.losses import capsule_loss, margin_loss, reconstruction_loss

# Example 1, target 0: lengths 0.95 (target, above 0.9: no loss), 0.05 and 0.1 (not above 0.1: no loss),
#   0.5 -> 0.5 * (0.5 - 0.1)^2 = 0.08, 0.3 -> 0.5 * (0.3 - 0.1)^2 = 0.02; sum 0.10
# Example 2, target 3: every length 0.2 -> target (0.9 - 0.2)^2 = 0.49, nine others 0.5 * 0.1^2 = 0.005 each
#   = 0.045; sum 0.535
# Mean over the batch: (0.10 + 0.535) / 2 = 0.3175
LENGTHS = torch.tensor([
    [0.95, 0.05, 0.5, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3],
    [0.2] * 10,
])
TARGET = torch.tensor([0, 3])


def test_margin_loss_hand_computed():
    assert margin_loss(LENGTHS, TARGET).item() == pytest.approx(0.3175, abs=1e-6)
    assert margin_loss(LENGTHS[:1], TARGET[:1]).item() == pytest.approx(0.10, abs=1e-6)
    assert margin_loss(LENGTHS[1:], TARGET[1:]).item() == pytest.approx(0.535, abs=1e-6)


def test_margin_loss_zero_inside_the_margins():
    lengths = torch.full((4, 10), 0.1)
    target = torch.tensor([0, 4, 9, 2])
    lengths[torch.arange(4), target] = 0.9
    assert margin_loss(lengths, target).item() == 0.0
    # Pushing the target capsule above 0.9 costs nothing either.
    lengths[torch.arange(4), target] = 1.0
    assert margin_loss(lengths, target).item() == 0.0


def test_margin_loss_matches_loop_reference():
    g = torch.Generator().manual_seed(0)
    lengths = torch.rand(6, 10, generator=g, dtype=torch.float64)
    target = torch.randint(0, 10, (6,), generator=g)
    total = 0.0
    for n in range(6):
        for k in range(10):
            v = lengths[n, k].item()
            if k == target[n].item():
                total += max(0.0, 0.9 - v) ** 2
            else:
                total += 0.5 * max(0.0, v - 0.1) ** 2
    assert margin_loss(lengths, target).item() == pytest.approx(total / 6, rel=1e-12)


# Example 1: reconstruction 0, image 0.5 everywhere -> 784 * 0.25 = 196
# Example 2: reconstruction 0, one pixel 1.0 -> 1
# 0.0005 * mean(196, 1) = 0.0005 * 98.5 = 0.04925
def _recon_example() -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.zeros(2, 1, 28, 28)
    images[0] = 0.5
    images[1, 0, 13, 7] = 1.0
    return torch.zeros(2, 28, 28), images


def test_reconstruction_loss_hand_computed():
    reconstruction, images = _recon_example()
    # The decoder gives (B, 28, 28), the input is (B, 1, 28, 28): both flatten to (B, 784).
    assert reconstruction_loss(reconstruction, images).item() == pytest.approx(0.04925, rel=1e-6)
    assert reconstruction_loss(images.squeeze(1), images).item() == 0.0


def test_reconstruction_loss_computes_in_fp32_for_bf16_input():
    reconstruction, images = _recon_example()
    loss = reconstruction_loss(reconstruction.bfloat16(), images)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(0.04925, rel=1e-6)


def test_capsule_loss_is_the_sum():
    reconstruction, images = _recon_example()
    total, m, r = capsule_loss(LENGTHS, reconstruction, images, TARGET)
    assert m.item() == pytest.approx(0.3175, abs=1e-6)
    assert r.item() == pytest.approx(0.04925, rel=1e-6)
    assert total.item() == pytest.approx(0.3175 + 0.04925, abs=1e-6)


def test_margin_loss_gradient_by_hand():
    # d/dv [(0.9 - v)^2] = -2 (0.9 - v) = -1.4 at v = 0.2; d/dv [0.5 (v - 0.1)^2] = (v - 0.1) = 0.1;
    # divided by the batch size 2 for example 2's row; example 1: length 0.5 -> 0.4 / 2 = 0.2.
    lengths = LENGTHS.clone().requires_grad_(True)
    margin_loss(lengths, TARGET).backward()
    assert lengths.grad[1, 3].item() == pytest.approx(-1.4 / 2, abs=1e-6)
    assert lengths.grad[1, 0].item() == pytest.approx(0.1 / 2, abs=1e-6)
    assert lengths.grad[0, 2].item() == pytest.approx(0.4 / 2, abs=1e-6)
    assert lengths.grad[0, 0].item() == 0.0  # target above 0.9
