"""Where a digit capsule's evidence came from: each primary capsule's share, and where on the input it looks.

For digit j, primary capsule i contributes weight_ij = c_ij |u_i|: its coupling coefficient after the
last routing iteration (the c that produced v_j) times its length (how sure it is that its feature is
there). Spread over the input pixels each capsule sees, the weights make a 28x28 evidence map
sum_i weight_ij * RF_i, where RF_i is 1 inside capsule i's receptive field and 0 elsewhere.

That map is mostly geometry: a centre pixel lies in the fields of all 36 grid positions, a corner pixel in
one, and when routing leaves c near uniform (1/J) every digit gets nearly the same pyramid. So each digit
also gets `routed` = sum_i (c_ij - 1/J) |u_i| RF_i: the evidence routing moved towards (> 0) or away from
(< 0) digit j compared with uniform coupling, where the differences between digits show.

The receptive field is derived from CapsNetConfig, following the two convolutions of CapsNet.__init__
(Conv1: kernel_size, stride 1; PrimaryCaps: kernel_size, primary_stride; no padding). With the paper's
numbers a capsule at grid (row, col) sees the 17x17 input window starting at (2 row, 2 col); the last
input row and column (27) fall in no window.

Imports only torch; pure functions of a Trace, nothing stored between calls.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from .capsnet import CapsNetConfig, Trace

# Conv1's stride: nn.Conv2d's default in CapsNet.__init__, not a config field.
CONV1_STRIDE = 1


class ReceptiveField(NamedTuple):
    """Primary capsule (row, col) sees input rows stride*row .. stride*row + size - 1 (columns alike)."""

    size: int
    stride: int

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right), bottom and right exclusive."""
        top, left = self.stride * row, self.stride * col
        return top, left, top + self.size, left + self.size


def receptive_field(cfg: CapsNetConfig) -> ReceptiveField:
    """The usual recurrence over the layers: size += (kernel - 1) * jump; jump *= stride."""
    size, jump = 1, 1
    for kernel, stride in ((cfg.kernel_size, CONV1_STRIDE), (cfg.kernel_size, cfg.primary_stride)):
        size += (kernel - 1) * jump
        jump *= stride
    return ReceptiveField(size=size, stride=jump)


def capsule_position(cfg: CapsNetConfig, i: int) -> tuple[int, int, int]:
    """Primary capsule index -> (type, row, col); the model's layout i = type * g*g + row * g + col."""
    g = cfg.primary_grid
    return i // (g * g), (i % (g * g)) // g, i % g


def weights(trace: Trace, index: int = 0) -> torch.Tensor:
    """weight_ij = c_ij (last routing iteration) * |u_i| for example `index` -> (1152, 10)."""
    c = trace.routing[-1].c[index]  # (1152, 10)
    return c * trace.primary_lengths[index].unsqueeze(1)


def evidence_maps(w: torch.Tensor, cfg: CapsNetConfig) -> torch.Tensor:
    """(1152, J) capsule weights -> (J, 28, 28): sum_i w_ij over the pixels of capsule i's field.

    Capsules of all 32 types at one grid position share a field, so their weights are summed first;
    a transposed convolution with an all-ones kernel then stamps each position's field onto the image.
    """
    g, rf = cfg.primary_grid, receptive_field(cfg)
    per_position = w.T.reshape(-1, cfg.primary_types, g, g).sum(1, keepdim=True)  # (J, 1, 6, 6)
    ones = torch.ones(1, 1, rf.size, rf.size, dtype=w.dtype, device=w.device)
    stamped = F.conv_transpose2d(per_position, ones, stride=rf.stride)  # (J, 1, 27, 27)
    covered = stamped.shape[-1]
    if covered > cfg.image_size:
        raise ValueError(f"receptive fields cover {covered} pixels, more than the {cfg.image_size}-pixel image")
    pad = cfg.image_size - covered  # the last rows and columns no field reaches
    return F.pad(stamped, (0, pad, 0, pad))[:, 0]  # (J, 28, 28)


class Contribution(NamedTuple):
    capsule: int
    type: int
    row: int
    col: int
    length: float  # |u_i|
    c: float  # c_ij, last iteration
    weight: float  # c_ij |u_i|


class DigitEvidence(NamedTuple):
    digit: int
    map: torch.Tensor  # (28, 28) sum_i c_ij |u_i| RF_i
    routed: torch.Tensor  # (28, 28) sum_i (c_ij - 1/J) |u_i| RF_i
    total: float  # sum_i c_ij |u_i|
    top: list[Contribution]  # largest weight first; ties by capsule index


def evidence(trace: Trace, cfg: CapsNetConfig, digits: list[int], k: int, index: int = 0) -> list[DigitEvidence]:
    """The evidence maps, total weight and top-k primary capsules for each of `digits`."""
    w = weights(trace, index)  # (1152, 10)
    uniform = trace.primary_lengths[index].unsqueeze(1) / cfg.digit_count  # (1152, 1) weights if c = 1/J
    maps = evidence_maps(w[:, digits], cfg)  # (len(digits), 28, 28)
    routed = evidence_maps(w[:, digits] - uniform, cfg)
    c = trace.routing[-1].c[index]
    lengths = trace.primary_lengths[index]
    out = []
    for n, j in enumerate(digits):
        order = torch.argsort(w[:, j], descending=True, stable=True)[:k]
        top = [Contribution(i, *capsule_position(cfg, i), float(lengths[i]), float(c[i, j]), float(w[i, j]))
               for i in order.tolist()]
        out.append(DigitEvidence(j, maps[n], routed[n], float(w[:, j].sum()), top))
    return out
