"""model/preprocess.py on real images made from real MNIST test digits: what a user uploads (bigger
canvas, off-centre, dark on light, JPEG, RGBA, palette, 16-bit, tiny, huge) must come out close to the
digit itself; blank, corrupt and oversized files must be refused with a PreprocessError."""
from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from model import mnist
from model.preprocess import (MAX_PIXELS, Preprocessed, PreprocessError, open_image, preprocess, preprocess_bytes,
                              validate_pixels)

DIGITS = range(12)  # the first test digits: 7 2 1 0 4 1 4 9 5 9 0 6


@pytest.fixture(scope="module")
def test_set() -> mnist.Split:
    return mnist.load(mnist.TEST_DATA_DIR, "test")


@pytest.fixture(scope="module")
def mnist_centre(test_set) -> tuple[float, float]:
    """Where MNIST itself puts the centre of mass, measured on the test set (about (14.0, 14.0))."""
    images = test_set.images.float()
    ys = np.arange(28, dtype=np.float64)
    mass = images.sum(dim=(1, 2)).numpy()
    cy = (images.sum(dim=2).numpy() @ ys) / mass
    cx = (images.sum(dim=1).numpy() @ ys) / mass
    return float(cy.mean()), float(cx.mean())


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def shift_tolerant_corr(a: np.ndarray, b: np.ndarray) -> float:
    """Best correlation over shifts of up to 1 px: a smooth rescale may land the centre of mass a pixel off."""
    return max(corr(np.roll(a, (dy, dx), (0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[: a.shape[0], : a.shape[1]]
    return float((a * ys).sum() / a.sum()), float((a * xs).sum() / a.sum())


# --- how a user might give us an MNIST digit ------------------------------------------------------

def big(d: np.ndarray, size: int = 112, resample=Image.Resampling.BILINEAR) -> Image.Image:
    return Image.fromarray(d).resize((size, size), resample)


def off_centre(d):  # white on black, 4x, in the top-right corner of a 400x300 canvas
    canvas = Image.new("L", (400, 300), 0)
    canvas.paste(big(d), (270, 10))
    return canvas


def inverted(d):  # dark ink on white paper
    paper = Image.new("L", (300, 200), 255)
    paper.paste(Image.fromarray(255 - np.asarray(big(d))), (20, 60))
    return paper


def jpeg(d):  # a dark-on-light RGB photo-like JPEG
    return encode(inverted(d).convert("RGB"), "JPEG", quality=75)


def rgba_ink(d):  # blue strokes on a transparent canvas (the RGB under the transparency is white)
    a = np.zeros((200, 200, 4), np.uint8)
    a[..., :3] = 255
    a[40:152, 60:172, :3] = (30, 60, 200)
    a[40:152, 60:172, 3] = np.asarray(big(d))
    return encode(Image.fromarray(a, "RGBA"))


def palette(d):
    return encode(inverted(d).convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16))


def sixteen_bit(d):  # 16-bit grayscale PNG
    return encode(Image.fromarray(np.asarray(off_centre(d)).astype(np.uint16) * 257))


def exif_rotated(d):  # a phone JPEG stored sideways with an EXIF orientation tag
    stored = inverted(d).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    return encode(stored.convert("RGB"), "JPEG", quality=90, exif=exif.tobytes())


TRANSFORMS = {
    "off_centre": off_centre,
    "inverted": inverted,
    "jpeg": jpeg,
    "rgba_ink": rgba_ink,
    "palette": palette,
    "sixteen_bit": sixteen_bit,
    "exif_rotated": exif_rotated,
}
# (inverted, ink_from_alpha) each transform must be read as
FLAGS = {"off_centre": (False, False), "inverted": (True, False), "jpeg": (True, False),
         "rgba_ink": (False, True), "palette": (True, False), "sixteen_bit": (False, False),
         "exif_rotated": (True, False)}


def run(made) -> Preprocessed:
    return preprocess_bytes(made) if isinstance(made, bytes) else preprocess(made)


def check_mnist_like(image: np.ndarray, centre: tuple[float, float]) -> None:
    """The classic MNIST normalisation: [0, 1], ink in a 20x20 box, centre of mass at MNIST's centre."""
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() <= 1 and image.max() > 0.9
    ys, xs = np.nonzero(image > 0)
    assert ys.max() - ys.min() + 1 <= 20 and xs.max() - xs.min() + 1 <= 20
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 == 20  # scaled up to the box, not just inside it
    cy, cx = centre_of_mass(image)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    assert abs(cy - centre[0]) <= 0.6 and abs(cx - centre[1]) <= 0.6


def test_mnist_digits_come_back_unchanged(test_set):
    """An MNIST digit is already normalised: preprocessing it again must (nearly always) be the identity."""
    n = 500
    same = 0
    for k in range(n):
        d = test_set.images[k].numpy()
        out = preprocess(Image.fromarray(d)).image
        same += corr(out, d / 255.0) > 0.99
    assert same / n > 0.95


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transformed_digits_match_the_digit(test_set, mnist_centre, name):
    plain = []
    for k in DIGITS:
        d = test_set.images[k].numpy()
        ref = preprocess(Image.fromarray(d)).image
        result = run(TRANSFORMS[name](d))
        check_mnist_like(result.image, mnist_centre)
        assert (result.inverted, result.ink_from_alpha) == FLAGS[name]
        assert shift_tolerant_corr(result.image, ref) > 0.9, f"digit {k}"
        plain.append(corr(result.image, ref))
    assert np.median(plain) > 0.9


def test_off_centre_reports_the_ink_box(test_set):
    d = test_set.images[0].numpy()
    result = preprocess(off_centre(d))
    ys, xs = np.nonzero(d > 0.2 * d.max())
    # The 4x digit sits at (270, 10) on the canvas: its box is 4x the digit's box, shifted.
    left, top, right, bottom = result.box
    assert abs(left - (270 + 4 * xs.min())) <= 4 and abs(top - (10 + 4 * ys.min())) <= 4
    assert abs(right - (270 + 4 * (xs.max() + 1))) <= 4 and abs(bottom - (10 + 4 * (ys.max() + 1))) <= 4
    assert result.source_size == (400, 300)
    assert result.describe() == {"inverted": False, "ink_from_alpha": False, "source_size": [400, 300],
                                 "ink_box": list(result.box)}


def test_tiny_image(test_set, mnist_centre):
    scores = []
    for k in DIGITS:
        d = test_set.images[k].numpy()
        tiny = Image.fromarray(d).resize((8, 8), Image.Resampling.BOX)
        result = preprocess(tiny)
        check_mnist_like(result.image, mnist_centre)
        scores.append(shift_tolerant_corr(result.image, preprocess(Image.fromarray(d)).image))
    # 8x8 keeps only the rough shape: still clearly the same digit, not noise.
    assert min(scores) > 0.5 and np.median(scores) > 0.65


def test_huge_image(test_set, mnist_centre):
    for k in (0, 2):
        d = test_set.images[k].numpy()
        paper = Image.new("L", (4000, 4000), 255)
        paper.paste(Image.fromarray(255 - d).resize((2800, 2800), Image.Resampling.NEAREST), (1100, 300))
        t0 = time.perf_counter()
        result = preprocess(paper)
        assert time.perf_counter() - t0 < 5
        check_mnist_like(result.image, mnist_centre)
        assert result.inverted and result.source_size == (4000, 4000)
        assert corr(result.image, preprocess(Image.fromarray(d)).image) > 0.95


def test_aspect_ratio_is_kept():
    bar = Image.new("L", (300, 100), 0)
    bar.paste(255, (50, 40, 250, 50))  # a 200x10 bar
    image = preprocess(bar).image
    ys, xs = np.nonzero(image > 0.5)
    assert xs.max() - xs.min() + 1 == 20 and ys.max() - ys.min() + 1 == 1  # 20 wide, 1 high


# --- refused inputs -------------------------------------------------------------------------------

BLANKS = {
    "white": Image.new("L", (100, 80), 255),
    "black": Image.new("L", (28, 28), 0),
    "grey": Image.new("RGB", (50, 50), (128, 128, 128)),
    "faint_noise": Image.fromarray((200 + np.random.default_rng(0).integers(-5, 6, (60, 60))).astype(np.uint8)),
    "transparent": Image.new("RGBA", (64, 64), (0, 0, 0, 0)),
}


@pytest.mark.parametrize("name", BLANKS)
def test_blank_image_has_no_digit(name):
    with pytest.raises(PreprocessError, match="no digit"):
        preprocess_bytes(encode(BLANKS[name]))


@pytest.fixture(scope="module")
def good_png(test_set) -> bytes:
    return encode(inverted(test_set.images[0].numpy()))


@pytest.fixture(scope="module")
def good_jpeg(test_set) -> bytes:
    return jpeg(test_set.images[0].numpy())


def test_corrupt_bytes(good_png, good_jpeg):
    cases = {
        "empty": b"",
        "random": np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "text": b"<html>not an image</html>",
        "truncated png": good_png[: len(good_png) // 2],
        "truncated jpeg": good_jpeg[: len(good_jpeg) // 2],
        "png header only": good_png[:40],
    }
    accepted = []
    for name, data in cases.items():
        try:
            preprocess_bytes(data)
            accepted.append(name)
        except PreprocessError:
            pass
    assert accepted == []
    # The good files themselves are fine.
    preprocess_bytes(good_png)
    preprocess_bytes(good_jpeg)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A ~100-byte PNG whose header declares width x height 1-bit pixels (the data is one empty row)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (1 + (width + 7) // 8))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(20000, 20000), (7000, 7000), (MAX_PIXELS + 1, 1)])
def test_decompression_bomb_refused_without_decoding(monkeypatch, size):
    data = png_claiming(*size)
    assert len(data) < 5000

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    t0 = time.perf_counter()
    with pytest.raises(PreprocessError):
        preprocess_bytes(data)
    assert time.perf_counter() - t0 < 1


def test_size_limit_message():
    with pytest.raises(PreprocessError, match="7000x7000 pixels; at most 40,000,000"):
        open_image(png_claiming(7000, 7000))


def test_small_declared_image_is_decoded():
    # The crafted file itself is fine when small: the refusal above is about the size alone.
    img = open_image(png_claiming(16, 1))
    assert img.size == (16, 1)


# --- validate_pixels ------------------------------------------------------------------------------

def test_validate_pixels_accepts_a_digit(test_set):
    d = test_set.images[0].numpy() / 255.0
    out = validate_pixels(d.tolist())
    assert out.dtype == np.float32 and out.shape == (28, 28)
    assert np.allclose(out, d, atol=1e-7)


@pytest.mark.parametrize("pixels,match", [
    ([[0.5] * 28] * 27, "28x28"),
    ([[0.5] * 28] * 28 + [[0.5] * 28], "28x28"),
    ("abc", "28x28"),
    ([["a"] * 28] * 28, "numbers"),
    ([[float("nan")] * 28] * 28, "NaN"),
    ([[float("inf")] * 28] * 28, "NaN or Infinity"),
    ([[1.5] * 28] * 28, r"\[0, 1\]"),
    ([[-0.1] * 28] * 28, r"\[0, 1\]"),
    ([[0.0] * 28] * 28, "no digit"),
    ([[0.1] * 28, [0.1] * 27] + [[0.1] * 28] * 26, "28x28|numbers"),
])
def test_validate_pixels_refuses(pixels, match):
    with pytest.raises(PreprocessError, match=match):
        validate_pixels(pixels)
