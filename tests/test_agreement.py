"""The vote cloud (model/agreement.py), one capsule step by step (model/capsule_steps.py) and the loss for
one input (model/input_loss.py): projections against a slow numpy reference, every step against the model's
own trace, the loss against model/losses.py and a hand-computed case, and a 36x36 config (3,200 capsules)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model import agreement, losses
from model.capsnet import CapsNet, CapsNetConfig, squash
from model.capsule_steps import capsule_steps, squash_curve
from model.input_loss import input_loss

MULTI = CapsNetConfig(image_size=36, conv1_channels=8, decoder_hidden=(16, 16))  # 10x10x32 = 3200 capsules


def traced(cfg: CapsNetConfig, seed: int = 2, w_scale: float = 50.0, iterations: int = 3):
    torch.manual_seed(seed)
    model = CapsNet(cfg).eval()
    with torch.no_grad():
        model.W.mul_(w_scale)  # votes long enough for routing to move c well away from uniform
    x = torch.rand(1, 1, cfg.image_size, cfg.image_size)
    with torch.no_grad():
        _, trace = model(x, iterations=iterations, trace=True)
    return model, x[0, 0], trace


@pytest.fixture(scope="module", params=[CapsNetConfig(), MULTI], ids=["mnist", "multimnist-36"])
def case(request):
    return traced(request.param)


def reference_cloud(u_hat: np.ndarray, c: np.ndarray, v: np.ndarray):
    """Slow and obvious: loops over capsules for the weighted mean and covariance, numpy's eigh."""
    n, d = u_hat.shape
    w = c / c.sum()
    mean = np.zeros(d)
    for i in range(n):
        mean += w[i] * u_hat[i]
    cov = np.zeros((d, d))
    for i in range(n):
        cov += w[i] * np.outer(u_hat[i] - mean, u_hat[i] - mean)
    e1 = v / np.linalg.norm(v)
    p = np.eye(d) - np.outer(e1, e1)
    e2 = np.linalg.eigh(p @ cov @ p)[1][:, -1]
    e2 = e2 if e2[np.argmax(np.abs(e2))] >= 0 else -e2
    coords = np.array([[u_hat[i] @ e1, u_hat[i] @ e2] for i in range(n)])
    kept = (e1 @ cov @ e1 + e2 @ cov @ e2) / np.trace(cov)
    return coords, kept, np.array([e1, e2])


def test_cloud_coordinates_match_a_numpy_reference(case):
    model, _, trace = case
    for j in range(model.config.digit_count):
        cloud = agreement.vote_cloud(trace, j)
        u_hat = trace.u_hat[0, :, j].double().numpy()
        coords, kept, axes = reference_cloud(u_hat, trace.routing[-1].c[0, :, j].double().numpy(),
                                             trace.routing[-1].v[0, j].double().numpy())
        assert cloud.coords.shape == (model.config.primary_count, 2)
        np.testing.assert_allclose(cloud.coords.numpy(), coords, atol=1e-5)
        np.testing.assert_allclose(cloud.projection.axes.numpy(), axes, atol=1e-5)
        assert cloud.projection.variance_kept == pytest.approx(kept, abs=1e-6)
        assert 0 < cloud.projection.variance_kept <= 1 + 1e-9


def test_cloud_iterations_follow_the_trace(case):
    model, _, trace = case
    cloud = agreement.vote_cloud(trace, 3)
    axes = cloud.projection.axes.T
    assert torch.allclose(cloud.projection.axes @ cloud.projection.axes.T, torch.eye(2), atol=1e-6)
    for r, step in enumerate(trace.routing):
        c, a = step.c[0, :, 3], step.agreement[0, :, 3]
        assert torch.equal(cloud.c[r], c) and torch.equal(cloud.agreement[r], a)
        assert torch.allclose(cloud.s[r], step.s[0, 3] @ axes, atol=1e-6)
        assert torch.allclose(cloud.v[r], step.v[0, 3] @ axes, atol=1e-7)
        assert torch.allclose(cloud.mean[r], (c[:, None] * trace.u_hat[0, :, 3]).sum(0) @ axes / c.sum(), atol=1e-6)
        assert float(cloud.weighted_agreement[r]) == pytest.approx(float((c * a).sum() / c.sum()), rel=1e-5)
    # The last v_j lies on axis 1 (its direction is axis 1), at its own length.
    assert float(cloud.v[-1, 0]) == pytest.approx(float(cloud.lengths[-1]), rel=1e-5)
    assert abs(float(cloud.v[-1, 1])) < 1e-6
    # Routing moved the weights between iterations (the point of stepping through them).
    assert (cloud.c[0] - cloud.c[-1]).abs().max() > 1e-3


def test_weighted_median_by_hand():
    x = torch.tensor([3.0, 1.0, 2.0, 10.0])
    assert float(agreement.weighted_median(x, torch.tensor([1.0, 1.0, 1.0, 1.0]))) == 2.0
    assert float(agreement.weighted_median(x, torch.tensor([0.1, 0.1, 0.1, 5.0]))) == 10.0
    assert float(agreement.weighted_median(x, torch.tensor([1.0, 5.0, 0.0, 0.0]))) == 1.0


