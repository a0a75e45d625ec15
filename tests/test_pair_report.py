"""model.evaluate's MultiMNIST report (pair_report), counted per digit of a pair, on hand-made lengths."""
from __future__ import annotations

import torch

from model import multimnist
from model.evaluate import pair_report


def pairs_of(labels: list[list[int]]) -> multimnist.Pairs:
    n = len(labels)
    return multimnist.Pairs(images=torch.zeros(n, 36, 36, dtype=torch.uint8),
                            parts=torch.zeros(n, 2, 36, 36, dtype=torch.uint8),
                            labels=torch.tensor(labels), shifts=torch.zeros(n, 2, 2, dtype=torch.long))


def lengths_with(order: list[list[int]]) -> torch.Tensor:
    """(N, 10) lengths whose longest capsules are `order` per row (longest first), the rest 0.05."""
    out = torch.full((len(order), 10), 0.05)
    for i, row in enumerate(order):
        for k, d in enumerate(row):
            out[i, d] = 0.9 - 0.1 * k
    return out


def test_pair_report_counts_each_digit_and_what_took_its_place():
    pairs = pairs_of([[1, 2], [1, 3], [4, 5]])
    lengths = lengths_with([[2, 1, 7], [1, 8, 3], [6, 9, 4]])  # right; the 3 missed for an 8; both missed
    right = multimnist.both_right(lengths, pairs.labels)
    assert right.tolist() == [True, False, False]
    r = pair_report(pairs, lengths, right, None)
    assert r["n"] == 3 and r["wrong_total"] == 2 and abs(r["accuracy"] - 1 / 3) < 1e-6
    c = r["confusion"]
    assert c[1][1] == 2 and c[2][2] == 1  # the 1 found twice, the 2 once
    assert c[3][8] == 1 and c[3][3] == 0  # the 3 missed; the 8 took its place
    assert c[4][6] == 1 and c[5][9] == 1  # both missed: the intruders in order
    assert r["per_class_accuracy"][1] == 1.0 and r["per_class_accuracy"][3] == 0.0
    assert [(d["index"], d["label"], d["predicted"], d["labels"]) for d in r["misclassified"]] == \
        [(1, 3, 8, [1, 3]), (2, 4, 6, [4, 5])]
    assert [d["index"] for d in r["lowest_margin"]] == [0]
    assert r["lowest_margin"][0]["label"] == r["lowest_margin"][0]["predicted"] == 1  # the weaker of the two
    assert len(r["misclassified"][0]["pixels"]) == 1728  # 36x36 uint8 in base64


def test_capsule_stats_of_a_multimnist_model_count_both_digits_of_each_pair(models_folder, fake_mnist, tmp_path,
                                                                             capsys):
    import json

    from model import capsule_stats

    out = tmp_path / "capsule_stats.json"
    weights = models_folder / "multimnist" / "capsnet_multimnist.pt"
    assert capsule_stats.main(["--weights", str(weights), "--data-dir", str(fake_mnist.dir), "--limit", "20",
                               "--out", str(out)]) == 0
    capsys.readouterr()
    stats = json.loads(out.read_text())
    assert sum(c["n"] for c in stats["classes"]) == 40 and "20 MultiMNIST training pairs" in stats["source"]
    assert all(len(c["dims"]) == 16 for c in stats["classes"])
