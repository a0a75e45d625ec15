"""The command-line tools model.ablation and model.overlap on a user's mistakes: missing, corrupt or foreign
weights and galleries end in exit status 2 with one line on stderr naming the file, never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from model import ablation, overlap

ROOT = Path(__file__).resolve().parent.parent
CLIS = {"ablation": ablation.main, "overlap": overlap.main}


def bad_weights(kind: str, random_weights: Path, folder: Path) -> Path:
    path = folder / "capsnet_mnist.pt"
    if kind == "junk":
        path.write_bytes(b"not a checkpoint")
    elif kind == "truncated":
        data = random_weights.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "pickle":  # a pickle that would run code: the safe loader refuses it
        path.write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    return path  # kind == "missing": never written


def one_error_line(capsys, *names: str) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    assert "Traceback" not in err and all(n in lines[0] for n in names)
    return lines[0]


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.parametrize("kind", ["missing", "junk", "truncated", "pickle"])
def test_bad_weights_are_one_line_and_exit_2(cli, kind, random_weights, tmp_path, capsys):
    weights = bad_weights(kind, random_weights, tmp_path)
    gallery = random_weights.with_name("gallery.json")  # a good gallery: the weights are the problem
    assert CLIS[cli](["--weights", str(weights), "--gallery", str(gallery)]) == 2
    line = one_error_line(capsys, str(weights))
    assert ("not found" if kind == "missing" else "corrupt") in line
    assert "weights_only" not in line  # torch's advice to run the file's code is not passed on


@pytest.mark.parametrize("cli", CLIS)
@pytest.mark.parametrize("content", [None, "not json", '{"samples": 3}', '{"samples": [{"pixels": "AAAA"}]}',
                                     '{"samples": []}', '{"other": 1}'])
def test_bad_gallery_is_one_line_and_exit_2(cli, content, random_weights, tmp_path, capsys):
    gallery = tmp_path / "gallery.json"
    if content is not None:
        gallery.write_text(content)
    assert CLIS[cli](["--weights", str(random_weights), "--gallery", str(gallery)]) == 2
    line = one_error_line(capsys, str(gallery))
    assert ("cannot be read" if content is None else "not a sample gallery") in line


def test_gallery_beside_missing_weights_names_the_weights(tmp_path, capsys):
    """The default gallery is beside the weights: with neither there, the weights are named first."""
    assert overlap.main(["--weights", str(tmp_path / "none.pt")]) == 2
    one_error_line(capsys, str(tmp_path / "none.pt"))


@pytest.mark.parametrize("args,message", [(["--pairs", "0"], "--pairs must be at least 1"),
                                          (["--iterations", "0"], "--iterations must be in 1..10"),
                                          (["--iterations", "11"], "--iterations must be in 1..10")])
def test_overlap_refuses_bad_counts_before_loading_anything(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        overlap.main(["--weights", str(tmp_path / "none.pt"), *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_overlap_on_a_gallery_with_one_class_says_so(random_weights, tmp_path, capsys):
    entries = json.loads(random_weights.with_name("gallery.json").read_text())["samples"]
    sevens = [e for e in entries if e["label"] == e["predicted"] == 7]
    (tmp_path / "gallery.json").write_text(json.dumps({"samples": sevens}))
    assert overlap.main(["--weights", str(random_weights), "--gallery", str(tmp_path / "gallery.json")]) == 2
    assert "fewer than 2 classes" in one_error_line(capsys, str(tmp_path / "gallery.json"))


def test_overlap_prints_one_json_line(random_weights, capsys):
    assert overlap.main(["--weights", str(random_weights), "--pairs", "4", "--seed", "1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    result = json.loads(out[0])
    assert result["pairs"] == 4 and result["seed"] == 1
    assert result["both"] + result["one"] + result["neither"] == pytest.approx(1.0)


@pytest.mark.parametrize("cli", CLIS)
def test_python_dash_m_exits_2_without_a_traceback(cli, tmp_path):
    """The real entry point, as a user runs it: the status reaches the shell."""
    missing = tmp_path / "nope.pt"
    r = subprocess.run([sys.executable, "-m", f"model.{cli}", "--weights", str(missing)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(missing) in lines[0], r.stderr[-2000:]


# ---- run_visualization.py --weights FOLDER (a folder of model folders, app/resources.py) ----

def _serve_cli(weights: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run_visualization.py", "--weights", str(weights), "--port", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.parametrize("case, words", [
    ("missing", "weights folder {root} not found"),
    ("empty", "weights folder {root} holds no model folder"),
    ("two files", "holds 2 weights files"),
    ("corrupt", "weights file {root}/mnist/capsnet_mnist.pt is corrupt"),
    ("bad gallery", "sample gallery {root}/mnist/gallery.json is missing or unreadable"),
])
def test_a_bad_models_folder_is_one_line_and_exit_1(case, words, random_weights, tmp_path):
    root = tmp_path / "models"
    if case != "missing":
        root.mkdir()
    if case in ("two files", "corrupt", "bad gallery"):
        (root / "mnist").mkdir()
        (root / "mnist" / "capsnet_mnist.pt").write_bytes(
            b"junk" if case == "corrupt" else random_weights.read_bytes())
        if case == "two files":
            (root / "mnist" / "older.pt").write_bytes(random_weights.read_bytes())
        if case == "bad gallery":
            (root / "mnist" / "gallery.json").write_text("not json")
    r = _serve_cli(root)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and r.stdout == "" and len(lines) == 1, r.stderr[-2000:]
    assert lines[0].startswith("error: ") and words.format(root=root) in lines[0], lines[0]
    assert "Traceback" not in r.stderr
