"""Generated MNIST files for the tests: IDX files written by hand, and a stand-in for the 60k training set in
its exact format, so that no test needs the training files (they do not ship) or anything outside the repo."""
from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np

from model import mnist

REPEATS = 6  # 6 x the 10,000 bundled test digits = the training set's 60,000


class FakeMnist(NamedTuple):
    dir: Path  # the four files under their real names, as a download or a user's --data-dir holds them
    files: dict  # like mnist.FILES, with the md5 sums of these files
    train_counts: list[int]  # label counts of the generated training set


def idx_bytes(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    """An IDX file written by hand: 0, 0, type, ndim, one big-endian uint32 per dimension, the data."""
    return bytes([0, 0, type_byte, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_fake_mnist(folder: Path) -> FakeMnist:
    """The four MNIST files in folder: the bundled test files, and a generated training set in the 60k
    training files' format (60000 x 28 x 28 and 60000 uint8, gzip) made of the bundled test set REPEATS times
    over (so any first N digits hold every class, as in the real one; about 11 MB, under a second at gzip
    level 1). Its md5 sums differ from the real training set's, so a download of it must be told them
    (`files`)."""
    test = mnist.load(None, "test")
    arrays = {"train_images": np.tile(test.images.numpy(), (REPEATS, 1, 1)),
              "train_labels": np.tile(test.labels.numpy().astype(np.uint8), REPEATS)}
    files = dict(mnist.FILES)
    for key, array in arrays.items():
        name, _, shape = mnist.FILES[key]
        assert array.shape == shape, (key, array.shape, shape)
        raw = idx_bytes(array)
        (folder / name).write_bytes(gzip.compress(raw, compresslevel=1))
        files[key] = (name, hashlib.md5(raw).hexdigest(), shape)
    for key in ("test_images", "test_labels"):
        shutil.copy(mnist.TEST_DATA_DIR / mnist.FILES[key][0], folder)
    return FakeMnist(folder, files, np.bincount(arrays["train_labels"], minlength=10).tolist())
