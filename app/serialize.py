"""A forward pass's trace -> the JSON the page renders. Keys follow the trace's field names.

Capsule maps are reshaped from the model's flat 1152 primary capsules to (32 types, 6, 6) so the page
can draw them as they sit on the image; per-digit maps come first: (10, 32, 6, 6).
See app/encoding.py for how each tensor is encoded and README.md ("API") for the full schema.
"""
from __future__ import annotations

import numpy as np
import torch

from model.ablation import Ablation
from model.capsnet import CapsNetConfig, Trace
from model import evidence
from model.evidence import DigitEvidence

from .encoding import encode_float, encode_signed, encode_unsigned


def _rounded(x: torch.Tensor, digits: int = 6) -> list:
    return [round(float(v), digits) for v in x.flatten().tolist()]


def _per_digit_map(x: torch.Tensor, cfg: CapsNetConfig) -> torch.Tensor:
    """(1152, 10) -> (10, 32, 6, 6)."""
    g = cfg.primary_grid
    return x.T.reshape(cfg.digit_count, cfg.primary_types, g, g)


def routing_mass(c: torch.Tensor, primary_lengths: torch.Tensor) -> torch.Tensor:
    """Share of all primary-capsule evidence each digit receives: sum_i c_ij |u_i| / sum_i |u_i|.
    c (1152, 10), primary_lengths (1152,) -> (10,), sums to 1."""
    w = primary_lengths / primary_lengths.sum().clamp(min=1e-12)
    return (c * w.unsqueeze(1)).sum(0)


def trace_to_json(trace: Trace, cfg: CapsNetConfig, index: int = 0) -> dict:
    """Example `index` of a traced batch -> the analysis JSON (everything but input and timing)."""
    g = cfg.primary_grid
    primary = trace.primary_caps[index]  # (1152, 8)
    primary_lengths = trace.primary_lengths[index]  # (1152,)
    iterations = []
    for step in trace.routing:
        c = step.c[index]  # (1152, 10)
        iterations.append({
            "c": encode_unsigned(_per_digit_map(c, cfg)),
            "agreement": encode_signed(_per_digit_map(step.agreement[index], cfg)),
            "mass": _rounded(routing_mass(c, primary_lengths)),
            "lengths": _rounded(step.v[index].norm(dim=-1)),
        })
    lengths = trace.lengths[index]
    return {
        "prediction": int(lengths.argmax()),
        "lengths": _rounded(lengths),
        "iterations": len(trace.routing),
        "layers": {
            "conv1": {"maps": encode_unsigned(trace.conv1[index])},
            "primary_caps": {
                "lengths": encode_float(primary_lengths.view(cfg.primary_types, g, g), "float16"),
                "vectors": encode_signed(primary.view(cfg.primary_types, g, g, cfg.primary_dim)),
            },
            "routing": {"iterations": iterations},
            "digit_caps": {
                "vectors": encode_float(trace.digit_caps[index]),
                "lengths": _rounded(lengths),
            },
            "reconstruction": {
                "digit": int(trace.decoded_digit[index]),
                "image": encode_float(trace.reconstruction[index], "float16"),
            },
        },
    }


def image_to_json(image: np.ndarray) -> dict:
    return encode_float(image, "float16")


def votes_to_json(trace: Trace, capsule: int, index: int = 0) -> dict:
    """Primary capsule `capsule`'s vector, its votes u_hat_j|i for every digit, their lengths and its c_ij
    per iteration."""
    u_hat = trace.u_hat[index, capsule]  # (10, 16)
    return {
        "capsule": capsule,
        "vector": encode_float(trace.primary_caps[index, capsule]),
        "u_hat": encode_float(u_hat),
        "u_hat_lengths": _rounded(u_hat.norm(dim=-1)),
        "c": [_rounded(step.c[index, capsule]) for step in trace.routing],  # per iteration, (10,)
    }


def ablation_to_json(ablation: Ablation, digit: int, cfg: CapsNetConfig) -> dict:
    """A routing ablation (model/ablation.py) -> JSON: lengths after every iteration count, the uniform
    coupling result, and digit `digit`'s change of c per step as (32, 6, 6) maps. Each map is quantised
    on its own (int8, scale = its max |Δc| / 127): later steps move c much less than the first, and one
    shared scale would round them to zero."""
    g = cfg.primary_grid
    lengths = ablation.lengths  # (R, 10)
    return {
        "iterations": int(lengths.shape[0]),
        "default_iterations": cfg.routing_iterations,
        "lengths": encode_float(lengths),
        "predictions": ablation.predictions,
        "uniform": {
            "lengths": encode_float(ablation.uniform_lengths),
            "prediction": ablation.uniform_prediction,
            # Not assumed: compared bit for bit (uniform coupling is what iteration 1 computes).
            "equals_iterations_1": bool(torch.equal(ablation.uniform_lengths, lengths[0])),
        },
        "digit": digit,
        "delta_c": [
            {"step": r + 2, "map": encode_signed(d[:, digit].reshape(cfg.primary_types, g, g))}
            for r, d in enumerate(ablation.delta_c)
        ],
        "delta_c_mean_abs": encode_float(ablation.mean_abs_change()),
    }


def evidence_to_json(found: list[DigitEvidence]) -> list[dict]:
    """Per chosen digit: its evidence map, what routing added to it, its top capsules."""
    return [{
        "digit": e.digit,
        "total": round(e.total, 6),
        "map": encode_unsigned(e.map),  # (28, 28)
        "routed": encode_signed(e.routed),  # (28, 28)
        "top": [{**t._asdict(), **{k: round(getattr(t, k), 6) for k in ("length", "c", "weight")}} for t in e.top],
    } for e in found]


def prediction_and_runner_up(lengths: torch.Tensor) -> list[int]:
    """The longest digit capsule and the next longest (the first of equals, as argmax picks)."""
    prediction = int(lengths.argmax())
    runner_up = max((j for j in range(len(lengths)) if j != prediction), key=lambda j: float(lengths[j]))
    return [prediction, runner_up]


def analysis_evidence(trace: Trace, cfg: CapsNetConfig, top: int, index: int = 0) -> dict:
    """/api/evidence's "digits" and "capsules" for the prediction and the runner-up, from the analysis' own
    trace: the page shows them, the capsule details included, without a second forward pass."""
    digits = prediction_and_runner_up(trace.lengths[index])
    found = evidence.evidence(trace, cfg, digits, top, index)
    listed = sorted({t.capsule for e in found for t in e.top})
    return {"digits": evidence_to_json(found), "capsules": [votes_to_json(trace, i) for i in listed]}
