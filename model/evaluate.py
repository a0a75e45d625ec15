"""Test-set evaluation: `python -m model.evaluate --weights PATH [--data-dir DIR] [--json]`.

Prints accuracy, per-class accuracy, the confusion matrix and the misclassified test indices; with
--json exactly one JSON object on stdout."""
from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path

import torch

from . import mnist, multimnist
from .capsnet import CapsNet
from .device import pick_device
from .limits import ROUTING_ITERATIONS_MAX, ROUTING_ITERATIONS_MIN
from .weights import DEFAULT_WEIGHTS, WeightsError, load_weights


@torch.no_grad()
def predict(model: CapsNet, images: torch.Tensor, batch_size: int = 500, iterations: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 28, 28) -> (predictions (N,), lengths (N, 10)) on the model's device, fp32."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    preds, lengths = [], []
    for start in range(0, len(images), batch_size):
        x = mnist.to_input(images[start : start + batch_size]).to(device)
        out, _ = model(x, iterations=iterations)
        lengths.append(out.lengths.cpu())
        preds.append(out.lengths.argmax(1).cpu())
    model.train(was_training)
    return torch.cat(preds), torch.cat(lengths)


def metrics(preds: torch.Tensor, labels: torch.Tensor) -> dict:
    """accuracy (fraction), n, per-class accuracy, confusion[true][predicted], misclassified indices."""
    confusion = torch.zeros(10, 10, dtype=torch.long)
    confusion.index_put_((labels, preds), torch.ones_like(labels), accumulate=True)
    per_class = (confusion.diag().float() / confusion.sum(1).clamp(min=1).float()).tolist()
    wrong = (preds != labels).nonzero().flatten().tolist()
    n = len(labels)
    return {
        "accuracy": (n - len(wrong)) / n if n else 0.0,
        "n": n,
        "per_class_accuracy": [round(a, 6) for a in per_class],
        "confusion": confusion.tolist(),
        "misclassified": wrong,
    }


def _digit(images, labels, preds, lengths, i: int) -> dict:
    top2 = lengths[i].topk(2)
    return {"index": i, "label": int(labels[i]), "predicted": int(preds[i]),
            "top2": [[int(d), round(float(v), 4)] for v, d in zip(top2.values, top2.indices)],
            "pixels": base64.b64encode(images[i].numpy().tobytes()).decode("ascii")}


def report(images, labels, preds, lengths, result: dict, history: list | None, lowest: int = 30) -> dict:
    """The model report the page shows: metrics, training curves, and the digits worth looking at
    (every misclassified one, and the correct ones with the smallest margin between the top two
    lengths), each with its 28x28 uint8 pixels in base64 so the page can open it in the main view."""
    top2 = lengths.topk(2, dim=1).values
    margin = top2[:, 0] - top2[:, 1]
    correct = (preds == labels).nonzero().flatten()
    closest = correct[margin[correct].argsort()[:lowest]].tolist()
    return {
        "accuracy": result["accuracy"], "n": result["n"],
        "per_class_accuracy": result["per_class_accuracy"], "confusion": result["confusion"],
        "misclassified": [_digit(images, labels, preds, lengths, i) for i in result["misclassified"]],
        "lowest_margin": [_digit(images, labels, preds, lengths, i) for i in closest],
        "history": history,
    }


PAIRS_SHOWN = 60  # wrong pairs listed in a MultiMNIST report (of thousands while partly trained)


def _pair(pairs, lengths, i: int, label: int, predicted: int) -> dict:
    top2 = lengths[i].topk(2)
    return {"index": i, "labels": pairs.labels[i].tolist(), "label": label, "predicted": predicted,
            "top2": [[int(d), round(float(v), 4)] for v, d in zip(top2.values, top2.indices)],
            "pixels": base64.b64encode(pairs.images[i].contiguous().numpy().tobytes()).decode("ascii")}


