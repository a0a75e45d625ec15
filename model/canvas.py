"""One image onto another model's canvas: a 28x28 MNIST digit centred in the MultiMNIST model's 36x36
input (zeros around it, as model/multimnist.py places a digit with no shift), or a 36x36 input cut back to
its centre 28x28 for a single-digit model. Pure numpy; no model, no I/O."""
from __future__ import annotations

import numpy as np


def fit(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W) -> (size, size), centred: padded with zeros where it is smaller, its border cut where it is
    larger. The same image when it already has that size (not a copy)."""
    if image.ndim != 2:
        raise ValueError(f"fit() takes one 2-D image, got shape {list(image.shape)}")
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if image.shape == (size, size):
        return image
    out = np.zeros((size, size), dtype=image.dtype)
    h, w = image.shape
    # Where the overlap starts in each image: the larger one gives up (or the smaller gets) half the
    # difference on each side, the odd pixel on the far side.
    src_y, dst_y = max(0, (h - size) // 2), max(0, (size - h) // 2)
    src_x, dst_x = max(0, (w - size) // 2), max(0, (size - w) // 2)
    n_y, n_x = min(h, size), min(w, size)
    out[dst_y : dst_y + n_y, dst_x : dst_x + n_x] = image[src_y : src_y + n_y, src_x : src_x + n_x]
    return out
