"""The vote cloud: digit j's predictions u_hat_j|i of all primary capsules, projected to 2-D, and how the
coupling coefficients weight them in each routing iteration.

Routing by agreement is usually taught with a picture: every primary capsule votes for the digit's
output vector, the votes that agree form a cluster, the c-weighted mean is taken, votes far from it lose
weight, and the mean is taken again. The votes u_hat_j|i = W_ij u_i do not change between iterations;
only c_ij does. So one projection per input and digit serves every iteration, and stepping through the
iterations moves the weights, never the axes:

- axis 1 is the direction of v_j after the last iteration (the routed output: votes to the right agree);
- axis 2 is the top principal direction of the votes orthogonal to axis 1, weighted by the last
  iteration's c_ij (where the votes spread most, apart from agreeing or not).

`variance_kept` says how much of the c-weighted variance of the D-dimensional votes the plane shows.
The routed sum s_j = sum_i c_ij u_hat_j|i is a sum over all N capsules, far outside the cloud; the cloud
marks the weighted mean s_j / sum_i c_ij (same direction) instead and keeps s_j and v_j themselves.

`python -m model.agreement` prints, over the gallery's digits, how tightly the prediction's votes agree
compared with the runner-up's. Imports only torch and numpy; pure functions of a Trace.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from .capsnet import CapsNet, Trace
from .gallery import read as read_gallery
from .weights import DEFAULT_WEIGHTS, load_weights

# Below this |v_j| the direction of v_j is noise: axis 1 becomes the top principal direction instead.
MIN_DIRECTION = 1e-12


class Projection(NamedTuple):
    axes: torch.Tensor  # (2, D) orthonormal rows: v_j's direction, then the top orthogonal principal direction
    variance: tuple[float, float]  # c-weighted variance of the votes along each axis
    variance_total: float  # c-weighted variance of the votes summed over all D dimensions
    axis1_from_v: bool  # False when v_j was too short to give a direction

    @property
    def variance_kept(self) -> float:
        return (self.variance[0] + self.variance[1]) / self.variance_total if self.variance_total > 0 else 1.0


class VoteCloud(NamedTuple):
    digit: int
    projection: Projection
    coords: torch.Tensor  # (N, 2) u_hat_j|i projected; the same in every iteration
    c: torch.Tensor  # (R, N) c_ij per iteration
    agreement: torch.Tensor  # (R, N) u_hat_j|i . v_j per iteration (v_j of that iteration)
    mean: torch.Tensor  # (R, 2) the weighted mean s_j / sum_i c_ij projected, per iteration
    s: torch.Tensor  # (R, 2) s_j projected
    v: torch.Tensor  # (R, 2) v_j projected
    lengths: torch.Tensor  # (R,) |v_j| per iteration
    weighted_agreement: torch.Tensor  # (R,) sum_i c_ij a_ij / sum_i c_ij
    weighted_median: torch.Tensor  # (R,) the c-weighted median of a_ij


def _sign_fixed(e: torch.Tensor) -> torch.Tensor:
    """An eigenvector's sign is arbitrary; make its largest-magnitude component positive (ties: the first)."""
    k = int(torch.argmax(e.abs()))
    return e if e[k] >= 0 else -e


