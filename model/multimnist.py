"""MultiMNIST the paper's way (Sabour et al. 2017, section 6): two MNIST digits of different classes
from the same split, each shifted by up to 4 px in each direction inside a 36x36 canvas, summed and
clipped to [0, 1].

Training pairs are generated on the fly from a seeded generator; the test set is a fixed 10,000 pairs
of t10k digits, regenerated identically from TEST_SEED (nothing is stored on disk).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .limits import OVERLAP_SHIFT_LIMIT as MAX_SHIFT  # the paper's ±4 px, also the overlap view's bound

DIGIT_SIZE = 28  # an MNIST digit
CANVAS = DIGIT_SIZE + 2 * MAX_SHIFT  # 36
TEST_PAIRS = 10_000
TEST_SEED = 20171026  # the paper's arXiv date; any fixed number would do, this one is documented


class Pairs(NamedTuple):
    images: torch.Tensor  # (N, 36, 36) uint8: the clipped sum, what the model sees
    parts: torch.Tensor  # (N, 2, 36, 36) uint8: each digit alone, shifted: the decoder's targets
    labels: torch.Tensor  # (N, 2) int64, never equal within a pair
    shifts: torch.Tensor  # (N, 2, 2) int64: (dy, dx) of each digit, in [-4, 4]


def place(images: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) digits centred in 36x36 and moved by shifts (N, 2) = (dy, dx) -> (N, 36, 36)."""
    n = images.shape[0]
    p = MAX_SHIFT
    canvas = torch.nn.functional.pad(images, (2 * p, 2 * p, 2 * p, 2 * p))  # (N, 44, 44): room to move
    dy, dx = shifts[:, 0], shifts[:, 1]
    rows = torch.arange(CANVAS).unsqueeze(0) + p - dy.unsqueeze(1)  # (N, 36)
    cols = torch.arange(CANVAS).unsqueeze(0) + p - dx.unsqueeze(1)  # (N, 36)
    idx = torch.arange(n)[:, None, None]
    return canvas[idx, rows[:, :, None], cols[:, None, :]]


def overlay(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The sum of two uint8 images clipped to 255 (pixel values in [0, 1] after /255)."""
    return (a.to(torch.int16) + b.to(torch.int16)).clamp_(max=255).to(torch.uint8)


def second_of_other_class(labels: torch.Tensor, first: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """For each index in `first`, a random index whose label differs (uniform over those digits)."""
    n = len(labels)
    second = torch.randint(0, n, first.shape, generator=generator)
    same = labels[second] == labels[first]
    while same.any():  # about 1 in 10 draws repeat the class; redraw only those
        second[same] = torch.randint(0, n, (int(same.sum()),), generator=generator)
        same = labels[second] == labels[first]
    return second


def make_pairs(images: torch.Tensor, labels: torch.Tensor, n: int, generator: torch.Generator,
               first: torch.Tensor | None = None) -> Pairs:
    """n pairs from one split (images (M, 28, 28) uint8, labels (M,)). `first` fixes the first digits
    (e.g. a permutation for an epoch); the second digit and both shifts are drawn from `generator`."""
    if first is None:
        first = torch.randint(0, len(labels), (n,), generator=generator)
    second = second_of_other_class(labels, first, generator)
    shifts = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (len(first), 2, 2), generator=generator)
    a = place(images[first], shifts[:, 0])
    b = place(images[second], shifts[:, 1])
    return Pairs(images=overlay(a, b), parts=torch.stack([a, b], dim=1),
                 labels=torch.stack([labels[first], labels[second]], dim=1), shifts=shifts)


def test_pairs(images: torch.Tensor, labels: torch.Tensor, n: int = TEST_PAIRS, seed: int = TEST_SEED) -> Pairs:
    """The fixed test set: n pairs of t10k digits, the same every time for the same seed."""
    g = torch.Generator().manual_seed(seed)
    return make_pairs(images, labels, n, g, first=torch.randperm(len(labels), generator=g)[:n]
                      if n <= len(labels) else None)


def both_right(lengths: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) bool: the two longest capsules are exactly the pair's two digits (in either order)."""
    top2 = lengths.topk(2, dim=1).indices.sort(dim=1).values
    return (top2 == labels.sort(dim=1).values).all(dim=1)
