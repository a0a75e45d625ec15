"""model/transforms.py: each transform does what its name says on a real MNIST digit."""
import numpy as np
import pytest
import torch

from model import mnist, transforms
from model.transforms import RANGES, Transform


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    test = mnist.load(mnist.TEST_DATA_DIR, "test")
    return mnist.to_input(test.images[:1])[0, 0].numpy()  # a 7


def centre(img: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[: img.shape[0], : img.shape[1]]
    return float((ys * img).sum() / img.sum()), float((xs * img).sum() / img.sum())


def test_identity_is_exact(digit):
    assert transforms.apply_one(digit, Transform()) is digit
    out = transforms.apply(torch.from_numpy(digit).view(1, 1, 28, 28), [Transform()])
    np.testing.assert_allclose(out[0, 0].numpy(), digit, atol=1e-5)


@pytest.mark.parametrize("dx,dy", [(3, 0), (0, -2), (-3, -1)])
def test_shift_moves_the_centre_of_mass_by_whole_pixels(digit, dx, dy):
    out = transforms.apply_one(digit, Transform(shift_x=dx, shift_y=dy))
    cy0, cx0 = centre(digit)
    cy, cx = centre(out)
    assert cx - cx0 == pytest.approx(dx, abs=0.05)
    assert cy - cy0 == pytest.approx(dy, abs=0.05)


def test_scale_changes_ink_area_by_its_square(digit):
    small = transforms.apply_one(digit, Transform(scale=0.7))
    assert small.sum() / digit.sum() == pytest.approx(0.49, rel=0.1)


def test_rotation_keeps_ink_and_turns_the_principal_axis(digit):
    out = transforms.apply_one(digit, Transform(rotate=30))
    assert out.sum() == pytest.approx(digit.sum(), rel=0.03)

    def axis_angle(img):
        ys, xs = np.nonzero(img > 0.3)
        w = img[ys, xs]
        cov = np.cov(np.stack([xs, ys]), aweights=w)
        vals, vecs = np.linalg.eigh(cov)
        v = vecs[:, -1]
        return np.degrees(np.arctan2(v[1], v[0])) % 180

    turned = (axis_angle(out) - axis_angle(digit)) % 180
    assert min(abs(turned - 30), abs(turned - 210 % 180)) < 6


def test_thickness_grows_and_shrinks_the_strokes(digit):
    thick = transforms.apply_one(digit, Transform(thickness=1))
    thin = transforms.apply_one(digit, Transform(thickness=-1))
    assert thin.sum() < digit.sum() < thick.sum()
    assert np.all(thick >= digit - 1e-6)  # dilation never removes ink
    assert np.all(thin <= digit + 1e-6)


def test_batch_applies_each_transform_to_its_own_copy(digit):
    x = torch.from_numpy(digit).view(1, 1, 28, 28)
    ts = [Transform(shift_x=v) for v in transforms.sweep_values("shift_x")]
    batch = transforms.apply(x, ts)
    assert batch.shape == (13, 1, 28, 28)
    for i, t in enumerate(ts):
        np.testing.assert_allclose(batch[i, 0].numpy(), transforms.apply_one(digit, t), atol=1e-5)


def test_sweep_values_cover_each_range_and_include_identity():
    for name, (lo, hi, n) in RANGES.items():
        values = transforms.sweep_values(name)
        assert len(values) == n and values[0] == lo and values[-1] == hi
        assert getattr(Transform(), name) in values
