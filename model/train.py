"""Training CLI: `python -m model.train [--epochs N] ...` (run `--help` for every option and default).

Adam with exponential learning-rate decay per epoch, the paper's losses and 2-px shift augmentation,
a checkpoint every epoch (and on Ctrl-C), `--resume`, test accuracy each epoch, the metrics history as
JSON, and at the end the shipped weights and weights/mnist/manifest.json. Runs unchanged under
`torchrun --nproc_per_node=N -m model.train` (DistributedDataParallel: nccl on GPUs, gloo on CPU).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from . import mnist, multimnist
from .capsnet import CapsNet, CapsNetConfig, parameter_counts
from .checkpoint import check_resumable, save_checkpoint
from .device import pick_device
from .distributed import rank_checksums, setup_distributed
from .evaluate import metrics, predict
from .losses import capsule_loss
from .precision import resolve_precision
from .release import write_release
from .transfer import init_from
from .weights import DEFAULT_WEIGHTS, MODELS_DIR, WeightsError, load_weights, sha256

log = logging.getLogger("model.train")
DEFAULT_CHECKPOINT_DIR = Path.home() / ".cache" / "capsnet-visualizer" / "checkpoints"
DEFAULT_MULTIMNIST_WEIGHTS = MODELS_DIR / "multimnist" / "capsnet_multimnist.pt"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--dataset", default="mnist", choices=["mnist", "multimnist"],
                    help="mnist: single digits, 28x28; multimnist: pairs of overlapping digits, 36x36, generated on the fly")
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--pairs-per-epoch", type=int, default=60000,
                    help="multimnist: pairs generated per epoch (each MNIST digit is the first of a pair once)")
    ap.add_argument("--batch-size", type=int, default=128, help="per process")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate at epoch 1")
    ap.add_argument("--lr-decay", type=float, default=0.87, help="learning rate multiplied by this after every epoch")
    ap.add_argument("--routing-iterations", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                    help="autocast for training: auto = AMP on CUDA, bf16 on a CPU with avx512_bf16 or AMX, else fp32 "
                         "(bf16 without them was measured 2x slower); evaluation is always fp32")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    ap.add_argument("--data-dir", default=str(mnist.default_data_dir()), help="folder with the MNIST IDX files")
    ap.add_argument("--download", action="store_true", help="fetch missing MNIST files (checksummed) into --data-dir")
    ap.add_argument("--synthetic", type=int, default=0, metavar="N",
                    help="train on N random images instead of MNIST (tests and smoke runs)")
    ap.add_argument("--checkpoint-dir", default=str(DEFAULT_CHECKPOINT_DIR))
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir/last.pt")
    ap.add_argument("--init-weights", default=None, metavar="PATH",
                    help="start from a weights file (e.g. the shipped one) with a fresh optimizer; "
                         "use with a small --lr to keep training when no checkpoint is left")
    ap.add_argument("--out", default=None,
                    help=f"final weights; manifest.json and history.json go beside it (default {DEFAULT_WEIGHTS.relative_to(MODELS_DIR.parent)} "
                         f"or, for multimnist, {DEFAULT_MULTIMNIST_WEIGHTS.relative_to(MODELS_DIR.parent)})")
    ap.add_argument("--ema-decay", type=float, default=0.0, metavar="D",
                    help="also keep an exponential moving average of the weights (D per step, e.g. 0.9995; 0 = off), "
                         "evaluate it every epoch, and ship it instead of the last step's weights")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop after the epoch that would end past this wall time, still writing the weights")
    ap.add_argument("--dry-run", action="store_true", help="one batch of training and a small evaluation, then stop")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = str(DEFAULT_MULTIMNIST_WEIGHTS if args.dataset == "multimnist" else DEFAULT_WEIGHTS)
    return args


def load_data(args) -> tuple[mnist.Split, mnist.Split, dict]:
    if args.synthetic:
        g = torch.Generator().manual_seed(1234)
        make = lambda n: mnist.Split(torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g),
                                     torch.randint(0, 10, (n,), generator=g))  # noqa: E731
        return make(args.synthetic), make(max(args.synthetic // 4, 1)), {"synthetic": str(args.synthetic)}
    data_dir = Path(args.data_dir)
    if args.download:
        mnist.download(data_dir)
    return mnist.load(data_dir, "train"), mnist.load(data_dir, "test"), mnist.checksums(data_dir)


def make_batch(multi: bool, train_set: mnist.Split, idx: torch.Tensor, g: torch.Generator):
    """The training batch for digits `idx` -> (x (B, 1, H, W) float, target (B,) or (B, 2), reconstruction
    target (B, [2,] H, W) float): MNIST with the paper's 2-px shifts, or MultiMNIST pairs whose first digits
    are `idx`."""
    if not multi:
        x = mnist.to_input(mnist.random_shift(train_set.images[idx], 2, g))
        return x, train_set.labels[idx], x
    p = multimnist.make_pairs(train_set.images, train_set.labels, len(idx), g, first=idx)
    return mnist.to_input(p.images), p.labels, p.parts.float().div_(255.0)


class Task:
    """What differs between MNIST and MultiMNIST training: the batches, the config and the test score."""

    def __init__(self, args, train_set: mnist.Split, test_set: mnist.Split):
        self.multi = args.dataset == "multimnist"
        self.train_set, self.args = train_set, args
        if self.multi:
            self.test = multimnist.test_pairs(test_set.images, test_set.labels, 500 if args.dry_run else multimnist.TEST_PAIRS)
        else:
            self.test = test_set

    def config(self) -> CapsNetConfig:
        size = multimnist.CANVAS if self.multi else CapsNetConfig.image_size
        return CapsNetConfig(image_size=size, routing_iterations=self.args.routing_iterations)

    def epoch_order(self, g: torch.Generator) -> torch.Tensor:
        n = len(self.train_set.labels)
        if not self.multi:
            return torch.randperm(n, generator=g)
        # Every digit is the first of a pair once per 60k pairs; the partner and shifts are fresh draws.
        reps = math.ceil(self.args.pairs_per_epoch / n)
        return torch.cat([torch.randperm(n, generator=g) for _ in range(reps)])[: self.args.pairs_per_epoch]

    def batch(self, idx: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return make_batch(self.multi, self.train_set, idx, g)

    def score(self, model) -> dict:
        """{"test_accuracy": fraction} on the test digits, or on the fixed test pairs (both digits right)."""
        if not self.multi:
            preds, _ = predict(model, self.test.images)
            return {"test_accuracy": metrics(preds, self.test.labels)["accuracy"]}
        _, lengths = predict(model, self.test.images)
        return {"test_accuracy": multimnist.both_right(lengths, self.test.labels).float().mean().item()}

    def release_metrics(self, model) -> dict:
        """The manifest's test entries: for MNIST every metric of model.evaluate, for MultiMNIST the
        both-right rate on the fixed pairs (the paper's Table 1 measure)."""
        if self.multi:
            _, lengths = predict(model, self.test.images)
            right = multimnist.both_right(lengths, self.test.labels)
            return {"test_accuracy": right.float().mean().item(), "test_n": len(right),
                    "test_metric": f"both digits right: the two longest capsules are the pair's two digits, on the "
                                   f"fixed {len(right)} test pairs (seed {multimnist.TEST_SEED})",
                    "misclassified": (~right).nonzero().flatten().tolist()}
        test_images = self.test.images[:500] if self.args.dry_run else self.test.images
        preds, _ = predict(model, test_images)
        result = metrics(preds, self.test.labels[: len(test_images)])
        return {"test_accuracy": result["accuracy"], "test_n": result["n"],
                "per_class_accuracy": result["per_class_accuracy"], "misclassified": result["misclassified"]}

    def augmentation(self) -> str:
        if self.multi:
            return ("MultiMNIST pairs generated on the fly: two digits of different classes, each shifted up to "
                    f"{multimnist.MAX_SHIFT} px in each direction in {multimnist.CANVAS}x{multimnist.CANVAS}, summed and clipped")
        return "random shift up to 2 px each direction, zero padding"


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if device.type == "cpu" else torch.float16)


