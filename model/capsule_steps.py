"""One digit capsule's computation, step by step, for one primary capsule i and digit j, with the real
numbers: u_i (and its own squash from the PrimaryCaps conv), W_ij, u_hat_j|i = W_ij u_i, c_ij and the
contribution c_ij u_hat_j|i in every iteration, s_j = sum_i c_ij u_hat_j|i, v_j = squash(s_j).

Every number is read from the model's own Trace (or W), never recomputed beside it; the squash curve is
the model's squash applied to lengths. Imports only torch.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .capsnet import CapsNet, Trace, squash

CURVE_POINTS = 121


class CapsuleSteps(NamedTuple):
    capsule: int
    digit: int
    u_raw: torch.Tensor  # (8,) the PrimaryCaps vector before squash
    u: torch.Tensor  # (8,) u_i = squash(u_raw)
    W: torch.Tensor  # (16, 8) W_ij
    u_hat: torch.Tensor  # (16,) W_ij u_i
    c: torch.Tensor  # (R,) c_ij per iteration
    contribution: torch.Tensor  # (R, 16) c_ij u_hat_j|i
    s: torch.Tensor  # (R, 16) s_j
    v: torch.Tensor  # (R, 16) v_j


def capsule_steps(model: CapsNet, trace: Trace, capsule: int, digit: int, index: int = 0) -> CapsuleSteps:
    c = torch.stack([step.c[index, capsule, digit] for step in trace.routing])  # (R,)
    u_hat = trace.u_hat[index, capsule, digit]  # (16,)
    return CapsuleSteps(
        capsule=capsule, digit=digit, u_raw=trace.primary_caps_raw[index, capsule],
        u=trace.primary_caps[index, capsule], W=model.W[capsule, digit].detach(), u_hat=u_hat,
        c=c, contribution=c[:, None] * u_hat,
        s=torch.stack([step.s[index, digit] for step in trace.routing]),
        v=torch.stack([step.v[index, digit] for step in trace.routing]),
    )


def squash_curve(longest: float, points: int = CURVE_POINTS) -> tuple[torch.Tensor, torch.Tensor]:
    """|s| from 0 to `longest` and |squash(s)|: the length map squash applies, from the model's squash."""
    lengths = torch.linspace(0.0, longest, points, dtype=torch.float64)
    s = torch.zeros(points, 2, dtype=torch.float64)
    s[:, 0] = lengths
    return lengths, squash(s).norm(dim=-1)
