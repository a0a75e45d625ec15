"""Per-class statistics of the digit capsules over the training set, for the reconstruction section's slider
ranges (mean ± 3σ) and the histogram behind each slider: `python -m model.capsule_stats`.

For each class d, over the training digits labelled d, the 16 dimensions of capsule d (the capsule
the decoder sees for them): mean, standard deviation and a histogram over mean ± 4σ. For a MultiMNIST
model (36x36 input) over seeded training pairs instead, each digit of a pair counted with its own capsule
(the capsule the decoder redraws it from)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from . import mnist, multimnist
from .weights import DEFAULT_WEIGHTS, WeightsError, load_weights

BINS = 24


@torch.no_grad()
def class_vectors(model, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """(N, 16): every digit's own-class capsule vector."""
    out = []
    device = next(model.parameters()).device
    for start in range(0, len(images), batch_size):
        x = mnist.to_input(images[start : start + batch_size]).to(device)
        caps, _ = model(x)
        y = labels[start : start + batch_size].to(device)
        out.append(caps.digit_caps[torch.arange(len(y), device=device), y].cpu())
    return torch.cat(out)


PAIRS_SEED = 1  # the pairs the MultiMNIST statistics are taken over (any fixed seed; not the test set's)


@torch.no_grad()
def pair_vectors(model, images: torch.Tensor, labels: torch.Tensor, n: int,
                 batch_size: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
    """(2n, 16) and (2n,): both digits' own capsule vectors over n seeded training pairs."""
    pairs = multimnist.make_pairs(images, labels, n, torch.Generator().manual_seed(PAIRS_SEED))
    device = next(model.parameters()).device
    out = []
    for start in range(0, n, batch_size):
        x = mnist.to_input(pairs.images[start : start + batch_size]).to(device)
        caps, _ = model(x)
        y = pairs.labels[start : start + batch_size].to(device)  # (B, 2)
        rows = torch.arange(len(y), device=device)
        out.append(torch.stack([caps.digit_caps[rows, y[:, 0]], caps.digit_caps[rows, y[:, 1]]], 1).cpu())
    return torch.cat(out).flatten(0, 1), pairs.labels.flatten()


def stats(vectors: torch.Tensor, labels: torch.Tensor,
          source: str = "MNIST training set, each digit's own capsule") -> dict:
    classes = []
    for d in range(10):
        v = vectors[labels == d]  # (n_d, 16)
        mean, std = v.mean(0), v.std(0)
        dims = []
        for k in range(v.shape[1]):
            lo, hi = float(mean[k] - 4 * std[k]), float(mean[k] + 4 * std[k])
            hist = torch.histc(v[:, k], bins=BINS, min=lo, max=hi)
            dims.append({"mean": round(float(mean[k]), 5), "std": round(float(std[k]), 5),
                         "hist_range": [round(lo, 5), round(hi, 5)], "hist": [int(c) for c in hist.tolist()]})
        classes.append({"digit": d, "n": int(len(v)), "dims": dims})
    return {"source": source, "bins": BINS, "classes": classes}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    ap.add_argument("--data-dir", default=str(mnist.default_data_dir()),
                    help="folder with the MNIST training files (they do not ship with the tool)")
    ap.add_argument("--download", action="store_true",
                    help="fetch missing MNIST files (md5-checked) into --data-dir")
    ap.add_argument("--limit", type=int, default=None,
                    help="use only the first N training digits (a MultiMNIST model: N pairs; default 60000)")
    ap.add_argument("--out", default=None, help="the statistics file (default: capsule_stats.json beside the weights)")
    args = ap.parse_args(argv)
    try:
        model = load_weights(args.weights)
        if args.download:
            mnist.download(args.data_dir)
        train = mnist.load(args.data_dir, "train")
    except (WeightsError, mnist.MnistError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.weights).with_name("capsule_stats.json")
    if model.config.image_size == multimnist.CANVAS:
        n = args.limit or len(train.labels)
        vectors, labels = pair_vectors(model, train.images, train.labels, n)
        result = stats(vectors, labels, f"{n} MultiMNIST training pairs (seed {PAIRS_SEED}), each digit's own capsule")
    else:
        images, labels = train.images[: args.limit], train.labels[: args.limit]
        result = stats(class_vectors(model, images, labels), labels)
    out.write_text(json.dumps(result) + "\n")
    print(f"wrote {out} from {len(labels)} training digits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
