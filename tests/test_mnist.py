"""model/mnist.py: the IDX reader on good and broken files, where each split is read from (the bundled test
set, the training set from a folder or the cache), the checksummed download (served from a loopback HTTP
server) and the random-shift augmentation. The training set never ships: tests that need its format use a
generated one (tests/fake_mnist.py)."""
from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from fake_mnist import idx_bytes
from model import mnist
from model.mnist import FILES, TEST_DATA_DIR, MnistError, default_data_dir, download, load, random_shift, read_idx

ROOT = Path(__file__).resolve().parent.parent
# data/mnist/README.md (the training counts are the real set's, for reference: 5923 6742 5958 6131 5842 5421
# 5918 6265 5851 5949)
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TEST_KEYS = ("test_images", "test_labels")


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


# --- where the data comes from ---------------------------------------------------------------------

def test_the_test_set_ships_inside_the_repo():
    assert TEST_DATA_DIR == ROOT / "data" / "mnist"
    assert {FILES[k][0] for k in TEST_KEYS} <= {p.name for p in TEST_DATA_DIR.iterdir()}
    assert (TEST_DATA_DIR / "README.md").is_file()


def test_bundled_test_set_loads_with_documented_label_counts():
    data = load(None, "test")
    assert data.images.shape == (10000, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels.shape == (10000,) and data.labels.dtype == torch.int64
    assert torch.bincount(data.labels, minlength=10).tolist() == TEST_COUNTS
    # Real digits: white ink on black, every image has some ink and a black border.
    assert data.images[:, 0, :].float().mean() < 1 and (data.images.flatten(1).amax(1) > 100).all()
    assert data.labels[:12].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6]


def test_bundled_test_files_have_the_published_checksums():
    assert {FILES[k][0]: mnist.file_md5(TEST_DATA_DIR / FILES[k][0]) for k in TEST_KEYS} == \
        {FILES[k][0]: FILES[k][1] for k in TEST_KEYS}


