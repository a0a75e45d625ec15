"""Choosing the training precision by what the machine does fastest.

bf16 autocast helps only where the CPU computes in bf16 natively: with AMX a CapsNet step ran 1.5x
faster than fp32, and on a CPU without avx512_bf16 and AMX 2.1-2.2x slower (it emulates bf16).
CUDA gets automatic mixed precision (fp16 with a gradient scaler).
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch

log = logging.getLogger(__name__)
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is not there, e.g. macOS)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags") and ":" in line:
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def resolve_precision(precision: str, device: torch.device, flags: set[str] | None = None) -> str:
    """'auto' -> 'bf16' (AMP on CUDA, bf16 autocast on a CPU with native bf16) or 'fp32'; other values
    are returned as they are. Logs the choice and why."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        log.info("precision auto: AMP (fp16 autocast) on CUDA")
        return "bf16"  # train.autocast maps this to fp16 AMP on CUDA
    flags = cpu_flags() if flags is None else flags
    native = sorted(f for f in BF16_FLAGS if f in flags)
    if native:
        log.info("precision auto: bf16 autocast (the CPU has %s)", ", ".join(native))
        return "bf16"
    log.info("precision auto: fp32 (the CPU has neither %s; bf16 would be emulated, about 2x slower)",
             " nor ".join(BF16_FLAGS))
    return "fp32"
