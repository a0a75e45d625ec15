"""model/mnist.py: the IDX reader on good and broken files, the real data, the checksummed download
(served from a loopback HTTP server) and the random-shift augmentation."""
from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from model import mnist
from model.mnist import FILES, MnistError, default_data_dir, download, load, random_shift, read_idx

DATA = default_data_dir()
# /work/shared/mnist/README.md
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    """An IDX file written by hand: 0, 0, type, ndim, one big-endian uint32 per dimension, the data."""
    return bytes([0, 0, type_byte, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


@pytest.fixture
def sample() -> np.ndarray:
    return np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)


# --- the reader -----------------------------------------------------------------------------------

@pytest.mark.parametrize("compressed", [False, True])
def test_read_good_file(tmp_path, sample, compressed):
    path = tmp_path / ("x.idx.gz" if compressed else "x.idx")
    data = idx_bytes(sample)
    path.write_bytes(gzip.compress(data) if compressed else data)
    got = read_idx(path, expect_shape=(3, 4, 5))
    assert got.dtype == np.uint8 and got.shape == (3, 4, 5)
    assert np.array_equal(got, sample)
    assert np.array_equal(read_idx(path), sample)  # no expected shape: the header's


def _expect_error(path: Path, match: str, **kw) -> None:
    with pytest.raises(MnistError, match=match) as e:
        read_idx(path, **kw)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("compressed", [False, True])
def test_truncated_data(tmp_path, sample, compressed):
    path = tmp_path / "x.idx"
    data = idx_bytes(sample)[:-7]
    path.write_bytes(gzip.compress(data) if compressed else data)
    _expect_error(path, "truncated")


def test_trailing_bytes(tmp_path, sample):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(sample) + b"\0\0")
    _expect_error(path, "trailing")


def test_truncated_header(tmp_path, sample):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(sample)[:9])  # 3 dimensions need 4 + 12 header bytes
    _expect_error(path, "truncated IDX header")


def test_wrong_magic(tmp_path, sample):
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x01" + idx_bytes(sample)[1:])
    _expect_error(path, "not an IDX file")
    path.write_bytes(b"PK")  # too short to be anything
    _expect_error(path, "not an IDX file")


def test_wrong_type_byte(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(np.zeros((2, 2), dtype=">f4"), type_byte=0x0D))  # IDX float
    _expect_error(path, "0x0d is not unsigned byte")


def test_shape_mismatch(tmp_path, sample):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(sample))
    _expect_error(path, r"shape \(3, 4, 5\), expected \(3, 5, 4\)", expect_shape=(3, 5, 4))


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.gz", "not found")


def test_corrupt_gzip(tmp_path, sample):
    path = tmp_path / "x.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(sample))[:-12])  # cut inside the stream
    _expect_error(path, "cannot read")


def test_load_rejects_labels_above_nine(tmp_path):
    (tmp_path / FILES["test_images"][0]).write_bytes(idx_bytes(np.zeros((10000, 28, 28), np.uint8)))
    labels = np.zeros(10000, np.uint8)
    labels[1234] = 11
    (tmp_path / FILES["test_labels"][0]).write_bytes(idx_bytes(labels))
    with pytest.raises(MnistError, match="label 11 is not a digit") as e:
        load(tmp_path, "test")
    assert FILES["test_labels"][0] in str(e.value)


