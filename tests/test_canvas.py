"""model/canvas.py: a digit centred on a larger canvas and cut back, the two ways the same digit."""
from __future__ import annotations

import numpy as np
import pytest

from model import multimnist
from model.canvas import fit


def test_a_digit_is_centred_on_the_multimnist_canvas_as_an_unshifted_training_digit():
    import torch

    digit = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    placed = multimnist.place(torch.from_numpy(digit)[None], torch.zeros(1, 2, dtype=torch.long))[0].numpy()
    np.testing.assert_array_equal(fit(digit, multimnist.CANVAS), placed)


def test_cut_back_gives_the_same_digit_and_fit_is_identity_at_its_size():
    digit = np.arange(28 * 28, dtype=np.float32).reshape(28, 28)
    big = fit(digit, 36)
    assert big.shape == (36, 36) and big[:4].sum() == 0 and big[:, :4].sum() == 0 and big[-4:].sum() == 0
    np.testing.assert_array_equal(fit(big, 28), digit)
    assert fit(digit, 28) is digit


def test_odd_differences_and_non_square_images():
    a = np.ones((3, 5), np.float32)
    out = fit(a, 6)
    assert out.shape == (6, 6) and out.sum() == 15
    assert out[1:4, 0:5].all() and not out[0].any()  # 3 rows in 6: one above, two below
    assert fit(np.ones((7, 7)), 4).sum() == 16


@pytest.mark.parametrize("bad", [np.zeros(4), np.zeros((2, 2, 2))])
def test_only_2d_images(bad):
    with pytest.raises(ValueError, match="2-D"):
        fit(bad, 4)