def test_projection_without_a_direction_uses_the_principal_axes():
    torch.manual_seed(0)
    u_hat = torch.randn(50, 4) * torch.tensor([5.0, 1.0, 0.5, 0.1])
    p = agreement.projection(u_hat, torch.ones(50), torch.zeros(4))
    assert not p.axis1_from_v
    assert abs(float(p.axes[0, 0])) > 0.95 and abs(float(p.axes[1, 1])) > 0.95
    assert p.variance[0] >= p.variance[1]


def test_capsule_steps_equal_the_trace(case):
    model, _, trace = case
    cfg = model.config
    g = cfg.primary_grid
    for i, j in [(0, 0), (cfg.primary_count - 1, 9), (cfg.primary_count // 3, 4)]:
        st = capsule_steps(model, trace, i, j)
        # The pre-squash vector is the PrimaryCaps conv's channels of i's type at i's grid position.
        kind, pos = divmod(i, g * g)
        with torch.no_grad():
            p = model.primary(trace.conv1)[0]
        raw = p[kind * cfg.primary_dim:(kind + 1) * cfg.primary_dim, pos // g, pos % g]
        assert torch.allclose(st.u_raw, raw, atol=1e-5)
        assert torch.allclose(st.u, squash(raw), atol=1e-5) and torch.equal(st.u, trace.primary_caps[0, i])
        assert torch.allclose(st.W @ st.u, trace.u_hat[0, i, j], atol=1e-5)
        assert torch.equal(st.u_hat, trace.u_hat[0, i, j])
        for r, step in enumerate(trace.routing):
            assert float(st.c[r]) == float(step.c[0, i, j])
            assert torch.allclose(st.contribution[r], step.c[0, i, j] * trace.u_hat[0, i, j], atol=1e-6)
            assert torch.equal(st.s[r], step.s[0, j]) and torch.equal(st.v[r], step.v[0, j])
            # s_j really is the sum over every primary capsule of the contributions.
            total = (step.c[0, :, j, None] * trace.u_hat[0, :, j]).sum(0)
            assert torch.allclose(st.s[r], total, atol=1e-5 * max(1.0, float(total.abs().max())))
            assert torch.allclose(st.v[r], squash(st.s[r]), atol=1e-6)


def test_squash_curve_by_hand():
    x, y = squash_curve(3.0, points=4)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
    np.testing.assert_allclose(y.numpy(), [0.0, 0.5, 0.8, 0.9], atol=1e-7)


@pytest.mark.parametrize("label", [0, 6, 9])
def test_loss_equals_model_losses(case, label):
    model, x, trace = case
    found = input_loss(model, trace, x, label)
    target = torch.tensor([label])
    with torch.no_grad():
        total, margin, rec = losses.capsule_loss(trace.lengths, model.decode(trace.digit_caps, target),
                                                 x[None], target)
    assert found.margin == pytest.approx(float(margin), rel=1e-6)
    assert found.reconstruction_loss == pytest.approx(float(rec), rel=1e-5)
    assert found.total == pytest.approx(float(total), rel=1e-5)
    assert float(found.present.sum()) == float(found.present[label]) and float(found.absent[label]) == 0.0
    assert torch.allclose(found.difference, x - found.reconstruction)


def test_loss_by_hand():
    """Lengths and images set by hand: |v| = (0.95, 0.5, 0.05, 0.3) with label 1."""
    model = CapsNet(CapsNetConfig(digit_count=4, decoder_hidden=(4, 4)))
    with torch.no_grad():
        for layer in model.decoder:
            if isinstance(layer, torch.nn.Linear):
                layer.weight.zero_()
                layer.bias.zero_()  # sigmoid(0): every reconstructed pixel is 0.5
    lengths = torch.tensor([[0.95, 0.5, 0.05, 0.3]])
    caps = torch.zeros(1, 4, 16)
    caps[0, :, 0] = lengths[0]

    class T:  # the two trace fields input_loss reads
        pass
    t = T()
    t.lengths, t.digit_caps = lengths, caps
    x = torch.zeros(28, 28)
    x[0, :4] = 1.0
    found = input_loss(model, t, x, label=1)
    assert found.present.tolist() == pytest.approx([0, 0.16, 0, 0])  # (0.9 - 0.5)^2
    assert found.absent.tolist() == pytest.approx([0.5 * 0.85 ** 2, 0, 0, 0.5 * 0.2 ** 2])
    assert found.squared_error == pytest.approx(784 * 0.25)  # every pixel 0.5 away
    assert found.total == pytest.approx(0.16 + 0.36125 + 0.02 + 0.0005 * 196)


def test_gallery_agreement_runs_on_a_few_digits():
    model, _, _ = traced(CapsNetConfig(), w_scale=100.0)
    images = np.random.default_rng(1).random((3, 28, 28)).astype(np.float32)
    out = agreement.gallery_agreement(model, images, np.array([0, 1, 2]))
    assert out["digits"] == 3 and out["iterations"] == 3
    # u_hat . v grows with |v|: the longer (predicted) capsule's votes agree more on every digit.
    assert out["prediction_agrees_more"] == 3