def test_load_checks_shapes(tmp_path):
    (tmp_path / FILES["test_images"][0]).write_bytes(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    with pytest.raises(MnistError, match=r"expected \(10000, 28, 28\)"):
        load(tmp_path, "test")


# --- the real files -------------------------------------------------------------------------------

@pytest.mark.parametrize("split,counts", [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)])
def test_real_files_load_with_documented_label_counts(split, counts):
    data = load(DATA, split)
    n = sum(counts)
    assert data.images.shape == (n, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels.shape == (n,) and data.labels.dtype == torch.int64
    assert torch.bincount(data.labels, minlength=10).tolist() == counts
    # Real digits: white ink on black, every image has some ink and a black border.
    assert data.images[:, 0, :].float().mean() < 1 and (data.images.flatten(1).amax(1) > 100).all()


def test_real_file_checksums():
    assert mnist.checksums(DATA) == {name: md5 for name, md5, _ in FILES.values()}


def test_to_input():
    x = mnist.to_input(torch.tensor([[[0, 255], [51, 102]]], dtype=torch.uint8))
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
    assert torch.allclose(x, torch.tensor([[[[0.0, 1.0], [0.2, 0.4]]]]))


# --- download -------------------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def serve():
    """serve(folder) -> (base URL, list of requested paths); servers stop after the test."""
    servers = []

    def start(folder: Path):
        requests: list[str] = []

        class Handler(_Handler):
            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/", requests

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def test_download_from_mirror(serve, tmp_path):
    url, requests = serve(DATA)
    dest = tmp_path / "mnist"
    download(dest, mirrors=(url,), timeout=10)
    assert sorted(p.name for p in dest.iterdir()) == sorted(name for name, _, _ in FILES.values())
    assert mnist.checksums(dest) == {name: md5 for name, md5, _ in FILES.values()}
    assert len(requests) == 4
    # Files already there with the right checksum are not fetched again.
    download(dest, mirrors=(url,), timeout=10)
    assert len(requests) == 4


def _partial_copy(dest: Path, except_name: str) -> None:
    """The good files, except one, already in dest: only that one is downloaded (keeps tests fast)."""
    dest.mkdir()
    for name, _, _ in FILES.values():
        if name != except_name:
            shutil.copy(DATA / name, dest / name)


def test_corrupt_mirror_fails_checksum_and_next_mirror_is_used(serve, tmp_path):
    name = FILES["test_labels"][0]
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    labels = bytearray(gzip.decompress((DATA / name).read_bytes()))
    labels[100] = (labels[100] + 1) % 10  # a valid file with one wrong label
    (bad_dir / name).write_bytes(gzip.compress(bytes(labels)))
    bad_url, bad_requests = serve(bad_dir)
    good_url, good_requests = serve(DATA)
    dest = tmp_path / "mnist"
    _partial_copy(dest, name)
    download(dest, mirrors=(bad_url, good_url), timeout=10)
    assert bad_requests == ["/" + name] and good_requests == ["/" + name]
    assert mnist.file_md5(dest / name) == FILES["test_labels"][1]
    assert not list(dest.glob("*.part"))


def test_missing_on_first_mirror_uses_next(serve, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    empty_url, _ = serve(empty)  # answers 404
    good_url, _ = serve(DATA)
    name = FILES["train_labels"][0]
    dest = tmp_path / "mnist"
    _partial_copy(dest, name)
    download(dest, mirrors=(empty_url, good_url), timeout=10)
    assert mnist.file_md5(dest / name) == FILES["train_labels"][1]


def test_all_mirrors_failing_names_each(serve, tmp_path):
    name = FILES["test_labels"][0]
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    (bad_dir / name).write_bytes(b"not gzip and not idx")
    bad_url, _ = serve(bad_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    empty_url, _ = serve(empty)
    dest = tmp_path / "mnist"
    _partial_copy(dest, name)
    with pytest.raises(MnistError) as e:
        download(dest, mirrors=(bad_url, empty_url), timeout=10)
    message = str(e.value)
    assert bad_url + name in message and "checksum mismatch" in message
    assert empty_url + name in message and "404" in message
    assert not (dest / name).exists() and not list(dest.glob("*.part"))


# --- random_shift ---------------------------------------------------------------------------------

def reference_shift(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[y, x] = image[y - dy, x - dx], zero where that falls outside: the obvious loop."""
    h, w = image.shape
    out = torch.zeros_like(image)
    for y in range(h):
        for x in range(w):
            if 0 <= y - dy < h and 0 <= x - dx < w:
                out[y, x] = image[y - dy, x - dx]
    return out


def test_random_shift_matches_reference_within_two_pixels():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(1, 256, (60, 12, 10), dtype=torch.uint8, generator=g)  # no zeros: shifts are unique
    shifted = random_shift(images, 2, torch.Generator().manual_seed(1))
    assert shifted.shape == images.shape and shifted.dtype == images.dtype
    seen = set()
    for img, out in zip(images, shifted):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(out, reference_shift(img, dy, dx))]
        assert len(matches) == 1, "each output is exactly one shift of its input within +-2 px"
        seen.add(matches[0])
    assert len(seen) > 15 and {d for s in seen for d in s} == {-2, -1, 0, 1, 2}


def test_random_shift_preserves_content_away_from_the_edges():
    digits = load(DATA, "test").images[:300]
    inner = torch.zeros(28, 28, dtype=torch.bool)
    inner[2:-2, 2:-2] = True
    digits = digits[(digits[:, ~inner] == 0).all(dim=1)]  # ink at least 2 px from every edge
    assert len(digits) > 100
    shifted = random_shift(digits, 2, torch.Generator().manual_seed(2))
    same_sums = shifted.flatten(1).sum(1, dtype=torch.int64) == digits.flatten(1).sum(1, dtype=torch.int64)
    assert bool(same_sums.all())
    same_values = torch.sort(shifted.flatten(1), dim=1).values == torch.sort(digits.flatten(1), dim=1).values
    assert bool(same_values.all())
    assert not torch.equal(shifted, digits)


def test_random_shift_is_reproducible_with_a_generator():
    images = torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8)
    a = random_shift(images, 2, torch.Generator().manual_seed(3))
    b = random_shift(images, 2, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert torch.equal(random_shift(images, 0), images)
