"""Starting one CapsNet from another's weights (`model.train --init-weights`).

Same architecture: every tensor is copied. An MNIST model seeding a MultiMNIST one (36x36 input, a
10x10 grid of primary capsules instead of 6x6): the convolutions do not depend on the input size and
are copied; each W_ij of the larger grid starts as the W of the nearest position of the smaller grid
(same capsule type, same digit), so every primary capsule starts with the votes its type cast on MNIST;
the decoder's hidden layers are copied and only its last layer, whose output size is the image's, starts
fresh.
"""
from __future__ import annotations

import torch

from .capsnet import CapsNet


def _grid_index(n_to: int, n_from: int) -> torch.Tensor:
    """Nearest source position for each target position, spread over the same extent."""
    if n_to == 1:
        return torch.zeros(1, dtype=torch.long)
    return torch.round(torch.arange(n_to) * (n_from - 1) / (n_to - 1)).long()


@torch.no_grad()
def init_from(model: CapsNet, source: CapsNet) -> str:
    """Copies what fits from `source` into `model` in place; returns a one-line account for the manifest."""
    a, b = model.config, source.config
    if a == b or a.to_dict() | {"routing_iterations": 0} == b.to_dict() | {"routing_iterations": 0}:
        model.load_state_dict(source.state_dict())
        return "every tensor copied"
    same = ("conv1_channels", "kernel_size", "primary_types", "primary_dim", "primary_stride", "digit_count",
            "digit_dim", "decoder_hidden")
    differ = [f for f in same if getattr(a, f) != getattr(b, f)]
    if differ:
        raise ValueError(f"--init-weights: the weights' {differ[0]} is {getattr(b, differ[0])}, this model's "
                         f"{getattr(a, differ[0])}: only the input size may differ")
    model.conv1.load_state_dict(source.conv1.state_dict())
    model.primary.load_state_dict(source.primary.state_dict())
    ga, gb = a.primary_grid, b.primary_grid
    W = source.W.view(b.primary_types, gb, gb, b.digit_count, b.digit_dim, b.primary_dim)
    idx = _grid_index(ga, gb)
    model.W.copy_(W[:, idx][:, :, idx].reshape_as(model.W))
    for i in (0, 2):  # the two hidden layers; layer 4 maps to the image and keeps its fresh init
        model.decoder[i].load_state_dict(source.decoder[i].state_dict())
    return (f"conv1, primary_caps and decoder hidden layers copied; W resampled from the {gb}x{gb} grid to "
            f"{ga}x{ga} (nearest position); decoder output layer ({a.image_size ** 2}) fresh")
