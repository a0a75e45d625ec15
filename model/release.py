"""The end of a training run: the weights, their full test evaluation and the manifest and history the
server and the page show."""
from __future__ import annotations

import json
import logging
import os
import platform
from pathlib import Path

import torch

from .weights import save_weights, sha256

log = logging.getLogger("model.train")


def write_release(model, args, history, data_checksums, counts, device, seconds, task, provenance) -> None:
    """The weights, the full test evaluation and the manifest the server and the page show."""
    out = Path(args.out)
    save_weights(model, out)
    result = task.release_metrics(model)
    cfg = model.config
    manifest = {
        "weights_file": out.name,
        "sha256": sha256(out),
        "dataset": args.dataset,
        "architecture": f"CapsNet (Sabour, Frosst & Hinton 2017): Conv1 {cfg.conv1_channels}x{cfg.kernel_size}x{cfg.kernel_size}, "
                        f"PrimaryCaps {cfg.primary_types}x{cfg.primary_dim}D on {cfg.primary_grid}x{cfg.primary_grid}, "
                        f"DigitCaps {cfg.digit_count}x{cfg.digit_dim}D, decoder {cfg.decoder_hidden[0]}-{cfg.decoder_hidden[1]}-{cfg.image_size**2}",
        "config": cfg.to_dict(),
        "parameters": counts,
        **result,
        "epochs": len(history),
        "epochs_planned": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": f"Adam lr {args.lr}, x{args.lr_decay} per epoch in the last run (each epoch's rate in history.json)",
        "augmentation": task.augmentation(),
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
    log.info("wrote %s: test accuracy %.4f on %d", out, result["test_accuracy"], result["test_n"])

