"""Builds the sample gallery the page offers: `python -m model.gallery [--weights W] [--out F]`.

About 10 MNIST test digits per class, plus test digits the shipped model gets wrong (they are the
interesting ones to look inside), in one small JSON file: weights/mnist/gallery.json."""
from __future__ import annotations

import argparse
import base64
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from . import mnist, multimnist
from .canvas import fit
from .evaluate import predict
from .weights import DEFAULT_WEIGHTS, WeightsError, load_weights

DIGIT_SIZE = multimnist.DIGIT_SIZE

PER_CLASS = 10
MISCLASSIFIED = 20


def build(images: torch.Tensor, labels: torch.Tensor, preds: torch.Tensor | None) -> list[dict]:
    chosen: list[tuple[int, str]] = []
    for d in range(10):
        idx = (labels == d).nonzero().flatten()
        if preds is not None:
            idx = idx[preds[idx] == d]  # the correct ones here; the wrong ones are listed apart
        chosen += [(int(i), "") for i in idx[:PER_CLASS]]
    if preds is not None:
        wrong = (preds != labels).nonzero().flatten()[:MISCLASSIFIED]
        chosen += [(int(i), "misclassified") for i in wrong]
    out = []
    for i, note in chosen:
        entry = {"id": f"test-{i:05d}", "index": i, "label": int(labels[i]),
                 "pixels": base64.b64encode(images[i].numpy().tobytes()).decode("ascii")}
        if preds is not None:
            entry["predicted"] = int(preds[i])
        if note:
            entry["note"] = note
        out.append(entry)
    return out


class GalleryError(Exception):
    """A gallery file is missing or not what build() writes; the message names the file."""


def _square(pixels: str) -> np.ndarray:
    a = np.frombuffer(base64.b64decode(pixels, validate=True), dtype=np.uint8)
    side = math.isqrt(len(a))
    return a.reshape(side, side)  # ValueError unless square


def read(path: Path | str, size: int = DIGIT_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A gallery file's single digits (pair entries are left out) -> images (N, size, size) float32 in
    [0, 1], each fitted onto that canvas (model/canvas.py); true labels (N,); the model's predictions (N,)."""
    try:
        entries = [e for e in json.loads(Path(path).read_text())["samples"] if "labels" not in e]
        images = np.stack([fit(_square(e["pixels"]), size) for e in entries]).astype(np.float32) / 255.0
        return images, np.array([int(e["label"]) for e in entries]), np.array([int(e["predicted"]) for e in entries])
    except OSError as e:
        raise GalleryError(f"gallery file {path} cannot be read ({e.strerror or e}); build it with "
                           f"`python -m model.gallery`") from None
    except (ValueError, TypeError, KeyError, IndexError) as e:  # bad JSON, base64, sizes or fields: one problem
        raise GalleryError(f"gallery file {path} is not a sample gallery ({type(e).__name__}: "
                           f"{' '.join(str(e).split())[:120]}); build it with `python -m model.gallery`") from None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    ap.add_argument("--data-dir", default=str(mnist.TEST_DATA_DIR),
                    help="folder with the MNIST test files (the bundled copy when it has none)")
    ap.add_argument("--out", default=str(DEFAULT_WEIGHTS.with_name("gallery.json")))
    ap.add_argument("--no-model", action="store_true", help="skip predictions (no misclassified digits)")
    args = ap.parse_args(argv)
    try:
        test = mnist.load(args.data_dir, "test")
        preds = None if args.no_model else predict(load_weights(args.weights), test.images)[0]
    except (WeightsError, mnist.MnistError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    samples = build(test.images, test.labels, preds)
    Path(args.out).write_text(json.dumps({"source": "MNIST test set (t10k)", "samples": samples}) + "\n")
    print(f"wrote {len(samples)} samples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
