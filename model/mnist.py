"""MNIST in its original IDX format: a validating reader, an optional checksummed download, the
paper's only augmentation (random shifts of up to 2 px, zero padding)."""
from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import struct
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

# md5 of the *uncompressed* files: gzip headers differ between mirrors, the content does not.
FILES = {
    "train_images": ("train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb", (60000, 28, 28)),
    "train_labels": ("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624", (60000,)),
    "test_images": ("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea", (10000, 28, 28)),
    "test_labels": ("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637", (10000,)),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
IDX_UBYTE = 0x08


class MnistError(Exception):
    """A data file is missing, corrupt or not what it claims to be; the message names the file."""


def default_data_dir() -> Path:
    """../shared/mnist when it exists (this workplace), else a cache folder in the user's home."""
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "mnist"
    if shared.is_dir():
        return shared
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "capsnet-visualizer" / "mnist"


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            head = f.read(2)
        opener = gzip.open if head == b"\x1f\x8b" else open
        with opener(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise MnistError(f"{path}: file not found") from None
    except (OSError, EOFError) as e:
        raise MnistError(f"{path}: cannot read ({e})") from None


def read_idx(path: Path | str, expect_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Reads an IDX file of unsigned bytes (gzip or raw), checking magic, dimensions and length."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise MnistError(f"{path}: not an IDX file (bad magic number {data[:4].hex()!r})")
    if data[2] != IDX_UBYTE:
        raise MnistError(f"{path}: IDX type 0x{data[2]:02x} is not unsigned byte (0x08)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise MnistError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise MnistError(
            f"{path}: header says {shape} = {expected} bytes of data, file has {len(data) - header} "
            f"({'truncated' if len(data) - header < expected else 'trailing bytes'})"
        )
    if expect_shape is not None and tuple(shape) != tuple(expect_shape):
        raise MnistError(f"{path}: shape {tuple(shape)}, expected {tuple(expect_shape)}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def file_md5(path: Path) -> str:
    return hashlib.md5(_read_bytes(path)).hexdigest()


def download(data_dir: Path, mirrors: tuple[str, ...] = MIRRORS, timeout: float = 60) -> None:
    """Fetches the four files that are missing, verifying each against its md5; tries every mirror."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, md5, _ in FILES.values():
        dest = data_dir / name
        if dest.exists() and file_md5(dest) == md5:
            continue
        errors = []
        for mirror in mirrors:
            tmp = dest.with_suffix(".part")
            try:
                with urllib.request.urlopen(mirror + name, timeout=timeout) as r, open(tmp, "wb") as f:
                    shutil.copyfileobj(r, f)
                got = file_md5(tmp)
                if got != md5:
                    raise MnistError(f"checksum mismatch (md5 {got}, expected {md5})")
                tmp.replace(dest)
                log.info("downloaded %s from %s", name, mirror)
                break
            except (OSError, MnistError) as e:
                errors.append(f"{mirror}{name}: {e}")
                tmp.unlink(missing_ok=True)
        else:
            raise MnistError("could not download MNIST:\n  " + "\n  ".join(errors))


@dataclass
class Split:
    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64


def load(data_dir: Path | str, split: str) -> Split:
    """split is 'train' or 'test'."""
    data_dir = Path(data_dir)
    img_name, _, img_shape = FILES[f"{split}_images"]
    lbl_name, _, lbl_shape = FILES[f"{split}_labels"]
    images = read_idx(data_dir / img_name, img_shape)
    labels = read_idx(data_dir / lbl_name, lbl_shape)
    if labels.max() > 9:
        raise MnistError(f"{data_dir / lbl_name}: label {labels.max()} is not a digit")
    return Split(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


def checksums(data_dir: Path | str) -> dict[str, str]:
    """md5 of each uncompressed file, for the weights manifest."""
    data_dir = Path(data_dir)
    return {name: file_md5(data_dir / name) for name, _, _ in FILES.values()}


def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1], the model's input."""
    return images.unsqueeze(1).float().div_(255.0)


def random_shift(images: torch.Tensor, max_shift: int = 2, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shifts each image (N, H, W) by its own random (dy, dx) in [-max_shift, max_shift], filling with
    zeros: the paper's only augmentation."""
    n, h, w = images.shape
    p = max_shift
    padded = torch.nn.functional.pad(images, (p, p, p, p))  # (N, H+2p, W+2p)
    dy = torch.randint(-p, p + 1, (n,), generator=generator)
    dx = torch.randint(-p, p + 1, (n,), generator=generator)
    rows = (torch.arange(h).unsqueeze(0) + p - dy.unsqueeze(1))  # (N, H)
    cols = (torch.arange(w).unsqueeze(0) + p - dx.unsqueeze(1))  # (N, W)
    idx = torch.arange(n)[:, None, None]
    return padded[idx, rows[:, :, None], cols[:, None, :]]
