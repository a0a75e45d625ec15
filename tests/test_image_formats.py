"""Every image PIL can open is read right or refused naming the problem (issue 10): each mode and
multi-frame format gives the same digit, float images with NaN or infinity, malformed TIFF tags and
blank images are refused with their own message, EXIF orientation is applied."""
from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from model.preprocess import NoDigitFound, PreprocessError, preprocess, preprocess_bytes, validate_pixels


def _bar(size: int = 56) -> np.ndarray:
    """A vertical bar in [0, 1]: a '1' whose place and shape every format below must keep."""
    a = np.zeros((size, size), np.float64)
    a[size // 5: size * 4 // 5, size * 2 // 5: size * 3 // 5] = 1
    return a


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _rgb_bar() -> Image.Image:
    return Image.fromarray((_bar() * 255).astype(np.uint8)).convert("RGB")


def _frames(first: Image.Image, mode: str) -> list[Image.Image]:
    return [first.convert(mode), Image.new(mode, first.size, 0)]  # the second frame is blank


READABLE = {
    "float-tiff": lambda: _save(Image.fromarray(_bar().astype(np.float32), "F"), "TIFF"),
    "float-tiff-wide-range": lambda: _save(Image.fromarray((_bar() * 1e6 - 5).astype(np.float32), "F"), "TIFF"),
    "lab-tiff": lambda: _save(_rgb_bar().convert("LAB"), "TIFF"),
    "cmyk-tiff": lambda: _save(_rgb_bar().convert("CMYK"), "TIFF"),
    "cmyk-jpeg": lambda: _save(_rgb_bar().convert("CMYK"), "JPEG", quality=95),
    "ycbcr-jpeg": lambda: _save(_rgb_bar().convert("YCbCr"), "JPEG", quality=95),
    "i16-png": lambda: _save(Image.fromarray((_bar() * 65535).astype(np.uint16)), "PNG"),
    "i16-tiff": lambda: _save(Image.fromarray((_bar() * 65535).astype(np.uint16)), "TIFF"),
    "i32-tiff": lambda: _save(Image.fromarray((_bar() * (2**31 - 1)).astype(np.int32), "I"), "TIFF"),
    "i32-tiff-8bit-values": lambda: _save(Image.fromarray((_bar() * 255).astype(np.int32), "I"), "TIFF"),
    "1-bit-png": lambda: _save(_rgb_bar().convert("1"), "PNG"),
    "la-png": lambda: _save(_rgb_bar().convert("LA"), "PNG"),
    "gif-2-frames": lambda: _save(*(f := _frames(_rgb_bar(), "P"))[:1], "GIF", save_all=True, append_images=f[1:]),
    "tiff-2-pages": lambda: _save(*(f := _frames(_rgb_bar(), "L"))[:1], "TIFF", save_all=True, append_images=f[1:]),
    "apng-2-frames": lambda: _save(*(f := _frames(_rgb_bar(), "RGB"))[:1], "PNG", save_all=True, append_images=f[1:]),
    "webp": lambda: _save(_rgb_bar(), "WEBP", lossless=True),
    "bmp": lambda: _save(_rgb_bar(), "BMP"),
}


@pytest.mark.parametrize("name", READABLE)
def test_every_mode_is_read_as_the_same_digit(name):
    reference = preprocess(Image.fromarray((_bar() * 255).astype(np.uint8))).image
    p = preprocess_bytes(READABLE[name]())
    assert p.image.shape == (28, 28) and np.isfinite(p.image).all()
    assert p.source_size == (56, 56) and not p.inverted
    assert np.abs(p.image - reference).max() < 0.05, name


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_float_image_with_nan_or_infinity_is_refused(value):
    a = _bar().astype(np.float32)
    a[3, 3] = value
    with pytest.raises(PreprocessError, match="NaN or infinite"):
        preprocess_bytes(_save(Image.fromarray(a, "F"), "TIFF"))


def test_exif_orientation_is_applied():
    # A horizontal bar stored in a 80x40 JPEG whose EXIF says "rotate 90°": upright it is a tall '1'.
    stored = np.zeros((40, 80), np.uint8)
    stored[15:25, 5:75] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    p = preprocess_bytes(_save(Image.fromarray(stored).convert("RGB"), "JPEG", exif=exif.tobytes(), quality=95))
    assert p.source_size == (40, 80)  # as a browser shows it
    ys, xs = np.nonzero(p.image > 0.5)
    assert ys.max() - ys.min() > 3 * (xs.max() - xs.min())  # tall, not wide
    left, top, right, bottom = p.box
    assert bottom - top > right - left


def _tiff(tags: list[tuple[int, int, int, bytes]], pixels: bytes) -> bytes:
    """A little-endian baseline TIFF by hand: tags are (tag, type, count, value bytes, padded to 4 or
    stored after the IFD); the pixels follow."""
    n = len(tags)
    ifd_end = 8 + 2 + 12 * n + 4
    extra, entries = b"", b""
    for tag, kind, count, value in tags:
        if len(value) <= 4:
            entries += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            entries += struct.pack("<HHII", tag, kind, count, ifd_end + len(extra))
            extra += value
    return b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", n) + entries + b"\0\0\0\0" + extra + pixels


def _gray_tiff(strip_offsets: tuple[int, int, bytes] | None = None) -> bytes:
    """An 8x8 grey TIFF with a 2 px wide vertical bar; `strip_offsets` = (type, count, value) replaces
    the StripOffsets tag (a LONG pointing at the pixels)."""
    w = h = 8
    pixels = bytes(255 if 3 <= x <= 4 else 0 for y in range(h) for x in range(w))

    def short(v: int) -> bytes:
        return struct.pack("<H", v)

    def tags(offsets: tuple[int, int, bytes]) -> list:
        return [(256, 3, 1, short(w)), (257, 3, 1, short(h)), (258, 3, 1, short(8)), (259, 3, 1, short(1)),
                (262, 3, 1, short(1)), (273, *offsets), (277, 3, 1, short(1)), (278, 3, 1, short(h)),
                (279, 4, 1, struct.pack("<I", w * h))]

    if strip_offsets is None:
        start = len(_tiff(tags((4, 1, b"\0" * 4)), b""))  # the pixels follow the header directly
        strip_offsets = (4, 1, struct.pack("<I", start))
    return _tiff(tags(strip_offsets), pixels)


def test_hand_made_tiff_is_read():
    # The builder is right: with a LONG StripOffsets the same file decodes to the bar.
    p = preprocess_bytes(_gray_tiff())
    assert p.box == (3, 0, 5, 8)


@pytest.mark.parametrize("kind, count, value", [
    (5, 1, struct.pack("<II", 160, 1)),  # RATIONAL: PIL's IFDRational is no integer (was a TypeError, a 500)
    (12, 1, struct.pack("<d", 160.0)),  # DOUBLE
    (2, 4, b"abc\0"),  # ASCII
    (4, 1, struct.pack("<I", 2**31)),  # LONG, far past the end
])
def test_malformed_tiff_tags_are_refused_naming_the_problem(kind, count, value):
    with pytest.raises(PreprocessError, match="corrupt, truncated or unsupported") as e:
        preprocess_bytes(_gray_tiff((kind, count, value)))
    assert len(str(e.value)) < 300


def test_no_digit_found_is_its_own_type():
    with pytest.raises(NoDigitFound):
        preprocess_bytes(_save(Image.new("L", (30, 30), 255), "PNG"))
    with pytest.raises(NoDigitFound):
        validate_pixels([[0.0] * 28] * 28)
    with pytest.raises(PreprocessError) as e:
        preprocess_bytes(b"not an image")
    assert not isinstance(e.value, NoDigitFound)


def test_pixels_with_a_huge_integer_are_refused():
    with pytest.raises(PreprocessError, match="numbers"):
        validate_pixels([[10**400] * 28] * 28)
