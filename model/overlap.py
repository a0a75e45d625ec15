"""Overlapping digits the MultiMNIST way (paper, section 6): two digits composed into one input on the
model's canvas (28x28 for the single-digit model, 36x36 for the MultiMNIST one), one forward pass, and each
of the two longest digit capsules decoded on its own.

The single-digit model never saw two digits at once, so it often finds just one digit of a pair; the
MultiMNIST model was trained on such pairs. `python -m model.overlap --weights W` measures either.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from .ablation import MAX_ITERATIONS
from .canvas import fit
from .capsnet import CapsNet
from .device import pick_device
from .gallery import GalleryError
from .gallery import read as read_gallery
# The paper shifts each digit by up to 4 px in each direction before overlaying.
from .limits import OVERLAP_SHIFT_LIMIT as SHIFT_LIMIT
from .weights import DEFAULT_WEIGHTS, WeightsError, load_weights


def shift_image(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """(H, W) image moved dx px right and dy px down; zeros come in, ink moved past the edge is lost (on a
    28x28 canvas MNIST's 4 px border keeps most ink; the 36x36 canvas has room for the full ±4 px)."""
    for name, d in (("dx", dx), ("dy", dy)):
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {d!r}")
        if abs(d) > SHIFT_LIMIT:
            raise ValueError(f"{name} must be within ±{SHIFT_LIMIT} px, got {d}")
    h, w = image.shape
    out = np.zeros_like(image)
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def compose(first: np.ndarray, second: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    """first + second shifted by (dx, dy), clipped to [0, 1].

    A clipped sum, not a pixel-wise max: it is what the authors' MultiMNIST generator does (the two uint8
    images added, then capped at 255), so where strokes cross they saturate, exactly as in the paper's data.
    """
    if first.shape != second.shape:
        raise ValueError(f"the two digits differ in shape: {first.shape} and {second.shape}")
    return np.clip(first + shift_image(second, *shift), 0.0, 1.0).astype(np.float32)


class Overlap(NamedTuple):
    composite: np.ndarray  # (S, S) what the model saw, S its input side
    parts: np.ndarray  # (2, S, S) the first digit and the shifted second
    lengths: np.ndarray  # (10,) |v_j|
    digits: np.ndarray  # (2,) the two longest digit capsules, longest first
    reconstructions: np.ndarray  # (2, S, S) each decoded from its own capsule, in `digits` order


@torch.inference_mode()
def analyze_pair(model: CapsNet, first: np.ndarray, second: np.ndarray, shift: tuple[int, int],
                 iterations: int) -> Overlap:
    """One forward pass over the composite, then the decoder once per capsule of the two longest, every
    other capsule masked (as the paper reconstructs each digit of a MultiMNIST pair). The two digits are
    first fitted onto the model's canvas (a 28x28 digit centred in 36x36 for the MultiMNIST model)."""
    size = model.config.image_size
    first, second = fit(first, size), fit(second, size)
    composite = compose(first, second, shift)
    device = next(model.parameters()).device
    x = torch.as_tensor(composite, device=device).view(1, 1, *composite.shape)
    out, _ = model(x, iterations=iterations)
    lengths = out.lengths[0]  # (10,)
    digits = lengths.topk(2).indices  # (2,)
    reconstructions = model.decode(out.digit_caps.expand(2, -1, -1), digits)  # (2, S, S)
    return Overlap(composite, np.stack([first, shift_image(second, *shift)]), lengths.cpu().numpy(),
                   digits.cpu().numpy(), reconstructions.cpu().numpy())


def pair_stats(model: CapsNet, images: np.ndarray, labels: np.ndarray, pairs: int, seed: int,
               iterations: int) -> dict:
    """How often the two longest capsules are both digits of a random pair (two different classes, random
    shift within ±SHIFT_LIMIT, as MultiMNIST): the README's numbers for each shipped model."""
    rng = np.random.default_rng(seed)
    found = [0, 0, 0]  # neither, one, both
    for _ in range(pairs):
        while True:
            a, b = rng.choice(len(images), 2, replace=False)
            if labels[a] != labels[b]:
                break
        shift = tuple(int(v) for v in rng.integers(-SHIFT_LIMIT, SHIFT_LIMIT + 1, 2))
        result = analyze_pair(model, images[a], images[b], shift, iterations)
        found[len({int(labels[a]), int(labels[b])} & set(result.digits.tolist()))] += 1
    return {"pairs": pairs, "seed": seed, "both": found[2] / pairs, "one": found[1] / pairs,
            "neither": found[0] / pairs}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="How often the model finds both digits of random overlapping "
                                "pairs of gallery digits (the ones it classifies correctly alone).")
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights file (default: %(default)s)")
    p.add_argument("--gallery", default=None, help="gallery.json (default: beside the weights)")
    p.add_argument("--pairs", type=int, default=300, help="random pairs (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--iterations", type=int, default=3, help="routing iterations (default: %(default)s)")
    args = p.parse_args(argv)
    if args.pairs < 1:
        p.error(f"--pairs must be at least 1, got {args.pairs}")
    if not 1 <= args.iterations <= MAX_ITERATIONS:
        p.error(f"--iterations must be in 1..{MAX_ITERATIONS}, got {args.iterations}")
    gallery = Path(args.gallery) if args.gallery else Path(args.weights).with_name("gallery.json")
    try:
        model = load_weights(args.weights, pick_device("cpu")).eval()
        # Misclassified digits are over-represented in the gallery; a digit the model misses alone says
        # nothing about overlapping, so only the correctly classified ones are paired.
        images, labels, predicted = read_gallery(gallery, model.config.image_size)
    except (WeightsError, GalleryError) as e:  # a user's mistake: one line, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    right = labels == predicted
    if len(np.unique(labels[right])) < 2:
        print(f"error: gallery file {gallery} has correctly classified digits of fewer than 2 classes; "
              f"nothing to pair", file=sys.stderr)
        return 2
    print(json.dumps(pair_stats(model, images[right], labels[right], args.pairs, args.seed, args.iterations)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
