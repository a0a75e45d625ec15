"""Training throughput and single-image latency of the CapsNet.

    python bench/train_throughput.py [--models mnist multimnist] [--steps 20] [--warmup 3] [--batch-sizes 64 128]
                                     [--precisions fp32 bf16] [--threads N] [--forward-runs 50] [--json]

For each model (MNIST 28x28, 1152 primary capsules; MultiMNIST 36x36 pairs, 3200), precision and batch
size: images/s of model.train.train_step, the step training runs (its batch from model.train.make_batch:
2-px shifts or pairs; channels_last, autocast, loss, Adam), on random digits, after a few warm-up steps. Then the
milliseconds of one single-image forward pass with the full trace (model.inference.analyze, what the
app calls per request), median over --forward-runs. Run it on a quiet machine: numbers from a busy one
say nothing.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from model import multimnist  # noqa: E402
from model.capsnet import CapsNet, CapsNetConfig  # noqa: E402
from model.mnist import Split  # noqa: E402
from model.device import pick_device  # noqa: E402
from model.inference import analyze  # noqa: E402
from model.train import make_batch, train_step  # noqa: E402

SIZES = {"mnist": CapsNetConfig.image_size, "multimnist": multimnist.CANVAS}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_throughput(device: torch.device, name: str, precision: str, batch_size: int, warmup: int, steps: int,
                     seed: int = 0) -> dict:
    """images/s of model/train.py's step: batch, channels_last, autocast forward + loss, backward, Adam."""
    torch.manual_seed(seed)
    model = CapsNet(CapsNetConfig(image_size=SIZES[name])).to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and precision != "fp32")
    g = torch.Generator().manual_seed(seed)
    digits = Split(torch.randint(0, 256, (batch_size, 28, 28), dtype=torch.uint8, generator=g),
                   torch.arange(batch_size) % 10)
    idx = torch.arange(batch_size)

    def step() -> float:
        x, y, target = make_batch(name == "multimnist", digits, idx, g)
        loss, _ = train_step(model, optimizer, scaler, x, y, target, device, precision)
        return loss.item()  # train.py reads the loss every step, which also waits for the device

    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    seconds = time.perf_counter() - t0
    return {"model": name, "precision": precision, "batch_size": batch_size, "steps": steps,
            "images_per_second": round(batch_size * steps / seconds, 1),
            "ms_per_step": round(1000 * seconds / steps, 1)}


def forward_latency(device: torch.device, runs: int, warmup: int = 5, iterations: int = 3) -> dict:
    """Milliseconds of one traced single-image forward pass, as the app runs it (fp32, eval mode)."""
    torch.manual_seed(0)
    model = CapsNet().to(device).eval()
    image = torch.rand(28, 28).numpy()
    times = []
    for k in range(warmup + runs):
        sync(device)
        t0 = time.perf_counter()
        out, _ = analyze(model, image, iterations)
        out.lengths.cpu()
        sync(device)
        if k >= warmup:
            times.append(1000 * (time.perf_counter() - t0))
    times.sort()
    return {"runs": runs, "routing_iterations": iterations, "median_ms": round(statistics.median(times), 2),
            "p90_ms": round(times[min(len(times) - 1, int(0.9 * len(times)))], 2), "min_ms": round(times[0], 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["mnist", "multimnist"], choices=list(SIZES))
    ap.add_argument("--steps", type=int, default=20, help="timed training steps per configuration")
    ap.add_argument("--warmup", type=int, default=3, help="untimed training steps first")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    ap.add_argument("--forward-runs", type=int, default=50, help="single-image traced forward passes timed")
    ap.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.forward_runs < 1:
        ap.error("--steps and --forward-runs must be at least 1, --warmup at least 0")
    try:
        device = pick_device(args.device)
    except ValueError as e:
        ap.error(str(e))
    if args.threads:
        torch.set_num_threads(args.threads)

    env = {"device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
           "host": platform.processor() or platform.machine()}
    if not args.json:
        print(f"CapsNet training step ({env['device']}, {env['threads']} threads, torch {env['torch']}): "
              f"{args.warmup} warm-up + {args.steps} timed steps on random data")
        print(f"{'model':<12}{'precision':<10}{'batch':>6}{'images/s':>11}{'ms/step':>10}")
    train = []
    for name in args.models:
        for precision in args.precisions:
            for batch_size in args.batch_sizes:
                r = train_throughput(device, name, precision, batch_size, args.warmup, args.steps)
                train.append(r)
                if not args.json:
                    print(f"{name:<12}{precision:<10}{batch_size:>6}{r['images_per_second']:>11.1f}"
                          f"{r['ms_per_step']:>10.1f}", flush=True)
    forward = forward_latency(device, args.forward_runs)
    if args.json:
        print(json.dumps({"environment": env, "train": train, "forward_with_trace": forward}))
    else:
        print(f"single-image forward with trace ({forward['routing_iterations']} routing iterations): "
              f"median {forward['median_ms']:.2f} ms, p90 {forward['p90_ms']:.2f} ms over {forward['runs']} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
