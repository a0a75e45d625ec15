"""Training checkpoints: written atomically every epoch (and on Ctrl-C), and the check that `--resume`
continues the same training."""
from __future__ import annotations

from pathlib import Path

import torch

from .capsnet import CapsNetConfig

# Arguments that change what is being trained: --resume refuses a checkpoint made with other values.
RESUME_MUST_MATCH = ("dataset", "batch_size", "routing_iterations", "seed", "ema_decay", "pairs_per_epoch")

def check_resumable(ck: dict, config: CapsNetConfig, args) -> None:
    """--resume continues the same training or refuses, naming the first field that differs."""
    saved = CapsNetConfig.from_dict(ck["config"]) if "config" in ck else config
    for field, value in config.to_dict().items():
        if saved.to_dict().get(field) != value:
            raise ValueError(f"--resume: the checkpoint's model has {field}={saved.to_dict().get(field)!r}, these "
                             f"arguments give {value!r}; use the checkpoint's arguments or another --checkpoint-dir")
    old = ck.get("args", {})
    for field in RESUME_MUST_MATCH:
        if field in old and old[field] != getattr(args, field):
            raise ValueError(f"--resume: the checkpoint was trained with --{field.replace('_', '-')} {old[field]!r}, "
                             f"not {getattr(args, field)!r}; use the same value or another --checkpoint-dir")


def save_checkpoint(path: Path, model, optimizer, epoch: int, history: list, args, ema=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                "history": history, "config": model.config.to_dict(), "args": vars(args),
                **({"ema": ema.state_dict()} if ema is not None else {})}, tmp)
    tmp.replace(path)

