"""Builds the sample gallery the page offers: `python -m model.gallery [--weights W] [--out F]`.

For a single-digit model: about 10 MNIST test digits per class, plus test digits the model gets wrong
(they are the interesting ones to look inside), in one small JSON file beside the weights
(weights/mnist/gallery.json). For a MultiMNIST model (36x36 input): the first fixed test pairs of
model/multimnist.py and the ones among the first thousands it gets wrong, then the single digits of the
MNIST gallery (`--like`, same ids, so the overlap section's choices mean the same digits for every model)
with this model's predictions. Single digits stay 28x28 in the file (the server and `read` centre them
on the model's canvas): the same pixels at two thirds of the size."""
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
PAIRS = 20  # the first fixed test pairs
PAIRS_WRONG = 10  # and this many pairs the model gets wrong, from the first PAIRS_SEARCHED
PAIRS_SEARCHED = 2000


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


def _b64(image: torch.Tensor) -> str:
    return base64.b64encode(image.contiguous().numpy().tobytes()).decode("ascii")


def build_pairs(model, test: mnist.Split, like: list[dict]) -> list[dict]:
    """The MultiMNIST gallery: fixed test pairs (right and wrong), then the single digits listed in `like`
    (another gallery's entries) with this model's prediction for each digit centred on its canvas."""
    # The fixed 10,000 (a shorter set from the same seed would be other pairs); only the first are needed.
    pairs = multimnist.Pairs(*(x[:PAIRS_SEARCHED] for x in multimnist.test_pairs(test.images, test.labels)))
    _, lengths = predict(model, pairs.images)
    right = multimnist.both_right(lengths, pairs.labels)
    wrong = (~right[PAIRS:]).nonzero().flatten()[:PAIRS_WRONG] + PAIRS
    out = []
    for i in [*range(PAIRS), *wrong.tolist()]:
        entry = {"id": f"pair-{i:05d}", "index": i, "labels": pairs.labels[i].tolist(),
                 "predicted": lengths[i].topk(2).indices.tolist(), "pixels": _b64(pairs.images[i])}
        if not right[i]:
            entry["note"] = "misclassified"
        out.append(entry)
    singles = [e for e in like if "labels" not in e]
    index = torch.tensor([int(e["index"]) for e in singles])
    fitted = multimnist.place(test.images[index], torch.zeros(len(index), 2, dtype=torch.long))  # centred
    preds = predict(model, fitted)[0]
    for e, i, p in zip(singles, index.tolist(), preds.tolist()):
        entry = {"id": e["id"], "index": i, "label": int(test.labels[i]), "predicted": int(p),
                 "pixels": _b64(test.images[i])}
        if p != entry["label"]:
            entry["note"] = "misclassified"
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
    ap.add_argument("--out", default=None, help="the gallery file (default: gallery.json beside the weights)")
    ap.add_argument("--like", default=str(DEFAULT_WEIGHTS.with_name("gallery.json")),
                    help="for a MultiMNIST model: the gallery whose single digits it lists too")
    ap.add_argument("--no-model", action="store_true", help="skip predictions (no misclassified digits)")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else Path(args.weights).with_name("gallery.json")
    try:
        test = mnist.load(args.data_dir, "test")
        model = None if args.no_model else load_weights(args.weights)
        if model is not None and model.config.image_size == multimnist.CANVAS:
            like = json.loads(Path(args.like).read_text())["samples"]
            samples = build_pairs(model, test, like)
            source = (f"MultiMNIST fixed test pairs (t10k, seed {multimnist.TEST_SEED}) and single MNIST test "
                      f"digits (28x28, centred on the 36x36 canvas when served)")
        else:
            preds = None if model is None else predict(model, test.images)[0]
            samples, source = build(test.images, test.labels, preds), "MNIST test set (t10k)"
    except (WeightsError, mnist.MnistError, OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out.write_text(json.dumps({"source": source, "samples": samples}) + "\n")
    print(f"wrote {len(samples)} samples to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