def test_training_format_loads(fake_mnist):
    data = load(fake_mnist.dir, "train")
    assert data.images.shape == (60000, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels.shape == (60000,) and data.labels.dtype == torch.int64
    assert torch.bincount(data.labels, minlength=10).tolist() == fake_mnist.train_counts
    assert mnist.checksums(fake_mnist.dir) == {name: md5 for name, md5, _ in fake_mnist.files.values()}


def test_default_data_dir_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "capsnet-visualizer" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "capsnet-visualizer" / "mnist"


def test_missing_training_set_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(MnistError, match="--download") as e:
        load(None, "train")
    assert str(tmp_path / "capsnet-visualizer" / "mnist" / FILES["train_images"][0]) in str(e.value)
    with pytest.raises(MnistError, match="--data-dir"):
        load(tmp_path, "train")


def test_a_folder_without_test_files_falls_back_to_the_bundled_set(tmp_path, fake_mnist):
    """A folder with only the training files (a user's own, or the cache) still serves the test split,
    and the checksums for a manifest come from where the files are read."""
    for key in ("train_images", "train_labels"):
        shutil.copy(fake_mnist.dir / FILES[key][0], tmp_path)
    assert mnist.split_dir(tmp_path, "test") == TEST_DATA_DIR
    assert mnist.split_dir(tmp_path, "train") == tmp_path
    assert torch.equal(load(tmp_path, "test").labels, load(None, "test").labels)
    assert mnist.checksums(tmp_path) == {name: md5 for name, md5, _ in fake_mnist.files.values()}


def test_a_folder_with_its_own_test_files_is_read_not_the_bundled_one(tmp_path):
    (tmp_path / FILES["test_images"][0]).write_bytes(idx_bytes(np.full((10000, 28, 28), 3, np.uint8)))
    (tmp_path / FILES["test_labels"][0]).write_bytes(idx_bytes(np.full(10000, 5, np.uint8)))
    data = load(tmp_path, "test")
    assert (data.labels == 5).all() and (data.images == 3).all()


def test_a_folder_with_half_the_test_set_is_an_error_not_a_mix(tmp_path):
    """Only both files missing means 'not here'; one of the two is a broken folder, named in the error."""
    shutil.copy(TEST_DATA_DIR / FILES["test_images"][0], tmp_path)
    with pytest.raises(MnistError, match="not found") as e:
        load(tmp_path, "test")
    assert str(tmp_path / FILES["test_labels"][0]) in str(e.value)


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split"):
        load(None, "validation")


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


def test_download_from_mirror(serve, fake_mnist, tmp_path):
    url, requests = serve(fake_mnist.dir)
    dest = tmp_path / "mnist"
    download(dest, mirrors=(url,), timeout=10, files=fake_mnist.files)
    assert sorted(p.name for p in dest.iterdir()) == sorted(name for name, _, _ in FILES.values())
    assert mnist.checksums(dest) == {name: md5 for name, md5, _ in fake_mnist.files.values()}
    assert len(load(dest, "train").labels) == 60000
    assert len(requests) == 4
    # Files already there with the right checksum are not fetched again.
    download(dest, mirrors=(url,), timeout=10, files=fake_mnist.files)
    assert len(requests) == 4


def test_files_that_are_not_the_real_mnist_are_refused(serve, fake_mnist, tmp_path):
    """The generated training files are valid IDX of the right shape, but not MNIST's: against the real
    checksums they are refused, and nothing of them is left behind."""
    url, _ = serve(fake_mnist.dir)
    dest = tmp_path / "mnist"
    _partial_copy(dest, fake_mnist.dir, FILES["train_images"][0], FILES["train_labels"][0])
    with pytest.raises(MnistError, match="checksum mismatch") as e:
        download(dest, mirrors=(url,), timeout=10)  # the real FILES
    assert f"expected {FILES['train_images'][1]}" in str(e.value)
    assert not (dest / FILES["train_images"][0]).exists() and not list(dest.glob("*.part"))


def _partial_copy(dest: Path, source: Path, *except_names: str) -> None:
    """The good files, except some, already in dest: only those are downloaded (keeps tests fast)."""
    dest.mkdir()
    for name, _, _ in FILES.values():
        if name not in except_names:
            shutil.copy(source / name, dest / name)


def test_corrupt_mirror_fails_checksum_and_next_mirror_is_used(serve, fake_mnist, tmp_path):
    name = FILES["test_labels"][0]
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    labels = bytearray(gzip.decompress((TEST_DATA_DIR / name).read_bytes()))
    labels[100] = (labels[100] + 1) % 10  # a valid file with one wrong label
    (bad_dir / name).write_bytes(gzip.compress(bytes(labels)))
    bad_url, bad_requests = serve(bad_dir)
    good_url, good_requests = serve(TEST_DATA_DIR)
    dest = tmp_path / "mnist"
    _partial_copy(dest, fake_mnist.dir, name)
    download(dest, mirrors=(bad_url, good_url), timeout=10, files=fake_mnist.files)
    assert bad_requests == ["/" + name] and good_requests == ["/" + name]
    assert mnist.file_md5(dest / name) == FILES["test_labels"][1]
    assert not list(dest.glob("*.part"))


def test_missing_on_first_mirror_uses_next(serve, fake_mnist, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    empty_url, _ = serve(empty)  # answers 404
    good_url, _ = serve(fake_mnist.dir)
    name = FILES["train_labels"][0]
    dest = tmp_path / "mnist"
    _partial_copy(dest, fake_mnist.dir, name)
    download(dest, mirrors=(empty_url, good_url), timeout=10, files=fake_mnist.files)
    assert mnist.file_md5(dest / name) == fake_mnist.files["train_labels"][1]


def test_all_mirrors_failing_names_each(serve, fake_mnist, tmp_path):
    name = FILES["test_labels"][0]
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    (bad_dir / name).write_bytes(b"not gzip and not idx")
    bad_url, _ = serve(bad_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    empty_url, _ = serve(empty)
    dest = tmp_path / "mnist"
    _partial_copy(dest, fake_mnist.dir, name)
    with pytest.raises(MnistError) as e:
        download(dest, mirrors=(bad_url, empty_url), timeout=10, files=fake_mnist.files)
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
    digits = load(None, "test").images[:300]
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
