"""The MultiMNIST pair generator (the paper's recipe), the two-longest evaluation, the two-target loss
and the MNIST -> MultiMNIST weight transfer."""
from __future__ import annotations

import pytest
import torch

from model import multimnist
from model.capsnet import CapsNet, CapsNetConfig
from model.losses import margin_loss, reconstruction_loss
from model.transfer import init_from


def digits(n: int = 200, seed: int = 0):
    """n fake 28x28 digits: a filled block whose position encodes nothing, labels 0..9 round robin."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    images[:, 4:24, 8:20] = torch.randint(1, 256, (n, 20, 12), dtype=torch.uint8, generator=g)
    return images, torch.arange(n) % 10


def test_pairs_have_different_classes_and_shifts_within_4():
    images, labels = digits()
    p = multimnist.make_pairs(images, labels, 1000, torch.Generator().manual_seed(1))
    assert p.images.shape == (1000, 36, 36) and p.parts.shape == (1000, 2, 36, 36)
    assert (p.labels[:, 0] != p.labels[:, 1]).all()
    assert p.shifts.abs().max() <= 4 and p.shifts.min() == -4 and p.shifts.max() == 4


def test_each_part_is_the_digit_moved_by_its_shift():
    images, labels = digits(20)
    p = multimnist.make_pairs(images, labels, 20, torch.Generator().manual_seed(2), first=torch.arange(20))
    for k in range(20):
        dy, dx = p.shifts[k, 0].tolist()
        expect = torch.zeros(36, 36, dtype=torch.uint8)
        expect[4 + dy : 32 + dy, 4 + dx : 32 + dx] = images[k]
        assert torch.equal(p.parts[k, 0], expect)
        assert p.parts[k, 0].sum() == images[k].sum()  # nothing cut off: 4 px of room on every side


def test_overlay_is_the_sum_clipped():
    a = torch.tensor([[0, 100, 200]], dtype=torch.uint8)
    b = torch.tensor([[50, 100, 100]], dtype=torch.uint8)
    assert multimnist.overlay(a, b).tolist() == [[50, 200, 255]]
    images, labels = digits()
    p = multimnist.make_pairs(images, labels, 50, torch.Generator().manual_seed(3))
    total = p.parts[:, 0].int() + p.parts[:, 1].int()
    assert torch.equal(p.images.int(), total.clamp(max=255))


def test_same_seed_same_test_set_other_seed_other_set():
    images, labels = digits(300)
    a = multimnist.test_pairs(images, labels, 100)
    b = multimnist.test_pairs(images, labels, 100)
    c = multimnist.test_pairs(images, labels, 100, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a.images, c.images)


def test_both_right_needs_exactly_the_two_digits():
    lengths = torch.tensor([[0.9, 0.8, 0.1] + [0.0] * 7,   # top two {0, 1}
                            [0.9, 0.1, 0.8] + [0.0] * 7,   # top two {0, 2}
                            [0.2, 0.95, 0.9] + [0.0] * 7])  # top two {1, 2}
    labels = torch.tensor([[1, 0], [0, 1], [2, 1]])
    assert multimnist.both_right(lengths, labels).tolist() == [True, False, True]


def test_two_target_margin_loss_hand_computed():
    # Digits 0 and 1 present: T = (1, 1, 0, ...). |v| = 0.5, 0.95, 0.3, rest 0.
    lengths = torch.tensor([[0.5, 0.95, 0.3] + [0.0] * 7])
    expect = (0.9 - 0.5) ** 2 + 0.0 + 0.5 * (0.3 - 0.1) ** 2
    assert margin_loss(lengths, torch.tensor([[0, 1]])).item() == pytest.approx(expect)
    # order of the pair does not matter
    assert margin_loss(lengths, torch.tensor([[1, 0]])).item() == pytest.approx(expect)


def test_two_reconstructions_losses_are_summed():
    rec = torch.zeros(1, 2, 2, 2)
    target = torch.ones(1, 2, 2, 2)
    target[0, 1] = 0.5
    expect = 0.0005 * (4 * 1.0 + 4 * 0.25)
    assert reconstruction_loss(rec, target).item() == pytest.approx(expect)


def test_decoder_decodes_each_digit_from_its_own_capsule():
    torch.manual_seed(0)
    net = CapsNet(CapsNetConfig(image_size=36)).eval()
    x = torch.rand(2, 1, 36, 36)
    out, _ = net(x, target=torch.tensor([[3, 7], [1, 2]]))
    assert out.reconstruction.shape == (2, 2, 36, 36)
    alone = net.decode(out.digit_caps, torch.tensor([7, 2]))
    assert torch.allclose(out.reconstruction[:, 1], alone)


def test_transfer_from_mnist_copies_convs_and_resamples_w():
    torch.manual_seed(0)
    small, big = CapsNet(), CapsNet(CapsNetConfig(image_size=36))
    how = init_from(big, small)
    assert "6x6 grid to 10x10" in how
    assert torch.equal(big.conv1.weight, small.conv1.weight) and torch.equal(big.primary.bias, small.primary.bias)
    Ws = small.W.view(32, 6, 6, 10, 16, 8)
    Wb = big.W.view(32, 10, 10, 10, 16, 8)
    assert torch.equal(Wb[:, 0, 0], Ws[:, 0, 0]) and torch.equal(Wb[:, 9, 9], Ws[:, 5, 5])
    assert torch.equal(Wb[:, 4, 5], Ws[:, round(4 * 5 / 9), round(5 * 5 / 9)])
    assert torch.equal(big.decoder[2].weight, small.decoder[2].weight)
    assert big.decoder[4].weight.shape == (36 * 36, 1024)


def test_transfer_refuses_another_architecture():
    with pytest.raises(ValueError, match="digit_dim"):
        init_from(CapsNet(), CapsNet(CapsNetConfig(digit_dim=8)))
