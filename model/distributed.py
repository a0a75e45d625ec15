"""The processes of one training run: one by default, several under torchrun (DistributedDataParallel:
nccl on GPUs, gloo on CPU), and the check that DDP left every rank with the same parameters."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .capsnet import CapsNet


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



def rank_checksums(model: CapsNet, world: int) -> list[str]:
    """sha256 of every rank's parameters, gathered on all ranks: DDP must leave them identical."""
    h = hashlib.sha256()
    for _, p in sorted(model.state_dict().items()):
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    gathered: list[str] = [""] * world
    dist.all_gather_object(gathered, h.hexdigest())
    return gathered

