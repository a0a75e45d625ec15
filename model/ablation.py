"""Does routing matter? A routing ablation for one input, from a single forward pass.

Routing by agreement (Procedure 1) starts from b = 0, so iteration 1 uses c = softmax(0) = 1/10 for every
coupling: "no routing" (uniform coupling) IS one iteration, computed the same way. The agreement first
changes c in iteration 2. Step r of a trace run for R iterations holds exactly what a forward pass with
iterations = r returns (the iterations before r do not know how many follow), so one traced pass at R = 10
gives the digit capsules after every iteration count 1..10.

Plain torch; the callers own threading and I/O.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from .capsnet import CapsNet, dynamic_routing
from .gallery import GalleryError
from .gallery import read as read_gallery
from .limits import ROUTING_ITERATIONS_MAX as MAX_ITERATIONS
from .weights import DEFAULT_WEIGHTS, WeightsError, load_weights



class Ablation(NamedTuple):
    lengths: torch.Tensor  # (R, 10): |v_j| after r = 1..R iterations (row r - 1)
    uniform_lengths: torch.Tensor  # (10,): |v_j| with every c_ij = 1/10 (no routing)
    delta_c: torch.Tensor  # (R - 1, 1152, 10): c_r - c_{r-1} for r = 2..R; sums to 0 over digits

    @property
    def predictions(self) -> list[int]:
        """The prediction after r = 1..R iterations."""
        return self.lengths.argmax(dim=1).tolist()

    @property
    def uniform_prediction(self) -> int:
        return int(self.uniform_lengths.argmax())

    def prediction_at(self, iterations: int) -> int:
        return int(self.lengths[iterations - 1].argmax())

    def mean_abs_change(self) -> torch.Tensor:
        """(R - 1, 10): mean over the 1152 primary capsules of |c_r - c_{r-1}|, per digit: how far routing
        still moves the coupling at each step (it shrinks as routing converges)."""
        return self.delta_c.abs().mean(dim=1)


@torch.inference_mode()
def ablate(model: CapsNet, image: np.ndarray, iterations: int = MAX_ITERATIONS) -> Ablation:
    """image (28, 28) float in [0, 1] -> lengths after every iteration count 1..iterations, the uniform
    coupling result and every step's change of c, from one traced forward pass."""
    if iterations < 2:
        raise ValueError(f"an ablation compares at least 2 iteration counts, got {iterations}")
    device = next(model.parameters()).device
    x = torch.as_tensor(image, dtype=torch.float32, device=device).view(1, 1, *image.shape)
    _, trace = model(x, iterations=iterations, trace=True)
    lengths = torch.stack([step.v[0].norm(dim=-1) for step in trace.routing])  # (R, 10)
    # Uniform coupling through the model's own routing function, on the same votes u_hat: no second
    # pass through the convolutions, and no separate "no routing" implementation to drift from it.
    v_uniform, _ = dynamic_routing(trace.u_hat, 1, uniform=True)  # (1, 10, 16)
    c = torch.stack([step.c[0] for step in trace.routing])  # (R, 1152, 10)
    return Ablation(lengths=lengths, uniform_lengths=v_uniform[0].norm(dim=-1), delta_c=c[1:] - c[:-1])


def gallery_stats(model: CapsNet, images: np.ndarray, labels: np.ndarray, default_iterations: int = 3) -> dict:
    """What routing does over many digits: among those classified right at `default_iterations`, the
    predicted capsule's median length with uniform coupling and after routing; how many predictions routing
    changes (right and wrong ones apart); and the smallest and largest per-digit mean |Δc| of any step."""
    uniform, routed, predicted, no_routing, steps, largest = [], [], [], [], [], []
    for image in images:
        a = ablate(model, image)
        j = a.prediction_at(default_iterations)
        uniform.append(float(a.uniform_lengths[j]))
        routed.append(float(a.lengths[default_iterations - 1, j]))
        predicted.append(j)
        no_routing.append(a.uniform_prediction)
        steps.append(a.mean_abs_change()[:, j])
        largest.append(float(a.delta_c[:, :, j].abs().max()))
    labels, predicted, no_routing = np.asarray(labels), np.array(predicted), np.array(no_routing)
    right, changed = predicted == labels, no_routing != predicted
    steps = torch.stack(steps)  # (digits, R - 1): mean |Δc| of each step for the predicted digit
    wrong = np.flatnonzero(~right)
    return {
        "digits": len(labels),
        "right": int(right.sum()),
        "median_length_uniform_right": round(float(np.median(np.array(uniform)[right])), 3),
        f"median_length_{default_iterations}_iterations_right": round(float(np.median(np.array(routed)[right])), 3),
        "right_changed_by_routing": int((changed & right).sum()),
        "wrong": len(wrong),
        "wrong_changed_by_routing": int(changed[wrong].sum()),
        "wrong_right_without_routing": int((no_routing[wrong] == labels[wrong]).sum()),
        "mean_abs_delta_c_range": [round(float(steps.min()), 4), round(float(steps.max()), 4)],
        "largest_abs_delta_c": round(max(largest), 3),  # one capsule, one step
        # Does routing settle? The last step's mean |Δc| over the first's, quartiles over the right digits.
        "last_over_first_step_quartiles": [round(float(q), 2) for q in
                                           np.quantile((steps[:, -1] / steps[:, 0]).numpy()[right], [0.25, 0.5, 0.75])],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="The routing ablation over every gallery digit: "
                                "`python -m model.ablation` prints the numbers the README quotes.")
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights file (default: %(default)s)")
    p.add_argument("--gallery", default=None, help="gallery.json (default: beside the weights)")
    args = p.parse_args(argv)
    gallery = Path(args.gallery) if args.gallery else Path(args.weights).with_name("gallery.json")
    try:
        model = load_weights(args.weights).eval()
        images, labels, _ = read_gallery(gallery, model.config.image_size)
    except (WeightsError, GalleryError) as e:  # a user's mistake: one line, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(gallery_stats(model, images, labels)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
