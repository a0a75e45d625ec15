"""Shared fixtures: a tiny random checkpoint in a temp folder (tests never need the trained weights,
except those that test the shipped weights), and an app + client built from it by the factory."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from model.capsnet import CapsNet, CapsNetConfig
from model.weights import save_weights

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "weights" / "mnist" / "gallery.json"

# Tests share 2 cores with each other and anything else running; one thread keeps them predictable.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory) -> Path:
    """A randomly initialised CapsNet saved like the shipped weights, with a manifest and gallery."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    path = folder / "capsnet_mnist.pt"
    save_weights(CapsNet(), path)
    (folder / "manifest.json").write_text(json.dumps({"test_accuracy": 0.1, "epochs": 0, "note": "random test weights"}))
    shutil.copy(GALLERY, folder / "gallery.json")
    return path


PAIR_IDS = ("pair-00000", "pair-00001", "pair-00002")  # the models_folder multimnist gallery's pairs


@pytest.fixture(scope="session")
def models_folder(tmp_path_factory) -> Path:
    """A folder of two model folders like the shipped weights/: mnist (a random 28x28 CapsNet) and
    multimnist (a random 36x36 one, 10x10 capsule grid), each with a manifest and a small gallery (the
    multimnist one: three fixed test pairs and the MNIST gallery's single digits, as model.gallery writes it)."""
    import base64

    from model import mnist, multimnist

    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    for name, size, accuracy in (("mnist", 28, 0.1), ("multimnist", multimnist.CANVAS, 0.02)):
        folder = root / name
        save_weights(CapsNet(CapsNetConfig(image_size=size)), folder / f"capsnet_{name}.pt")
        (folder / "manifest.json").write_text(json.dumps({
            "dataset": name, "test_accuracy": accuracy, "epochs": 0, "note": "random test weights",
            **({"test_metric": "both digits right (random test weights)"} if name == "multimnist" else {})}))
    shutil.copy(GALLERY, root / "mnist" / "gallery.json")
    test = mnist.load(None, "test")
    pairs = multimnist.test_pairs(test.images, test.labels)  # the fixed 10,000; the first few are listed
    entries = [{"id": pid, "index": i, "labels": pairs.labels[i].tolist(), "predicted": pairs.labels[i].tolist(),
                "pixels": base64.b64encode(pairs.images[i].numpy().tobytes()).decode("ascii")}
               for i, pid in enumerate(PAIR_IDS)]
    singles = json.loads(GALLERY.read_text())["samples"]
    (root / "multimnist" / "gallery.json").write_text(json.dumps({"samples": entries + singles}))
    return root


@pytest.fixture(scope="session")
def models_app(models_folder):
    from app import create_app

    return create_app({"WEIGHTS": str(models_folder), "DEVICE": "cpu", "TESTING": True})


@pytest.fixture(scope="session")
def app(random_weights):
    from app import create_app

    return create_app({"WEIGHTS": str(random_weights), "GALLERY": str(random_weights.with_name("gallery.json")),
                       "DEVICE": "cpu", "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def server(random_weights):
    """A real server over the random checkpoint, one per browser-test module (a module with other needs
    defines its own `server`). One torch thread: the tests share two cores with whatever else runs."""
    from browser_helpers import serve

    with serve(random_weights, threads=2, env={"OMP_NUM_THREADS": "1"}) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for every browser test (never a downloaded browser)."""
    from browser_helpers import CHROMIUM, launch
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser tests need Debian's chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="session")
def fake_mnist(tmp_path_factory):
    """A folder with the four MNIST files: the bundled test set and a generated training set in the 60k
    format (tests/fake_mnist.py), for whatever needs training data or a folder to download from."""
    from fake_mnist import write_fake_mnist

    return write_fake_mnist(tmp_path_factory.mktemp("fake_mnist"))


@pytest.fixture(scope="session")
def routed_server(random_weights, tmp_path_factory):
    """A real server over the random checkpoint with W scaled so that routing moves c_ij measurably
    (tests/routed_weights.py), shared by the browser-test modules that compare routing's effect."""
    from browser_helpers import serve
    from routed_weights import write_routed_weights

    weights = write_routed_weights(random_weights, tmp_path_factory.mktemp("routed"))
    with serve(weights, threads=2, env={"OMP_NUM_THREADS": "1"}) as url:
        yield url
