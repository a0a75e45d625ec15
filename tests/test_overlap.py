"""model/overlap.py: the MultiMNIST composition checked by hand on tiny arrays, the shift bounds, and the
two reconstructions against separate decoder calls."""
import numpy as np
import pytest
import torch

from model import overlap
from model.capsnet import CapsNet


def test_shift_image_by_hand():
    a = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    np.testing.assert_array_equal(overlap.shift_image(a, 1, 0), [[0, 1, 2], [0, 4, 5], [0, 7, 8]])
    np.testing.assert_array_equal(overlap.shift_image(a, 0, -1), [[4, 5, 6], [7, 8, 9], [0, 0, 0]])
    np.testing.assert_array_equal(overlap.shift_image(a, -2, 1), [[0, 0, 0], [3, 0, 0], [6, 0, 0]])
    np.testing.assert_array_equal(overlap.shift_image(a, 0, 0), a)
    np.testing.assert_array_equal(overlap.shift_image(a, 3, 0), np.zeros((3, 3)))  # all ink moved out


def test_compose_is_a_clipped_sum_by_hand():
    first = np.array([[0.5, 1.0], [0.0, 0.25]], dtype=np.float32)
    second = np.array([[0.75, 0.0], [0.5, 0.5]], dtype=np.float32)
    np.testing.assert_allclose(overlap.compose(first, second, (0, 0)), [[1.0, 1.0], [0.5, 0.75]])
    # second moved 1 px right: its left column comes in at column 1, zeros at column 0
    np.testing.assert_allclose(overlap.compose(first, second, (1, 0)), [[0.5, 1.0], [0.0, 0.75]])
    # not a max: 0.25 + 0.5 adds up where a max would give 0.5
    assert overlap.compose(first, second, (0, 0))[1, 1] == pytest.approx(0.75)


def slow_compose(first, second, dx, dy):
    out = first.astype(np.float64).copy()
    h, w = first.shape
    for y in range(h):
        for x in range(w):
            sy, sx = y - dy, x - dx
            if 0 <= sy < h and 0 <= sx < w:
                out[y, x] += second[sy, sx]
    return np.minimum(out, 1.0)


@pytest.mark.parametrize("dx, dy", [(0, 0), (4, 4), (-4, 4), (3, -2), (-1, -4)])
def test_compose_matches_a_slow_reference(dx, dy):
    rng = np.random.default_rng(abs(dx * 10 + dy))
    first, second = rng.random((28, 28), dtype=np.float32), rng.random((28, 28), dtype=np.float32)
    np.testing.assert_allclose(overlap.compose(first, second, (dx, dy)), slow_compose(first, second, dx, dy), atol=1e-6)


@pytest.mark.parametrize("shift, error", [((5, 0), ValueError), ((0, -5), ValueError), ((1.0, 0), TypeError),
                                          ((True, 0), TypeError)])
def test_shift_bounds(shift, error):
    a = np.zeros((28, 28), dtype=np.float32)
    with pytest.raises(error):
        overlap.compose(a, a, shift)


def test_every_shift_within_four_pixels_is_accepted():
    a = np.ones((28, 28), dtype=np.float32)
    for dx in range(-4, 5):
        for dy in range(-4, 5):
            assert overlap.shift_image(a, dx, dy).sum() == (28 - abs(dx)) * (28 - abs(dy))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(1)
    model = CapsNet().eval()
    with torch.no_grad():
        # Fresh weights give capsules so short that every reconstruction is the same grey; longer ones
        # make a wrong mask (another capsule, or none) show in the pixels.
        model.W.mul_(30)
    return model


def test_two_longest_capsules_and_their_reconstructions(model):
    rng = np.random.default_rng(0)
    first, second = (rng.random((28, 28)) > 0.8).astype(np.float32), (rng.random((28, 28)) > 0.8).astype(np.float32)
    result = overlap.analyze_pair(model, first, second, (2, -3), iterations=3)
    np.testing.assert_array_equal(result.composite, overlap.compose(first, second, (2, -3)))
    np.testing.assert_array_equal(result.parts[0], first)
    np.testing.assert_array_equal(result.parts[1], overlap.shift_image(second, 2, -3))
    with torch.inference_mode():
        out, _ = model(torch.from_numpy(result.composite).view(1, 1, 28, 28), iterations=3)
        np.testing.assert_allclose(result.lengths, out.lengths[0].numpy(), atol=1e-6)
        order = np.argsort(-result.lengths)
        assert list(result.digits) == list(order[:2])
        assert result.lengths[result.digits[0]] >= result.lengths[result.digits[1]]
        for k, d in enumerate(result.digits):
            # the decoder on this capsule's own 16 numbers alone, all others zero
            alone = model.decode_vector(torch.tensor([int(d)]), out.digit_caps[0, d].view(1, 16))[0].numpy()
            np.testing.assert_allclose(result.reconstructions[k], alone, atol=1e-6)
    # far above the 1e-6 tolerance: decoding the wrong capsule would have failed above
    assert np.abs(result.reconstructions[0] - result.reconstructions[1]).max() > 1e-3


def test_iterations_are_used(model):
    a = np.zeros((28, 28), dtype=np.float32)
    a[8:20, 12:15] = 1
    one = overlap.analyze_pair(model, a, a, (3, 0), iterations=1)
    five = overlap.analyze_pair(model, a, a, (3, 0), iterations=5)
    assert not np.allclose(one.lengths, five.lengths)
