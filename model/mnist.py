"""MNIST in its original IDX format: a validating reader, an optional checksummed download, the
paper's only augmentation (random shifts of up to 2 px, zero padding).

Where the data lives: the 10k test set ships in the repo (data/mnist, TEST_DATA_DIR), so evaluation, the
gallery and the tests need nothing outside the clone. The 60k training set does not ship: it comes from a
folder the caller names or is downloaded (md5-checked) into the user's cache folder (default_data_dir())."""
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


# The bundled test set (data/mnist/README.md: provenance, licence, checksums).
TEST_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
SPLITS = ("train", "test")


def default_data_dir() -> Path:
    """Where the training set is downloaded to and read from when no folder is given: the user's cache
    ($XDG_CACHE_HOME, else ~/.cache), never a path outside the repo other than that. The test split of
    this folder falls back to the bundled copy (load)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "capsnet-visualizer" / "mnist"


def split_dir(data_dir: Path | str | None, split: str) -> Path:
    """The folder a split is read from. None means the default: the bundled copy for 'test', the cache
    for 'train'. A folder without either test file falls back to the bundled test set, so a folder that
    holds only the training files (as --download leaves it, or a user's own) serves both splits."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if data_dir is None:
        return TEST_DATA_DIR if split == "test" else default_data_dir()
    data_dir = Path(data_dir)
    if split == "test" and not any((data_dir / FILES[k][0]).exists() for k in ("test_images", "test_labels")):
        log.info("%s has no MNIST test files; using the bundled copy in %s", data_dir, TEST_DATA_DIR)
        return TEST_DATA_DIR
    return data_dir


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


def download(data_dir: Path | str, mirrors: tuple[str, ...] = MIRRORS, timeout: float = 60,
             files: dict[str, tuple[str, str, tuple[int, ...]]] = FILES) -> None:
    """Fetches the four files that are missing, verifying each against its md5; tries every mirror.
    `files` is FILES (name, md5, shape per role); the tests pass their own to serve generated files."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, md5, _ in files.values():
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


def load(data_dir: Path | str | None, split: str) -> Split:
    """split is 'train' or 'test'; data_dir as split_dir() resolves it (None: the defaults)."""
    data_dir = split_dir(data_dir, split)
    img_name, _, img_shape = FILES[f"{split}_images"]
    lbl_name, _, lbl_shape = FILES[f"{split}_labels"]
    if split == "train" and not (data_dir / img_name).exists():
        raise MnistError(f"{data_dir / img_name}: file not found (the training set does not ship with the "
                         f"tool: pass --data-dir DIR with the MNIST files, or --download to fetch them)")
    images = read_idx(data_dir / img_name, img_shape)
    labels = read_idx(data_dir / lbl_name, lbl_shape)
    if labels.max() > 9:
        raise MnistError(f"{data_dir / lbl_name}: label {labels.max()} is not a digit")
    return Split(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


def checksums(data_dir: Path | str | None) -> dict[str, str]:
    """md5 of each uncompressed file, for the weights manifest; each read from where load() reads it."""
    return {name: file_md5(split_dir(data_dir, key.split("_")[0]) / name) for key, (name, _, _) in FILES.items()}


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
