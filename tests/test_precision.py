"""--precision auto: bf16 only where the CPU computes it natively."""
from __future__ import annotations

import torch

from model.precision import cpu_flags, resolve_precision

CPU = torch.device("cpu")


def test_auto_picks_bf16_with_amx_or_avx512_bf16():
    assert resolve_precision("auto", CPU, {"avx2", "amx_bf16", "amx_tile"}) == "bf16"
    assert resolve_precision("auto", CPU, {"avx512f", "avx512_bf16"}) == "bf16"


def test_auto_picks_fp32_without_native_bf16():
    assert resolve_precision("auto", CPU, {"avx2", "avx512f"}) == "fp32"
    assert resolve_precision("auto", CPU, set()) == "fp32"


def test_explicit_choice_is_kept():
    assert resolve_precision("bf16", CPU, set()) == "bf16"
    assert resolve_precision("fp32", CPU, {"amx_bf16"}) == "fp32"


def test_cpu_flags_reads_the_flags_line(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\nbugs\t: x\n")
    assert cpu_flags(f) == {"fpu", "avx2", "amx_bf16"}
    assert cpu_flags(tmp_path / "missing") == set()
