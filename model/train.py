"""Training CLI: `python -m model.train [--epochs N] ...` (run `--help` for every option and default).

Adam with exponential learning-rate decay per epoch, the paper's losses and 2-px shift augmentation,
a checkpoint every epoch (and on Ctrl-C), `--resume`, test accuracy each epoch, the metrics history as
JSON, and at the end the shipped weights and weights/manifest.json. Runs unchanged under
`torchrun --nproc_per_node=N -m model.train` (DistributedDataParallel: nccl on GPUs, gloo on CPU).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import math
import os
import platform
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from . import mnist
from .capsnet import CapsNet, CapsNetConfig, parameter_counts
from .device import pick_device
from .evaluate import metrics, predict
from .losses import capsule_loss
from .weights import DEFAULT_WEIGHTS, WeightsError, load_weights, save_weights, sha256

log = logging.getLogger("model.train")
DEFAULT_CHECKPOINT_DIR = Path.home() / ".cache" / "capsnet-visualizer" / "checkpoints"


@dataclass
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: torch.device) -> Dist:
    """torchrun sets WORLD_SIZE/RANK; without them this is a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist()
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank=dist.get_rank(), world=dist.get_world_size())


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=128, help="per process")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate at epoch 1")
    ap.add_argument("--lr-decay", type=float, default=0.87, help="learning rate multiplied by this after every epoch")
    ap.add_argument("--routing-iterations", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--precision", default="bf16", choices=["fp32", "bf16"],
                    help="autocast dtype for training (bf16 on CPU, AMP on CUDA); evaluation is always fp32")
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
    ap.add_argument("--out", default=str(DEFAULT_WEIGHTS), help="final weights; manifest.json and history.json go beside it")
    ap.add_argument("--ema-decay", type=float, default=0.0, metavar="D",
                    help="also keep an exponential moving average of the weights (D per step, e.g. 0.9995; 0 = off), "
                         "evaluate it every epoch, and ship it instead of the last step's weights")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop after the epoch that would end past this wall time, still writing the weights")
    ap.add_argument("--dry-run", action="store_true", help="one batch of training and a small evaluation, then stop")
    return ap.parse_args(argv)


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


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if device.type == "cpu" else torch.float16)


def train_step(net, optimizer, scaler, images: torch.Tensor, y: torch.Tensor, device: torch.device,
               precision: str, generator: torch.Generator):
    """One optimisation step on uint8 images (B, 28, 28) with the paper's 2-px shifts -> (loss, output).
    bench/train_throughput.py times exactly this."""
    x = mnist.to_input(mnist.random_shift(images, 2, generator)).to(device)
    x = x.contiguous(memory_format=torch.channels_last)
    with autocast(device, precision):
        out, _ = net(x, target=y)
        loss, _, _ = capsule_loss(out.lengths, out.reconstruction, x, y)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss, out


def save_checkpoint(path: Path, model, optimizer, epoch: int, history: list, args, ema=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                "history": history, "config": model.config.to_dict(), "args": vars(args),
                **({"ema": ema.state_dict()} if ema is not None else {})}, tmp)
    tmp.replace(path)


def train(args) -> int:
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    d = setup_distributed(device)
    if device.type == "cuda" and d.world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed)  # identical initial weights on every rank

    train_set, test_set, data_checksums = load_data(args)
    provenance = {}  # extra manifest entries
    if args.init_weights:
        model = load_weights(args.init_weights, device).train()
        provenance["initialized_from"] = {"file": str(args.init_weights), "sha256": sha256(args.init_weights)}
    else:
        model = CapsNet(CapsNetConfig(routing_iterations=args.routing_iterations)).to(device)
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
            order = torch.randperm(len(train_set.labels), generator=g)
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
                y = train_set.labels[idx].to(device)
                loss, out = train_step(net, optimizer, scaler, train_set.images[idx], y, device, args.precision, g)
                if ema is not None:
                    ema.update_parameters(model)
                seen += len(y)
                correct += (out.lengths.argmax(1) == y).sum().item()
                loss_sum += loss.item() * len(y)
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.4f}",
                                img_s=f"{seen / (time.time() - t0):.0f}")
            train_seconds = time.time() - t0
            record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "train_loss": loss_sum / seen,
                      "train_accuracy": correct / seen, "images_per_second": seen * d.world / train_seconds,
                      "train_seconds": round(train_seconds, 1)}
            if d.main:
                test_images = test_set.images[:500] if args.dry_run else test_set.images
                test_labels = test_set.labels[: len(test_images)]
                preds, _ = predict(model, test_images)
                record["test_accuracy"] = metrics(preds, test_labels)["accuracy"]
                if ema is not None:
                    preds, _ = predict(ema.module, test_images)
                    record["test_accuracy_ema"] = metrics(preds, test_labels)["accuracy"]
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
        write_release(ema.module if ema is not None else model, args, history, data_checksums, counts, device, time.time() - t_start, test_set,
                      provenance)
    return 0


def rank_checksums(model: CapsNet, world: int) -> list[str]:
    """sha256 of every rank's parameters, gathered on all ranks: DDP must leave them identical."""
    h = hashlib.sha256()
    for _, p in sorted(model.state_dict().items()):
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    gathered: list[str] = [""] * world
    dist.all_gather_object(gathered, h.hexdigest())
    return gathered


def write_release(model, args, history, data_checksums, counts, device, seconds, test_set, provenance) -> None:
    """The weights, the full test evaluation and the manifest the server and the page show."""
    out = Path(args.out)
    save_weights(model, out)
    test_images = test_set.images[:500] if args.dry_run else test_set.images
    preds, _ = predict(model, test_images)
    result = metrics(preds, test_set.labels[: len(test_images)])
    manifest = {
        "weights_file": out.name,
        "sha256": sha256(out),
        "architecture": "CapsNet (Sabour, Frosst & Hinton 2017): Conv1 256x9x9, PrimaryCaps 32x8D, "
                        "DigitCaps 10x16D, decoder 512-1024-784",
        "config": model.config.to_dict(),
        "parameters": counts,
        "test_accuracy": result["accuracy"],
        "test_n": result["n"],
        "per_class_accuracy": result["per_class_accuracy"],
        "misclassified": result["misclassified"],
        "epochs": len(history),
        "epochs_planned": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": f"Adam lr {args.lr}, x{args.lr_decay} per epoch in the last run (each epoch's rate in history.json)",
        "augmentation": "random shift up to 2 px each direction, zero padding",
        "precision": args.precision,
        "device": str(device),
        "host": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "wall_time_seconds": round(seconds),  # this run only
        "train_seconds_all_epochs": round(sum(h["train_seconds"] for h in history)),  # across resumed runs
        "data": data_checksums,
        "seed": args.seed,
        "history_file": "history.json",
    }
    manifest.update(provenance)
    out.with_name("manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    out.with_name("history.json").write_text(json.dumps(history, indent=2) + "\n")
    log.info("wrote %s: test accuracy %.4f on %d", out, result["accuracy"], result["n"])


def _stop_on_sigterm(signum, frame):
    # `kill` and job schedulers send SIGTERM; treat it like Ctrl-C so the checkpoint is saved.
    raise KeyboardInterrupt


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    if (args.dry_run or args.synthetic) and Path(args.out).resolve() == DEFAULT_WEIGHTS.resolve():
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