def train_step(net, optimizer, scaler, x: torch.Tensor, y: torch.Tensor, target_images: torch.Tensor,
               device: torch.device, precision: str):
    """One optimisation step on a batch from Task.batch -> (loss, output).
    bench/train_throughput.py times exactly this."""
    x = x.to(device).contiguous(memory_format=torch.channels_last)
    y, target_images = y.to(device), target_images.to(device)
    with autocast(device, precision):
        out, _ = net(x, target=y)
        loss, _, _ = capsule_loss(out.lengths, out.reconstruction, target_images, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss, out


def train(args) -> int:
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    d = setup_distributed(device)
    if device.type == "cuda" and d.world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed)  # identical initial weights on every rank

    args.precision = resolve_precision(args.precision, device)
    train_set, test_set, data_checksums = load_data(args)
    task = Task(args, train_set, test_set)
    provenance = {}  # extra manifest entries
    model = CapsNet(task.config()).to(device)
    if args.init_weights:
        source = load_weights(args.init_weights, device)
        provenance["initialized_from"] = {"file": str(args.init_weights), "sha256": sha256(args.init_weights),
                                          "how": init_from(model, source)}
    model.train()
    model = model.to(memory_format=torch.channels_last)  # measured faster for the 9x9 convs on CPU
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and args.precision != "fp32")
    ckpt_path = Path(args.checkpoint_dir) / "last.pt"
    history: list[dict] = []
    start_epoch = 0
    if not 0.0 <= args.ema_decay < 1.0:
        raise ValueError(f"--ema-decay must be in [0, 1), got {args.ema_decay}")
    # Averaging the weights along the last steps lands nearer the centre of the minimum the noisy
    # steps circle around; with no batch norm in CapsNet the average needs no statistics pass.
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema_decay)) if args.ema_decay else None
    if args.resume:
        ck = torch.load(ckpt_path, map_location=device, weights_only=True)
        check_resumable(ck, model.config, args)
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        start_epoch, history = ck["epoch"], ck["history"]
        if ema is not None and "ema" in ck:
            ema.load_state_dict(ck["ema"])
        if d.main:
            log.info("resumed from %s at epoch %d", ckpt_path, start_epoch)
    net = torch.nn.parallel.DistributedDataParallel(model) if d.world > 1 else model

    counts = parameter_counts(model)
    if d.main:
        log.info("CapsNet: %s parameters %s; device %s, %s, %d process(es), %d threads",
                 f"{counts['total']:,}", counts, device, args.precision, d.world, torch.get_num_threads())

    t_start = time.time()
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, args.epochs):
            for group in optimizer.param_groups:
                group["lr"] = args.lr * args.lr_decay**epoch
            g = torch.Generator().manual_seed(args.seed * 1000 + epoch)  # same order on every rank
            order = task.epoch_order(g)
            per_rank = len(order) // d.world
            order = order[d.rank * per_rank : (d.rank + 1) * per_rank]  # each rank its own shard
            steps = 1 if args.dry_run else math.ceil(len(order) / args.batch_size)
            net.train()
            seen = correct = 0
            loss_sum = 0.0
            t0 = time.time()
            bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{args.epochs}", disable=not d.main,
                       file=sys.stderr, dynamic_ncols=True)
            for step in bar:
                idx = order[step * args.batch_size : (step + 1) * args.batch_size]
                x, y, target_images = task.batch(idx, g)
                loss, out = train_step(net, optimizer, scaler, x, y, target_images, device, args.precision)
                y = y.to(device)
                if ema is not None:
                    ema.update_parameters(model)
                seen += len(y)
                if task.multi:
                    correct += multimnist.both_right(out.lengths.detach(), y).sum().item()
                else:
                    correct += (out.lengths.argmax(1) == y).sum().item()
                loss_sum += loss.item() * len(y)
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.4f}",
                                img_s=f"{seen / (time.time() - t0):.0f}")
            train_seconds = time.time() - t0
            record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "train_loss": loss_sum / seen,
                      "train_accuracy": correct / seen, "images_per_second": seen * d.world / train_seconds,
                      "train_seconds": round(train_seconds, 1)}
            if d.main:
                record.update(task.score(model))
                if ema is not None:
                    record["test_accuracy_ema"] = task.score(ema.module)["test_accuracy"]
                    record["ema_decay"] = args.ema_decay
                history.append(record)
                save_checkpoint(ckpt_path, model, optimizer, epoch + 1, history, args, ema)
                log.info("epoch %d: %s", epoch + 1, json.dumps(record))
            if args.dry_run:
                break
            elapsed = (time.time() - t_start) / 60
            per_epoch = elapsed / (epoch + 1 - start_epoch)
            if args.max_minutes and elapsed + per_epoch > args.max_minutes and epoch + 1 < args.epochs:
                if d.main:
                    log.warning("stopping after epoch %d: another epoch would pass --max-minutes", epoch + 1)
                break
    except KeyboardInterrupt:
        if d.main:
            save_checkpoint(ckpt_path, model, optimizer, epoch, history, args, ema)
            log.warning("interrupted in epoch %d: checkpoint saved to %s; --resume restarts that epoch",
                        epoch + 1, ckpt_path)
        return 130
    else:
        if d.world > 1:
            provenance["distributed"] = {"world_size": d.world, "backend": dist.get_backend(),
                                         "parameter_checksums": rank_checksums(model, d.world)}
    finally:
        if d.world > 1:
            dist.destroy_process_group()

    if d.main:
        if ema is not None:
            provenance["weights_averaging"] = (f"exponential moving average of the weights, decay {args.ema_decay} "
                                               f"per step, over the {ema.n_averaged.item()} steps since averaging began")
        write_release(ema.module if ema is not None else model, args, history, data_checksums, counts, device, time.time() - t_start, task,
                      provenance)
    return 0


def _stop_on_sigterm(signum, frame):
    # `kill` and job schedulers send SIGTERM; treat it like Ctrl-C so the checkpoint is saved.
    raise KeyboardInterrupt


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    shipped = {DEFAULT_WEIGHTS.resolve(), DEFAULT_MULTIMNIST_WEIGHTS.resolve()}
    if (args.dry_run or args.synthetic) and Path(args.out).resolve() in shipped:
        print("error: --dry-run and --synthetic need their own --out, so they never replace the shipped weights",
              file=sys.stderr)
        return 2
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        return train(args)
    except (mnist.MnistError, WeightsError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