def weighted_covariance(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """x (N, D), weights w (N,) >= 0 -> the (D, D) w-weighted covariance about the w-weighted mean."""
    w = w / w.sum()
    centred = x - (w[:, None] * x).sum(0)
    return (centred * w[:, None]).T @ centred


def projection(u_hat: torch.Tensor, c: torch.Tensor, v: torch.Tensor) -> Projection:
    """u_hat (N, D) one digit's votes, c (N,) their last coupling, v (D,) the digit's last output."""
    x, w = u_hat.double(), c.double()
    cov = weighted_covariance(x, w)  # (D, D)
    norm = float(v.double().norm())
    from_v = norm > MIN_DIRECTION
    if from_v:
        e1 = v.double() / norm
    else:
        e1 = _sign_fixed(torch.linalg.eigh(cov).eigenvectors[:, -1])
    # The principal directions of the votes with their axis-1 part removed: P cov P, P = I - e1 e1^T.
    p = torch.eye(len(e1), dtype=torch.float64, device=e1.device) - torch.outer(e1, e1)
    e2 = _sign_fixed(torch.linalg.eigh(p @ cov @ p).eigenvectors[:, -1])
    e2 = e2 - (e2 @ e1) * e1  # exact orthogonality despite eigh's rounding
    e2 = e2 / e2.norm()
    axes = torch.stack([e1, e2])  # (2, D)
    variance = tuple(float(e @ cov @ e) for e in axes)
    return Projection(axes.to(u_hat.dtype), variance, float(torch.trace(cov)), from_v)


def weighted_median(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The smallest x at which the cumulative weight reaches half the total; x, w (N,)."""
    order = torch.argsort(x, stable=True)
    cum = torch.cumsum(w[order].double(), 0)
    k = int(torch.searchsorted(cum, cum[-1] / 2))
    return x[order][min(k, len(x) - 1)]


def vote_cloud(trace: Trace, digit: int, index: int = 0) -> VoteCloud:
    """Digit `digit`'s vote cloud for example `index` of a traced batch, every routing iteration."""
    u_hat = trace.u_hat[index, :, digit]  # (N, D)
    c = torch.stack([step.c[index, :, digit] for step in trace.routing])  # (R, N)
    agreement = torch.stack([step.agreement[index, :, digit] for step in trace.routing])  # (R, N)
    s = torch.stack([step.s[index, digit] for step in trace.routing])  # (R, D)
    v = torch.stack([step.v[index, digit] for step in trace.routing])  # (R, D)
    proj = projection(u_hat, c[-1], v[-1])
    axes = proj.axes.T  # (D, 2)
    mean = s / c.sum(1, keepdim=True)  # (R, D)
    return VoteCloud(
        digit=digit, projection=proj, coords=u_hat @ axes, c=c, agreement=agreement,
        mean=mean @ axes, s=s @ axes, v=v @ axes, lengths=v.norm(dim=-1),
        weighted_agreement=(c * agreement).sum(1) / c.sum(1),
        weighted_median=torch.stack([weighted_median(a, w) for a, w in zip(agreement, c)]),
    )


def top_two(lengths: torch.Tensor) -> list[int]:
    """The prediction and the runner-up: the two longest digit capsules (ties by index)."""
    return torch.argsort(lengths, descending=True, stable=True)[:2].tolist()


# ---- python -m model.agreement -------------------------------------------------------------------------

@torch.inference_mode()
def gallery_agreement(model: CapsNet, images: np.ndarray, labels: np.ndarray) -> dict:
    """Over many digits: the c-weighted mean agreement u_hat . v of the prediction's votes and of the
    runner-up's after the default routing, its cosine form (u_hat . v / |u_hat| |v|: direction only, since
    u_hat . v also grows with |v|), and how much variance the cloud's plane keeps."""
    device = next(model.parameters()).device
    rows = []
    for image in images:
        x = torch.as_tensor(image, dtype=torch.float32, device=device).view(1, 1, *image.shape)
        _, trace = model(x, trace=True)
        row = []
        for j in top_two(trace.lengths[0]):
            cloud = vote_cloud(trace, j)
            c, u_hat, v = cloud.c[-1], trace.u_hat[0, :, j], trace.routing[-1].v[0, j]
            cosine = (u_hat @ v) / (u_hat.norm(dim=-1) * v.norm()).clamp(min=1e-12)
            row.append((float(cloud.weighted_agreement[-1]), float((c * cosine).sum() / c.sum()),
                        cloud.projection.variance_kept, j))
        rows.append(row)
    a = np.array([[r[0] for r in row] for row in rows])  # (digits, 2): prediction, runner-up
    cos = np.array([[r[1] for r in row] for row in rows])
    kept = np.array([[r[2] for r in row] for row in rows])
    right = np.array([row[0][3] for row in rows]) == np.asarray(labels)
    med = lambda x: round(float(np.median(x)), 4) if len(x) else None  # noqa: E731  (None: no such digits)
    return {
        "digits": len(rows),
        "right": int(right.sum()),
        "iterations": model.config.routing_iterations,
        "median_weighted_agreement": {"prediction": med(a[:, 0]), "runner_up": med(a[:, 1])},
        "median_weighted_agreement_right": {"prediction": med(a[right, 0]), "runner_up": med(a[right, 1])},
        "median_weighted_cosine": {"prediction": med(cos[:, 0]), "runner_up": med(cos[:, 1])},
        "prediction_agrees_more": int((a[:, 0] > a[:, 1]).sum()),
        "prediction_cosine_higher": int((cos[:, 0] > cos[:, 1]).sum()),
        "median_variance_kept": {"prediction": med(kept[:, 0]), "runner_up": med(kept[:, 1])},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="How tightly the prediction's votes agree compared with the "
                                "runner-up's, over every gallery digit (c-weighted, after the default routing).")
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights file (default: %(default)s)")
    p.add_argument("--gallery", default=None, help="gallery.json (default: beside the weights)")
    args = p.parse_args(argv)
    model = load_weights(args.weights).eval()
    gallery = Path(args.gallery) if args.gallery else Path(args.weights).with_name("gallery.json")
    images, labels, _ = read_gallery(gallery, model.config.image_size)
    print(json.dumps(gallery_agreement(model, images, labels)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
