"""The training and evaluation CLIs, run as a user runs them (subprocesses): a synthetic dry run that
writes loadable weights, --resume, the refusals, DDP on two CPU processes ending with identical weights,
and `model.evaluate --json`."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from model import mnist
from model.evaluate import metrics, predict
from model.weights import load_weights, sha256

ROOT = Path(__file__).resolve().parent.parent
# One thread per process: the tests share two cores with each other and anything else running.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "error::DeprecationWarning"}


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def train(tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    return run("-m", "model.train", "--synthetic", "64", "--dry-run", "--batch-size", "8", "--threads", "1",
               "--epochs", "2", "--out", str(tmp / "w.pt"), "--checkpoint-dir", str(tmp / "ck"), *extra)


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("train")
    r = train(tmp)
    assert r.returncode == 0, r.stderr[-3000:]
    return tmp


def test_dry_run_writes_loadable_weights_and_manifest(dry_run):
    out = dry_run / "w.pt"
    model = load_weights(out)
    assert torch.load(out, weights_only=True)["config"] == model.config.to_dict()
    manifest = json.loads((dry_run / "manifest.json").read_text())
    assert manifest["weights_file"] == "w.pt"
    assert manifest["sha256"] == sha256(out) == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["parameters"]["total"] == 8_215_568
    assert manifest["epochs"] == 1 and manifest["data"] == {"synthetic": "64"}
    assert manifest["test_n"] == 16 and 0 <= manifest["test_accuracy"] <= 1
    assert "distributed" not in manifest
    history = json.loads((dry_run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1]
    assert history[0]["lr"] == pytest.approx(1e-3)
    assert {"train_loss", "train_accuracy", "test_accuracy", "images_per_second"} <= set(history[0])
    ck = torch.load(dry_run / "ck" / "last.pt", weights_only=True)
    assert ck["epoch"] == 1
    # The weights file is the checkpoint's model: the same numbers, saved two ways.
    for k, v in model.state_dict().items():
        assert torch.equal(v, ck["model"][k].float().contiguous()), k


def test_resume_continues_from_the_checkpoint(dry_run):
    before = load_weights(dry_run / "w.pt").state_dict()
    r = train(dry_run, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resumed from" in r.stderr and "at epoch 1" in r.stderr
    history = json.loads((dry_run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[1]["lr"] == pytest.approx(1e-3 * 0.87)  # the second epoch's decayed rate
    assert torch.load(dry_run / "ck" / "last.pt", weights_only=True)["epoch"] == 2
    after = load_weights(dry_run / "w.pt").state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # it trained on
    assert json.loads((dry_run / "manifest.json").read_text())["epochs"] == 2


def test_ema_ships_the_averaged_weights(tmp_path):
    r = run("-m", "model.train", "--synthetic", "32", "--batch-size", "8", "--threads", "1", "--epochs", "1",
            "--ema-decay", "0.5", "--out", str(tmp_path / "w.pt"), "--checkpoint-dir", str(tmp_path / "ck"))
    assert r.returncode == 0, r.stderr[-3000:]
    ck = torch.load(tmp_path / "ck" / "last.pt", weights_only=True)
    assert ck["ema"]["n_averaged"].item() == 4  # 32 images, batches of 8
    shipped = load_weights(tmp_path / "w.pt").state_dict()
    for k, v in shipped.items():
        assert torch.equal(v, ck["ema"][f"module.{k}"].float().contiguous()), k
    assert any(not torch.equal(v, ck["model"][k].float()) for k, v in shipped.items())  # not the last step's
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "decay 0.5 per step, over the 4 steps" in manifest["weights_averaging"]
    history = json.loads((tmp_path / "history.json").read_text())
    assert 0 <= history[0]["test_accuracy_ema"] <= 1 and history[0]["ema_decay"] == 0.5


@pytest.mark.parametrize("decay", ["1", "-0.1", "1.5"])
def test_ema_decay_out_of_range_is_an_error(tmp_path, capsys, decay):
    from model.train import main as train_main

    argv = ["--synthetic", "8", "--dry-run", "--threads", "1", "--ema-decay", decay,
            "--out", str(tmp_path / "w.pt"), "--checkpoint-dir", str(tmp_path / "ck")]
    assert train_main(argv) == 2
    assert f"--ema-decay must be in [0, 1), got {float(decay)}" in capsys.readouterr().err


def test_resume_without_checkpoint_is_an_error(tmp_path, capsys):
    from model.train import main

    argv = ["--synthetic", "8", "--dry-run", "--threads", "1", "--resume",
            "--out", str(tmp_path / "w.pt"), "--checkpoint-dir", str(tmp_path / "ck")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and str(tmp_path / "ck" / "last.pt") in err
    assert not (tmp_path / "w.pt").exists()


@pytest.mark.parametrize("flag", [["--dry-run"], ["--synthetic", "8"]])
def test_dry_run_and_synthetic_need_their_own_out(flag, capsys):
    from model.train import main

    assert main([*flag, "--threads", "1"]) == 2  # refused before any training
    assert "need their own --out" in capsys.readouterr().err


def _state_checksum(model) -> str:
    """The manifest's per-rank checksum, recomputed from the saved weights: sha256 over the fp32
    parameters in key order."""
    h = hashlib.sha256()
    for _, p in sorted(model.state_dict().items()):
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def test_ddp_two_processes_end_with_identical_weights(tmp_path):
    out = tmp_path / "w.pt"
    r = run("-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            "-m", "model.train", "--synthetic", "32", "--epochs", "1", "--batch-size", "8", "--device", "cpu",
            "--precision", "fp32", "--threads", "1", "--out", str(out), "--checkpoint-dir", str(tmp_path / "ck"),
            timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "2 process(es)" in r.stderr
    dist_info = manifest["distributed"]
    assert dist_info["world_size"] == 2
    checksums = dist_info["parameter_checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1]
    # ... and they are the checksum of the weights rank 0 wrote.
    assert checksums[0] == _state_checksum(load_weights(out))
    # 32 images over 2 ranks at batch 8: two steps per rank, one epoch.
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) == 1 and history[0]["epoch"] == 1


# --- evaluate -------------------------------------------------------------------------------------

def test_evaluate_json_on_random_weights(random_weights):
    r = run("-m", "model.evaluate", "--weights", str(random_weights), "--limit", "50", "--json", "--device", "cpu")
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["n"] == 50 and 0 <= result["accuracy"] <= 1
    assert sum(map(sum, result["confusion"])) == 50
    # The same number computed in this process.
    test = mnist.load(mnist.default_data_dir(), "test")
    preds, _ = predict(load_weights(random_weights), test.images[:50], batch_size=50)
    expected = metrics(preds, test.labels[:50])
    assert result["accuracy"] == expected["accuracy"]
    assert result["misclassified"] == expected["misclassified"]


def test_evaluate_missing_weights_is_a_one_line_error(tmp_path, capsys):
    from model.evaluate import main

    missing = tmp_path / "nope.pt"
    assert main(["--weights", str(missing), "--json"]) != 0
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and lines[0].startswith("error:")


@pytest.mark.parametrize("kind", ["junk", "truncated"])
def test_evaluate_corrupt_weights_is_a_one_line_error(tmp_path, random_weights, capsys, kind):
    from model.evaluate import main

    bad = tmp_path / "bad.pt"
    data = random_weights.read_bytes()
    bad.write_bytes(b"not a checkpoint" if kind == "junk" else data[: len(data) // 2])
    assert main(["--weights", str(bad), "--json"]) != 0
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and str(bad) in lines[0] and "corrupt" in lines[0], err[-2000:]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_saves_a_checkpoint_and_exits_cleanly(tmp_path, sig):
    """Ctrl-C (or kill) mid-epoch: a checkpoint to resume from, exit 130, no traceback."""
    with subprocess.Popen(
        [sys.executable, "-m", "model.train", "--synthetic", "4000", "--batch-size", "4", "--threads", "1",
         "--epochs", "1", "--out", str(tmp_path / "w.pt"), "--checkpoint-dir", str(tmp_path / "ck")],
        cwd=ROOT, env=ENV, stderr=subprocess.PIPE, text=True,
        # A shell's background job (`pytest &`) starts with SIGINT ignored and passes that on, and Python
        # then never raises KeyboardInterrupt; Ctrl-C is what this test is about, so restore the default.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as proc:
        for line in proc.stderr:  # wait until training has begun
            if "CapsNet:" in line:
                break
        time.sleep(1.0)
        proc.send_signal(sig)
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 130, err[-2000:]
    assert "interrupted in epoch 1" in err and "Traceback" not in err
    ck = torch.load(tmp_path / "ck" / "last.pt", weights_only=True)
    assert ck["epoch"] == 0  # --resume restarts the interrupted epoch
    assert not (tmp_path / "w.pt").exists()


def test_init_weights_starts_from_a_weights_file(tmp_path, random_weights):
    """--init-weights: training continues from a weights file (no checkpoint needed), recorded in the manifest."""
    # --seed 5: a fresh initialisation would differ from random_weights (made with seed 0)
    r = train(tmp_path, "--init-weights", str(random_weights), "--seed", "5")
    assert r.returncode == 0, r.stderr[-3000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["initialized_from"] == {"file": str(random_weights), "sha256": sha256(random_weights),
                                            "how": "every tensor copied"}
    start, end = load_weights(random_weights).state_dict(), load_weights(tmp_path / "w.pt").state_dict()
    # One small step from the given weights: close to them, far closer than a fresh initialisation.
    fresh = torch.nn.init.normal_(torch.empty_like(start["W"]), std=0.01)
    assert (end["W"] - start["W"]).abs().mean() < (fresh - start["W"]).abs().mean() / 2
