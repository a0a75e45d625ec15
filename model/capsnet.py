"""The CapsNet of Sabour, Frosst & Hinton (2017), with a per-call trace of every layer.

Imports only torch. One forward pass returns the output and, when asked, a `Trace` holding every
intermediate the visualizer shows; nothing about a call is ever stored on the module, so one shared
model can serve parallel requests.

Capsule index convention (used by the API and the page): primary capsule i = type * 36 + row * 6 + col,
i.e. the PrimaryCaps conv output (B, 32*8, 6, 6) is read as 32 types of 8-D vectors on a 6x6 grid.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# Keeps squash finite at s = 0 without changing it measurably elsewhere.
SQUASH_EPS = 1e-8


@dataclass(frozen=True)
class CapsNetConfig:
    """Every number is the paper's; stored in each checkpoint so any script can rebuild the model."""

    image_size: int = 28
    conv1_channels: int = 256
    kernel_size: int = 9
    primary_types: int = 32
    primary_dim: int = 8
    primary_stride: int = 2
    digit_count: int = 10
    digit_dim: int = 16
    decoder_hidden: tuple[int, int] = (512, 1024)
    routing_iterations: int = 3

    @property
    def conv1_size(self) -> int:
        return self.image_size - self.kernel_size + 1  # 20

    @property
    def primary_grid(self) -> int:
        return (self.conv1_size - self.kernel_size) // self.primary_stride + 1  # 6

    @property
    def primary_count(self) -> int:
        return self.primary_types * self.primary_grid**2  # 1152

    def to_dict(self) -> dict:
        """JSON-shaped (lists, not tuples): the same dict after a round trip through a checkpoint."""
        d = asdict(self)
        d["decoder_hidden"] = list(d["decoder_hidden"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CapsNetConfig":
        d = dict(d)
        d["decoder_hidden"] = tuple(d.get("decoder_hidden", cls.decoder_hidden))
        return cls(**d)


def squash(s: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """squash(s) = |s|^2 / (1 + |s|^2) * s / |s|: keeps the direction, maps the length into [0, 1)."""
    n2 = (s * s).sum(dim=dim, keepdim=True)
    return s * (n2 / (1.0 + n2)) / torch.sqrt(n2 + SQUASH_EPS)


class RoutingStep(NamedTuple):
    """One routing iteration. b are the logits this iteration started from (c = softmax_j b)."""

    b: torch.Tensor  # (B, 1152, 10)
    c: torch.Tensor  # (B, 1152, 10), sums to 1 over digits
    s: torch.Tensor  # (B, 10, 16)
    v: torch.Tensor  # (B, 10, 16)
    agreement: torch.Tensor  # (B, 1152, 10)  u_hat_j|i . v_j


def dynamic_routing(
    u_hat: torch.Tensor, iterations: int, trace: bool = False, uniform: bool = False
) -> tuple[torch.Tensor, list[RoutingStep]]:
    """Routing by agreement (Procedure 1 of the paper), vectorised over batch, capsules and digits.

    u_hat: (B, N, J, D) predictions u_hat_j|i. Each example routes on its own logits: nothing is
    averaged over the batch. `uniform=True` skips routing (c = 1/J everywhere, one step) for ablation.
    Returns v (B, J, D) and, if trace, one RoutingStep per iteration.
    """
    if iterations < 1:
        raise ValueError(f"routing needs at least 1 iteration, got {iterations}")
    if uniform:
        iterations = 1
    B, N, J, _ = u_hat.shape
    b = torch.zeros(B, N, J, device=u_hat.device, dtype=u_hat.dtype)
    steps: list[RoutingStep] = []
    for r in range(iterations):
        c = F.softmax(b, dim=2)  # (B, N, J)
        s = torch.einsum("bnj,bnjd->bjd", c, u_hat)  # (B, J, D)
        v = squash(s)  # (B, J, D)
        last = r == iterations - 1
        if trace or not last:
            agreement = torch.einsum("bnjd,bjd->bnj", u_hat, v)  # (B, N, J)
        if trace:
            steps.append(RoutingStep(b=b, c=c, s=s, v=v, agreement=agreement))
        if not last:
            b = b + agreement
    return v, steps


class Trace(NamedTuple):
    """Everything one forward pass computed, for one batch. Field names are the API's JSON keys."""

    conv1: torch.Tensor  # (B, 256, 20, 20) after ReLU
    primary_caps: torch.Tensor  # (B, 1152, 8) squashed vectors
    primary_lengths: torch.Tensor  # (B, 1152)
    # Before squash: the primary capsule's own squash step (|raw| -> |u_i|), shown beside the digit's.
    primary_caps_raw: torch.Tensor  # (B, 1152, 8)
    u_hat: torch.Tensor  # (B, 1152, 10, 16)
    routing: list[RoutingStep]
    digit_caps: torch.Tensor  # (B, 10, 16)
    lengths: torch.Tensor  # (B, 10)
    decoded_digit: torch.Tensor  # (B,) which capsule the decoder saw
    reconstruction: torch.Tensor  # (B, 28, 28)


class CapsOutput(NamedTuple):
    lengths: torch.Tensor  # (B, 10) class probabilities ||v_j||
    digit_caps: torch.Tensor  # (B, 10, 16)
    reconstruction: torch.Tensor  # (B, 28, 28)


class CapsNet(nn.Module):
    def __init__(self, config: CapsNetConfig = CapsNetConfig()):
        super().__init__()
        self.config = cfg = config
        self.conv1 = nn.Conv2d(1, cfg.conv1_channels, cfg.kernel_size)
        self.primary = nn.Conv2d(
            cfg.conv1_channels,
            cfg.primary_types * cfg.primary_dim,
            cfg.kernel_size,
            stride=cfg.primary_stride,
        )
        # One 8x16 matrix per (primary capsule i, digit j), stored as (i, j, out 16, in 8).
        self.W = nn.Parameter(
            0.01 * torch.randn(cfg.primary_count, cfg.digit_count, cfg.digit_dim, cfg.primary_dim)
        )
        h1, h2 = cfg.decoder_hidden
        self.decoder = nn.Sequential(
            nn.Linear(cfg.digit_count * cfg.digit_dim, h1),
            nn.ReLU(inplace=True),
            nn.Linear(h1, h2),
            nn.ReLU(inplace=True),
            nn.Linear(h2, cfg.image_size**2),
            nn.Sigmoid(),
        )

    def primary_capsules(self, conv1: torch.Tensor) -> torch.Tensor:
        return squash(self.primary_capsules_raw(conv1))

    def primary_capsules_raw(self, conv1: torch.Tensor) -> torch.Tensor:
        """The PrimaryCaps conv read as (B, 1152, 8) capsule vectors, before squash."""
        cfg = self.config
        p = self.primary(conv1)  # (B, 256, 6, 6)
        g = cfg.primary_grid
        u = p.view(-1, cfg.primary_types, cfg.primary_dim, g, g)  # (B, 32, 8, 6, 6)
        return u.permute(0, 1, 3, 4, 2).reshape(-1, cfg.primary_count, cfg.primary_dim)  # (B, 1152, 8)

    def decode(self, digit_caps: torch.Tensor, digit: torch.Tensor) -> torch.Tensor:
        """Decoder on the capsules with all but `digit` (B,) masked to zero -> (B, 28, 28). With digit
        (B, K) (MultiMNIST: both digits of a pair) each is decoded from its own capsule -> (B, K, 28, 28)."""
        if digit.dim() == 2:
            B, K = digit.shape
            caps = digit_caps.unsqueeze(1).expand(B, K, *digit_caps.shape[1:]).reshape(B * K, *digit_caps.shape[1:])
            n = self.config.image_size
            return self.decode(caps, digit.reshape(B * K)).view(B, K, n, n)
        mask = F.one_hot(digit, self.config.digit_count).to(digit_caps.dtype)  # (B, 10)
        x = (digit_caps * mask.unsqueeze(-1)).flatten(1)  # (B, 160)
        n = self.config.image_size
        return self.decoder(x).view(-1, n, n)

    def decode_vector(self, digit: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        """Reconstruct from one 16-D vector (B, 16) placed in capsule `digit` (B,) -> (B, 28, 28)."""
        caps = torch.zeros(
            vector.shape[0], self.config.digit_count, self.config.digit_dim,
            device=vector.device, dtype=vector.dtype,
        )
        caps[torch.arange(vector.shape[0], device=vector.device), digit] = vector
        return self.decode(caps, digit)

    def forward(
        self,
        x: torch.Tensor,
        iterations: int | None = None,
        target: torch.Tensor | None = None,
        trace: bool = False,
        uniform_routing: bool = False,
    ) -> tuple[CapsOutput, Trace | None]:
        """x (B, 1, 28, 28) in [0, 1]. The decoder sees capsule `target` (B,) if given (training),
        else the longest one; a target (B, K) decodes K capsules, each on its own (B, K, 28, 28).
        Returns (output, trace or None)."""
        iterations = self.config.routing_iterations if iterations is None else iterations
        conv1 = F.relu(self.conv1(x))  # (B, 256, 20, 20)
        u_raw = self.primary_capsules_raw(conv1)  # (B, 1152, 8)
        u = squash(u_raw)
        # Votes, routing and lengths in fp32 even under bf16 autocast: softmax over small logit
        # differences and |v| near the 0.9 / 0.1 margins need the precision, and the bf16 einsum
        # was measured slower here (layout copies) than the fp32 one.
        with torch.autocast(device_type=x.device.type, enabled=False):
            u_hat = torch.einsum("ijdk,bik->bijd", self.W, u.float())  # (B, 1152, 10, 16)
            v, steps = dynamic_routing(u_hat, iterations, trace=trace, uniform=uniform_routing)
        lengths = v.norm(dim=-1)  # (B, 10)
        digit = target if target is not None else lengths.argmax(dim=1)
        reconstruction = self.decode(v, digit)
        out = CapsOutput(lengths=lengths, digit_caps=v, reconstruction=reconstruction)
        if not trace:
            return out, None
        return out, Trace(
            conv1=conv1,
            primary_caps=u,
            primary_lengths=u.norm(dim=-1),
            primary_caps_raw=u_raw,
            u_hat=u_hat,
            routing=steps,
            digit_caps=v,
            lengths=lengths,
            decoded_digit=digit,
            reconstruction=reconstruction,
        )


def parameter_counts(model: CapsNet) -> dict[str, int]:
    """Parameters per stage, named as in the paper's table."""
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    counts = {
        "conv1": count(model.conv1),
        "primary_caps": count(model.primary),
        "digit_caps": model.W.numel(),
        "decoder": count(model.decoder),
    }
    counts["total"] = sum(counts.values())
    return counts