def pair_report(pairs, lengths, right, history: list | None, lowest: int = 30) -> dict:
    """The report page's fields for a MultiMNIST model, counted per digit of a pair: per_class_accuracy[d]
    is how often digit d, when in a pair, is one of the two longest capsules; confusion[d][d] counts those,
    confusion[d][p] the times d was missed and p (not in the pair) took its place. `misclassified` lists a
    missed digit of each of the first PAIRS_SHOWN wrong pairs, `lowest_margin` the right pairs whose second
    capsule was closest to the third. Pixels are the pair's 36x36 uint8 image."""
    top2 = lengths.topk(2, dim=1).indices
    confusion = torch.zeros(10, 10, dtype=torch.long)
    missed_by = {}
    for i, (pair, found) in enumerate(zip(pairs.labels.tolist(), top2.tolist())):
        intruders = [d for d in found if d not in pair]
        for a in pair:
            b = a if a in found else intruders.pop(0)
            confusion[a, b] += 1
            if b != a:
                missed_by.setdefault(i, (a, b))
    per_class = (confusion.diag().float() / confusion.sum(1).clamp(min=1).float()).tolist()
    top3 = lengths.topk(3, dim=1).values
    margin = top3[:, 1] - top3[:, 2]
    good = right.nonzero().flatten()
    closest = good[margin[good].argsort()[:lowest]].tolist()
    wrong = (~right).nonzero().flatten().tolist()
    return {
        "dataset": "multimnist", "unit": "pairs", "accuracy": right.float().mean().item(), "n": len(right),
        "wrong_total": len(wrong), "per_class_accuracy": [round(a, 6) for a in per_class],
        "confusion": confusion.tolist(),
        "misclassified": [_pair(pairs, lengths, i, *missed_by[i]) for i in wrong[:PAIRS_SHOWN]],
        "lowest_margin": [_pair(pairs, lengths, i, int(top2[i, 1]), int(top2[i, 1])) for i in closest],
        "history": history,
    }


def _history(weights: str) -> list | None:
    history_file = Path(weights).with_name("history.json")
    return json.loads(history_file.read_text()) if history_file.exists() else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights file")
    ap.add_argument("--data-dir", default=str(mnist.TEST_DATA_DIR),
                    help="folder with the MNIST test files (the bundled copy when it has none)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--iterations", type=int, default=None, help="routing iterations (default: the model's)")
    ap.add_argument("--limit", type=int, default=None, help="evaluate only the first N test digits")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--report", default=None, metavar="PATH",
                    help="also write the model report for the page (report.json beside the weights, e.g. weights/mnist/report.json)")
    args = ap.parse_args(argv)
    try:
        device = pick_device(args.device)
        model = load_weights(args.weights, device)
        test = mnist.load(args.data_dir, "test")
    except (WeightsError, mnist.MnistError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.iterations is not None and not ROUTING_ITERATIONS_MIN <= args.iterations <= ROUTING_ITERATIONS_MAX:
        print(f"error: --iterations must be in {ROUTING_ITERATIONS_MIN}..{ROUTING_ITERATIONS_MAX}", file=sys.stderr)
        return 2
    if model.config.image_size == multimnist.CANVAS:
        return evaluate_pairs(model, test, args)
    images, labels = test.images, test.labels
    if args.limit is not None:
        images, labels = images[: args.limit], labels[: args.limit]
    t0 = time.perf_counter()
    preds, lengths = predict(model, images, args.batch_size, args.iterations)
    result = metrics(preds, labels)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    result["weights"] = args.weights
    if args.report:
        Path(args.report).write_text(json.dumps(report(images, labels, preds, lengths, result,
                                                       _history(args.weights))) + "\n")
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"accuracy {result['accuracy']:.4%} on n={result['n']} ({result['seconds']} s)")
    print("per class: " + " ".join(f"{d}:{a:.4f}" for d, a in enumerate(result["per_class_accuracy"])))
    print("confusion (rows true, columns predicted):")
    for d, row in enumerate(result["confusion"]):
        print(f"  {d}: " + " ".join(f"{c:5d}" for c in row))
    print(f"misclassified ({len(result['misclassified'])}): {result['misclassified']}")
    return 0


def evaluate_pairs(model: CapsNet, test: mnist.Split, args) -> int:
    """A MultiMNIST model (36x36 input): the both-right rate on the fixed test pairs (Table 1's measure)."""
    pairs = multimnist.test_pairs(test.images, test.labels)
    if args.limit is not None:
        pairs = multimnist.Pairs(*(x[: args.limit] for x in pairs))
    images, labels = pairs.images, pairs.labels
    t0 = time.perf_counter()
    _, lengths = predict(model, images, args.batch_size, args.iterations)
    right = multimnist.both_right(lengths, labels)
    if args.report:
        Path(args.report).write_text(json.dumps(pair_report(pairs, lengths, right, _history(args.weights))) + "\n")
    result = {"dataset": "multimnist", "both_right": right.float().mean().item(), "n": len(right),
              "metric": f"the two longest capsules are exactly the pair's two digits, on the fixed test pairs "
                        f"(seed {multimnist.TEST_SEED})",
              "wrong": (~right).nonzero().flatten().tolist(),
              "seconds": round(time.perf_counter() - t0, 2), "weights": args.weights}
    result["accuracy"] = result["both_right"]
    if args.json:
        print(json.dumps(result))
    else:
        print(f"both digits right on {result['both_right']:.2%} of n={result['n']} pairs ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
