"""The decoder as plain layers, for a client that runs it itself (the page's static/js/decoder.js).

The decoder is an nn.Sequential of Linear layers each followed by one activation; this reads it back as
[(weight (out, in), bias (out,), activation name)], so nothing outside model/ needs to know how it is
built. The input of the first layer is the masked DigitCaps output flattened (digit_count * digit_dim):
capsule j's 16 numbers at j * digit_dim, every other capsule zero (CapsNet.decode).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn

from .capsnet import CapsNet

ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid"}


class Layer(NamedTuple):
    weight: torch.Tensor  # (out, in), as nn.Linear stores it
    bias: torch.Tensor  # (out,)
    activation: str  # "relu" | "sigmoid"


def decoder_layers(model: CapsNet) -> list[Layer]:
    modules = list(model.decoder)
    layers = []
    for linear, activation in zip(modules[::2], modules[1::2]):
        if not isinstance(linear, nn.Linear) or type(activation) not in ACTIVATIONS:
            raise TypeError(f"decoder layer {linear} / {activation} is not Linear + {sorted(ACTIVATIONS.values())}")
        layers.append(Layer(linear.weight.detach(), linear.bias.detach(), ACTIVATIONS[type(activation)]))
    if 2 * len(layers) != len(modules):
        raise TypeError("the decoder ends in a Linear layer without an activation")
    return layers
